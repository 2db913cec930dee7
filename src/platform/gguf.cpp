#include "platform/gguf.h"

#include <cstring>
#include <limits>
#include <set>

#include "platform/atomic_file.h"
#include "platform/error.h"

namespace edgelm {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian uint32
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;
// Limits that no sane file exceeds; they keep a corrupt count from turning into a huge allocation.
constexpr uint64_t kMaxTensors = 1u << 20;
constexpr uint64_t kMaxKeyValues = 1u << 20;
constexpr int kMaxArrayDepth = 2;

int64_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::UINT8: case GgufType::INT8: case GgufType::BOOL: return 1;
    case GgufType::UINT16: case GgufType::INT16: return 2;
    case GgufType::UINT32: case GgufType::INT32: case GgufType::FLOAT32: return 4;
    case GgufType::UINT64: case GgufType::INT64: case GgufType::FLOAT64: return 8;
    default: return 0;
  }
}

bool is_integer_type(GgufType t) {
  switch (t) {
    case GgufType::UINT8: case GgufType::INT8: case GgufType::UINT16: case GgufType::INT16:
    case GgufType::UINT32: case GgufType::INT32: case GgufType::UINT64: case GgufType::INT64:
    case GgufType::BOOL: return true;
    default: return false;
  }
}

bool is_float_type(GgufType t) { return t == GgufType::FLOAT32 || t == GgufType::FLOAT64; }

// A bounds-checked cursor over the file's bytes.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, const std::string& name) : data_(data), size_(size), name_(name) {}

  template <class T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(const char* what) {
    uint64_t n = read<uint64_t>(what);
    if (n > size_ - pos_) fail_at(cat(what, ": string length ", n, " runs past the end of the file"));
    std::string s(reinterpret_cast<const char*>(data_ + pos_), size_t(n));
    pos_ += n;
    return s;
  }

  void need(uint64_t n, const char* what) {
    if (n > size_ - pos_) fail_at(cat("truncated while reading ", what));
  }
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  [[noreturn]] void fail_at(const std::string& msg) const { fail(name_, ": ", msg, " (at byte ", pos_, ")"); }

 private:
  const uint8_t* data_;
  size_t size_;
  uint64_t pos_ = 0;
  const std::string& name_;
};

int64_t read_integer(Reader& r, GgufType t, const char* what) {
  switch (t) {
    case GgufType::UINT8: return r.read<uint8_t>(what);
    case GgufType::INT8: return r.read<int8_t>(what);
    case GgufType::UINT16: return r.read<uint16_t>(what);
    case GgufType::INT16: return r.read<int16_t>(what);
    case GgufType::UINT32: return r.read<uint32_t>(what);
    case GgufType::INT32: return r.read<int32_t>(what);
    case GgufType::UINT64: return int64_t(r.read<uint64_t>(what));
    case GgufType::INT64: return r.read<int64_t>(what);
    case GgufType::BOOL: {
      uint8_t b = r.read<uint8_t>(what);
      if (b > 1) r.fail_at(cat(what, ": bool value ", int(b), " is neither 0 nor 1"));
      return b;
    }
    default: r.fail_at(cat(what, ": not an integer type"));
  }
}

double read_real(Reader& r, GgufType t, const char* what) {
  if (t == GgufType::FLOAT32) return r.read<float>(what);
  return r.read<double>(what);
}

GgufType read_type(Reader& r, const std::string& key) {
  uint32_t raw = r.read<uint32_t>("value type");
  if (raw > uint32_t(GgufType::FLOAT64)) r.fail_at(cat("metadata '", key, "': unknown value type ", raw));
  return GgufType(raw);
}

GgufValue read_value(Reader& r, GgufType t, const std::string& key, int depth) {
  if (is_integer_type(t)) return GgufValue::integer(t, read_integer(r, t, "metadata value"));
  if (is_float_type(t)) return GgufValue::real(t, read_real(r, t, "metadata value"));
  if (t == GgufType::STRING) return GgufValue::string(r.read_string("metadata string"));
  // ARRAY
  if (depth >= kMaxArrayDepth) r.fail_at(cat("metadata '", key, "': arrays nested too deeply"));
  GgufArray arr;
  arr.elem_type = read_type(r, key);
  uint64_t n = r.read<uint64_t>("array length");
  // Every element takes at least one byte (a string at least 8), so a count
  // larger than the bytes left is a corrupt file, caught before allocating.
  int64_t min_elem = arr.elem_type == GgufType::STRING ? 8 : std::max<int64_t>(1, scalar_size(arr.elem_type));
  if (arr.elem_type == GgufType::ARRAY) r.fail_at(cat("metadata '", key, "': arrays of arrays are not supported"));
  if (n > r.remaining() / uint64_t(min_elem))
    r.fail_at(cat("metadata '", key, "': array of ", n, " elements is larger than the file"));
  if (is_integer_type(arr.elem_type)) {
    arr.ints.reserve(n);
    for (uint64_t i = 0; i < n; ++i) arr.ints.push_back(read_integer(r, arr.elem_type, "array element"));
  } else if (is_float_type(arr.elem_type)) {
    arr.reals.reserve(n);
    for (uint64_t i = 0; i < n; ++i) arr.reals.push_back(read_real(r, arr.elem_type, "array element"));
  } else {
    arr.strings.reserve(n);
    for (uint64_t i = 0; i < n; ++i) arr.strings.push_back(r.read_string("array string"));
  }
  return GgufValue::array(std::move(arr));
}

}  // namespace

