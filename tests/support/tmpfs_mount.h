// A tmpfs the test mounts on a fresh temporary directory and unmounts on destruction: a filesystem
// of a known size to fill, or one to make read-only (chmod stops no write of root, as tests and CI
// run). Test thread only. Mounting needs root (CAP_SYS_ADMIN); without it the test fails, saying so.
#pragma once

#include <sys/mount.h>

#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "support/temp_dir.h"

namespace aexd::test {

class TmpfsMount {
 public:
  /// `size` as mount(8) takes it: "8m".
  explicit TmpfsMount(const std::string& size) : options_("size=" + size) {
    REQUIRE_MESSAGE(::mount("tmpfs", path().c_str(), "tmpfs", 0, options_.c_str()) == 0,
                    "mounting a tmpfs on " << path() << " failed (" << std::strerror(errno)
                                           << "); this test needs root (CAP_SYS_ADMIN), as CI has");
  }
  ~TmpfsMount() { ::umount2(path().c_str(), MNT_DETACH); }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  const std::filesystem::path& path() const { return dir_.path(); }

  void remount_read_only() { remount(MS_RDONLY); }
  void remount_writable() { remount(0); }

 private:
  void remount(unsigned long flags) {
    REQUIRE_MESSAGE(::mount(nullptr, path().c_str(), nullptr, MS_REMOUNT | flags, options_.c_str()) == 0,
                    "remounting " << path() << " failed: " << std::strerror(errno));
  }

  TempDir dir_;
  std::string options_;
};

}  // namespace aexd::test
