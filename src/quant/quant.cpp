#include "quant/quant.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "platform/aligned_buffer.h"
#include "platform/cpu_features.h"
#include "platform/error.h"
#include "platform/thread_pool.h"
#include "quant/blocks.h"
#include "quant/kernels.h"

namespace edgelm {

using quant::ActivationsQ8;
using quant::kBlock;

bool is_quantized(TensorType type) {
  return type == TensorType::Q8_0 || type == TensorType::Q5_0 || type == TensorType::Q4_0;
}

static const quant::TypeTraits& traits_or_fail(TensorType type, int64_t n, const char* what) {
  const quant::TypeTraits* traits = quant::type_traits(type);
  if (!traits) fail(what, ": ", tensor_type_name(type), " is not a quantised block type (q8_0, q5_0, q4_0)");
  if (n % kBlock != 0) fail(what, ": a row of ", n, " values is not a multiple of ", tensor_type_name(type), "'s block of 32");
  return *traits;
}

void dequantize_row(TensorType type, const void* src, float* dst, int64_t n) {
  traits_or_fail(type, n, "dequantising").dequantize_ref(src, dst, n);
}

void quantize_row(TensorType type, const float* src, void* dst, int64_t n) {
  traits_or_fail(type, n, "quantising").quantize_ref(src, dst, n);
}

namespace quant {

GemmFn IsaKernels::gemm_x8(TensorType type) const {
  switch (type) {
    case TensorType::Q8_0: return gemm_q8_0_x8;
    case TensorType::Q5_0: return gemm_q5_0_x8;
    case TensorType::Q4_0: return gemm_q4_0_x8;
    default: return nullptr;
  }
}

GemmFn IsaKernels::gemm(TensorType type) const {
  switch (type) {
    case TensorType::Q8_0: return gemm_q8_0;
    case TensorType::Q5_0: return gemm_q5_0;
    case TensorType::Q4_0: return gemm_q4_0;
    default: fail("no quantised matmul for ", tensor_type_name(type));
  }
}

const IsaKernels* kernels_for(Isa isa) {
  if (!isa_supported(isa)) return nullptr;
  // isa_supported() is false for the columns of another architecture, which this build did not compile.
  switch (isa) {
    case Isa::Scalar: return scalar_kernels();
#if EDGELM_COLUMNS_X86
    case Isa::Avx2: return avx2_kernels();
    case Isa::Avx512: return cpu_features().avx512vnni ? avx512vnni_kernels() : nullptr;
#endif
#if EDGELM_COLUMNS_NEON
    // One column, two versions: SDOT where the CPU has it, so that one binary runs on both kinds of core.
    case Isa::Neon: return cpu_features().neon_dotprod ? neon_dotprod_kernels() : neon_kernels();
#endif
    default: return nullptr;
  }
}

std::vector<const IsaKernels*> kernel_versions_for(Isa isa) {
  std::vector<const IsaKernels*> out;
  if (const IsaKernels* best = kernels_for(isa)) out.push_back(best);
#if EDGELM_COLUMNS_NEON
  if (isa == Isa::Neon && !out.empty() && out[0] != neon_kernels()) out.push_back(neon_kernels());
#endif
  return out;
}

const IsaKernels& active_kernels() {
  static const IsaKernels& kernels = *isa_pick(isa_active(), kernels_for);
  return kernels;
}

bool packable_x8(TensorType type, int64_t rows) {
  return (type == TensorType::Q8_0 || type == TensorType::Q5_0 || type == TensorType::Q4_0) && rows > 0 && rows % 8 == 0;
}

void pack_rows_x8(TensorType type, const void* w, int64_t rows, int64_t cols, void* out) {
  if (!packable_x8(type, rows) || cols % kBlock != 0)
    fail("pack_rows_x8: cannot pack ", rows, " rows of ", cols, " ", tensor_type_name(type), " values");
  const int64_t nb = cols / kBlock, row_bytes = tensor_row_bytes(type, cols);
  const TypeTraits& traits = *type_traits(type);
  const int64_t block_bytes = int64_t(traits.block_bytes), packed_bytes = 8 * block_bytes;
  const bool q8 = type == TensorType::Q8_0, q5 = type == TensorType::Q5_0;
  const int n_slices = q8 ? 8 : 4;
  const int64_t quants_at = x8_quants_at(type);
  const auto* src = static_cast<const uint8_t*>(w);
  auto* dst = static_cast<uint8_t*>(out);
  for (int64_t g = 0; g < rows / 8; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* packed = dst + (g * nb + b) * packed_bytes;
      uint32_t masks[8] = {};
      for (int i = 0; i < 8; ++i) {
        const uint8_t* block = src + (g * 8 + i) * row_bytes + b * block_bytes;
        std::memcpy(packed + 2 * i, block, 2);  // the f16 scale, first in every block type
        const uint8_t* qs = block + (q5 ? 6 : 2);
        uint32_t qh = 0;
        if (q5) std::memcpy(&qh, block + 2, 4);
        for (int slice = 0; slice < n_slices; ++slice)
          for (int k = 0; k < 4; ++k) {
            uint8_t q = qs[4 * slice + k];
            // Q8_0: int8 -> uint8 with +128 (two's complement: flip the top bit).
            packed[quants_at + slice * 32 + i * 4 + k] = q8 ? uint8_t(q ^ 0x80) : q;
            if (q5) {
              const int lane_bit = i * 4 + k;  // the byte's place in its 32-byte slice
              masks[slice] |= ((qh >> (4 * slice + k)) & 1u) << lane_bit;
              masks[4 + slice] |= ((qh >> (16 + 4 * slice + k)) & 1u) << lane_bit;
            }
          }
      }
      if (q5) std::memcpy(packed + 16, masks, sizeof(masks));
    }
  }
}


}  // namespace quant