std::string_view gguf_type_name(GgufType type) {
  static const char* names[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
                                "bool",  "string", "array", "uint64", "int64", "float64"};
  uint32_t i = uint32_t(type);
  return i < 13 ? names[i] : "unknown";
}

size_t GgufArray::size() const { return ints.size() + reals.size() + strings.size(); }

bool operator==(const GgufArray& a, const GgufArray& b) {
  return a.elem_type == b.elem_type && a.ints == b.ints && a.reals == b.reals && a.strings == b.strings;
}

GgufValue GgufValue::string_array(std::vector<std::string> v) {
  GgufArray a;
  a.elem_type = GgufType::STRING;
  a.strings = std::move(v);
  return array(std::move(a));
}

GgufValue GgufValue::i32_array(const std::vector<int32_t>& v) {
  GgufArray a;
  a.elem_type = GgufType::INT32;
  a.ints.assign(v.begin(), v.end());
  return array(std::move(a));
}

GgufValue GgufValue::f32_array(const std::vector<float>& v) {
  GgufArray a;
  a.elem_type = GgufType::FLOAT32;
  a.reals.assign(v.begin(), v.end());
  return array(std::move(a));
}

bool GgufValue::is_integer() const { return is_integer_type(type_); }

int64_t GgufValue::as_int(std::string_view what) const {
  if (!is_integer_type(type_)) fail(what, ": expected an integer, found ", gguf_type_name(type_));
  return std::get<int64_t>(data_);
}

double GgufValue::as_float(std::string_view what) const {
  if (is_float_type(type_)) return std::get<double>(data_);
  if (is_integer_type(type_) && type_ != GgufType::BOOL) return double(std::get<int64_t>(data_));
  fail(what, ": expected a number, found ", gguf_type_name(type_));
}

bool GgufValue::as_bool(std::string_view what) const {
  if (type_ != GgufType::BOOL) fail(what, ": expected a bool, found ", gguf_type_name(type_));
  return std::get<int64_t>(data_) != 0;
}

const std::string& GgufValue::as_string(std::string_view what) const {
  if (type_ != GgufType::STRING) fail(what, ": expected a string, found ", gguf_type_name(type_));
  return std::get<std::string>(data_);
}

const GgufArray& GgufValue::as_array(std::string_view what) const {
  if (type_ != GgufType::ARRAY) fail(what, ": expected an array, found ", gguf_type_name(type_));
  return std::get<GgufArray>(data_);
}

void GgufMetadata::set(const std::string& key, GgufValue value) {
  auto it = index_.find(key);
  if (it != index_.end()) {
    entries_[it->second].second = std::move(value);
    return;
  }
  index_.emplace(key, entries_.size());
  entries_.emplace_back(key, std::move(value));
}

const GgufValue* GgufMetadata::find(std::string_view key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

const GgufValue& GgufMetadata::at(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail("missing metadata key '", key, "'");
  return *v;
}

void GgufMetadata::erase(std::string_view key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  entries_.erase(entries_.begin() + long(it->second));
  index_.clear();
  for (size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].first, i);
}

int64_t GgufTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

GgufFile GgufFile::open(const std::string& path) {
  auto map = std::make_shared<MappedFile>(path);
  GgufFile file = parse(map->data(), map->size(), path);
  file.map_ = std::move(map);
  return file;
}

namespace {
// The GGUF spec asks for a multiple of 8; a smaller alignment would put F16
// values and block scales at addresses their loads cannot use.
uint64_t checked_alignment(const std::string& file, int64_t al) {
  if (al < 8 || al > (1 << 16) || (al & (al - 1)) != 0)
    fail(file, ": general.alignment ", al, " is not a power of two from 8 to 65536");
  return uint64_t(al);
}
}  // namespace

