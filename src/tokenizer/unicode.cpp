#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

#include "platform/utf8.h"

namespace edgelm::unicode {
namespace {

struct Run {
  uint32_t first, last;
  uint8_t flags;
};

constexpr Run kRuns[] = {
#include "tokenizer/unicode_table.inc"
};

// The Basic Multilingual Plane as a direct table (64 KiB), built once; the
// rest of the code space is a binary search over the runs.
const std::array<uint8_t, 0x10000>& bmp_table() {
  static const auto table = [] {
    auto t = std::make_unique<std::array<uint8_t, 0x10000>>();
    t->fill(0);
    for (const Run& r : kRuns) {
      if (r.first > 0xFFFF) break;
      for (uint32_t c = r.first; c <= std::min<uint32_t>(r.last, 0xFFFF); ++c) (*t)[c] = r.flags;
    }
    return t;
  }();
  return *table;
}

struct ByteMap {
  std::array<std::string, 256> to_text;
  std::array<uint32_t, 256> to_cpt;
  std::vector<int16_t> from_cpt;  // indexed by code point < 324
};

const ByteMap& byte_map() {
  static const ByteMap map = [] {
    ByteMap m;
    m.from_cpt.assign(324, -1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      uint32_t cpt = printable ? uint32_t(b) : next++;
      m.to_cpt[b] = cpt;
      m.from_cpt[cpt] = int16_t(b);
      append_utf8(m.to_text[b], cpt);
    }
    return m;
  }();
  return map;
}

}  // namespace

uint8_t flags(uint32_t cpt) {
  if (cpt < 0x10000) return bmp_table()[cpt];
  if (cpt > 0x10FFFF) return 0;
  auto it = std::upper_bound(std::begin(kRuns), std::end(kRuns), cpt, [](uint32_t c, const Run& r) { return c < r.first; });
  if (it == std::begin(kRuns)) return 0;
  --it;
  return cpt <= it->last ? it->flags : 0;
}

int utf8_sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

uint32_t decode_utf8(std::string_view text, size_t pos, size_t& len) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data()) + pos;
  size_t avail = text.size() - pos;
  uint8_t b0 = s[0];
  len = 1;
  if (b0 < 0x80) return b0;
  int n = utf8_sequence_length(b0);
  if (n == 0 || size_t(n) > avail) return INVALID_BASE + b0;
  for (int i = 1; i < n; ++i)
    if ((s[i] & 0xC0) != 0x80) return INVALID_BASE + b0;
  uint32_t cpt;
  if (n == 2) {
    cpt = (uint32_t(b0 & 0x1F) << 6) | (s[1] & 0x3F);
  } else if (n == 3) {
    cpt = (uint32_t(b0 & 0x0F) << 12) | (uint32_t(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    if (cpt < 0x800 || (cpt >= 0xD800 && cpt <= 0xDFFF)) return INVALID_BASE + b0;
  } else {
    cpt = (uint32_t(b0 & 0x07) << 18) | (uint32_t(s[1] & 0x3F) << 12) | (uint32_t(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    if (cpt < 0x10000 || cpt > 0x10FFFF) return INVALID_BASE + b0;
  }
  len = size_t(n);
  return cpt;
}

void append_utf8(std::string& out, uint32_t cpt) {
  if (cpt >= INVALID_BASE) out += char(cpt - INVALID_BASE);
  else utf8_append(out, cpt);
}

const std::string& byte_to_unicode(uint8_t byte) { return byte_map().to_text[byte]; }

int unicode_to_byte(uint32_t cpt) { return cpt < byte_map().from_cpt.size() ? byte_map().from_cpt[cpt] : -1; }

std::string to_byte_level(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += byte_to_unicode(uint8_t(c));
  return out;
}

bool from_byte_level(std::string_view text, std::string& bytes) {
  bytes.clear();
  for (size_t pos = 0; pos < text.size();) {
    size_t len;
    uint32_t cpt = decode_utf8(text, pos, len);
    int b = unicode_to_byte(cpt);
    if (b < 0) return false;
    bytes += char(b);
    pos += len;
  }
  return true;
}

}  // namespace edgelm::unicode
