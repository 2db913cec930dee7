#include "training/params.h"

#include <algorithm>
#include <cmath>

#include "platform/error.h"

namespace edgelm::training {

ParamSet::ParamSet(WeightsF32 weights, bool trainable) : weights_(std::move(weights)), trainable_(trainable) {
  int64_t total = 0;
  for (size_t i = 0; i < weights_.specs.size(); ++i) {
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
    tensors_.push_back({&weights_.specs[i], n, offset, weights_.data[i].data(), at(grads_), at(m_), at(v_)});
    offset += n;
  }
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
