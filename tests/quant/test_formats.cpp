// Q8_0 / Q5_0 / Q4_0 block layouts: hand-built blocks decode to the values
// ggml's layout defines, and quantise -> dequantise stays within each
// format's rounding bound.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "platform/error.h"
#include "platform/numeric.h"
#include "platform/random.h"
#include "quant/blocks.h"
#include "quant/quant.h"

namespace edgelm {
namespace {

using quant::BlockQ4_0;
using quant::BlockQ5_0;
using quant::BlockQ8_0;

TEST(QuantFormats, BlockSizesMatchTensorTypeTable) {
  EXPECT_EQ(tensor_row_bytes(TensorType::Q8_0, 64), int64_t(2 * sizeof(BlockQ8_0)));
  EXPECT_EQ(tensor_row_bytes(TensorType::Q5_0, 64), int64_t(2 * sizeof(BlockQ5_0)));
  EXPECT_EQ(tensor_row_bytes(TensorType::Q4_0, 64), int64_t(2 * sizeof(BlockQ4_0)));
  EXPECT_TRUE(is_quantized(TensorType::Q4_0));
  EXPECT_FALSE(is_quantized(TensorType::F16));
}

TEST(QuantFormats, HandBuiltQ8_0Block) {
  // Bytes as in a GGUF file: f16 scale 0.5 (0x3800, little-endian), then the quants.
  uint8_t bytes[34] = {0x00, 0x38};
  for (int i = 0; i < 32; ++i) bytes[2 + i] = uint8_t(int8_t(i * 8 - 128));  // -128, -120, ..., 120
  float y[32];
  dequantize_row(TensorType::Q8_0, bytes, y, 32);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(y[i], 0.5f * float(i * 8 - 128)) << i;
}

TEST(QuantFormats, HandBuiltQ4_0Block) {
  uint8_t bytes[18] = {0x00, 0x34};  // d = 0.25
  for (int j = 0; j < 16; ++j) bytes[2 + j] = uint8_t(j | ((15 - j) << 4));
  float y[32];
  dequantize_row(TensorType::Q4_0, bytes, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.25f * float(j - 8)) << j;              // low nibble: value j
    EXPECT_EQ(y[j + 16], 0.25f * float(15 - j - 8)) << j;    // high nibble: value j + 16
  }
}

TEST(QuantFormats, HandBuiltQ5_0Block) {
  uint8_t bytes[22] = {0x00, 0xbc};  // d = -1.0 (f16 0xbc00)
  // Fifth bits: value i has it when i % 3 == 0; qh is little-endian.
  uint32_t qh = 0;
  for (int i = 0; i < 32; ++i)
    if (i % 3 == 0) qh |= 1u << i;
  std::memcpy(bytes + 2, &qh, 4);
  for (int j = 0; j < 16; ++j) bytes[6 + j] = uint8_t((j & 15) | (((j * 7) & 15) << 4));
  float y[32];
  dequantize_row(TensorType::Q5_0, bytes, y, 32);
  for (int j = 0; j < 16; ++j) {
    int q0 = j | ((j % 3 == 0) ? 16 : 0);
    int q1 = ((j * 7) & 15) | (((j + 16) % 3 == 0) ? 16 : 0);
    EXPECT_EQ(y[j], -1.0f * float(q0 - 16)) << j;
    EXPECT_EQ(y[j + 16], -1.0f * float(q1 - 16)) << j;
  }
}

// Values that are exact multiples of a power-of-two scale quantise without
// rounding, so the bytes are fully determined by ggml's rules: the signed
// absolute maximum maps to the most negative quant in Q4_0/Q5_0.
TEST(QuantFormats, ExactValuesGiveGgmlBytes) {
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = float((i % 15) - 7) * 0.5f;  // in [-3.5, 3.5]
  x[5] = -4.0f;                                                    // signed absmax: d = -4 / -8 = 0.5
  BlockQ4_0 b4;
  quantize_row(TensorType::Q4_0, x.data(), &b4, 32);
  EXPECT_EQ(b4.d, f32_to_f16(0.5f));
  for (int j = 0; j < 16; ++j) {
    int lo = int(x[j] / 0.5f) + 8, hi = int(x[j + 16] / 0.5f) + 8;
    EXPECT_EQ(b4.qs[j], uint8_t(lo | (hi << 4))) << j;
  }
  x[5] = 4.0f;  // positive absmax: d = -0.5, every quant flips, and +4 maps to 0
  BlockQ5_0 b5;
  quantize_row(TensorType::Q5_0, x.data(), &b5, 32);
  EXPECT_EQ(f16_to_f32(b5.d), -0.25f);
  float y[32];
  dequantize_row(TensorType::Q5_0, &b5, y, 32);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(y[i], x[i]) << i;
  BlockQ8_0 b8;
  for (int i = 0; i < 32; ++i) x[i] = float(i - 16);
  x[0] = 127.0f;  // d = 1 exactly
  quantize_row(TensorType::Q8_0, x.data(), &b8, 32);
  EXPECT_EQ(f16_to_f32(b8.d), 1.0f);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(b8.qs[i], int8_t(x[i])) << i;
}

// Per value: |x - x'| <= |d|/2 from rounding to the grid, plus what storing d
// in f16 moves the grid point (|q| * |d - d16|). A value clamped to the top
// quant (Q4_0: 15, Q5_0: 31) may be off by one more step.
void check_round_trip(TensorType type, int top_quant, float scale_of_data, uint64_t seed) {
  const int64_t n = 32 * 64;
  Rng rng(seed);
  std::vector<float> x(n);
  for (auto& v : x) v = float(rng.normal()) * scale_of_data;
  for (int i = 0; i < 32; ++i) x[64 + i] = 0;  // an all-zero block
  x[200] = 40 * scale_of_data;                  // an outlier
  std::vector<uint8_t> q(tensor_row_bytes(type, n));
  quantize_row(type, x.data(), q.data(), n);
  std::vector<float> y(n);
  dequantize_row(type, q.data(), y.data(), n);
  const auto block_bytes = size_t(tensor_type_info(type).block_bytes);
  for (int64_t b = 0; b < n / 32; ++b) {
    uint16_t d16;
    std::memcpy(&d16, q.data() + b * block_bytes, 2);
    float amax = 0, max = 0;
    for (int i = 0; i < 32; ++i)
      if (std::fabs(x[b * 32 + i]) > amax) amax = std::fabs(x[b * 32 + i]), max = x[b * 32 + i];
    float d_exact = type == TensorType::Q8_0 ? amax / 127 : max / float(-(top_quant + 1) / 2);
    float d = std::fabs(f16_to_f32(d16));
    float grid_shift = float(top_quant + 1) * std::fabs(std::fabs(d_exact) - d);
    for (int i = 0; i < 32; ++i) {
      float err = std::fabs(x[b * 32 + i] - y[b * 32 + i]);
      float bound = d / 2 + grid_shift + 1e-6f * amax;
      if (type != TensorType::Q8_0 && std::fabs(y[b * 32 + i] - float((top_quant - 1) / 2) * f16_to_f32(d16)) < 1e-12f)
        bound += d;  // possibly clamped
      ASSERT_LE(err, bound) << tensor_type_name(type) << " block " << b << " value " << i;
    }
  }
  for (int i = 0; i < 32; ++i) EXPECT_EQ(y[64 + i], 0.0f);
}

TEST(QuantFormats, RoundTripWithinBounds) {
  for (float s : {1e-3f, 0.02f, 1.0f, 300.0f}) {
    check_round_trip(TensorType::Q8_0, 127, s, 1);
    check_round_trip(TensorType::Q5_0, 31, s, 2);
    check_round_trip(TensorType::Q4_0, 15, s, 3);
  }
}

TEST(QuantFormats, RootMeanSquareErrorOrdersTheFormats) {
  const int64_t n = 32 * 256;
  Rng rng(7);
  std::vector<float> x(n), y(n);
  for (auto& v : x) v = float(rng.normal());
  auto rmse = [&](TensorType type) {
    std::vector<uint8_t> q(tensor_row_bytes(type, n));
    quantize_row(type, x.data(), q.data(), n);
    dequantize_row(type, q.data(), y.data(), n);
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += double(x[i] - y[i]) * (x[i] - y[i]);
    return std::sqrt(s / n);
  };
  double e8 = rmse(TensorType::Q8_0), e5 = rmse(TensorType::Q5_0), e4 = rmse(TensorType::Q4_0);
  // Each bit less roughly doubles the step; Gaussian blocks of 32 have absmax ~2.2 sigma.
  EXPECT_LT(e8, 0.01);
  EXPECT_LT(e8 * 6, e5);
  EXPECT_LT(e5 * 1.6, e4);
  EXPECT_LT(e4, 0.12);
}

TEST(QuantFormats, RejectsBadRowsAndTypes) {
  float x[48] = {};
  uint8_t q[64];
  EXPECT_THROW(quantize_row(TensorType::Q8_0, x, q, 48), Error);
  EXPECT_THROW(quantize_row(TensorType::F32, x, q, 32), Error);
  EXPECT_THROW(dequantize_row(TensorType::BF16, q, x, 32), Error);
}

}  // namespace
}  // namespace edgelm
