// Quantised copies of the demo's model file, through the quantisation
// library (src/quant/quantize_file.h): weight matrices in the chosen block
// type, norms f32, the tied embedding / output head at Q8_0 (its default).
#include "pipeline/demo_train.h"
#include "platform/error.h"
#include "platform/thread_pool.h"
#include "quant/quant.h"
#include "quant/quantize_file.h"

namespace edgelm {

nlohmann::json quantize_demo_model(const std::string& in_model, const std::string& type_name, const std::string& out_model) {
  auto type = tensor_type_from_name(type_name);
  if (!type || !is_quantized(*type)) fail("'", type_name, "' is not a quantised type (q8_0, q5_0, q4_0)");
  QuantizeFileOptions o;
  o.type = *type;
  o.progress = false;
  QuantizeFileReport r = quantize_file(in_model, out_model, o, default_thread_pool());
  return {{"type", type_name}, {"bytes", r.file_bytes_after}, {"bytes_before", r.file_bytes_before},
          {"tensors_quantized", r.n_quantized}, {"tensors_kept", r.n_kept}, {"seconds", r.seconds}};
}

}  // namespace edgelm
