#pragma once
// Safetensors, the weight format of Hugging Face checkpoints: an 8-byte
// little-endian header length, a JSON header mapping each tensor name to its
// dtype, shape and [begin, end) byte range in the data that follows, and the
// raw little-endian tensors. An optional "__metadata__" object holds strings.
//
// The reader checks what the format promises (ranges inside the file, sized
// exactly as dtype x shape, covering the data without gaps or overlaps), so a
// truncated or corrupt file is refused by name rather than read past its end.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/tensor_type.h"

namespace edgelm {

class MappedFile;

struct SafetensorsTensor {
  std::string name;
  std::string dtype;                // as the header writes it: "F32", "BF16", "I64", ...
  std::optional<TensorType> type;   // F32 / F16 / BF16; empty for the dtypes edgelm does not compute with
  std::vector<int64_t> shape;       // PyTorch order: shape.back() is the contiguous dimension
  const uint8_t* data = nullptr;
  uint64_t n_bytes = 0;
  int64_t n_elements() const;
  // The type, or an Error naming the tensor, its dtype and what is supported.
  TensorType float_type(const std::string& where) const;
};

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);  // memory-mapped
  // Parses bytes the caller keeps alive; `name` is used in messages.
  static SafetensorsFile parse(const uint8_t* data, size_t size, const std::string& name);

  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const SafetensorsTensor* find(std::string_view name) const;  // null if absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return name_; }

 private:
  std::string name_;
  std::shared_ptr<MappedFile> map_;
  std::vector<SafetensorsTensor> tensors_;  // in data order
  std::map<std::string, std::string> metadata_;
};

// Builds a safetensors file tensor by tensor, in the order added. The data is
// referenced, not copied: it must stay alive until write() returns.
class SafetensorsWriter {
 public:
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  void add_tensor_view(const std::string& name, TensorType type, std::vector<int64_t> shape, const void* data,
                       uint64_t n_bytes);
  void write(const std::string& path) const;  // atomic
  uint64_t data_bytes() const { return data_bytes_; }

 private:
  struct Entry {
    std::string name;
    TensorType type;
    std::vector<int64_t> shape;
    const void* data;
    uint64_t n_bytes;
  };
  std::map<std::string, std::string> metadata_;
  std::vector<Entry> entries_;
  uint64_t data_bytes_ = 0;
};

// "F32", "F16", "BF16" for the float types (Error for others).
const char* safetensors_dtype_name(TensorType type);

}  // namespace edgelm