GgufFile GgufFile::parse(const uint8_t* data, size_t size, const std::string& name) {
  GgufFile f;
  f.name_ = name;
  f.size_ = size;
  Reader r(data, size, f.name_);

  if (size < 4) fail(name, ": not a GGUF file (", size, " bytes, too short for the magic)");
  uint32_t magic = r.read<uint32_t>("magic");
  if (magic != kMagic) fail(name, ": not a GGUF file (bad magic)");
  f.version_ = r.read<uint32_t>("version");
  if (f.version_ != 2 && f.version_ != 3) fail(name, ": unsupported GGUF version ", f.version_, " (edgelm reads 2 and 3)");
  uint64_t n_tensors = r.read<uint64_t>("tensor count");
  uint64_t n_kv = r.read<uint64_t>("metadata count");
  if (n_tensors > kMaxTensors) fail(name, ": absurd tensor count ", n_tensors);
  if (n_kv > kMaxKeyValues) fail(name, ": absurd metadata count ", n_kv);

  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = r.read_string("metadata key");
    if (key.empty()) r.fail_at("empty metadata key");
    if (f.metadata_.contains(key)) r.fail_at(cat("duplicate metadata key '", key, "'"));
    GgufType t = read_type(r, key);
    f.metadata_.set(key, read_value(r, t, key, 0));
  }

  if (const GgufValue* a = f.metadata_.find("general.alignment")) {
    int64_t al = a->as_int(cat(name, ": general.alignment"));
    f.alignment_ = checked_alignment(name, al);
  }

  f.tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t;
    t.name = r.read_string("tensor name");
    if (t.name.empty()) r.fail_at(cat("tensor ", i, " has an empty name"));
    if (f.tensor_index_.count(t.name)) r.fail_at(cat("duplicate tensor name '", t.name, "'"));
    uint32_t n_dims = r.read<uint32_t>("tensor dims");
    if (n_dims == 0 || n_dims > kMaxDims) r.fail_at(cat("tensor '", t.name, "' has ", n_dims, " dimensions (1 to 4 allowed)"));
    int64_t n_el = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = r.read<uint64_t>("tensor dim");
      if (dim == 0 || dim > (uint64_t(1) << 40)) r.fail_at(cat("tensor '", t.name, "' has absurd dimension ", dim));
      if (n_el > std::numeric_limits<int64_t>::max() / int64_t(dim)) r.fail_at(cat("tensor '", t.name, "' is absurdly large"));
      n_el *= int64_t(dim);
      t.ne.push_back(int64_t(dim));
    }
    uint32_t raw_type = r.read<uint32_t>("tensor type");
    const TensorTypeInfo* info = tensor_type_info(raw_type);
    if (!info) r.fail_at(cat("tensor '", t.name, "' has unknown or unsupported type ", raw_type));
    t.type = info->type;
    if (t.ne[0] % info->block_size != 0)
      r.fail_at(cat("tensor '", t.name, "': row of ", t.ne[0], " values is not a multiple of the ", info->name, " block size"));
    t.n_bytes = uint64_t(n_el / info->block_size) * uint64_t(info->block_bytes);
    t.offset = r.read<uint64_t>("tensor offset");
    if (t.offset % f.alignment_ != 0) r.fail_at(cat("tensor '", t.name, "' offset ", t.offset, " is not aligned"));
    f.tensor_index_.emplace(t.name, f.tensors_.size());
    f.tensors_.push_back(std::move(t));
  }

  uint64_t data_start = (r.pos() + f.alignment_ - 1) / f.alignment_ * f.alignment_;
  if (n_tensors > 0 && data_start > size) fail(name, ": truncated before the tensor data");
  uint64_t data_size = size > data_start ? size - data_start : 0;
  for (auto& t : f.tensors_) {
    if (t.offset > data_size || t.n_bytes > data_size - t.offset)
      fail(name, ": tensor '", t.name, "' (", t.n_bytes, " bytes at offset ", t.offset, ") runs past the end of the file");
    t.data = data + data_start + t.offset;
  }
  return f;
}

const GgufTensor* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensor& GgufFile::tensor(std::string_view name) const {
  const GgufTensor* t = find_tensor(name);
  if (!t) fail(name_, ": missing tensor '", name, "'");
  return *t;
}

void GgufWriter::add_tensor(const std::string& name, TensorType type, std::vector<int64_t> ne, const void* data,
                            uint64_t n_bytes) {
  auto owned = std::make_shared<std::vector<uint8_t>>(static_cast<const uint8_t*>(data),
                                                      static_cast<const uint8_t*>(data) + n_bytes);
  add_tensor_view(name, type, std::move(ne), owned->data(), n_bytes);
  tensors_.back().owned = std::move(owned);
}

