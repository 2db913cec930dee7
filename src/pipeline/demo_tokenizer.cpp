#include <chrono>

#include "agent/format.h"
#include "pipeline/demo_train.h"
#include "platform/error.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {

nlohmann::json train_demo_tokenizer(const DomainSchema& schema, const std::string& train_jsonl, int64_t vocab_size,
                                    const std::string& out_gguf, bool quiet) {
  auto start = std::chrono::steady_clock::now();
  // Every message's content: the commands and the replies the model must write.
  std::vector<std::string> texts = read_training_texts({train_jsonl});
  if (texts.empty()) fail("no training text in '", train_jsonl, "'");
  TrainOptions options;
  options.show_progress = !quiet;
  Tokenizer tok = train_bpe(texts, int32_t(vocab_size), agent_special_tokens(schema), options);
  tok.save_gguf(out_gguf);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {{"n_vocab", tok.n_vocab()}, {"n_merges", tok.n_merges()}, {"n_texts", texts.size()}, {"seconds", seconds}};
}

}  // namespace edgelm
