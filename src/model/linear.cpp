#include "model/linear.h"

#include <algorithm>

#include "platform/error.h"
#include "quant/quant.h"

namespace edgelm {

void linear_forward(std::span<const LinearOutput> outputs, const float* x, int64_t n_tokens, bool accumulate,
                    ThreadPool& pool, const Kernels& k, float* tmp) {
  if (outputs.empty() || n_tokens <= 0) return;
  bool all_float = true;
  int64_t total_rows = 0;
  for (const LinearOutput& o : outputs) {
    all_float = all_float && !is_quantized(o.w->type);
    total_rows += o.w->rows;
  }
  bool all_quantized = outputs.size() <= 8;
  for (const LinearOutput& o : outputs)
    all_quantized = all_quantized && is_quantized(o.w->type) && o.w->cols == outputs[0].w->cols;
  if (all_quantized) {
    // One call: x quantised once, every output's rows in one parallel region,
    // accumulating straight into y (no copy through tmp).
    QuantMatmulOutput q[8];
    int64_t first_row = 0;
    for (size_t i = 0; i < outputs.size(); ++i) {
      const LinearOutput& o = outputs[i];
      q[i].type = o.w->type;
      // A packed matrix must start on a whole row group of the concatenation.
      q[i].packed = o.w->packed && first_row % 8 == 0;
      first_row += o.w->rows;
      q[i].w = q[i].packed ? o.w->packed : o.w->data;
      q[i].rows = o.w->rows;
      q[i].y = o.y;
      q[i].ldy = o.ldy;
      q[i].accumulate = accumulate;
    }
    quant_matmul_multi({q, outputs.size()}, x, outputs[0].w->cols, n_tokens, pool);
    return;
  }
  if (!all_float) {
    for (const LinearOutput& o : outputs) {
      const WeightMatrix& w = *o.w;
      if (!is_quantized(w.type)) {
        LinearOutput one = o;
        linear_forward({&one, 1}, x, n_tokens, accumulate, pool, k, tmp);
        continue;
      }
      bool dense = o.ldy == w.rows && !accumulate;
      float* y = dense ? o.y : tmp;
      quant_matmul(w.type, w.data, w.rows, w.cols, x, y, n_tokens, pool);
      if (!dense) {
        for (int64_t t = 0; t < n_tokens; ++t) {
          float* dst = o.y + t * o.ldy;
          const float* src = tmp + t * w.rows;
          if (accumulate) for (int64_t r = 0; r < w.rows; ++r) dst[r] += src[r];
          else std::copy(src, src + w.rows, dst);
        }
      }
    }
    return;
  }
  // One region over the concatenated rows of every output, so that e.g. q, k
  // and v cost one fork/join per layer instead of three.
  pool.parallel_for(
      total_rows,
      [&](int64_t begin, int64_t end) {
        int64_t offset = 0;
        for (const LinearOutput& o : outputs) {
          int64_t lo = std::max(begin, offset), hi = std::min(end, offset + o.w->rows);
          if (lo < hi)
            k.matmul(o.w->type, o.w->data, o.w->cols, x, o.w->cols, o.y, o.ldy, n_tokens, lo - offset, hi - offset,
                     accumulate);
          offset += o.w->rows;
        }
      },
      linear_row_grain(n_tokens));
}

}  // namespace edgelm
