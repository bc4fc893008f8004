// Process-wide settings of the C and absl runtimes that a long-running gRPC process needs;
// called first thing in main() of aexd and of the load tools.
#pragma once

#include <absl/synchronization/mutex.h>
#include <malloc.h>
#include <sys/resource.h>

namespace aexd {

inline void tune_process() {
  // Debian builds absl without NDEBUG, so every lock gRPC takes would also record a stack trace
  // into a lock-order graph: a debugging aid that costs real throughput.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // glibc's defaults hand freed memory back to the kernel as soon as 128 KiB sit free at the top
  // of an arena, and take it back with page faults on the next burst: a third of a page fault
  // per call under load. Keep a working reserve instead (it is still returned beyond 32 MiB).
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
  // Setting those fixes glibc's mmap threshold at 128 KiB, so every larger buffer (a big status is
  // copied several times per push) would be a fresh mmap, faulted in page by page and unmapped
  // after. Serve buffers up to 32 MiB from the heap, where they are reused.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
}

/// Raises the soft limit on open descriptors to the hard one: every connection is one.
struct DescriptorLimits {
  rlim_t soft_was = 0, soft = 0, hard = 0;
};
inline DescriptorLimits raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
  const rlim_t was = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) limit.rlim_cur = was;
  return {was, limit.rlim_cur, limit.rlim_max};
}

}  // namespace aexd
