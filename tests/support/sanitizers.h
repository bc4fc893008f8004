// Whether a sanitizer (ASan, TSan) owns this test binary's heap, and the memory figure a test can bound
// either way. Any thread.
#pragma once

#include <cstddef>
#include <fstream>
#include <string>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AEXD_TEST_SANITIZED_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define AEXD_TEST_SANITIZED_HEAP 1
#endif
#endif

#ifdef AEXD_TEST_SANITIZED_HEAP
// From the sanitizers' sanitizer/allocator_interface.h, which GCC does not install.
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace aexd::test {

#ifdef AEXD_TEST_SANITIZED_HEAP
inline constexpr bool kSanitizedHeap = true;
#else
inline constexpr bool kSanitizedHeap = false;
#endif

/// What memory_in_use_kib() measures, for test messages.
inline constexpr const char* kMemoryInUse = kSanitizedHeap ? "live heap" : "RSS";

/// The memory the process holds, in KiB: its RSS; under a sanitizer, the heap bytes allocated and not yet
/// freed, because there RSS also counts shadow memory and ASan's quarantine of freed blocks (256 MiB).
inline long memory_in_use_kib() {
#ifdef AEXD_TEST_SANITIZED_HEAP
  return static_cast<long>(__sanitizer_get_current_allocated_bytes() / 1024);
#else
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
#endif
}

}  // namespace aexd::test