namespace {

// Scratch for the quantised activations of one call, kept per calling thread
// so that a decode step allocates nothing after the first token.
struct ActivationScratch {
  AlignedArray<int8_t> qs;
  std::unique_ptr<float[]> d;
  std::unique_ptr<int32_t[]> sum;
  int64_t capacity_blocks = 0;

  ActivationsQ8 view(int64_t n_tokens, int64_t n_blocks) {
    int64_t need = n_tokens * n_blocks;
    if (need > capacity_blocks) {
      capacity_blocks = std::max(need, capacity_blocks * 2);
      // 64-byte aligned quants: one block's 32 bytes never straddle a cache line.
      qs = aligned_array<int8_t>(size_t(capacity_blocks) * kBlock);
      d.reset(new float[capacity_blocks]);
      sum.reset(new int32_t[capacity_blocks]);
    }
    ActivationsQ8 a;
    a.n_tokens = n_tokens;
    a.n_blocks = n_blocks;
    a.qs = qs.get();
    a.d = d.get();
    a.sum = sum.get();
    return a;
  }
};

// The GEMM walks tokens in chunks so that one chunk's quantised activations
// stay in L2 while every row of the thread's share streams past them.
constexpr int64_t kTokenChunk = 64;
// Rows are handed to threads in multiples of this: the kernels' row tile and
// the x8 layout's row group (a packed output starts on a multiple of 8 rows of
// the concatenation, checked, so chunk boundaries stay on its whole groups).
constexpr int64_t kRowGrain = 8;

}  // namespace

void quant_matmul(TensorType type, const void* w, int64_t rows, int64_t cols, const float* x, float* y,
                  int64_t n_tokens, ThreadPool& pool) {
  QuantMatmulOutput out;
  out.type = type;
  out.w = w;
  out.rows = rows;
  out.y = y;
  out.ldy = rows;
  quant_matmul_multi({&out, 1}, x, cols, n_tokens, pool);
}

const ActivationsQ8& quantize_input(const float* x, int64_t cols, int64_t n_tokens, ThreadPool& pool) {
  if (cols % kBlock != 0) fail("quantize_input: ", cols, " columns is not a multiple of the block of 32");
  const quant::IsaKernels& kernels = quant::active_kernels();
  // Separate from quant_matmul_multi's scratch, so that the two can be mixed.
  thread_local ActivationScratch scratch;
  thread_local ActivationsQ8 view;
  view = scratch.view(n_tokens, cols / kBlock);
  // The workers must see THIS thread's view: a lambda naming a thread_local
  // would reach each worker's own instance instead.
  ActivationsQ8& act = view;
  if (n_tokens == 1) kernels.quantize_activations(x, cols, act, 0, 1);
  else pool.parallel_for(n_tokens, [&act, &kernels, x, cols](int64_t t0, int64_t t1) {
    kernels.quantize_activations(x, cols, act, t0, t1);
  });
  return act;
}

bool quant_packing_helps(TensorType type, int64_t rows) {
  return quant::packable_x8(type, rows) && quant::active_kernels().gemm_x8(type) != nullptr;
}

