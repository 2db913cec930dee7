#include "quant/quant.h"

#include "platform/error.h"

namespace edgelm {

// Placeholder until the quantisation work lands: the formats are known to the
// GGUF reader (sizes), but no conversion exists yet, and saying so is better
// than producing wrong numbers.
bool is_quantized(TensorType type) {
  return type == TensorType::Q8_0 || type == TensorType::Q5_0 || type == TensorType::Q4_0;
}

void dequantize_row(TensorType type, const void*, float*, int64_t) {
  fail("dequantising ", tensor_type_name(type), " is not implemented yet");
}

void quantize_row(TensorType type, const float*, void*, int64_t) {
  fail("quantising to ", tensor_type_name(type), " is not implemented yet");
}

}  // namespace edgelm