void GgufWriter::add_tensor_view(const std::string& name, TensorType type, std::vector<int64_t> ne, const void* data,
                                 uint64_t n_bytes) {
  if (ne.empty() || ne.size() > kMaxDims) fail("tensor '", name, "': ", ne.size(), " dimensions (1 to 4 allowed)");
  for (const auto& t : tensors_)
    if (t.name == name) fail("duplicate tensor name '", name, "'");
  int64_t n_el = 1;
  for (int64_t d : ne) {
    if (d <= 0) fail("tensor '", name, "': dimension ", d, " must be positive");
    n_el *= d;
  }
  const auto& info = tensor_type_info(type);
  if (ne[0] % info.block_size != 0) fail("tensor '", name, "': row not a multiple of the ", info.name, " block size");
  uint64_t expect = uint64_t(n_el / info.block_size * info.block_bytes);
  if (expect != n_bytes) fail("tensor '", name, "': ", n_bytes, " bytes given, its shape and type need ", expect);
  tensors_.push_back(Pending{name, type, std::move(ne), data, n_bytes, nullptr});
}

namespace {

class ByteSink {
 public:
  explicit ByteSink(AtomicFile& f) : f_(f) {}
  template <class T>
  void put(T v) { f_.write(&v, sizeof v); }
  void put_string(const std::string& s) { put<uint64_t>(s.size()); f_.write(s.data(), s.size()); }
  void put_integer(GgufType t, int64_t v) {
    switch (t) {
      case GgufType::UINT8: case GgufType::BOOL: put<uint8_t>(uint8_t(v)); break;
      case GgufType::INT8: put<int8_t>(int8_t(v)); break;
      case GgufType::UINT16: put<uint16_t>(uint16_t(v)); break;
      case GgufType::INT16: put<int16_t>(int16_t(v)); break;
      case GgufType::UINT32: put<uint32_t>(uint32_t(v)); break;
      case GgufType::INT32: put<int32_t>(int32_t(v)); break;
      case GgufType::UINT64: put<uint64_t>(uint64_t(v)); break;
      case GgufType::INT64: put<int64_t>(v); break;
      default: fail("internal: not an integer type");
    }
  }
  void put_real(GgufType t, double v) {
    if (t == GgufType::FLOAT32) put<float>(float(v));
    else put<double>(v);
  }
  void put_value(const GgufValue& v) {
    GgufType t = v.type();
    if (is_integer_type(t)) put_integer(t, v.as_int());
    else if (is_float_type(t)) put_real(t, v.as_float());
    else if (t == GgufType::STRING) put_string(v.as_string());
    else {
      const GgufArray& a = v.as_array();
      put<uint32_t>(uint32_t(a.elem_type));
      put<uint64_t>(a.size());
      for (int64_t x : a.ints) put_integer(a.elem_type, x);
      for (double x : a.reals) put_real(a.elem_type, x);
      for (const auto& s : a.strings) put_string(s);
    }
  }

 private:
  AtomicFile& f_;
};

}  // namespace

void GgufWriter::write(const std::string& path) const {
  uint64_t alignment = kDefaultAlignment;
  if (const GgufValue* a = metadata_.find("general.alignment")) {
    alignment = checked_alignment(path, a->as_int("general.alignment"));
  }
  AtomicFile file(path);
  ByteSink out(file);
  out.put<uint32_t>(kMagic);
  out.put<uint32_t>(3);
  out.put<uint64_t>(tensors_.size());
  out.put<uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_.entries()) {
    out.put_string(key);
    out.put<uint32_t>(uint32_t(value.type()));
    out.put_value(value);
  }
  uint64_t offset = 0;
  std::vector<uint64_t> offsets;
  for (const auto& t : tensors_) {
    out.put_string(t.name);
    out.put<uint32_t>(uint32_t(t.ne.size()));
    for (int64_t d : t.ne) out.put<uint64_t>(uint64_t(d));
    out.put<uint32_t>(uint32_t(t.type));
    out.put<uint64_t>(offset);
    offsets.push_back(offset);
    offset += (t.n_bytes + alignment - 1) / alignment * alignment;
  }
  auto pad = [&] {
    uint64_t n = file.bytes_written();
    file.write_zeros((n + alignment - 1) / alignment * alignment - n);
  };
  pad();
  for (const auto& t : tensors_) {
    file.write(t.data, t.n_bytes);
    pad();
  }
  file.commit();
}

}  // namespace edgelm
