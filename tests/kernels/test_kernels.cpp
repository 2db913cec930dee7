// Each SIMD kernel against the scalar reference, with tolerances derived from
// the inputs (a few ulps of the sum of absolute products), and the reference
// kernels against the formulas they implement, computed in double.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "platform/numeric.h"
#include "platform/random.h"

namespace edgelm {
namespace {

constexpr float kEps = std::numeric_limits<float>::epsilon();

std::vector<float> random_vector(Rng& rng, int64_t n, double scale = 1.0) {
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = float(rng.normal() * scale);
  return v;
}

// Weights of `type` (f32 bits, or 16-bit patterns) and their exact f32 values.
struct TestWeights {
  std::vector<uint8_t> bytes;
  std::vector<float> values;
};

TestWeights random_weights(Rng& rng, TensorType type, int64_t rows, int64_t cols) {
  TestWeights w;
  w.values = random_vector(rng, rows * cols);
  w.bytes.resize(size_t(kernel_row_bytes(type, cols) * rows));
  for (int64_t i = 0; i < rows * cols; ++i) {
    if (type == TensorType::F32) {
      reinterpret_cast<float*>(w.bytes.data())[i] = w.values[size_t(i)];
    } else {
      uint16_t h = type == TensorType::F16 ? f32_to_f16(w.values[size_t(i)]) : f32_to_bf16(w.values[size_t(i)]);
      reinterpret_cast<uint16_t*>(w.bytes.data())[i] = h;
      w.values[size_t(i)] = type == TensorType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
    }
  }
  return w;
}

std::string cat_trace(const Kernels* k, TensorType type, int64_t rows, int64_t cols, int64_t T, bool accumulate) {
  return std::string(isa_name(k->isa)) + " " + std::string(tensor_type_name(type)) + " rows " + std::to_string(rows) +
         " cols " + std::to_string(cols) + " tokens " + std::to_string(T) + (accumulate ? " accumulate" : "");
}

std::vector<const Kernels*> simd_tables() {
  std::vector<const Kernels*> out;
  for (Isa isa : isa_available())  // EDGELM_ISA lowers what is available
    if (const Kernels* k = kernels_for(isa); k && isa != Isa::Scalar) out.push_back(k);
  return out;
}

TEST(Kernels, DispatchPicksATable) {
  const Kernels& k = kernels();
  EXPECT_NE(k.matmul, nullptr);
  EXPECT_EQ(kernels_ref().isa, Isa::Scalar);
  ASSERT_NE(kernels_for(Isa::Scalar), nullptr);
  if (simd_tables().empty()) GTEST_SKIP() << "no SIMD table on this CPU";
}

TEST(Kernels, MatmulMatchesReference) {
  auto tables = simd_tables();
  if (tables.empty()) GTEST_SKIP() << "no SIMD table on this CPU";
  Rng rng(1);
  const int64_t shapes[][3] = {  // rows, cols, tokens
      {1, 1, 1},   {5, 7, 1},    {37, 16, 2},  {70, 33, 3},  {64, 64, 5},  {33, 100, 6},
      {40, 17, 7}, {96, 64, 9},  {31, 48, 17}, {65, 576, 1}, {50, 130, 24}};
  for (const Kernels* k : tables) {
    for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16}) {
      for (const auto& shape : shapes) {
        const int64_t rows = shape[0], cols = shape[1], T = shape[2];
        for (bool accumulate : {false, true}) {
          SCOPED_TRACE(cat_trace(k, type, rows, cols, T, accumulate));
          TestWeights w = random_weights(rng, type, rows, cols);
          const int64_t ldx = cols + 3, ldy = rows + 2;
          std::vector<float> x = random_vector(rng, T * ldx);
          std::vector<float> y0 = random_vector(rng, T * ldy);
          std::vector<float> y_ref = y0, y_simd = y0;
          kernels_ref().matmul(type, w.bytes.data(), cols, x.data(), ldx, y_ref.data(), ldy, T, 0, rows, accumulate);
          // The SIMD side runs as two row ranges, as two threads would.
          const int64_t split = rows / 3;
          k->matmul(type, w.bytes.data(), cols, x.data(), ldx, y_simd.data(), ldy, T, 0, split, accumulate);
          k->matmul(type, w.bytes.data(), cols, x.data(), ldx, y_simd.data(), ldy, T, split, rows, accumulate);
          for (int64_t t = 0; t < T; ++t) {
            for (int64_t r = 0; r < rows; ++r) {
              double abs_sum = accumulate ? std::fabs(y0[size_t(t * ldy + r)]) : 0.0;
              for (int64_t c = 0; c < cols; ++c)
                abs_sum += std::fabs(double(w.values[size_t(r * cols + c)]) * x[size_t(t * ldx + c)]);
              const double tol = 20 * abs_sum * kEps;
              ASSERT_NEAR(y_simd[size_t(t * ldy + r)], y_ref[size_t(t * ldy + r)], tol) << "t " << t << " r " << r;
            }
            // Padding between rows of y is never written.
            for (int64_t r = rows; r < ldy; ++r) ASSERT_EQ(y_simd[size_t(t * ldy + r)], y0[size_t(t * ldy + r)]);
          }
        }
      }
    }
  }
}

