// Greedy text from llama.cpp with a LoRA adapter applied at run time, for
// bench/llamacpp's comparison with edgelm (built there against the llama.cpp it
// builds; not part of edgelm's own build).
//
//   llamacpp_lora MODEL.gguf ADAPTER.gguf N_TOKENS PROMPT
//
// Loads the base, loads the adapter with llama_adapter_lora_init (llama.cpp's
// own adapter reader, the one `llama-cli --lora` uses) and sets it on the
// context at scale 1, then writes the prompt and up to N_TOKENS greedy tokens
// on one line, special tokens as text, stopping before an end-of-generation
// token: the form of llama-simple's last line and of edgelm's `text:`. Unlike
// llama-completion, whose log thread can drop the last tokens at exit, the text
// is written with stdio and flushed.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "llama.h"

namespace {

std::string piece(const llama_vocab* vocab, llama_token id) {
  char buf[256];
  const int n = llama_token_to_piece(vocab, id, buf, sizeof buf, 0, /*special=*/true);
  if (n < 0) {
    std::fprintf(stderr, "llamacpp_lora: token %d has no text\n", id);
    std::exit(1);
  }
  return std::string(buf, size_t(n));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s MODEL.gguf ADAPTER.gguf N_TOKENS PROMPT\n", argv[0]);
    return 2;
  }
  const std::string prompt = argv[4];
  const int n_tokens = std::atoi(argv[3]);
  llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
  llama_backend_init();

  llama_model* model = llama_model_load_from_file(argv[1], llama_model_default_params());
  if (!model) {
    std::fprintf(stderr, "llamacpp_lora: cannot load the model %s\n", argv[1]);
    return 1;
  }
  llama_adapter_lora* adapter = llama_adapter_lora_init(model, argv[2]);
  if (!adapter) {
    std::fprintf(stderr, "llamacpp_lora: llama.cpp rejects the adapter %s for this model\n", argv[2]);
    return 1;
  }
  const llama_vocab* vocab = llama_model_get_vocab(model);
  const int n_prompt = -llama_tokenize(vocab, prompt.c_str(), int32_t(prompt.size()), nullptr, 0, true, true);
  std::vector<llama_token> tokens(static_cast<size_t>(n_prompt));
  if (llama_tokenize(vocab, prompt.c_str(), int32_t(prompt.size()), tokens.data(), n_prompt, true, true) < 0) {
    std::fprintf(stderr, "llamacpp_lora: cannot tokenize the prompt\n");
    return 1;
  }

  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = uint32_t(n_prompt + n_tokens);
  cp.n_batch = uint32_t(n_prompt);
  llama_context* ctx = llama_init_from_model(model, cp);
  if (!ctx) {
    std::fprintf(stderr, "llamacpp_lora: cannot create a context\n");
    return 1;
  }
  float scale = 1.0f;
  if (llama_set_adapters_lora(ctx, &adapter, 1, &scale) != 0) {
    std::fprintf(stderr, "llamacpp_lora: cannot set the adapter\n");
    return 1;
  }

  std::string text;
  for (llama_token t : tokens) text += piece(vocab, t);
  llama_batch batch = llama_batch_get_one(tokens.data(), int32_t(tokens.size()));
  llama_token next = 0;
  for (int i = 0; i < n_tokens; ++i) {
    if (llama_decode(ctx, batch) != 0) {
      std::fprintf(stderr, "llamacpp_lora: decoding failed\n");
      return 1;
    }
    // Greedy: the first highest logit, as edgelm's sampler picks at temperature 0.
    const float* logits = llama_get_logits_ith(ctx, -1);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    next = 0;
    for (int v = 1; v < n_vocab; ++v)
      if (logits[v] > logits[next]) next = v;
    if (llama_vocab_is_eog(vocab, next)) break;
    text += piece(vocab, next);
    batch = llama_batch_get_one(&next, 1);
  }
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
  llama_free(ctx);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
