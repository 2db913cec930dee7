#include "platform/tensor_type.h"

#include <algorithm>
#include <cctype>

#include "platform/error.h"

namespace edgelm {

namespace {
// Block layouts, as ggml defines them:
//   Q4_0: f16 scale + 16 bytes of 4-bit quants       = 18 bytes per 32 values
//   Q5_0: f16 scale + 4 bytes high bits + 16 bytes    = 22 bytes per 32 values
//   Q8_0: f16 scale + 32 int8 quants                  = 34 bytes per 32 values
constexpr TensorTypeInfo kTypes[] = {
    {TensorType::F32, "f32", 1, 4},   {TensorType::F16, "f16", 1, 2},    {TensorType::BF16, "bf16", 1, 2},
    {TensorType::Q8_0, "q8_0", 32, 34}, {TensorType::Q5_0, "q5_0", 32, 22}, {TensorType::Q4_0, "q4_0", 32, 18},
};
}  // namespace

const TensorTypeInfo* tensor_type_info(uint32_t raw_type) {
  for (const auto& t : kTypes)
    if (uint32_t(t.type) == raw_type) return &t;
  return nullptr;
}

const TensorTypeInfo& tensor_type_info(TensorType type) {
  const TensorTypeInfo* info = tensor_type_info(uint32_t(type));
  if (!info) fail("unknown tensor type ", uint32_t(type));
  return *info;
}

std::string_view tensor_type_name(TensorType type) { return tensor_type_info(type).name; }

std::optional<TensorType> tensor_type_from_name(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  for (const auto& t : kTypes)
    if (lower == t.name) return t.type;
  return std::nullopt;
}

int64_t tensor_row_bytes(TensorType type, int64_t n) {
  const auto& info = tensor_type_info(type);
  if (n % info.block_size != 0) fail("a row of ", n, " values is not a multiple of ", info.name, "'s block of ", info.block_size);
  return n / info.block_size * info.block_bytes;
}

}  // namespace edgelm
