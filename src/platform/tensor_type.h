#pragma once
// Tensor element types with ggml's numbering and block layouts. The numeric
// values are the ones stored in GGUF files; block sizes and bytes per block
// decide how many bytes a tensor of a given shape occupies.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edgelm {

enum class TensorType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q5_0 = 6,
  Q8_0 = 8,
  BF16 = 30,
};

struct TensorTypeInfo {
  TensorType type;
  const char* name;      // as llama.cpp prints it: "f32", "q8_0", ...
  int64_t block_size;    // elements per block (1 for float types)
  int64_t block_bytes;   // bytes per block
};

// Null for a type edgelm does not know.
const TensorTypeInfo* tensor_type_info(uint32_t raw_type);
const TensorTypeInfo& tensor_type_info(TensorType type);
std::string_view tensor_type_name(TensorType type);
std::optional<TensorType> tensor_type_from_name(std::string_view name);  // "f32", "Q8_0", ...
// Bytes of a row of n elements; n must be a multiple of the block size.
int64_t tensor_row_bytes(TensorType type, int64_t n);

}  // namespace edgelm
