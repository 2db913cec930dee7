#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/gguf.h"

namespace edgelm {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("edgelm_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

GgufWriter sample_writer(std::vector<float>& a, std::vector<uint16_t>& b) {
  GgufWriter w;
  w.metadata().set("general.architecture", GgufValue::string("llama"));
  w.metadata().set("test.u32", GgufValue::u32(7));
  w.metadata().set("test.f32", GgufValue::f32(0.5f));
  w.metadata().set("test.flag", GgufValue::boolean(true));
  w.metadata().set("test.strings", GgufValue::string_array({"a", "", "한국어"}));
  w.metadata().set("test.ints", GgufValue::i32_array({1, -2, 3}));
  a.resize(6 * 5);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(i) * 0.25f - 3;
  b.assign(16, 0x3c00);  // 32 bytes: the file ends exactly at the data, no padding
  w.add_tensor("a", TensorType::F32, {6, 5}, a.data(), a.size() * 4);
  w.add_tensor("b", TensorType::F16, {16}, b.data(), b.size() * 2);
  return w;
}

TEST(Gguf, WriteReadRoundTripIsExact) {
  std::vector<float> a;
  std::vector<uint16_t> b;
  GgufWriter w = sample_writer(a, b);
  std::string path = temp_path("rt.gguf");
  w.write(path);
  GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.version(), 3u);
  ASSERT_EQ(f.metadata().size(), w.metadata().size());
  for (size_t i = 0; i < f.metadata().size(); ++i) {
    EXPECT_EQ(f.metadata().entries()[i].first, w.metadata().entries()[i].first);
    EXPECT_TRUE(f.metadata().entries()[i].second == w.metadata().entries()[i].second);
  }
  ASSERT_EQ(f.tensors().size(), 2u);
  const GgufTensor& ta = f.tensor("a");
  EXPECT_EQ(ta.ne, (std::vector<int64_t>{6, 5}));
  EXPECT_EQ(0, std::memcmp(ta.data, a.data(), a.size() * 4));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(ta.data) % 32, 0u);
  EXPECT_EQ(f.tensor("b").n_bytes, 32u);
  EXPECT_EQ(f.tensor("b").offset % 32, 0u);
  // Writing what was read gives the same bytes.
  GgufWriter w2;
  for (const auto& [k, v] : f.metadata().entries()) w2.metadata().set(k, v);
  for (const auto& t : f.tensors()) w2.add_tensor_view(t.name, t.type, t.ne, t.data, t.n_bytes);
  std::string path2 = temp_path("rt2.gguf");
  w2.write(path2);
  EXPECT_EQ(read_file(path), read_file(path2));
  std::filesystem::remove(path);
  std::filesystem::remove(path2);
}

std::string sample_bytes() {
  std::vector<float> a;
  std::vector<uint16_t> b;
  std::string path = temp_path("sample.gguf");
  sample_writer(a, b).write(path);
  std::string bytes = read_file(path);
  std::filesystem::remove(path);
  return bytes;
}

std::string parse_error(const std::string& bytes) {
  try {
    GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x.gguf");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Gguf, TruncatedAtEveryOffsetIsAnError) {
  std::string bytes = sample_bytes();
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::string err = parse_error(bytes.substr(0, n));
    EXPECT_FALSE(err.empty()) << "truncated at " << n << " parsed without error";
  }
  EXPECT_EQ(parse_error(bytes), "");
}

TEST(Gguf, WrongMagic) {
  std::string bytes = sample_bytes();
  bytes[0] = 'X';
  EXPECT_NE(parse_error(bytes).find("bad magic"), std::string::npos);
}

TEST(Gguf, AbsurdTensorCount) {
  std::string bytes = sample_bytes();
  uint64_t n = uint64_t(1) << 40;
  std::memcpy(&bytes[8], &n, 8);
  EXPECT_NE(parse_error(bytes).find("absurd tensor count"), std::string::npos);
}

// Finds the tensor-info record of `name` and returns the offset of the field after the name.
size_t tensor_info_pos(const std::string& bytes, const std::string& name) {
  std::string needle(8, '\0');
  uint64_t len = name.size();
  std::memcpy(&needle[0], &len, 8);
  needle += name;
  size_t pos = bytes.rfind(needle);
  EXPECT_NE(pos, std::string::npos);
  return pos + needle.size();
}

TEST(Gguf, AbsurdDimension) {
  std::string bytes = sample_bytes();
  size_t pos = tensor_info_pos(bytes, "a") + 4;  // after n_dims
  uint64_t dim = uint64_t(1) << 62;
  std::memcpy(&bytes[pos], &dim, 8);
  EXPECT_NE(parse_error(bytes).find("absurd dimension"), std::string::npos);
}

