// aligned_array: the address is a multiple of the alignment asked for, and the
// whole requested size is usable (ASan checks the bounds in CI).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "platform/aligned_buffer.h"

namespace edgelm {
namespace {

TEST(AlignedBuffer, AddressIsAlignedAndEveryElementIsUsable) {
  for (size_t n : {size_t(0), size_t(1), size_t(63), size_t(1000), size_t(1) << 20}) {
    for (size_t alignment : {size_t(64), size_t(4096)}) {
      AlignedArray<int32_t> a = aligned_array<int32_t>(n, alignment);
      ASSERT_NE(a.get(), nullptr);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(a.get()) % alignment, 0u) << n << " elements, alignment " << alignment;
      if (n > 0) {
        std::memset(a.get(), 0x5a, n * sizeof(int32_t));
        EXPECT_EQ(a[n - 1], 0x5a5a5a5a);
      }
    }
  }
}

}  // namespace
}  // namespace edgelm