TEST(Kernels, MatmulReferenceIsTheProduct) {
  Rng rng(2);
  const int64_t rows = 9, cols = 13, T = 3;
  TestWeights w = random_weights(rng, TensorType::BF16, rows, cols);
  std::vector<float> x = random_vector(rng, T * cols), y(static_cast<size_t>(T * rows));
  kernels_ref().matmul(TensorType::BF16, w.bytes.data(), cols, x.data(), cols, y.data(), rows, T, 0, rows, false);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t r = 0; r < rows; ++r) {
      double sum = 0, abs_sum = 0;
      for (int64_t c = 0; c < cols; ++c) {
        sum += double(w.values[size_t(r * cols + c)]) * x[size_t(t * cols + c)];
        abs_sum += std::fabs(double(w.values[size_t(r * cols + c)]) * x[size_t(t * cols + c)]);
      }
      EXPECT_NEAR(y[size_t(t * rows + r)], sum, 4 * cols * abs_sum * kEps);
    }
}

// Attention's two halves for several queries at once, on rows with a stride
// (a KV cache holding several heads), every SIMD table and the reference
// against double sums; the values accumulate into what `out` held.
TEST(Kernels, AttentionKernelsMatchDoubleSums) {
  std::vector<const Kernels*> tables = simd_tables();
  tables.insert(tables.begin(), &kernels_ref());
  Rng rng(9);
  for (const Kernels* k : tables) {
    for (int64_t rows : {1, 2, 3, 4, 5, 7, 9}) {
      for (int64_t dim : {1, 7, 16, 24, 32, 48, 64, 100, 128}) {
        for (int64_t n : {1, 3, 4, 9, 16, 37, 64, 100, 130}) {
          SCOPED_TRACE(std::string(isa_name(k->isa)) + " rows=" + std::to_string(rows) + " dim=" + std::to_string(dim) +
                       " n=" + std::to_string(n));
          // Values as rows with a stride; keys transposed (component i of key j
          // at kt[i * ldk + j]); scores and weights in rows of lds.
          const int64_t ld = dim * 3 + 5, ldk = n + 7, lds = n + 3;
          std::vector<float> q = random_vector(rng, rows * dim, 2.0), v = random_vector(rng, n * ld, 2.0),
                             kt = random_vector(rng, dim * ldk, 2.0), p = random_vector(rng, rows * lds);
          std::vector<float> out0 = random_vector(rng, rows * dim), out = out0;
          std::vector<float> scores(size_t(rows * lds), NAN);
          k->attn_scores(q.data(), rows, dim, kt.data(), ldk, n, scores.data(), lds);
          k->attn_values(p.data(), lds, rows, v.data(), ld, n, dim, out.data());
          for (int64_t r = 0; r < rows; ++r) {
            for (int64_t j = n; j < lds; ++j)
              ASSERT_TRUE(std::isnan(scores[size_t(r * lds + j)])) << "wrote past row " << r << "'s last score";
            for (int64_t j = 0; j < n; ++j) {
              double sum = 0, abs_sum = 0;
              for (int64_t i = 0; i < dim; ++i) {
                double prod = double(q[size_t(r * dim + i)]) * kt[size_t(i * ldk + j)];
                sum += prod;
                abs_sum += std::fabs(prod);
              }
              EXPECT_NEAR(scores[size_t(r * lds + j)], sum, 4 * dim * abs_sum * kEps + 1e-30) << "row " << r << " key " << j;
            }
            for (int64_t i = 0; i < dim; ++i) {
              double sum = out0[size_t(r * dim + i)], abs_sum = std::fabs(sum);
              for (int64_t j = 0; j < n; ++j) {
                double prod = double(p[size_t(r * lds + j)]) * v[size_t(j * ld + i)];
                sum += prod;
                abs_sum += std::fabs(prod);
              }
              EXPECT_NEAR(out[size_t(r * dim + i)], sum, 4 * (n + 1) * abs_sum * kEps + 1e-30) << "row " << r << " value " << i;
            }
          }
        }
      }
    }
  }
}

