// The GGUF reader and the tokenizer loader on arbitrary bytes: Errors only.
#include <cstdint>
#include <string>

#include "platform/error.h"
#include "platform/gguf.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    edgelm::GgufFile f = edgelm::GgufFile::parse(data, size, "fuzz.gguf");
    edgelm::Tokenizer t = edgelm::Tokenizer::from_gguf(f);
    std::vector<int32_t> ids = t.encode("hello world 공기 <|end|>", true);
    t.decode(ids);
  } catch (const edgelm::Error&) {
  }
  return 0;
}