void quant_pack(TensorType type, const void* w, int64_t rows, int64_t cols, void* out) {
  quant::pack_rows_x8(type, w, rows, cols, out);
}

void quant_gemm_rows(TensorType type, const void* w, int64_t r_begin, int64_t r_end, const ActivationsQ8& act, float* y,
                     int64_t ldy, bool accumulate, bool packed) {
  if (r_begin >= r_end || act.n_tokens <= 0) return;
  const quant::GemmFn gemm = packed ? quant::active_kernels().gemm_x8(type) : quant::active_kernels().gemm(type);
  if (!gemm) fail("quant_gemm_rows: no kernel for packed ", tensor_type_name(type));
  const int64_t row_bytes = tensor_row_bytes(type, act.n_blocks * kBlock);
  for (int64_t t0 = 0; t0 < act.n_tokens; t0 += kTokenChunk)
    gemm(static_cast<const uint8_t*>(w), row_bytes, r_begin, r_end, act, t0, std::min(act.n_tokens, t0 + kTokenChunk), y,
         ldy, accumulate);
}

void quant_matmul_multi(std::span<const QuantMatmulOutput> outputs, const float* x, int64_t cols, int64_t n_tokens,
                        ThreadPool& pool) {
  if (cols % kBlock != 0) fail("quant_matmul: ", cols, " columns is not a multiple of the block of 32");
  const quant::IsaKernels& kernels = quant::active_kernels();
  // Each output's rows, concatenated, are the rows the threads split.
  constexpr size_t kMaxOutputs = 8;
  if (outputs.size() > kMaxOutputs) fail("quant_matmul_multi: at most ", kMaxOutputs, " outputs per call");
  quant::GemmFn gemm[kMaxOutputs];
  int64_t row_bytes[kMaxOutputs], first_row[kMaxOutputs + 1];
  first_row[0] = 0;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const QuantMatmulOutput& o = outputs[i];
    if (!is_quantized(o.type)) fail("quant_matmul: ", tensor_type_name(o.type), " is not a quantised type");
    if (o.rows < 0 || o.ldy < o.rows) fail("quant_matmul: output ", i, " has ", o.rows, " rows but a row stride of ", o.ldy);
    gemm[i] = o.packed ? kernels.gemm_x8(o.type) : kernels.gemm(o.type);
    if (!gemm[i]) fail("quant_matmul: no kernel for packed ", tensor_type_name(o.type));
    if (o.packed && (o.rows % 8 != 0 || first_row[i] % 8 != 0))
      fail("quant_matmul: packed output ", i, " must have a multiple of 8 rows and follow a multiple of 8 rows");
    row_bytes[i] = tensor_row_bytes(o.type, cols);
    first_row[i + 1] = first_row[i] + o.rows;
  }
  const int64_t total_rows = first_row[outputs.size()];
  if (total_rows == 0 || n_tokens <= 0) return;
  const int64_t n_blocks = cols / kBlock;

  thread_local ActivationScratch scratch;
  ActivationsQ8 act = scratch.view(n_tokens, n_blocks);

  // Rows [r0, r1) of the concatenation, for tokens [t0, t1).
  auto run_rows = [&](int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
    for (size_t i = 0; i < outputs.size(); ++i) {
      int64_t lo = std::max(r0, first_row[i]), hi = std::min(r1, first_row[i + 1]);
      if (lo >= hi) continue;
      const QuantMatmulOutput& o = outputs[i];
      gemm[i](static_cast<const uint8_t*>(o.w), row_bytes[i], lo - first_row[i], hi - first_row[i], act, t0, t1, o.y,
              o.ldy, o.accumulate);
    }
  };

  if (n_tokens == 1) {
    // Decode: quantising one row costs less than waking the workers twice.
    kernels.quantize_activations(x, cols, act, 0, 1);
    pool.parallel_for_even(total_rows, [&](int64_t r0, int64_t r1) { run_rows(r0, r1, 0, 1); }, kRowGrain);
    return;
  }
  pool.parallel_for(n_tokens, [&](int64_t t0, int64_t t1) { kernels.quantize_activations(x, cols, act, t0, t1); });
  pool.parallel_for_even(
      total_rows,
      [&](int64_t r0, int64_t r1) {
        for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenChunk) run_rows(r0, r1, t0, std::min(n_tokens, t0 + kTokenChunk));
      },
      kRowGrain);
}

}  // namespace edgelm
