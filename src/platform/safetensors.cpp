#include "platform/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/json.h"
#include "platform/mapped_file.h"

namespace edgelm {

namespace {

// The reference implementation refuses headers past 100 MB; so does edgelm.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr size_t kMaxDims = 8;

struct DtypeInfo {
  const char* name;
  int64_t bytes;
  std::optional<TensorType> type;
};

// Every dtype the format defines, so that a known one is told apart from a corrupt name.
constexpr DtypeInfo kDtypes[] = {
    {"F32", 4, TensorType::F32}, {"F16", 2, TensorType::F16}, {"BF16", 2, TensorType::BF16},
    {"F64", 8, std::nullopt},    {"I64", 8, std::nullopt},    {"U64", 8, std::nullopt},
    {"I32", 4, std::nullopt},    {"U32", 4, std::nullopt},    {"I16", 2, std::nullopt},
    {"U16", 2, std::nullopt},    {"I8", 1, std::nullopt},     {"U8", 1, std::nullopt},
    {"BOOL", 1, std::nullopt},   {"F8_E4M3", 1, std::nullopt}, {"F8_E5M2", 1, std::nullopt},
};

const DtypeInfo* find_dtype(std::string_view name) {
  for (const DtypeInfo& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

int64_t SafetensorsTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

TensorType SafetensorsTensor::float_type(const std::string& where) const {
  if (!type) fail(where, ": tensor '", name, "' has dtype ", dtype, "; edgelm reads F32, F16 and BF16 weights");
  return *type;
}

const char* safetensors_dtype_name(TensorType type) {
  for (const DtypeInfo& d : kDtypes)
    if (d.type == type) return d.name;
  fail("safetensors cannot hold ", tensor_type_name(type), " tensors (F32, F16 and BF16 only)");
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto map = std::make_shared<MappedFile>(path);
  SafetensorsFile f = parse(map->data(), map->size(), path);
  f.map_ = std::move(map);
  return f;
}

SafetensorsFile SafetensorsFile::parse(const uint8_t* data, size_t size, const std::string& name) {
  SafetensorsFile f;
  f.name_ = name;
  if (size < 8) fail(name, ": not a safetensors file (", size, " bytes, too short for the header length)");
  const uint64_t header_bytes = read_u64_le(data);
  if (header_bytes > kMaxHeaderBytes) fail(name, ": header length ", header_bytes, " is absurd (the limit is 100 MB)");
  if (header_bytes > size - 8)
    fail(name, ": truncated: the header needs ", header_bytes, " bytes but the file has ", size - 8, " after its length");
  std::string_view header(reinterpret_cast<const char*>(data + 8), size_t(header_bytes));
  if (header.empty() || header[0] != '{') fail(name, ": not a safetensors file (the header is not a JSON object)");
  nlohmann::json j = parse_json(header, cat(name, " header"));
  if (!j.is_object()) fail(name, ": the header is not a JSON object");
  const uint8_t* buffer = data + 8 + header_bytes;
  const uint64_t buffer_bytes = size - 8 - header_bytes;

  for (const auto& [key, value] : j.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail(name, ": __metadata__ is not an object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) fail(name, ": __metadata__ entry '", mk, "' is not a string");
        f.metadata_[mk] = mv.get<std::string>();
      }
      continue;
    }
    const std::string where = cat(name, ": tensor '", key, "'");
    if (!value.is_object()) fail(where, " is not an object");
    if (!value.contains("dtype") || !value["dtype"].is_string()) fail(where, " has no string \"dtype\"");
    if (!value.contains("shape") || !value["shape"].is_array()) fail(where, " has no \"shape\" array");
    if (!value.contains("data_offsets") || !value["data_offsets"].is_array() || value["data_offsets"].size() != 2)
      fail(where, " has no \"data_offsets\" pair");
    SafetensorsTensor t;
    t.name = key;
    t.dtype = value["dtype"].get<std::string>();
    const DtypeInfo* dtype = find_dtype(t.dtype);
    if (!dtype) fail(where, " has unknown dtype '", t.dtype, "'");
    t.type = dtype->type;
    const auto& shape = value["shape"];
    if (shape.size() > kMaxDims) fail(where, " has ", shape.size(), " dimensions (at most ", kMaxDims, ")");
    // Each dimension below 2^40 and the running product below 2^62 keep the
    // byte count (elements x at most 8 bytes) from overflowing.
    uint64_t n_elements = 1;
    for (const auto& d : shape) {
      if (!d.is_number_unsigned()) fail(where, ": shape ", shape.dump(), " has an entry that is not a non-negative integer");
      uint64_t v = d.get<uint64_t>();
      if (v > (uint64_t(1) << 40) || (v > 0 && n_elements > (uint64_t(1) << 62) / v))
        fail(where, ": shape ", shape.dump(), " is absurd");
      n_elements *= v;
      t.shape.push_back(int64_t(v));
    }
    const auto& offsets = value["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      fail(where, ": data_offsets ", offsets.dump(), " are not non-negative integers");
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (end < begin) fail(where, ": data_offsets ", offsets.dump(), " end before they begin");
    if (n_elements > std::numeric_limits<uint64_t>::max() / uint64_t(dtype->bytes) ||
        end - begin != n_elements * uint64_t(dtype->bytes))
      fail(where, ": ", end - begin, " bytes of data for ", n_elements, " ", t.dtype, " values (", n_elements, " x ",
           dtype->bytes, " bytes expected)");
    if (end > buffer_bytes)
      fail(where, ": truncated: its data ends at byte ", end, " of the data section, which has only ", buffer_bytes);
    t.data = buffer + begin;
    t.n_bytes = end - begin;
    f.tensors_.push_back(std::move(t));
  }
  // The data section is exactly the tensors, one after the other: sorted by
  // position each must begin where the previous one ended.
  std::sort(f.tensors_.begin(), f.tensors_.end(),
            [](const SafetensorsTensor& a, const SafetensorsTensor& b) { return a.data < b.data; });
  uint64_t expected = 0;
  for (const SafetensorsTensor& t : f.tensors_) {
    uint64_t begin = uint64_t(t.data - buffer);
    if (begin != expected)
      fail(name, ": tensor '", t.name, "' begins at byte ", begin, " of the data section, expected ", expected,
           begin < expected ? " (it overlaps the previous tensor)" : " (a gap before it)");
    expected = begin + t.n_bytes;
  }
  if (expected != buffer_bytes)
    fail(name, ": the data section has ", buffer_bytes, " bytes but its tensors cover ", expected);
  return f;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  for (const SafetensorsTensor& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

void SafetensorsWriter::add_tensor_view(const std::string& name, TensorType type, std::vector<int64_t> shape,
                                        const void* data, uint64_t n_bytes) {
  if (name == "__metadata__") fail("safetensors: a tensor may not be named __metadata__");
  for (const Entry& e : entries_)
    if (e.name == name) fail("safetensors: tensor '", name, "' added twice");
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (uint64_t(n) * uint64_t(tensor_type_info(type).block_bytes) != n_bytes)
    fail("safetensors: tensor '", name, "' has ", n_bytes, " bytes for ", n, " ", tensor_type_name(type), " values");
  safetensors_dtype_name(type);  // refuses quantised types early
  entries_.push_back({name, type, std::move(shape), data, n_bytes});
  data_bytes_ += n_bytes;
}

void SafetensorsWriter::write(const std::string& path) const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata_) meta[k] = v;
    header["__metadata__"] = meta;
  }
  uint64_t offset = 0;
  for (const Entry& e : entries_) {
    header[e.name] = {{"dtype", safetensors_dtype_name(e.type)},
                      {"shape", e.shape},
                      {"data_offsets", {offset, offset + e.n_bytes}}};
    offset += e.n_bytes;
  }
  std::string text = header.dump();
  // Padded with spaces so the data starts 8-byte aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = uint8_t(uint64_t(text.size()) >> (8 * i));
  AtomicFile out(path);
  out.write(length, 8);
  out.write(text);
  for (const Entry& e : entries_) out.write(e.data, e.n_bytes);
  out.commit();
}

}  // namespace edgelm
