// The tokenizer.json reader on arbitrary bytes: an Error is fine, a crash is not.
// A file that loads must also encode and decode.
#include <cstdint>
#include <string>

#include "platform/error.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    edgelm::Tokenizer t = edgelm::Tokenizer::from_hf_json_text(text, "fuzz.json");
    std::vector<int32_t> ids = t.encode("hello world 공기 <|end|>", true);
    t.decode(ids);
  } catch (const edgelm::Error&) {
  }
  return 0;
}
