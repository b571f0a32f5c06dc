// LocalBinlogFeed: follows the server's binlog folder through its index file. A file is finished
// when the index lists a newer one and a re-read after seeing that still gives no byte (the server
// writes the ROTATE event before it adds the next file, but the re-check does not rely on it).
// Purged files (gone from the index) are skipped by their sequence number; a restarted server just
// adds a newer file. inotify on the folder wakes the waits; without it they poll.
#include "binwatch/watch/binlog_feed.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include <spdlog/spdlog.h>

namespace binwatch::watch {

namespace fs = std::filesystem;

std::optional<uint64_t> binlog_sequence(const std::string& name) {
  const auto dot = name.rfind('.');
  if (dot == std::string::npos || dot + 1 == name.size()) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = dot + 1; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return v;
}

std::vector<std::string> read_binlog_index(const fs::path& index) {
  std::vector<std::string> out;
  std::ifstream in(index);
  if (!in) return out;
  const fs::path dir = index.parent_path();
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    fs::path p(line);
    out.push_back(p.is_absolute() ? p.string() : (dir / p).lexically_normal().string());
  }
  return out;
}

fs::path find_binlog_index(const fs::path& dir) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".index" && e.is_regular_file()) found.push_back(e.path());
  }
  if (ec) throw std::runtime_error(dir.string() + ": cannot list the binlog folder: " + ec.message());
  if (found.size() != 1) {
    throw std::runtime_error(dir.string() + ": expected exactly one binlog index (*.index), found " +
                             std::to_string(found.size()) + "; set source.binlog_index");
  }
  return found.front();
}

namespace {

std::string base_name(const std::string& path) { return fs::path(path).filename().string(); }

// RESET MASTER (or a new server on the same folder) starts the numbering again: every listed
// file is numbered below `mine`. Waiting for a file after `mine` would wait forever.
bool numbering_went_back(const std::vector<std::string>& list, std::optional<uint64_t> mine) {
  if (list.empty() || !mine) return false;
  for (const auto& path : list) {
    const auto seq = binlog_sequence(base_name(path));
    if (!seq || *seq >= *mine) return false;
  }
  return true;
}

// One binlog file, read from its start; blocks at its current end until the file is finished.
class FollowSource : public ByteSource {
 public:
  FollowSource(LocalBinlogFeed& feed, std::string path, int fd)
      : m_feed(feed), m_path(std::move(path)), m_name(base_name(m_path)), m_fd(fd) {}
  ~FollowSource() override { ::close(m_fd); }
  FollowSource(const FollowSource&) = delete;
  FollowSource& operator=(const FollowSource&) = delete;

  size_t read(std::byte* dst, size_t n) override {
    bool rechecked = false;
    while (true) {
      const ssize_t r = ::pread(m_fd, dst, n, static_cast<off_t>(m_offset));
      if (r < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error(m_path + ": read error: " + std::strerror(errno));
      }
      if (r > 0) {
        m_offset += static_cast<uint64_t>(r);
        note_input(static_cast<uint64_t>(r));
        return static_cast<size_t>(r);
      }
      if (rechecked) return 0;  // a newer file exists and nothing more came: finished
      if (m_feed.newer_than_listed(m_name)) {
        rechecked = true;  // read once more: bytes written before the rotation are not lost
        continue;
      }
      m_feed.wait();
    }
  }
  [[nodiscard]] const std::string& name() const override { return m_path; }

 private:
  LocalBinlogFeed& m_feed;
  std::string m_path, m_name;
  int m_fd;
  uint64_t m_offset = 0;
};

}  // namespace

