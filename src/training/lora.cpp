#include "training/lora.h"

#include <algorithm>
#include <cmath>

#include "kernels/adamw.h"
#include "kernels/gemm.h"
#include "platform/error.h"
#include "platform/random.h"
#include "training/optimizer.h"

namespace edgelm::training {

LoraTrainer::LoraTrainer(const ModelConfig& model, const LoraConfig& config, int64_t n_tokens, uint64_t seed)
    : config_(config), model_(model), n_tokens_(n_tokens), rng_state_(seed * 0x9E3779B97F4A7C15ull + 1) {
  if (config.rank <= 0) fail("lora: rank must be positive (got ", config.rank, ")");
  if (!(config.alpha > 0)) fail("lora: alpha must be positive (got ", config.alpha, ")");
  if (!(config.dropout >= 0 && config.dropout < 1)) fail("lora: dropout must be in [0, 1) (got ", config.dropout, ")");
  if (config.targets.empty()) fail("lora: no target matrices");
  slots_.assign(size_t(model.n_layers * kLoraTargets), -1);
  int64_t offset = 0;
  for (int l = 0; l < int(model.n_layers); ++l)
    for (int t = 0; t < kLoraTargets; ++t) {
      if (std::find(config.targets.begin(), config.targets.end(), LoraTarget(t)) == config.targets.end()) continue;
      auto [out, in] = lora_target_shape(model, LoraTarget(t));
      if (config.rank > std::min(in, out))
        fail("lora: rank ", config.rank, " exceeds ", lora_target_tensor(LoraTarget(t)), "'s ", out, " x ", in);
      slots_[size_t(l * kLoraTargets + t)] = int(mats_.size());
      mats_.push_back({l, LoraTarget(t), config.rank, in, out, offset, std::vector<float>(size_t(n_tokens * config.rank)), {}});
      if (config.dropout > 0) mats_.back().mask.resize(size_t(n_tokens * in));
      offset += config.rank * (in + out);
    }
  values_.assign(size_t(offset), 0.0f);
  grads_.assign(size_t(offset), 0.0f);
  m_.assign(size_t(offset), 0.0f);
  v_.assign(size_t(offset), 0.0f);
  Rng rng(seed);
  int64_t wide = 0;
  for (const Mat& m : mats_) {
    // PEFT's kaiming_uniform_(a = sqrt(5)) on A: bound 1/sqrt(in); B stays zero.
    const double bound = 1.0 / std::sqrt(double(m.in));
    for (int64_t i = 0; i < m.rank * m.in; ++i) values_[size_t(m.offset + i)] = float((2 * rng.uniform() - 1) * bound);
    wide = std::max(wide, m.in);
  }
  scratch_.resize(size_t(n_tokens * wide));
  du_.resize(size_t(n_tokens * config.rank));
}

const float* LoraTrainer::dropped(Mat& m, const float* x) {
  if (m.mask.empty() || !training_) return x;
  for (int64_t i = 0; i < n_tokens_ * m.in; ++i) scratch_[size_t(i)] = x[i] * m.mask[size_t(i)];
  return scratch_.data();
}

void LoraTrainer::forward(int layer, LoraTarget t, const float* x, float* y, bool recompute, ThreadPool& pool) {
  const int s = slot(layer, t);
  if (s < 0) return;
  Mat& m = mats_[size_t(s)];
  if (!m.mask.empty() && training_ && !recompute) {
    const float keep = 1.0f / (1.0f - config_.dropout);
    for (float& v : m.mask) {
      // splitmix64: cheap, and the run's seed decides every mask.
      uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      v = double(z >> 11) * 0x1.0p-53 < config_.dropout ? 0.0f : keep;
    }
  }
  const float* a = values_.data() + m.offset;
  const float* b = a + m.rank * m.in;
  const float* xd = dropped(m, x);
  // u (N, r) = xd A^T;  y += s * u B^T.
  gemm_f32(false, true, n_tokens_, m.rank, m.in, 1.0f, xd, m.in, a, m.in, 0.0f, m.u.data(), m.rank, pool);
  gemm_f32(false, true, n_tokens_, m.out, m.rank, config_.scale(), m.u.data(), m.rank, b, m.rank, 1.0f, y, m.out, pool);
}

void LoraTrainer::backward(int layer, LoraTarget t, const float* dy, const float* x, float* dx, ThreadPool& pool) {
  const int s = slot(layer, t);
  if (s < 0) return;
  Mat& m = mats_[size_t(s)];
  const float* a = values_.data() + m.offset;
  const float* b = a + m.rank * m.in;
  float* da = grads_.data() + m.offset;
  float* db = da + m.rank * m.in;
  const float scale = config_.scale();
  // dB (out, r) += s dy^T u;  du (N, r) = s dy B;  dA (r, in) += du^T xd.
  gemm_f32(true, false, m.out, m.rank, n_tokens_, scale, dy, m.out, m.u.data(), m.rank, 1.0f, db, m.rank, pool);
  gemm_f32(false, false, n_tokens_, m.rank, m.out, scale, dy, m.out, b, m.rank, 0.0f, du_.data(), m.rank, pool);
  const float* xd = dropped(m, x);
  gemm_f32(true, false, m.rank, m.in, n_tokens_, 1.0f, du_.data(), m.rank, xd, m.in, 1.0f, da, m.in, pool);
  if (m.mask.empty() || !training_) {
    gemm_f32(false, false, n_tokens_, m.in, m.rank, 1.0f, du_.data(), m.rank, a, m.in, 1.0f, dx, m.in, pool);
    return;
  }
  // Through the dropout: dx += (du A) * mask.
  gemm_f32(false, false, n_tokens_, m.in, m.rank, 1.0f, du_.data(), m.rank, a, m.in, 0.0f, scratch_.data(), m.in, pool);
  for (int64_t i = 0; i < n_tokens_ * m.in; ++i) dx[i] += scratch_[size_t(i)] * m.mask[size_t(i)];
}

std::vector<LoraTrainer::Matrix> LoraTrainer::matrices() const {
  std::vector<Matrix> out;
  for (const Mat& m : mats_) out.push_back({m.layer, m.target, m.rank, m.in, m.out, m.offset});
  return out;
}

LoraAdapter LoraTrainer::to_adapter(const std::string& name) const {
  LoraAdapter adapter;
  adapter.alpha = config_.alpha;
  adapter.name = name;
  adapter.layers.resize(size_t(model_.n_layers));
  for (const Mat& m : mats_) {
    LoraMatrix& out = adapter.at(m.layer, m.target);
    out.rank = m.rank;
    out.in = m.in;
    out.out = m.out;
    const float* a = values_.data() + m.offset;
    out.a.assign(a, a + m.rank * m.in);
    out.b.assign(a + m.rank * m.in, a + m.rank * (m.in + m.out));
  }
  return adapter;
}

void LoraTrainer::load_values(const LoraAdapter& adapter) {
  if (int64_t(adapter.layers.size()) != model_.n_layers) fail("lora: the adapter has ", adapter.layers.size(), " blocks");
  for (const Mat& m : mats_) {
    const LoraMatrix& src = adapter.at(m.layer, m.target);
    if (src.rank != m.rank || src.in != m.in || src.out != m.out)
      fail("lora: the adapter's blk.", m.layer, ".", lora_target_tensor(m.target), " does not have rank ", m.rank);
    std::copy(src.a.begin(), src.a.end(), values_.begin() + m.offset);
    std::copy(src.b.begin(), src.b.end(), values_.begin() + m.offset + m.rank * m.in);
  }
  if (config_.alpha != adapter.alpha && adapter.alpha > 0) config_.alpha = adapter.alpha;
}

double lora_optimizer_step(LoraTrainer& lora, const OptimConfig& o, float lr, int64_t step, ThreadPool& pool) {
  std::vector<float>& g = lora.grads();
  double sum = 0;
  for (float x : g) sum += double(x) * x;
  const double norm = std::sqrt(sum);
  if (o.grad_clip > 0 && norm > o.grad_clip) {
    const float scale = float(double(o.grad_clip) / (norm + 1e-6));
    for (float& x : g) x *= scale;
  }
  AdamWParams p;
  p.lr = lr;
  p.beta1 = o.beta1;
  p.beta2 = o.beta2;
  p.eps = o.eps;
  p.step = step;
  p.weight_decay = o.weight_decay;
  const int64_t n = lora.n_params();
  pool.parallel_for(n, [&](int64_t i0, int64_t i1) {
    adamw_step_f32(lora.values().data() + i0, g.data() + i0, lora.moment1().data() + i0, lora.moment2().data() + i0, i1 - i0, p);
  }, 4096);
  std::fill(g.begin(), g.end(), 0.0f);
  return norm;
}

}  // namespace edgelm::training
