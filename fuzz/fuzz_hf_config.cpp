// The Hugging Face config.json reader (convert) on arbitrary bytes, and the
// same bytes as a PEFT adapter's adapter_config.json: an Error is fine, a crash
// or another exception is not. A config that reads back must be valid and
// write out again.
#include <string_view>

#include "convert/hf.h"
#include "convert/peft.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  edgelm::fuzz::run_one("fuzz_hf_config", [&] {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    edgelm::ModelConfig c = edgelm::hf_config_from_json(text, "config.json", size % 2 == 0);
    c.validate();
    edgelm::hf_config_to_json(c, edgelm::TensorType::BF16, nullptr);
  });
  return edgelm::fuzz::run_one("fuzz_hf_config", [&] {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    edgelm::peft_config_from_json(text, "adapter_config.json");
  });
}
