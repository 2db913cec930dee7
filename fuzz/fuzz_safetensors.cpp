// The safetensors reader on arbitrary bytes: an Error is fine, a crash is not.
// A file that parses must have every tensor inside it: each one is read whole;
// it is then read as a PEFT adapter's weights for a tiny Llama base.
#include <cstdint>
#include <vector>

#include "fuzz_util.h"
#include "platform/safetensors.h"
#include "convert/peft.h"
#include "fuzz_models.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly `size` bytes, so that ASan sees any read past the end.
  std::vector<uint8_t> bytes(data, data + size);
  return edgelm::fuzz::run_one("fuzz_safetensors", [&] {
    edgelm::SafetensorsFile f = edgelm::SafetensorsFile::parse(bytes.data(), bytes.size(), "fuzz.safetensors");
    volatile uint8_t sink = 0;
    for (const edgelm::SafetensorsTensor& t : f.tensors()) {
      for (uint64_t i = 0; i < t.n_bytes; ++i) sink = sink ^ t.data[i];
      if (t.type) (void)t.n_elements();
    }
    static const edgelm::ModelConfig base = edgelm::fuzz::seed_model_config();
    edgelm::PeftLoraConfig config;
    config.r = 2;
    config.rank_pattern = bytes.size() % 2 == 1;
    edgelm::peft_adapter_from_safetensors(f, config, base);
  });
}
