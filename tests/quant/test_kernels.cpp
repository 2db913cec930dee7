// Every SIMD kernel the CPU supports against the scalar reference, on random
// blocks with extreme quants and zeros, and quant_matmul against a plain
// float matmul of the dequantised weights.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "platform/error.h"
#include "platform/numeric.h"
#include "platform/random.h"
#include "platform/thread_pool.h"
#include "quant/blocks.h"
#include "quant/kernels.h"
#include "quant/quant.h"

namespace edgelm {
namespace {

using quant::ActivationsQ8;
using quant::kBlock;

constexpr TensorType kTypes[] = {TensorType::Q8_0, TensorType::Q5_0, TensorType::Q4_0};

// Every column's own tables past the scalar one (isa_available(): EDGELM_ISA lowers it),
// each version of a column that has several (NEON with and without SDOT).
std::vector<const quant::IsaKernels*> simd_tables() {
  std::vector<const quant::IsaKernels*> out;
  for (Isa isa : isa_available())
    if (isa != Isa::Scalar)
      for (const quant::IsaKernels* k : quant::kernel_versions_for(isa)) out.push_back(k);
  return out;
}

// Random blocks, with the extremes of each format: every quant at its minimum
// or maximum (Q8_0 -128 comes only from foreign files but must still work),
// all-zero scales and quants, and f16 scales of very different magnitude.
std::vector<uint8_t> random_weights(TensorType type, int64_t rows, int64_t cols, Rng& rng) {
  const int64_t bytes_per_block = tensor_type_info(type).block_bytes;
  int64_t n_blocks = rows * cols / kBlock;
  std::vector<uint8_t> w(n_blocks * bytes_per_block);
  for (int64_t b = 0; b < n_blocks; ++b) {
    uint8_t* block = w.data() + b * bytes_per_block;
    int kind = int(rng.below(8));
    for (int64_t i = 2; i < bytes_per_block; ++i) {
      block[i] = kind == 0 ? 0x00 : kind == 1 ? 0xff : kind == 2 ? (type == TensorType::Q8_0 ? 0x80 : 0x00)
                                                                : uint8_t(rng.below(256));
    }
    float d = kind == 3 ? 0.0f : float(rng.normal()) * (kind == 4 ? 1e-4f : kind == 5 ? 30.0f : 0.01f);
    uint16_t d16 = f32_to_f16(d);
    std::memcpy(block, &d16, 2);
  }
  return w;
}

std::vector<float> random_activations(int64_t n_tokens, int64_t cols, Rng& rng) {
  std::vector<float> x(n_tokens * cols);
  for (auto& v : x) v = float(rng.normal());
  // A zero block, a block with one huge value, and a block of equal values.
  if (cols >= 3 * kBlock) {
    for (int i = 0; i < kBlock; ++i) x[i] = 0;
    x[kBlock + 3] = 1e6f;
    for (int i = 0; i < kBlock; ++i) x[2 * kBlock + i] = -0.75f;
  }
  return x;
}

struct OwnedActivations {
  std::vector<int8_t> qs;
  std::vector<float> d;
  std::vector<int32_t> sum;
  ActivationsQ8 act;
  OwnedActivations(int64_t n_tokens, int64_t n_blocks)
      : qs(n_tokens * n_blocks * kBlock), d(n_tokens * n_blocks), sum(n_tokens * n_blocks) {
    act.n_tokens = n_tokens;
    act.n_blocks = n_blocks;
    act.qs = qs.data();
    act.d = d.data();
    act.sum = sum.data();
  }
};

TEST(Kernels, NonFiniteActivationsQuantiseInRange) {
  // fuzz_gguf_model's finding: a model file with infinite or NaN weights makes NaN activations, which
  // converted to INT_MIN and overflowed the kernels' int32 offset product (offset * sum of quants).
  // Every quantiser keeps quants in [-127, 127] and the sum equal to theirs; the product stays defined.
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x(4 * kBlock, 0.5f);
  x[3] = nan;                                                  // block 0: a NaN among finite values
  x[kBlock + 5] = inf;                                         // block 1: an infinity
  for (int i = 0; i < kBlock; ++i) x[2 * kBlock + i] = nan;    // block 2: all NaN
  x[3 * kBlock] = -inf, x[3 * kBlock + 1] = nan;               // block 3: both
  std::vector<quant::QuantizeActFn> quantisers = {quant::quantize_activations_ref};
  for (const quant::IsaKernels* k : simd_tables()) quantisers.push_back(k->quantize_activations);
  for (auto quantise : quantisers) {
    OwnedActivations a(1, 4);
    quantise(x.data(), 4 * kBlock, a.act, 0, 1);
    for (int64_t b = 0; b < 4; ++b) {
      int32_t sum = 0;
      for (int i = 0; i < kBlock; ++i) {
        int8_t q = a.qs[size_t(b * kBlock + i)];
        EXPECT_GE(q, -127) << "block " << b;
        sum += q;
      }
      EXPECT_EQ(a.sum[size_t(b)], sum) << "block " << b;
    }
  }
}

// Exact (double) value of what the kernels compute, and the sum of the
// absolute products, which bounds float rounding: the SIMD kernels scale
// partial integer sums (up to 8 lanes per block) that may cancel, and each
// of the n_blocks additions can add one ulp of that sum.
void exact_dot(TensorType type, const uint8_t* w_row, const ActivationsQ8& x, int64_t t, double* value,
               double* magnitude) {
  std::vector<float> deq(x.n_blocks * kBlock);
  dequantize_row(type, w_row, deq.data(), x.n_blocks * kBlock);
  *value = 0;
  *magnitude = 0;
  for (int64_t b = 0; b < x.n_blocks; ++b) {
    for (int i = 0; i < kBlock; ++i) {
      double p = double(deq[b * kBlock + i]) * x.row_qs(t)[b * kBlock + i] * x.row_d(t)[b];
      *value += p;
      *magnitude += std::fabs(p);
    }
  }
}

TEST(QuantKernels, SimdActivationQuantisationMatchesScalar) {
  Rng rng(11);
  const int64_t n_tokens = 5, cols = 8 * kBlock;
  std::vector<float> x = random_activations(n_tokens, cols, rng);
  x[40] = 0.5f * 127.0f / 127.0f;  // a tie candidate
  OwnedActivations ref(n_tokens, cols / kBlock);
  quant::quantize_activations_ref(x.data(), cols, ref.act, 0, n_tokens);
  for (const quant::IsaKernels* k : simd_tables()) {
    OwnedActivations got(n_tokens, cols / kBlock);
    k->quantize_activations(x.data(), cols, got.act, 0, n_tokens);
    EXPECT_EQ(got.qs, ref.qs) << k->name;
    EXPECT_EQ(got.d, ref.d) << k->name;
    EXPECT_EQ(got.sum, ref.sum) << k->name;
  }
}

TEST(QuantKernels, EveryIsaMatchesExactDotProducts) {
  Rng rng(12);
  // Rows and tokens that are not multiples of the tiles exercise every edge path.
  const int64_t rows = 11, cols = 9 * kBlock, n_tokens = 7;
  std::vector<float> x = random_activations(n_tokens, cols, rng);
  OwnedActivations act(n_tokens, cols / kBlock);
  quant::quantize_activations_ref(x.data(), cols, act.act, 0, n_tokens);
  std::vector<const quant::IsaKernels*> tables = simd_tables();
  tables.insert(tables.begin(), quant::kernels_for(Isa::Scalar));
  for (TensorType type : kTypes) {
    std::vector<uint8_t> w = random_weights(type, rows, cols, rng);
    int64_t row_bytes = tensor_row_bytes(type, cols);
    for (const quant::IsaKernels* k : tables) {
      std::vector<float> y(n_tokens * rows, NAN);
      k->gemm(type)(w.data(), row_bytes, 0, rows, act.act, 0, n_tokens, y.data(), rows, false);
      for (int64_t t = 0; t < n_tokens; ++t) {
        for (int64_t r = 0; r < rows; ++r) {
          double exact, magnitude;
          exact_dot(type, w.data() + r * row_bytes, act.act, t, &exact, &magnitude);
          double tol = 2.0 * double(act.act.n_blocks + 2) * FLT_EPSILON * magnitude + 1e-30;
          ASSERT_NEAR(y[t * rows + r], exact, tol)
              << k->name << " " << tensor_type_name(type) << " t=" << t << " r=" << r;
        }
      }
    }
  }
}

// The row-interleaved (x8) kernels over pack_rows_x8's layout against the
// exact products of the original rows: every token count through the 4-token
// tile and its remainder, a row sub-range of whole groups, and accumulation.
TEST(QuantKernels, PackedX8KernelsMatchExactDotProducts) {
  Rng rng(21);
  const int64_t rows = 32, cols = 7 * kBlock, n_tokens = 6;  // rows 8..31: a 16-row tile and an 8-row one
  std::vector<float> x = random_activations(n_tokens, cols, rng);
  OwnedActivations act(n_tokens, cols / kBlock);
  quant::quantize_activations_ref(x.data(), cols, act.act, 0, n_tokens);
  int n_checked = 0;
  for (const quant::IsaKernels* k : simd_tables()) {
    for (TensorType type : {TensorType::Q8_0, TensorType::Q5_0, TensorType::Q4_0}) {
      quant::GemmFn gemm = k->gemm_x8(type);
      if (!gemm) continue;
      ++n_checked;
      std::vector<uint8_t> w = random_weights(type, rows, cols, rng);
      std::vector<uint8_t> packed(w.size());
      quant::pack_rows_x8(type, w.data(), rows, cols, packed.data());
      const int64_t row_bytes = tensor_row_bytes(type, cols);
      // Rows 8..31 only; y starts at 1 so that accumulation shows.
      std::vector<float> y(n_tokens * rows, 1.0f);
      gemm(packed.data(), row_bytes, 8, rows, act.act, 0, n_tokens, y.data(), rows, true);
      for (int64_t t = 0; t < n_tokens; ++t) {
        for (int64_t r = 0; r < rows; ++r) {
          if (r < 8) {
            EXPECT_EQ(y[t * rows + r], 1.0f) << "row outside the range was written";
            continue;
          }
          double exact, magnitude;
          exact_dot(type, w.data() + r * row_bytes, act.act, t, &exact, &magnitude);
          double tol = 2.0 * double(act.act.n_blocks + 2) * FLT_EPSILON * (magnitude + 1.0) + 1e-30;
          ASSERT_NEAR(y[t * rows + r], exact + 1.0, tol)
              << k->name << " " << tensor_type_name(type) << " t=" << t << " r=" << r;
        }
      }
    }
  }
  if (n_checked == 0) GTEST_SKIP() << "no x8 kernel on this CPU";
}

// The packing itself: a hand-built block lands where the layout says.
TEST(QuantKernels, PackRowsX8PlacesScalesAndQuants) {
  const int64_t rows = 8, cols = 2 * kBlock;
  std::vector<quant::BlockQ8_0> w(size_t(rows * 2));
  for (int64_t r = 0; r < rows; ++r)
    for (int b = 0; b < 2; ++b) {
      w[size_t(r * 2 + b)].d = uint16_t(100 * r + b);
      for (int i = 0; i < kBlock; ++i) w[size_t(r * 2 + b)].qs[i] = int8_t(i - 16 + int(r) - b);
    }
  std::vector<uint8_t> packed(w.size() * sizeof(quant::BlockQ8_0));
  quant::pack_rows_x8(TensorType::Q8_0, w.data(), rows, cols, packed.data());
  const size_t block1 = 8 * sizeof(quant::BlockQ8_0);  // the second packed block
  uint16_t d;
  std::memcpy(&d, packed.data() + block1 + 2 * 5, 2);
  EXPECT_EQ(d, 100 * 5 + 1);
  // Block 1, slice 3 (values 12..15), row 6, byte 2: value 14 of row 6, + 128.
  EXPECT_EQ(packed[block1 + 16 + 3 * 32 + 6 * 4 + 2], uint8_t(14 - 16 + 6 - 1 + 128));
  EXPECT_THROW(quant::pack_rows_x8(TensorType::Q8_0, w.data(), 4, cols, packed.data()), Error);
  EXPECT_THROW(quant::pack_rows_x8(TensorType::F16, w.data(), rows, cols, packed.data()), Error);
}

// Q5_0's fifth bits: value v of row i becomes bit 4i + (v % 4) of mask v / 4
// (values 0..15: masks 0..3, low nibbles; 16..31: masks 4..7, high nibbles).
TEST(QuantKernels, PackRowsX8PlacesQ5FifthBits) {
  const int64_t rows = 8, cols = kBlock;
  std::vector<quant::BlockQ5_0> w(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    w[size_t(r)].d = uint16_t(7 + r);
    // Row r has the fifth bit of values r and 31 - r only.
    const uint32_t qh = (1u << r) | (1u << (31 - r));
    std::memcpy(w[size_t(r)].qh, &qh, 4);
    for (int j = 0; j < kBlock / 2; ++j) w[size_t(r)].qs[j] = uint8_t((j + r) & 15) | uint8_t(((15 - j) & 15) << 4);
  }
  std::vector<uint8_t> packed(w.size() * sizeof(quant::BlockQ5_0));
  quant::pack_rows_x8(TensorType::Q5_0, w.data(), rows, cols, packed.data());
  uint32_t masks[8];
  std::memcpy(masks, packed.data() + 16, sizeof(masks));
  uint32_t expected[8] = {};
  for (int r = 0; r < 8; ++r)
    for (int v : {r, 31 - r}) expected[v / 4] |= 1u << (4 * r + v % 4);
  for (int m = 0; m < 8; ++m) EXPECT_EQ(masks[m], expected[m]) << "mask " << m;
  // The nibbles follow at 48: slice 1, row 3, byte 2 holds qs[6] of row 3.
  EXPECT_EQ(packed[48 + 1 * 32 + 3 * 4 + 2], w[3].qs[6]);
  uint16_t d;
  std::memcpy(&d, packed.data() + 2 * 6, 2);
  EXPECT_EQ(d, 7 + 6);
}

TEST(QuantKernels, SubrangesWriteOnlyTheirOwnOutputs) {
  Rng rng(13);
  const int64_t rows = 9, cols = 4 * kBlock, n_tokens = 6;
  std::vector<float> x = random_activations(n_tokens, cols, rng);
  OwnedActivations act(n_tokens, cols / kBlock);
  quant::quantize_activations_ref(x.data(), cols, act.act, 0, n_tokens);
  for (const quant::IsaKernels* k : simd_tables()) {
    for (TensorType type : kTypes) {
      std::vector<uint8_t> w = random_weights(type, rows, cols, rng);
      std::vector<float> y(n_tokens * rows, -7.0f);
      k->gemm(type)(w.data(), tensor_row_bytes(type, cols), 2, 7, act.act, 1, 4, y.data(), rows, false);
      for (int64_t t = 0; t < n_tokens; ++t)
        for (int64_t r = 0; r < rows; ++r) {
          bool inside = r >= 2 && r < 7 && t >= 1 && t < 4;
          if (!inside) EXPECT_EQ(y[t * rows + r], -7.0f) << t << " " << r;
          else EXPECT_NE(y[t * rows + r], -7.0f) << t << " " << r;
        }
    }
  }
}

// quant_matmul against float math on the dequantised weights: the only
// difference is the 8-bit rounding of the activations, at most d_x/2 per value.
TEST(QuantKernels, QuantMatmulMatchesDequantisedFloatMatmul) {
  ThreadPool pool(2);
  Rng rng(14);
  for (int64_t n_tokens : {1, 3, 70}) {
    const int64_t rows = 37, cols = 6 * kBlock;
    std::vector<float> x = random_activations(n_tokens, cols, rng);
    for (TensorType type : kTypes) {
      std::vector<float> w_f(rows * cols);
      for (auto& v : w_f) v = float(rng.normal()) * 0.05f;
      std::vector<uint8_t> w(tensor_row_bytes(type, cols) * rows);
      for (int64_t r = 0; r < rows; ++r)
        quantize_row(type, w_f.data() + r * cols, w.data() + r * tensor_row_bytes(type, cols), cols);
      std::vector<float> deq(rows * cols);
      dequantize_row(type, w.data(), deq.data(), rows * cols);
      std::vector<float> y(n_tokens * rows);
      quant_matmul(type, w.data(), rows, cols, x.data(), y.data(), n_tokens, pool);
      for (int64_t t = 0; t < n_tokens; ++t) {
        for (int64_t r = 0; r < rows; ++r) {
          double exact = 0, bound = 0;
          for (int64_t b = 0; b < cols / kBlock; ++b) {
            float amax = 0;
            for (int i = 0; i < kBlock; ++i) amax = std::max(amax, std::fabs(x[t * cols + b * kBlock + i]));
            for (int i = 0; i < kBlock; ++i) {
              int64_t c = b * kBlock + i;
              exact += double(deq[r * cols + c]) * x[t * cols + c];
              bound += std::fabs(deq[r * cols + c]) * (amax / 127 / 2 + 1e-6 * std::fabs(x[t * cols + c]));
            }
          }
          ASSERT_NEAR(y[t * rows + r], exact, bound + 1e-4 * std::fabs(exact))
              << tensor_type_name(type) << " n_tokens=" << n_tokens << " t=" << t << " r=" << r;
        }
      }
    }
  }
}

// Several outputs of one input in one call: each equals its own quant_matmul,
// written with its row stride, and accumulate adds to what was there.
TEST(QuantKernels, MultiOutputMatchesSeparateProducts) {
  ThreadPool pool(2);
  Rng rng(15);
  const int64_t cols = 5 * kBlock;
  for (int64_t n_tokens : {1, 9}) {
    std::vector<float> x = random_activations(n_tokens, cols, rng);
    const TensorType types[3] = {TensorType::Q4_0, TensorType::Q8_0, TensorType::Q5_0};
    const int64_t rows[3] = {13, 4, 22};
    std::vector<std::vector<uint8_t>> ws;
    std::vector<QuantMatmulOutput> outs;
    std::vector<std::vector<float>> ys, expect;
    for (int i = 0; i < 3; ++i) ws.push_back(random_weights(types[i], rows[i], cols, rng));
    for (int i = 0; i < 3; ++i) {
      int64_t ldy = rows[i] + 3;
      ys.emplace_back(size_t(n_tokens * ldy), 1.5f);
      std::vector<float> single(size_t(n_tokens * rows[i]));
      quant_matmul(types[i], ws[size_t(i)].data(), rows[i], cols, x.data(), single.data(), n_tokens, pool);
      std::vector<float> e(size_t(n_tokens * ldy), 1.5f);
      for (int64_t t = 0; t < n_tokens; ++t)
        for (int64_t r = 0; r < rows[i]; ++r) e[t * ldy + r] = (i == 1 ? 1.5f : 0.0f) + single[t * rows[i] + r];
      expect.push_back(e);
      QuantMatmulOutput o;
      o.type = types[i];
      o.w = ws[size_t(i)].data();
      o.rows = rows[i];
      o.ldy = ldy;
      o.accumulate = i == 1;
      outs.push_back(o);
    }
    for (int i = 0; i < 3; ++i) outs[size_t(i)].y = ys[size_t(i)].data();
    quant_matmul_multi(outs, x.data(), cols, n_tokens, pool);
    for (int i = 0; i < 3; ++i)
      for (size_t k = 0; k < ys[size_t(i)].size(); ++k) EXPECT_EQ(ys[size_t(i)][k], expect[size_t(i)][k]) << i << " " << k;
  }
}

TEST(QuantKernels, QuantMatmulRejectsBadShapes) {
  ThreadPool pool(1);
  float x[40] = {}, y[4];
  uint8_t w[64] = {};
  EXPECT_THROW(quant_matmul(TensorType::Q8_0, w, 1, 40, x, y, 1, pool), Error);
  EXPECT_THROW(quant_matmul(TensorType::F32, w, 1, 32, x, y, 1, pool), Error);
}

}  // namespace
}  // namespace edgelm