TEST(Kernels, VectorOpsMatchReference) {
  auto tables = simd_tables();
  if (tables.empty()) GTEST_SKIP() << "no SIMD table on this CPU";
  const Kernels& ref = kernels_ref();
  Rng rng(3);
  for (const Kernels* k : tables) {
    for (int64_t n : {1, 2, 5, 8, 15, 16, 17, 31, 32, 33, 64, 100, 577}) {
      SCOPED_TRACE(std::string(isa_name(k->isa)) + " n=" + std::to_string(n));
      std::vector<float> a = random_vector(rng, n, 3.0), b = random_vector(rng, n, 3.0);
      double abs_sum = 0;
      for (int64_t i = 0; i < n; ++i) abs_sum += std::fabs(double(a[size_t(i)]) * b[size_t(i)]);
      EXPECT_NEAR(k->dot(a.data(), b.data(), n), ref.dot(a.data(), b.data(), n), 20 * abs_sum * kEps);

      std::vector<float> y1 = b, y2 = b;
      ref.axpy(0.75f, a.data(), y1.data(), n);
      k->axpy(0.75f, a.data(), y2.data(), n);
      for (int64_t i = 0; i < n; ++i)
        EXPECT_NEAR(y2[size_t(i)], y1[size_t(i)], 4 * (std::fabs(b[size_t(i)]) + 0.75 * std::fabs(a[size_t(i)])) * kEps);

      std::vector<float> gain = random_vector(rng, n);
      std::vector<float> n1(static_cast<size_t>(n)), n2(static_cast<size_t>(n));
      ref.rmsnorm(a.data(), gain.data(), n1.data(), n, 1e-5f);
      k->rmsnorm(a.data(), gain.data(), n2.data(), n, 1e-5f);
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(n2[size_t(i)], n1[size_t(i)], 20 * std::fabs(n1[size_t(i)]) * kEps + 1e-30);

      // Softmax over logits spread across a wide range, including very negative ones.
      std::vector<float> s1 = random_vector(rng, n, 20.0), s2 = s1;
      ref.softmax(s1.data(), n);
      k->softmax(s2.data(), n);
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(s2[size_t(i)], s1[size_t(i)], 20 * s1[size_t(i)] * kEps + 1e-37);

      std::vector<float> g = random_vector(rng, n, 8.0), u = random_vector(rng, n), o1(static_cast<size_t>(n)), o2(static_cast<size_t>(n));
      ref.swiglu(g.data(), u.data(), o1.data(), n);
      k->swiglu(g.data(), u.data(), o2.data(), n);
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(o2[size_t(i)], o1[size_t(i)], 20 * std::fabs(o1[size_t(i)]) * kEps + 1e-37);
    }
  }
}