TEST(Gguf, UnknownTensorType) {
  std::string bytes = sample_bytes();
  size_t pos = tensor_info_pos(bytes, "a") + 4 + 16;  // n_dims, 2 dims
  uint32_t type = 99;
  std::memcpy(&bytes[pos], &type, 4);
  EXPECT_NE(parse_error(bytes).find("unknown or unsupported type 99"), std::string::npos);
}

TEST(Gguf, OffsetPastTheEnd) {
  std::string bytes = sample_bytes();
  size_t pos = tensor_info_pos(bytes, "b") + 4 + 8 + 4;  // n_dims, 1 dim, type
  uint64_t off = 1 << 20;
  std::memcpy(&bytes[pos], &off, 8);
  EXPECT_NE(parse_error(bytes).find("runs past the end"), std::string::npos);
}

TEST(Gguf, DuplicateTensorName) {
  std::string bytes = sample_bytes();
  size_t pos = tensor_info_pos(bytes, "b");
  bytes[pos - 1] = 'a';
  EXPECT_NE(parse_error(bytes).find("duplicate tensor name 'a'"), std::string::npos);
}

TEST(Gguf, DuplicateMetadataKey) {
  std::string bytes = sample_bytes();
  size_t pos = bytes.find("test.f32");
  bytes.replace(pos, 8, "test.u32");
  EXPECT_NE(parse_error(bytes).find("duplicate metadata key"), std::string::npos);
}

TEST(Gguf, AlignmentBelowEightIsAnError) {
  // Alignment 1 let a fuzzer place an F16 tensor at an odd address.
  std::vector<float> a;
  std::vector<uint16_t> b;
  GgufWriter w = sample_writer(a, b);
  std::string path = temp_path("align.gguf");
  w.metadata().set("general.alignment", GgufValue::u32(4));
  EXPECT_THROW(w.write(path), Error);
  EXPECT_FALSE(std::filesystem::exists(path));
  std::string bytes = sample_bytes();
  for (uint32_t bad : {0u, 1u, 2u, 4u, 24u}) {
    std::string patched = bytes;
    // The sample has no general.alignment; rename a u32 key to it and set the value.
    size_t pos = patched.find("test.u32");
    ASSERT_NE(pos, std::string::npos);
    std::string key = "general.alignment";
    uint64_t old_len = 8, new_len = key.size();
    std::memcpy(&patched[pos - 8], &new_len, 8);
    patched.replace(pos, old_len, key);
    std::memcpy(&patched[pos + key.size() + 4], &bad, 4);
    EXPECT_NE(parse_error(patched).find("is not a power of two from 8"), std::string::npos) << bad;
  }
}

TEST(Gguf, WriterRejectsSizeMismatch) {
  GgufWriter w;
  float x[3] = {};
  EXPECT_THROW(w.add_tensor("x", TensorType::F32, {4}, x, sizeof x), Error);
}

TEST(Gguf, RandomCorruptionNeverCrashes) {
  std::string bytes = sample_bytes();
  uint64_t state = 12345;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string b = bytes;
    for (int k = 0; k < 4; ++k) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      b[(state >> 33) % b.size()] = char(state >> 13);
    }
    parse_error(b);  // must not crash; ASan/UBSan check the accesses
  }
}

TEST(AtomicFile, UncommittedLeavesNothing) {
  std::string path = temp_path("atomic.txt");
  {
    AtomicFile f(path);
    f.write("partial");
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  write_file_atomic(path, "done");
  EXPECT_EQ(read_file(path), "done");
  std::filesystem::remove(path);
}

// A writer killed by SIGKILL leaves "<path>.tmp.<pid>": the next run removes it once
// that process is gone, and keeps a live writer's temporary and every other file.
TEST(AtomicFile, StaleTemporariesOfDeadWritersAreRemoved) {
  namespace fs = std::filesystem;
  const fs::path dir = temp_path("stale");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);  // reaped: its pid names no process now
  const std::string path = (dir / "checkpoint.gguf").string();
  for (const std::string& name : {cat("checkpoint.gguf.tmp.", child), cat("checkpoint.gguf.tmp.", ::getpid()),
                                  std::string("checkpoint.gguf.tmp.1"), std::string("checkpoint.gguf.tmp.x"),
                                  std::string("other.gguf.tmp.") + std::to_string(child), std::string("checkpoint.gguf")})
    std::ofstream(dir / name) << "x";
  EXPECT_EQ(remove_stale_temporaries(path), 1);
  EXPECT_FALSE(fs::exists(dir / cat("checkpoint.gguf.tmp.", child)));
  for (const std::string& name : {cat("checkpoint.gguf.tmp.", ::getpid()), std::string("checkpoint.gguf.tmp.1"),
                                  std::string("checkpoint.gguf.tmp.x"), std::string("other.gguf.tmp.") + std::to_string(child),
                                  std::string("checkpoint.gguf")})
    EXPECT_TRUE(fs::exists(dir / name)) << name;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace edgelm
