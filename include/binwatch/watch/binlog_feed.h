#pragma once
// Where the sidecar's data plane gets binlog files from. A feed hands out one ByteSource per binlog
// file, each yielding the file's bytes from its magic on (the decoder needs the format
// description), blocking while the server has not written more, and returning 0 only once the
// file is finished (the server moved on to a newer file and nothing more arrived). The follower
// loop (follower.h) does not care whether the bytes come from the local directory
// (LocalBinlogFeed) or from a replication stream (the replication helper's source plugs in here).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "binwatch/byte_source.h"

namespace binwatch::watch {

// A place in the binlog: file name (without folder, as SHOW BINARY LOGS prints it) and offset.
struct Position {
  std::string file;
  uint64_t offset = 0;
  auto operator<=>(const Position&) const = default;
};

// Thrown by a feed's source when stop was requested while it waited; the follower catches it and
// drops the half-read file (the last checkpoint stays the truth).
struct StopRequested {};

struct FeedFile {
  std::string name;  // file name, no folder
  std::unique_ptr<ByteSource> source;
};

class BinlogFeed {
 public:
  virtual ~BinlogFeed() = default;
  // The newest known byte: last file and its current size (for "start at the end" and lag).
  // nullopt when the server has no binlog yet. Thread-safe.
  virtual std::optional<Position> newest() = 0;
  // The stream of the file `from.file`, or when it no longer exists (purged) of the oldest file
  // after it; blocks until such a file exists. The follower resumes attribution at `from.offset`
  // (the scanner skips to it after the format description): a local file is read from its start,
  // a replication stream may start its dump at `from` and fill the bytes before it with zeros.
  // Throws StopRequested.
  virtual FeedFile open(const Position& from) = 0;
  // The file after `finished`; blocks until the server starts it. Throws StopRequested.
  virtual FeedFile next(const std::string& finished) = 0;
  // Wakes every wait and makes the sources throw StopRequested. Thread-safe.
  virtual void request_stop() = 0;
  // Data-plane liveness: bumped on every wake while waiting (for the watchdog). Thread-safe.
  [[nodiscard]] virtual uint64_t heartbeat() const = 0;
  // Called on the reading thread just before the feed blocks waiting for bytes (the follower
  // publishes its state then, so an idle server's last transaction is visible at once).
  void set_idle_hook(std::function<void()> hook) { m_idle = std::move(hook); }

 protected:
  void idle() {
    if (m_idle) m_idle();
  }

 private:
  std::function<void()> m_idle;
};

// A binlog file of the index with its size and mtime (purge projection, lag).
struct BinlogFileInfo {
  std::string name;
  std::string path;
  uint64_t size = 0;
  int64_t mtime = 0;  // unix seconds
};

// The binlog's own numbering: "mysql-bin.000042" -> 42 (nullopt without a numeric extension).
std::optional<uint64_t> binlog_sequence(const std::string& name);

// Reads a binlog index (one path per line, relative to the index's folder) into full paths.
// Missing file: empty list.
std::vector<std::string> read_binlog_index(const std::filesystem::path& index);
// The files an index lists, oldest first, with sizes and mtimes (missing files left out).
std::vector<BinlogFileInfo> binlog_files_of(const std::filesystem::path& index);
// The index file of a binlog folder: the only *.index there (throws naming the folder when none
// or several are found).
std::filesystem::path find_binlog_index(const std::filesystem::path& dir);

class LocalBinlogFeed : public BinlogFeed {
 public:
  // `index`: the server's binlog index file. poll_ms: how often to re-check without inotify
  // events (and the longest wait before stop is noticed is bounded by the stop eventfd anyway).
  LocalBinlogFeed(std::filesystem::path index, uint32_t poll_ms);
  ~LocalBinlogFeed() override;
  LocalBinlogFeed(const LocalBinlogFeed&) = delete;
  LocalBinlogFeed& operator=(const LocalBinlogFeed&) = delete;

  std::optional<Position> newest() override;
  FeedFile open(const Position& from) override;
  FeedFile next(const std::string& finished) override;
  void request_stop() override;
  [[nodiscard]] uint64_t heartbeat() const override { return m_heartbeat.load(std::memory_order_relaxed); }

  // The files of the index now, oldest first, with sizes and mtimes (missing files left out).
  std::vector<BinlogFileInfo> files();
  [[nodiscard]] const std::filesystem::path& index_path() const { return m_index; }
  [[nodiscard]] bool using_inotify() const { return m_inotify >= 0; }

  // For the follow source: true once a file newer than `name` is listed. Then waits (inotify or
  // poll, woken by stop). Throws StopRequested.
  bool newer_than_listed(const std::string& name);
  void wait();

 private:
  std::filesystem::path m_index;
  std::filesystem::path m_dir;
  uint32_t m_poll_ms;
  int m_inotify = -1;
  int m_stop_fd = -1;
  std::atomic<bool> m_stop{false};
  std::atomic<uint64_t> m_heartbeat{0};
};

}  // namespace binwatch::watch
