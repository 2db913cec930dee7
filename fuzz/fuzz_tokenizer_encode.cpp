// Encode / decode of arbitrary bytes with every pre-tokenizer: decode(encode(x))
// must give x back, and nothing may crash or hang.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tokenizer/tokenizer.h"

namespace {

const edgelm::Tokenizer& tokenizer(size_t which) {
  static const std::vector<edgelm::Tokenizer> all = [] {
    std::vector<std::string> texts = {"the air purifier is on in sleep mode, 공기청정기를 켜줘 please!\n",
                                      "turn the fan speed up to 3 and set a timer for 90 minutes 😀\n"};
    std::vector<edgelm::Tokenizer> out;
    for (const char* pre : {"gpt-2", "llama-bpe", "qwen2", "smollm", "deepseek-coder", "falcon", "default"}) {
      edgelm::TrainOptions o;
      o.pre = pre;
      o.min_frequency = 1;
      out.push_back(edgelm::train_bpe(texts, 400, {"<|user|>", "<|end|>"}, o));
    }
    return out;
  }();
  return all[which % all.size()];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const edgelm::Tokenizer& t = tokenizer(data[0]);
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  bool special = data[0] & 0x80;
  std::vector<int32_t> ids = t.encode(text, special);
  if (t.decode(ids) != text) std::abort();
  edgelm::StreamDecoder stream(t);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  if (streamed != text) std::abort();
  return 0;
}
