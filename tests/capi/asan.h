#pragma once
// EDGELM_TEST_ASAN is defined when AddressSanitizer is on (gcc says so with
// __SANITIZE_ADDRESS__, clang through __has_feature): the tests that replace
// operator new or build a separate project skip under it.
#if defined(__SANITIZE_ADDRESS__)
#define EDGELM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EDGELM_TEST_ASAN 1
#endif
#endif
