// `edgelm predict` input lines on arbitrary bytes, against the air-purifier
// schema. parse_predict_line never throws on bad input (a bad line gets an
// "error" in its output line and the run goes on): here any exception, an
// Error included, or a crash is a bug, and so is a line accepted without an id
// or a text.
#include "device/device.h"
#include "eval/predict_input.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgelm;
  static const DomainSchema schema = load_device(fuzz::source_path("domains/air-purifier")).schema;
  try {
    PredictInput in = parse_predict_line(std::string(fuzz::as_text(data, size)), schema);
    if (in.error.empty() && (in.id.is_null() || in.text.empty())) {
      std::fprintf(stderr, "fuzz_predict_line: a line accepted without an id or a text\n");
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_predict_line: parse_predict_line threw: %s\n", e.what());
    std::abort();
  }
  return 0;
}
