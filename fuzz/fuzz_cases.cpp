// Data-set and evaluation-case JSONL lines on arbitrary bytes, against the
// air-purifier schema: a line as `edgelm eval` reads a case (parse_case: a case
// or an SFT example) and as `edgelm data tokenize --chat` and SFT training
// render an SFT example into tokens (render_training_example), and as
// `data tokenize --pairs` and DPO training render a preference pair (with a
// row limit, so that the history cut of both sides runs). An Error is
// fine; any other exception or a crash is a bug.
#include "agent/format.h"
#include "device/device.h"
#include "eval/cases.h"
#include "fuzz_util.h"
#include "platform/json.h"
#include "tokenizer/tokenizer.h"

namespace {

struct Setup {
  edgelm::DomainSchema schema;
  edgelm::Tokenizer tokenizer;
};

const Setup& setup() {
  static const Setup* s = [] {
    edgelm::DomainSchema schema = edgelm::load_device(edgelm::fuzz::source_path("domains/air-purifier")).schema;
    edgelm::Tokenizer tok = edgelm::train_bpe({"turn on the purifier", "set the timer for 90 minutes", "sleep mode"}, 300,
                                              edgelm::agent_special_tokens(schema));
    return new Setup{std::move(schema), std::move(tok)};
  }();
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgelm;
  const Setup& s = setup();
  nlohmann::json line;
  fuzz::run_one("fuzz_cases", [&] { line = parse_json(fuzz::as_text(data, size), "cases.jsonl line 1"); });
  if (line.is_discarded() || line.is_null()) return 0;
  fuzz::run_one("fuzz_cases", [&] {
    EvalCase c = parse_case(line, s.schema, "cases.jsonl line 1");
    case_to_json(c);
  });
  fuzz::run_one("fuzz_cases", [&] { render_training_example(s.schema, s.tokenizer, line); });
  return fuzz::run_one("fuzz_cases", [&] { render_preference_pair(s.schema, s.tokenizer, line, 64, 200); });
}
