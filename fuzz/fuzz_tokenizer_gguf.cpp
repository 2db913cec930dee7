// The GGUF reader and the tokenizer loader on arbitrary bytes: Errors only.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
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
    // The one way bad input may fail.
  } catch (const std::exception& e) {
    // Any other exception is a hole in the reader's checks (a library's own exception
    // leaking through): report it as a crash, with its message.
    std::fprintf(stderr, "fuzz_tokenizer_gguf: exception other than edgelm::Error escaped: %s\n", e.what());
    std::abort();
  }
  return 0;
}
