#include "training/data_parallel.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <type_traits>

#include "platform/dist.h"
#include "platform/error.h"

namespace edgelm::training {

GradientAllReduce::GradientAllReduce(ParamSet& params, bool overlap) : params_(params), overlap_(overlap) {
  // Runs of consecutive tensors of the same block (-1: outside the blocks) become buckets.
  int run_layer = -2;
  for (const ParamTensor& t : params.tensors()) {
    const int layer = t.spec->layer;
    if (layer != run_layer || buckets_.empty()) {
      buckets_.push_back({t.offset, t.offset + t.n});
      layer_of_.push_back(layer);
      run_layer = layer;
    } else {
      buckets_.back().second = t.offset + t.n;
    }
  }
  bucket_of_layer_.assign(size_t(params.config().n_layers), -1);
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const int layer = layer_of_[b];
    if (layer < 0) continue;
    if (bucket_of_layer_[size_t(layer)] >= 0) fail("block ", layer, "'s tensors are not contiguous in the tensor table");
    bucket_of_layer_[size_t(layer)] = int(b);
  }
  started_.assign(buckets_.size(), 0);
}

void GradientAllReduce::attach(Transformer& model) {
  if (dist::size() == 1 || !overlap_) return;
  model.on_layer_grads = [this](int layer) {
    start(size_t(bucket_of_layer_[size_t(layer)]));
    dist::progress();
  };
}

void GradientAllReduce::detach(Transformer& model) { model.on_layer_grads = nullptr; }

void GradientAllReduce::start(size_t bucket) {
  if (started_[bucket]) return;
  started_[bucket] = 1;
  const auto [begin, end] = buckets_[bucket];
  dist::allreduce_sum_start(params_.grads().data() + begin, size_t(end - begin));
}

void GradientAllReduce::finish() {
  if (dist::size() == 1) return;
  if (!overlap_) {
    const auto t0 = std::chrono::steady_clock::now();
    dist::allreduce_sum(params_.grads().data(), params_.grads().size());
    wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } else {
    // Blocks backward never reached (a step without tokens) and the tensors outside the blocks.
    for (size_t b = 0; b < buckets_.size(); ++b) start(b);
    wait_seconds_ += dist::wait_all();
  }
  std::fill(started_.begin(), started_.end(), 0);
}

size_t GradientAllReduce::bucket_bytes_max() const {
  size_t most = 0;
  for (const auto& [begin, end] : buckets_) most = std::max(most, size_t(end - begin) * sizeof(float));
  return most;
}

void broadcast_train_state(ParamSet& params, TrainState& state, std::vector<float>& average) {
  if (dist::size() == 1) return;
  static_assert(std::is_trivially_copyable_v<TrainState>);
  dist::broadcast(&state, sizeof state);
  for (ParamTensor& t : params.tensors()) dist::broadcast(t.value, size_t(t.n) * sizeof(float));
  dist::broadcast(params.moment1().data(), params.moment1().size() * sizeof(float));
  dist::broadcast(params.moment2().data(), params.moment2().size() * sizeof(float));
  uint64_t n_average = average.size();
  dist::broadcast(&n_average, sizeof n_average);
  average.resize(size_t(n_average));
  if (n_average) dist::broadcast(average.data(), average.size() * sizeof(float));
}

void check_replicas_identical(const ParamSet& params, int64_t step) {
  if (dist::size() == 1) return;
  // FNV-1a over 64-bit words of every weight's bits: any differing bit changes it.
  uint64_t h = 0xcbf29ce484222325ull;
  for (const ParamTensor& t : params.tensors()) {
    const float* v = t.value;
    int64_t i = 0;
    for (; i + 2 <= t.n; i += 2) {
      uint64_t word;
      std::memcpy(&word, v + i, 8);
      h = (h ^ word) * 0x100000001b3ull;
    }
    if (i < t.n) {
      uint32_t word;
      std::memcpy(&word, v + i, 4);
      h = (h ^ word) * 0x100000001b3ull;
    }
  }
  const std::vector<uint64_t> all = dist::allgather(h);
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0])
      fail("after step ", step, " rank ", r, "'s weights differ from rank 0's: the gradient all-reduce did not give "
           "every rank the same sum (report this with the MPI version and the mpirun command)");
}

}  // namespace edgelm::training
