#include "quant/quantize_file.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>

#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/numeric.h"
#include "platform/progress.h"
#include "platform/thread_pool.h"
#include "quant/quant.h"

namespace edgelm {

uint32_t llama_file_type(TensorType type) {
  switch (type) {
    case TensorType::F32: return 0;
    case TensorType::F16: return 1;
    case TensorType::Q4_0: return 2;
    case TensorType::Q8_0: return 7;
    case TensorType::Q5_0: return 8;
    case TensorType::BF16: return 32;
  }
  fail("no llama.cpp file type for ", tensor_type_name(type));
}

namespace {

// Converts one row of any supported stored type to f32.
void row_to_f32(TensorType type, const uint8_t* src, float* dst, int64_t n) {
  switch (type) {
    case TensorType::F32: std::memcpy(dst, src, size_t(n) * 4); return;
    case TensorType::F16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = f16_to_f32(h);
      }
      return;
    case TensorType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = bf16_to_f32(h);
      }
      return;
    default: dequantize_row(type, src, dst, n);
  }
}

// Writes one f32 row as `type`.
void row_from_f32(TensorType type, const float* src, uint8_t* dst, int64_t n) {
  switch (type) {
    case TensorType::F32: std::memcpy(dst, src, size_t(n) * 4); return;
    case TensorType::F16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h = f32_to_f16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    case TensorType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h = f32_to_bf16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    default: quantize_row(type, src, dst, n);
  }
}

// ggml_n_dims: trailing dimensions of size 1 do not count.
int n_dims(const GgufTensor& t) {
  int n = int(t.ne.size());
  while (n > 1 && t.ne[n - 1] == 1) --n;
  return n;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

QuantizeFileReport quantize_file(const std::string& in_path, const std::string& out_path,
                                 const QuantizeFileOptions& options, ThreadPool& pool) {
  auto start = std::chrono::steady_clock::now();
  if (!is_quantized(options.type))
    fail("quantize: --type must be q8_0, q5_0 or q4_0, not ", tensor_type_name(options.type));
  if (in_path == out_path) fail("quantize: the output file must differ from the input ", in_path);
  GgufFile in = GgufFile::open(in_path);
  const GgufMetadata& meta = in.metadata();
  if (!meta.contains("general.architecture"))
    fail(in_path, ": no general.architecture key; is this a llama.cpp model file?");

  TensorType output_type = options.output_type.value_or(TensorType::Q8_0);
  TensorType embedding_type = options.embedding_type.value_or(options.type);
  const bool tied = in.find_tensor("output.weight") == nullptr;

  GgufWriter writer;
  for (const auto& [key, value] : meta.entries()) {
    if (key == "general.file_type" || key == "general.quantization_version") continue;
    writer.metadata().set(key, value);
  }
  // A file without a vocabulary (e.g. an older edgelm model init) gets
  // llama.cpp's marker for one, without which llama.cpp does not load it.
  gguf_mark_no_vocabulary(writer.metadata());
  writer.metadata().set("general.quantization_version", GgufValue::u32(2));
  writer.metadata().set("general.file_type", GgufValue::u32(llama_file_type(options.type)));

  QuantizeFileReport report;
  report.file_bytes_before = in.file_size();
  int64_t total_elements = 0;
  for (const auto& t : in.tensors()) total_elements += t.n_elements();
  std::unique_ptr<ProgressBar> bar;
  if (options.progress) bar = std::make_unique<ProgressBar>("quantize", total_elements, "values");

  std::vector<std::unique_ptr<std::vector<uint8_t>>> buffers;  // kept alive until write()
  int64_t done_elements = 0;
  for (const GgufTensor& t : in.tensors()) {
    if (is_quantized(t.type) && !options.allow_requantize)
      fail(in_path, ": tensor '", t.name, "' is already ", tensor_type_name(t.type),
           "; quantising it again compounds the error (pass --allow-requantize to do it anyway)");
    TensorType target;
    bool matrix = n_dims(t) >= 2 && ends_with(t.name, "weight");
    if (!matrix) {
      target = TensorType::F32;  // norms and other vectors: llama.cpp's kernels expect f32
    } else if (t.name == "output.weight" || (tied && t.name == "token_embd.weight")) {
      target = output_type;
    } else if (t.name == "token_embd.weight") {
      target = embedding_type;
    } else {
      target = options.type;
    }
    const int64_t cols = t.ne.empty() ? 1 : t.ne[0];
    const int64_t rows = t.n_elements() / std::max<int64_t>(cols, 1);
    if (is_quantized(target) && cols % 32 != 0) target = TensorType::F16;  // llama.cpp's fallback for odd rows

    QuantizedTensorReport tr{t.name, t.type, target, t.n_bytes, 0};
    if (target == t.type) {
      writer.add_tensor_view(t.name, t.type, t.ne, t.data, t.n_bytes);  // bytes unchanged
      tr.bytes_after = t.n_bytes;
    } else {
      const int64_t in_row = tensor_row_bytes(t.type, cols), out_row = tensor_row_bytes(target, cols);
      auto out = std::make_unique<std::vector<uint8_t>>(size_t(rows * out_row));
      std::vector<std::string> errors(size_t(pool.size()));
      pool.run([&](int ith) {
        std::vector<float> row(static_cast<size_t>(cols));
        int64_t r0 = rows * ith / pool.size(), r1 = rows * (ith + 1) / pool.size();
        try {
          for (int64_t r = r0; r < r1; ++r) {
            row_to_f32(t.type, t.data + r * in_row, row.data(), cols);
            for (int64_t c = 0; c < cols; ++c)
              if (!std::isfinite(row[c])) fail("tensor '", t.name, "' row ", r, " column ", c, " is ", row[c]);
            row_from_f32(target, row.data(), out->data() + r * out_row, cols);
          }
        } catch (const std::exception& e) {
          errors[size_t(ith)] = e.what();  // exceptions must not leave a worker thread
        }
      });
      for (const auto& e : errors)
        if (!e.empty()) fail(in_path, ": ", e);
      writer.add_tensor_view(t.name, target, t.ne, out->data(), out->size());
      tr.bytes_after = out->size();
      buffers.push_back(std::move(out));
    }
    if (is_quantized(target)) ++report.n_quantized;
    else ++report.n_kept;
    report.tensor_bytes_before += tr.bytes_before;
    report.tensor_bytes_after += tr.bytes_after;
    report.tensors.push_back(tr);
    done_elements += t.n_elements();
    if (bar) bar->update(done_elements, t.name);
  }
  if (bar) bar->finish();
  writer.write(out_path);
  report.file_bytes_after = GgufFile::open(out_path).file_size();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace edgelm