TEST(Kernels, RopeMatchesReference) {
  auto tables = simd_tables();
  Rng rng(4);
  for (int64_t dim : {2, 8, 16, 18, 32, 64, 96}) {
    std::vector<float> cos2(static_cast<size_t>(dim)), sin2(static_cast<size_t>(dim));
    rope_tables(37, dim, 10000.0f, cos2.data(), sin2.data());
    const int64_t n_vec = 3;
    std::vector<float> x = random_vector(rng, n_vec * dim), x_ref = x;
    kernels_ref().rope(x_ref.data(), n_vec, dim, cos2.data(), sin2.data());
    // The reference against the rotation written with complex numbers, in double.
    for (int64_t v = 0; v < n_vec; ++v)
      for (int64_t i = 0; i < dim / 2; ++i) {
        double angle = 37.0 * std::pow(10000.0, -2.0 * double(i) / double(dim));
        double a = x[size_t(v * dim + 2 * i)], b = x[size_t(v * dim + 2 * i + 1)];
        double scale = std::fabs(a) + std::fabs(b);
        EXPECT_NEAR(x_ref[size_t(v * dim + 2 * i)], a * std::cos(angle) - b * std::sin(angle), 1e-5 * scale);
        EXPECT_NEAR(x_ref[size_t(v * dim + 2 * i + 1)], a * std::sin(angle) + b * std::cos(angle), 1e-5 * scale);
      }
    for (const Kernels* k : tables) {
      std::vector<float> x_simd = x;
      k->rope(x_simd.data(), n_vec, dim, cos2.data(), sin2.data());
      for (size_t i = 0; i < x.size(); ++i) {
        size_t pair = i & ~size_t(1);
        EXPECT_NEAR(x_simd[i], x_ref[i], 4 * (std::fabs(x[pair]) + std::fabs(x[pair + 1])) * kEps) << isa_name(k->isa);
      }
    }
  }
}

TEST(Kernels, ReferenceOpsMatchTheirFormulas) {
  Rng rng(5);
  const int64_t n = 50;
  std::vector<float> x = random_vector(rng, n, 2.0), gain = random_vector(rng, n), y(static_cast<size_t>(n));
  kernels_ref().rmsnorm(x.data(), gain.data(), y.data(), n, 1e-5f);
  double ms = 0;
  for (float v : x) ms += double(v) * v;
  ms /= n;
  for (int64_t i = 0; i < n; ++i)
    EXPECT_NEAR(y[size_t(i)], x[size_t(i)] / std::sqrt(ms + 1e-5) * gain[size_t(i)], 1e-5 * std::fabs(y[size_t(i)]) + 1e-7);

  std::vector<float> s = x;
  kernels_ref().softmax(s.data(), n);
  double total = 0, max = x[0];
  for (float v : x) max = std::max(max, double(v));
  for (float v : x) total += std::exp(v - max);
  for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(s[size_t(i)], std::exp(x[size_t(i)] - max) / total, 1e-6);

  std::vector<float> up = random_vector(rng, n), out(static_cast<size_t>(n));
  kernels_ref().swiglu(x.data(), up.data(), out.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    double g = x[size_t(i)];
    EXPECT_NEAR(out[size_t(i)], g / (1 + std::exp(-g)) * up[size_t(i)], 1e-6 * (1 + std::fabs(out[size_t(i)])));
  }
}

TEST(Kernels, RopeTablesStartAtIdentity) {
  std::vector<float> cos2(64), sin2(64);
  rope_tables(0, 64, 10000.0f, cos2.data(), sin2.data());
  for (int i = 0; i < 64; ++i) {
    EXPECT_EQ(cos2[size_t(i)], 1.0f);
    EXPECT_EQ(sin2[size_t(i)], 0.0f);
  }
  rope_tables(1000, 64, 10000.0f, cos2.data(), sin2.data());
  for (int i = 0; i < 64; i += 2) {
    EXPECT_EQ(cos2[size_t(i)], cos2[size_t(i) + 1]);
    EXPECT_EQ(sin2[size_t(i)], -sin2[size_t(i) + 1]);
    EXPECT_NEAR(double(cos2[size_t(i)]) * cos2[size_t(i)] + double(sin2[size_t(i)]) * sin2[size_t(i)], 1.0, 1e-6);
  }
}

}  // namespace
}  // namespace edgelm
