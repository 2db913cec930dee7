#pragma once
// GGUF v3: the model file format shared with llama.cpp.
//
// Layout: "GGUF", version, tensor count, metadata count, the metadata
// key/value pairs, the tensor infos (name, dims, type, offset), padding to the
// alignment (general.alignment, 32 by default), then the tensor data, each
// tensor at an aligned offset. All integers little-endian.
//
// GgufFile maps a file and validates every count, length, type, shape and
// offset before anything uses it; a bad file is an Error naming the problem.
// GgufWriter writes atomically (temporary file, fsync, rename).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "platform/mapped_file.h"
#include "platform/tensor_type.h"

namespace edgelm {

// The tokenizer.ggml.model of a model file without a vocabulary (random or
// token-id-only models): llama.cpp needs the key to load a file, and reads
// "no_vocab" (what its gguf-py writes) or "none" as "token ids only".
inline constexpr std::string_view kGgufNoVocabulary = "no_vocab";
inline bool gguf_means_no_vocabulary(std::string_view tokenizer_model) {
  return tokenizer_model == kGgufNoVocabulary || tokenizer_model == "none";
}

enum class GgufType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
  BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
std::string_view gguf_type_name(GgufType type);

// An array value: elements of one type. Integers and bools are kept in
// `ints` (uint64 by bit pattern), floats in `reals`, strings in `strings`.
struct GgufArray {
  GgufType elem_type = GgufType::UINT8;
  std::vector<int64_t> ints;
  std::vector<double> reals;
  std::vector<std::string> strings;
  size_t size() const;
};
// Declared before GgufValue so that clang finds it when GgufValue compares its variant.
bool operator==(const GgufArray& a, const GgufArray& b);

class GgufValue {
 public:
  GgufValue() = default;
  static GgufValue u32(uint32_t v) { return integer(GgufType::UINT32, int64_t(v)); }
  static GgufValue i32(int32_t v) { return integer(GgufType::INT32, v); }
  static GgufValue u64(uint64_t v) { return integer(GgufType::UINT64, int64_t(v)); }
  static GgufValue f32(float v) { GgufValue x; x.type_ = GgufType::FLOAT32; x.data_ = double(v); return x; }
  static GgufValue boolean(bool v) { return integer(GgufType::BOOL, v ? 1 : 0); }
  static GgufValue string(std::string v) { GgufValue x; x.type_ = GgufType::STRING; x.data_ = std::move(v); return x; }
  static GgufValue array(GgufArray v) { GgufValue x; x.type_ = GgufType::ARRAY; x.data_ = std::move(v); return x; }
  static GgufValue string_array(std::vector<std::string> v);
  static GgufValue i32_array(const std::vector<int32_t>& v);
  static GgufValue f32_array(const std::vector<float>& v);
  static GgufValue integer(GgufType type, int64_t v) { GgufValue x; x.type_ = type; x.data_ = v; return x; }
  static GgufValue real(GgufType type, double v) { GgufValue x; x.type_ = type; x.data_ = v; return x; }

  GgufType type() const { return type_; }
  bool is_integer() const;
  // Checked accessors: they throw Error naming `what` (usually the key) on a type mismatch.
  int64_t as_int(std::string_view what = "value") const;       // any integer type or bool
  double as_float(std::string_view what = "value") const;      // float32/float64 or an integer
  bool as_bool(std::string_view what = "value") const;
  const std::string& as_string(std::string_view what = "value") const;
  const GgufArray& as_array(std::string_view what = "value") const;
  bool operator==(const GgufValue& other) const { return type_ == other.type_ && data_ == other.data_; }

 private:
  GgufType type_ = GgufType::UINT32;
  std::variant<int64_t, double, std::string, GgufArray> data_{int64_t(0)};
  friend bool operator==(const GgufArray& a, const GgufArray& b);
};
bool operator==(const GgufArray& a, const GgufArray& b);

// Metadata in file order, with lookup by key.
class GgufMetadata {
 public:
  void set(const std::string& key, GgufValue value);  // replaces an existing key in place
  const GgufValue* find(std::string_view key) const;
  const GgufValue& at(std::string_view key) const;  // throws Error "missing metadata key ..."
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  void erase(std::string_view key);
  const std::vector<std::pair<std::string, GgufValue>>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

 private:
  std::vector<std::pair<std::string, GgufValue>> entries_;
  std::map<std::string, size_t, std::less<>> index_;
};

// Gives metadata without a tokenizer.ggml.model the "no vocabulary" marker.
inline void gguf_mark_no_vocabulary(GgufMetadata& meta) {
  if (!meta.contains("tokenizer.ggml.model"))
    meta.set("tokenizer.ggml.model", GgufValue::string(std::string(kGgufNoVocabulary)));
}

// A tensor as stored: ggml's dimension order, ne[0] being the contiguous one.
// A weight matrix W of nn.Linear(in, out) is ne = {in, out}: `out` rows of `in` values.
struct GgufTensor {
  std::string name;
  TensorType type = TensorType::F32;
  std::vector<int64_t> ne;
  uint64_t offset = 0;           // from the start of the data section
  const uint8_t* data = nullptr;  // into the mapped file
  uint64_t n_bytes = 0;
  int64_t n_elements() const;
  int64_t rows() const { return n_elements() / (ne.empty() ? 1 : ne[0]); }
};

class GgufFile {
 public:
  // Maps and validates the file; throws Error naming the path and the problem.
  static GgufFile open(const std::string& path);
  // Parses bytes already in memory (the caller keeps them alive); `name` is used in errors.
  static GgufFile parse(const uint8_t* data, size_t size, const std::string& name);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  const GgufMetadata& metadata() const { return metadata_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(std::string_view name) const;  // null if absent
  const GgufTensor& tensor(std::string_view name) const;       // throws Error if absent
  uint64_t file_size() const { return size_; }
  const std::string& path() const { return name_; }

 private:
  std::shared_ptr<MappedFile> map_;
  std::string name_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t size_ = 0;
  GgufMetadata metadata_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

class GgufWriter {
 public:
  GgufMetadata& metadata() { return metadata_; }
  // The data is copied into the writer.
  void add_tensor(const std::string& name, TensorType type, std::vector<int64_t> ne, const void* data, uint64_t n_bytes);
  // The data is referenced, not copied: it must stay alive until write() returns.
  void add_tensor_view(const std::string& name, TensorType type, std::vector<int64_t> ne, const void* data,
                       uint64_t n_bytes);
  void write(const std::string& path) const;  // atomic
  size_t n_tensors() const { return tensors_.size(); }

 private:
  struct Pending {
    std::string name;
    TensorType type;
    std::vector<int64_t> ne;
    const void* data;
    uint64_t n_bytes;
    std::shared_ptr<std::vector<uint8_t>> owned;
  };
  GgufMetadata metadata_;
  std::vector<Pending> tensors_;
};

}  // namespace edgelm