LocalBinlogFeed::LocalBinlogFeed(fs::path index, uint32_t poll_ms)
    : m_index(std::move(index)), m_dir(m_index.parent_path()), m_poll_ms(poll_ms) {
  m_stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (m_stop_fd < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  m_inotify = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (m_inotify >= 0 &&
      ::inotify_add_watch(m_inotify, m_dir.c_str(),
                          IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE) < 0) {
    spdlog::warn("inotify on {} failed ({}); polling every {} ms", m_dir.string(), std::strerror(errno), m_poll_ms);
    ::close(m_inotify);
    m_inotify = -1;
  }
}

LocalBinlogFeed::~LocalBinlogFeed() {
  if (m_inotify >= 0) ::close(m_inotify);
  ::close(m_stop_fd);
}

void LocalBinlogFeed::request_stop() {
  m_stop.store(true);
  const uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(m_stop_fd, &one, sizeof one);
}

void LocalBinlogFeed::wait() {
  if (m_stop.load()) throw StopRequested{};
  idle();
  pollfd fds[2] = {{m_stop_fd, POLLIN, 0}, {m_inotify, POLLIN, 0}};
  // With inotify the timeout is only a safety net (events on another folder, lost events).
  const int timeout = static_cast<int>(m_inotify >= 0 ? std::max<uint32_t>(m_poll_ms, 1000) : m_poll_ms);
  ::poll(fds, m_inotify >= 0 ? 2 : 1, timeout);
  if (m_inotify >= 0 && (fds[1].revents & POLLIN)) {
    alignas(inotify_event) char buf[8192];
    while (::read(m_inotify, buf, sizeof buf) > 0) {
    }
  }
  m_heartbeat.fetch_add(1, std::memory_order_relaxed);
  if (m_stop.load()) throw StopRequested{};
}

std::vector<BinlogFileInfo> LocalBinlogFeed::files() { return binlog_files_of(m_index); }

std::vector<BinlogFileInfo> binlog_files_of(const fs::path& index) {
  std::vector<BinlogFileInfo> out;
  for (const auto& path : read_binlog_index(index)) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;
    out.push_back({base_name(path), path, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)});
  }
  return out;
}

std::optional<Position> LocalBinlogFeed::newest() {
  auto list = files();
  if (list.empty()) return std::nullopt;
  return Position{list.back().name, list.back().size};
}

bool LocalBinlogFeed::newer_than_listed(const std::string& name) {
  const auto mine = binlog_sequence(name);
  for (const auto& path : read_binlog_index(m_index)) {
    const std::string other = base_name(path);
    if (other == name) continue;
    const auto seq = binlog_sequence(other);
    if (mine && seq ? *seq > *mine : other > name) return true;
  }
  return false;
}

FeedFile LocalBinlogFeed::open(const Position& from) {
  const std::string& name = from.file;
  const auto mine = binlog_sequence(name);
  bool reset_seen = false;  // acted on only when seen twice, a wait apart
  while (true) {
    if (m_stop.load()) throw StopRequested{};
    const auto list = read_binlog_index(m_index);
    std::string chosen;
    for (const auto& path : list) {
      if (base_name(path) == name) { chosen = path; break; }
    }
    if (chosen.empty()) {
      for (const auto& path : list) {
        const auto seq = binlog_sequence(base_name(path));
        if (mine && seq && *seq > *mine) { chosen = path; break; }
      }
      if (!chosen.empty())
        spdlog::warn("binlog {} is no longer listed in {} (purged); continuing with {}", name,
                     m_index.string(), base_name(chosen));
      else if (numbering_went_back(list, mine) && std::exchange(reset_seen, true)) {
        chosen = list.front();
        spdlog::warn("binlog numbering went back ({} lists nothing after {}: RESET MASTER?); continuing with {}",
                     m_index.string(), name, base_name(chosen));
      }
    }
    if (!chosen.empty()) {
      const int fd = ::open(chosen.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) return FeedFile{base_name(chosen), std::make_unique<FollowSource>(*this, chosen, fd)};
      if (errno != ENOENT) throw std::runtime_error(chosen + ": cannot open: " + std::strerror(errno));
    }
    wait();
  }
}

FeedFile LocalBinlogFeed::next(const std::string& finished) {
  const auto mine = binlog_sequence(finished);
  bool reset_seen = false;
  while (true) {
    if (m_stop.load()) throw StopRequested{};
    auto list = read_binlog_index(m_index);
    // Acted on only when seen twice, a wait apart (never on one odd read of the index).
    const bool went_back = numbering_went_back(list, mine);
    if (went_back && !reset_seen) {
      reset_seen = true;
      wait();
      continue;
    }
    reset_seen = went_back;
    if (went_back) {
      spdlog::warn("binlog numbering went back ({} lists nothing after {}: RESET MASTER?); continuing with {}",
                   m_index.string(), finished, base_name(list.front()));
      const int fd = ::open(list.front().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) return FeedFile{base_name(list.front()), std::make_unique<FollowSource>(*this, list.front(), fd)};
    }
    for (const auto& path : list) {
      const std::string other = base_name(path);
      const auto seq = binlog_sequence(other);
      if (mine && seq ? *seq > *mine : other > finished) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) return FeedFile{other, std::make_unique<FollowSource>(*this, path, fd)};
        if (errno != ENOENT) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
        break;  // purged between listing and opening: the wait below is short, then list again
      }
    }
    wait();
  }
}

}  // namespace binwatch::watch
