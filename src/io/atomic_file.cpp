#include "binwatch/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace binwatch {

namespace fs = std::filesystem;

std::optional<std::string> read_whole_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool write_all(int fd, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(w);
  }
  return true;
}

void fsync_directory(const fs::path& dir) {
  const fs::path p = dir.empty() ? fs::path(".") : dir;
  const int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(p.string() + ": cannot open for fsync: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error(p.string() + ": fsync failed: " + std::strerror(err));
}

void write_file_atomically(const fs::path& file, std::string_view data, unsigned mode) {
  const fs::path tmp = file.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) throw std::runtime_error(tmp.string() + ": cannot create: " + std::strerror(errno));
  auto fail = [&](const char* step) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(tmp.string() + ": " + step + " failed: " + std::strerror(err));
  };
  if (!write_all(fd, data)) fail("write");
  if (::fsync(fd) != 0) fail("fsync");
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0)
    throw std::runtime_error(file.string() + ": rename failed: " + std::strerror(errno));
  fsync_directory(file.parent_path());
}

}  // namespace binwatch
