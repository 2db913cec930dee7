#include "model/tensors.h"

#include "platform/error.h"

namespace edgelm {

int64_t TensorSpec::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

std::string layer_tensor_name(int layer, const char* suffix) { return cat("blk.", layer, ".", suffix, ".weight"); }

std::vector<TensorSpec> model_tensor_specs(const ModelConfig& c) {
  std::vector<TensorSpec> specs;
  specs.push_back({"token_embd.weight", {c.dim, c.n_vocab}, TensorRole::Embedding, -1});
  for (int l = 0; l < int(c.n_layers); ++l) {
    specs.push_back({layer_tensor_name(l, "attn_norm"), {c.dim}, TensorRole::Norm, l});
    specs.push_back({layer_tensor_name(l, "attn_q"), {c.dim, c.q_dim()}, TensorRole::Matrix, l});
    specs.push_back({layer_tensor_name(l, "attn_k"), {c.dim, c.kv_dim()}, TensorRole::Matrix, l});
    specs.push_back({layer_tensor_name(l, "attn_v"), {c.dim, c.kv_dim()}, TensorRole::Matrix, l});
    specs.push_back({layer_tensor_name(l, "attn_output"), {c.q_dim(), c.dim}, TensorRole::Matrix, l});
    specs.push_back({layer_tensor_name(l, "ffn_norm"), {c.dim}, TensorRole::Norm, l});
    specs.push_back({layer_tensor_name(l, "ffn_gate"), {c.dim, c.ffn_dim}, TensorRole::Matrix, l});
    specs.push_back({layer_tensor_name(l, "ffn_up"), {c.dim, c.ffn_dim}, TensorRole::Matrix, l});
    specs.push_back({layer_tensor_name(l, "ffn_down"), {c.ffn_dim, c.dim}, TensorRole::Matrix, l});
  }
  specs.push_back({"output_norm.weight", {c.dim}, TensorRole::Norm, -1});
  if (!c.tied_embeddings) specs.push_back({"output.weight", {c.dim, c.n_vocab}, TensorRole::Output, -1});
  return specs;
}

}  // namespace edgelm
