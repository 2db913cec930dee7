#pragma once
// Heap memory aligned to a cache line (or any power of two), for buffers that
// SIMD kernels load whole vectors from: a 64-byte vector load that straddles
// two cache lines costs about twice as much as an aligned one.
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <memory>

#include "platform/error.h"

namespace edgelm {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
template <class T>
using AlignedArray = std::unique_ptr<T[], FreeDeleter>;

// n uninitialised elements of T at an address that is a multiple of `alignment`.
template <class T>
AlignedArray<T> aligned_array(size_t n, size_t alignment = 64) {
  const size_t bytes = (std::max<size_t>(n * sizeof(T), 1) + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, bytes);
  if (!p) fail("cannot allocate ", bytes, " bytes");
  return AlignedArray<T>(static_cast<T*>(p));
}

}  // namespace edgelm
