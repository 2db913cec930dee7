#include "training/params.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "platform/error.h"
#include "platform/gguf.h"

namespace edgelm::training {

ParamSet::ParamSet(WeightsF32 weights, bool trainable) : weights_(std::move(weights)), trainable_(trainable) {
  int64_t total = 0;
  for (size_t i = 0; i < weights_.specs.size(); ++i) {
    if (weights_.data[i].empty() && !trainable_) {  // packed by frozen_packed, which fills it after
      total += weights_.specs[i].n_elements();
      continue;
    }
    if (int64_t(weights_.data[i].size()) != weights_.specs[i].n_elements())
      fail("tensor ", weights_.specs[i].name, " holds ", weights_.data[i].size(), " values, its shape needs ",
           weights_.specs[i].n_elements());
    total += weights_.specs[i].n_elements();
  }
  n_params_ = total;
  if (trainable_) {
    grads_.assign(size_t(total), 0.0f);
    m_.assign(size_t(total), 0.0f);
    v_.assign(size_t(total), 0.0f);
  }
  bind();
}

void ParamSet::bind() {
  tensors_.clear();
  int64_t offset = 0;
  for (size_t i = 0; i < weights_.specs.size(); ++i) {
    const int64_t n = weights_.specs[i].n_elements();
    auto at = [&](std::vector<float>& buffer) { return trainable_ ? buffer.data() + offset : nullptr; };
    float* value = weights_.data[i].empty() ? nullptr : weights_.data[i].data();
    tensors_.push_back({&weights_.specs[i], n, offset, value, at(grads_), at(m_), at(v_)});
    offset += n;
  }
}

std::unique_ptr<ParamSet> ParamSet::frozen_packed(GgufFile file) {
  auto f = std::make_shared<const GgufFile>(std::move(file));
  WeightsF32 w;
  w.config = read_model_config(*f);
  w.specs = model_tensor_specs(w.config);
  std::vector<const GgufTensor*> packed(w.specs.size(), nullptr);
  for (size_t i = 0; i < w.specs.size(); ++i) {
    const TensorSpec& spec = w.specs[i];
    const GgufTensor& t = f->tensor(spec.name);
    if (t.ne != spec.ne)
      fail(f->path(), ": tensor '", spec.name, "' has shape [", cat(t.ne[0], t.ne.size() > 1 ? cat(", ", t.ne[1]) : ""),
           "], the config needs [", cat(spec.ne[0], spec.ne.size() > 1 ? cat(", ", spec.ne[1]) : ""), "]");
    const bool aligned = reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0;
    if ((spec.ne.size() == 2 && t.type != TensorType::F32) || (t.type == TensorType::F32 && aligned)) {
      packed[i] = &t;
      w.data.emplace_back();
    } else {
      std::vector<float> buf(size_t(spec.n_elements()));
      tensor_to_f32(t.type, t.data, buf.data(), spec.n_elements());
      w.data.push_back(std::move(buf));
    }
  }
  auto set = std::make_unique<ParamSet>(std::move(w), /*trainable=*/false);
  set->file_ = std::move(f);
  for (size_t i = 0; i < set->tensors_.size(); ++i) {
    if (!packed[i]) continue;
    if (packed[i]->type == TensorType::F32) {
      // Read in place: the set is frozen (no gradient, no optimiser), so the
      // read-only mapping is never written through this pointer.
      set->tensors_[i].value = const_cast<float*>(reinterpret_cast<const float*>(packed[i]->data));
    } else {
      set->tensors_[i].packed = packed[i]->data;
      set->tensors_[i].packed_type = packed[i]->type;
    }
  }
  return set;
}

int64_t ParamSet::value_bytes() const {
  int64_t n = 0;
  for (size_t i = 0; i < weights_.data.size(); ++i)
    n += tensors_[i].packed ? tensor_row_bytes(tensors_[i].packed_type, weights_.specs[i].ne[0]) * weights_.specs[i].ne[1]
                            : weights_.specs[i].n_elements() * 4;
  return n;
}

const ParamTensor& ParamSet::get(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.spec->name == name) return t;
  fail("model has no tensor named ", name);
}

ParamTensor& ParamSet::get(const std::string& name) {
  return const_cast<ParamTensor&>(static_cast<const ParamSet*>(this)->get(name));
}

void ParamSet::zero_grads() { std::fill(grads_.begin(), grads_.end(), 0.0f); }

double ParamSet::grad_norm() const {
  double sum = 0;
  for (float g : grads_) sum += double(g) * double(g);
  return std::sqrt(sum);
}

}  // namespace edgelm::training
