// Scalar reference of the Q8_0 / Q5_0 / Q4_0 formats: the quantisers follow
// ggml's quantize_row_*_ref rounding exactly, so files match llama.cpp's.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "platform/numeric.h"
#include "quant/blocks.h"
#include "quant/kernels.h"

namespace edgelm::quant {

namespace {

// The value of largest magnitude in a block, with its sign: Q4_0 and Q5_0 map
// it to the most negative quant (-8 or -16), which uses the asymmetric range.
float signed_absmax(const float* x) {
  float amax = 0, max = 0;
  for (int j = 0; j < kBlock; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void quantize_q8_0(const float* x, void* out, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(out);
  for (int64_t b = 0; b < n / kBlock; ++b, x += kBlock) {
    float amax = 0;
    for (int j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
    float d = amax / 127;
    float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    for (int j = 0; j < kBlock; ++j) y[b].qs[j] = int8_t(std::round(x[j] * id));
  }
}

void quantize_q4_0(const float* x, void* out, int64_t n) {
  auto* y = static_cast<BlockQ4_0*>(out);
  for (int64_t b = 0; b < n / kBlock; ++b, x += kBlock) {
    float d = signed_absmax(x) / -8;
    float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    for (int j = 0; j < kBlock / 2; ++j) {
      // ggml truncates value + 8.5 towards zero (via int8), i.e. rounds half up
      // for the in-range values, and clamps the top to 15.
      uint8_t lo = uint8_t(std::min(15, int(int8_t(x[j] * id + 8.5f))));
      uint8_t hi = uint8_t(std::min(15, int(int8_t(x[j + kBlock / 2] * id + 8.5f))));
      y[b].qs[j] = uint8_t(lo | (hi << 4));
    }
  }
}

void quantize_q5_0(const float* x, void* out, int64_t n) {
  auto* y = static_cast<BlockQ5_0*>(out);
  for (int64_t b = 0; b < n / kBlock; ++b, x += kBlock) {
    float d = signed_absmax(x) / -16;
    float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kBlock / 2; ++j) {
      uint8_t lo = uint8_t(std::min(31, int(int8_t(x[j] * id + 16.5f))));
      uint8_t hi = uint8_t(std::min(31, int(int8_t(x[j + kBlock / 2] * id + 16.5f))));
      y[b].qs[j] = uint8_t((lo & 15) | ((hi & 15) << 4));
      qh |= uint32_t(lo >> 4) << j;
      qh |= uint32_t(hi >> 4) << (j + kBlock / 2);
    }
    std::memcpy(y[b].qh, &qh, 4);  // little-endian, as ggml stores it
  }
}

// Integer quants of one block as the signed values they stand for.
void unpack_q8_0(const BlockQ8_0& b, int q[kBlock]) {
  for (int j = 0; j < kBlock; ++j) q[j] = b.qs[j];
}
void unpack_q4_0(const BlockQ4_0& b, int q[kBlock]) {
  for (int j = 0; j < kBlock / 2; ++j) {
    q[j] = (b.qs[j] & 15) - 8;
    q[j + kBlock / 2] = (b.qs[j] >> 4) - 8;
  }
}
void unpack_q5_0(const BlockQ5_0& b, int q[kBlock]) {
  uint32_t qh = uint32_t(b.qh[0]) | uint32_t(b.qh[1]) << 8 | uint32_t(b.qh[2]) << 16 | uint32_t(b.qh[3]) << 24;
  for (int j = 0; j < kBlock / 2; ++j) {
    q[j] = ((b.qs[j] & 15) | int((qh >> j) & 1) << 4) - 16;
    q[j + kBlock / 2] = ((b.qs[j] >> 4) | int((qh >> (j + 16)) & 1) << 4) - 16;
  }
}

template <class Block, void (*Unpack)(const Block&, int*)>
void dequantize(const void* in, float* y, int64_t n) {
  const auto* blocks = static_cast<const Block*>(in);
  int q[kBlock];
  for (int64_t b = 0; b < n / kBlock; ++b) {
    float d = f16_to_f32(blocks[b].d);
    Unpack(blocks[b], q);
    for (int j = 0; j < kBlock; ++j) y[b * kBlock + j] = float(q[j]) * d;
  }
}

template <class Block, void (*Unpack)(const Block&, int*)>
float vec_dot(const void* w_row, const int8_t* x_qs, const float* x_d, const int32_t*, int64_t n_blocks) {
  const auto* blocks = static_cast<const Block*>(w_row);
  float sum = 0;
  int q[kBlock];
  for (int64_t b = 0; b < n_blocks; ++b) {
    Unpack(blocks[b], q);
    int32_t isum = 0;
    for (int j = 0; j < kBlock; ++j) isum += q[j] * x_qs[b * kBlock + j];
    sum += float(isum) * (f16_to_f32(blocks[b].d) * x_d[b]);
  }
  return sum;
}

constexpr TypeTraits kTraits[] = {
    {TensorType::Q8_0, sizeof(BlockQ8_0), quantize_q8_0, dequantize<BlockQ8_0, unpack_q8_0>,
     vec_dot<BlockQ8_0, unpack_q8_0>},
    {TensorType::Q5_0, sizeof(BlockQ5_0), quantize_q5_0, dequantize<BlockQ5_0, unpack_q5_0>,
     vec_dot<BlockQ5_0, unpack_q5_0>},
    {TensorType::Q4_0, sizeof(BlockQ4_0), quantize_q4_0, dequantize<BlockQ4_0, unpack_q4_0>,
     vec_dot<BlockQ4_0, unpack_q4_0>},
};

template <TensorType Type>
void gemm_ref(const uint8_t* w, int64_t row_bytes, int64_t r_begin, int64_t r_end, const ActivationsQ8& x,
              int64_t t_begin, int64_t t_end, float* y, int64_t ldy, bool accumulate) {
  const TypeTraits* traits = type_traits(Type);
  for (int64_t t = t_begin; t < t_end; ++t) {
    for (int64_t r = r_begin; r < r_end; ++r) {
      float v = traits->vec_dot_ref(w + r * row_bytes, x.row_qs(t), x.row_d(t), x.row_sum(t), x.n_blocks);
      y[t * ldy + r] = accumulate ? y[t * ldy + r] + v : v;
    }
  }
}

}  // namespace

const TypeTraits* type_traits(TensorType type) {
  for (const auto& t : kTraits)
    if (t.type == type) return &t;
  return nullptr;
}

void quantize_activations_ref(const float* x, int64_t ldx, ActivationsQ8& act, int64_t t_begin, int64_t t_end) {
  for (int64_t t = t_begin; t < t_end; ++t) {
    const float* row = x + t * ldx;
    for (int64_t b = 0; b < act.n_blocks; ++b) {
      const float* v = row + b * kBlock;
      float amax = 0;
      for (int j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(v[j]));
      float d = amax / 127;
      float id = d != 0 ? 127.0f / amax : 0.0f;
      int8_t* q = act.qs + (t * act.n_blocks + b) * kBlock;
      int32_t sum = 0;
      for (int j = 0; j < kBlock; ++j) {
        // Finite inputs round into [-127, 127]; a NaN or infinity (a broken model file) would not
        // convert to int8 at all (undefined behaviour): clamped, NaN to 0.
        const float r = std::nearbyint(v[j] * id);
        q[j] = r == r ? int8_t(std::clamp(r, -127.0f, 127.0f)) : int8_t(0);
        sum += q[j];
      }
      act.d[t * act.n_blocks + b] = d;
      act.sum[t * act.n_blocks + b] = sum;
    }
  }
}

const IsaKernels* scalar_kernels() {
  static const IsaKernels k = [] {
    IsaKernels k;
    k.name = "scalar";
    k.gemm_q8_0 = gemm_ref<TensorType::Q8_0>;
    k.gemm_q5_0 = gemm_ref<TensorType::Q5_0>;
    k.gemm_q4_0 = gemm_ref<TensorType::Q4_0>;
    k.quantize_activations = quantize_activations_ref;
    return k;
  }();
  return &k;
}

}  // namespace edgelm::quant
