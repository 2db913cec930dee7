#pragma once
// Quantising a whole GGUF model file, as llama.cpp's quantize tool does:
// every metadata key is carried over (tokenizer included), general.file_type
// and general.quantization_version say what the file now holds, 2-D weight
// matrices become the chosen block type, and 1-D tensors (norms) stay F32.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/tensor_type.h"

namespace edgelm {

class ThreadPool;

struct QuantizeFileOptions {
  TensorType type = TensorType::Q8_0;             // q8_0, q5_0 or q4_0
  // Type of output.weight (and of token_embd.weight when the embeddings are
  // tied, since it is then the output head). Unset: q8_0 (the head is the
  // most quantisation-sensitive matrix; llama.cpp keeps it at higher
  // precision too).
  std::optional<TensorType> output_type;
  std::optional<TensorType> embedding_type;      // token_embd.weight when untied. Unset: the main type
  bool allow_requantize = false;                  // accept Q8_0/Q5_0/Q4_0 inputs (quality loss compounds)
  bool progress = true;                           // progress bar on stderr
};

struct QuantizedTensorReport {
  std::string name;
  TensorType from, to;
  uint64_t bytes_before = 0, bytes_after = 0;
};

struct QuantizeFileReport {
  uint64_t file_bytes_before = 0, file_bytes_after = 0;
  uint64_t tensor_bytes_before = 0, tensor_bytes_after = 0;
  int n_quantized = 0, n_kept = 0;
  std::vector<QuantizedTensorReport> tensors;
  double seconds = 0;
};

// The general.file_type value llama.cpp uses for "mostly `type`" (7 Q8_0, 8 Q5_0, 2 Q4_0,
// 0 F32, 1 F16, 32 BF16).
uint32_t llama_file_type(TensorType type);

// Reads `in_path` (F32/F16/BF16 tensors, or quantised ones with allow_requantize),
// writes `out_path` atomically. Throws Error naming the file or tensor at fault.
QuantizeFileReport quantize_file(const std::string& in_path, const std::string& out_path,
                                 const QuantizeFileOptions& options, ThreadPool& pool);

}  // namespace edgelm
