// Small filesystems for disk-full tests: a tmpfs the test mounts itself (root only; `mounted`
// says whether it worked) and statvfs figures of any folder.
#pragma once

#include <sys/mount.h>
#include <sys/statvfs.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace binwatch::test {

// Bytes available to unprivileged writers on the filesystem holding `p` (f_bavail).
inline uint64_t avail_bytes(const std::filesystem::path& p) {
  struct statvfs s {};
  ::statvfs(p.c_str(), &s);
  return static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
}
// Size of that filesystem (f_blocks).
inline uint64_t size_bytes(const std::filesystem::path& p) {
  struct statvfs s {};
  ::statvfs(p.c_str(), &s);
  return static_cast<uint64_t>(s.f_blocks) * s.f_frsize;
}

// A tmpfs of `size` ("64m") at `at`, unmounted (lazily) when it goes out of scope.
struct Tmpfs {
  std::filesystem::path mnt;
  bool mounted = false;
  Tmpfs(const std::filesystem::path& at, const char* size) : mnt(at) {
    std::filesystem::create_directories(mnt);
    mounted = ::mount("tmpfs", mnt.c_str(), "tmpfs", 0, (std::string("size=") + size).c_str()) == 0;
  }
  ~Tmpfs() {
    if (mounted) ::umount2(mnt.c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;
};

}  // namespace binwatch::test
