#pragma once
// source.mode = "replication": the sidecar's data plane reads the binlog as a replica
// (replication::ReplicationSource, COM_BINLOG_DUMP) instead of from the local folder. The source
// turns the stream back into the file's bytes offset for offset, so the follower, the scanner and
// the checkpoint work exactly as with LocalBinlogFeed: a checkpoint (file, offset) is where the
// next dump starts, and a byte counted live is the byte `binwatch report` counts in that file.
//
// One ReplicationSource serves consecutive files (its next_file() after the ROTATE); the feed
// hands the follower a thin per-file view of it. The source reconnects by itself (KILL of the
// dump thread, server restart, silence longer than three heartbeats) and resumes after the last
// whole event, so a lost connection is invisible to the follower.
//
// Opening a position looks the file up first (SHOW BINARY LOGS): when it was purged the feed
// continues with the oldest newer file, like the local feed, instead of failing with 1236.
// Those lookups and the dump are the only SQL on the data-plane thread; they go to the server
// the data plane reads from anyway, and a stop request interrupts them.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "binwatch/mysql/connection.h"
#include "binwatch/replication/replication_source.h"
#include "binwatch/watch/binlog_feed.h"

namespace binwatch::watch {

struct ReplicationFeedOptions {
  mysql::ConnectionOptions connection;
  uint32_t server_id = 0;
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{30000};
  // How often, at most, the follower's idle hook runs while the stream is quiet between packets
  // (heartbeats call it regardless).
  std::chrono::milliseconds idle_interval{50};
};

class ReplicationBinlogFeed : public BinlogFeed {
 public:
  explicit ReplicationBinlogFeed(ReplicationFeedOptions options);
  ~ReplicationBinlogFeed() override;
  ReplicationBinlogFeed(const ReplicationBinlogFeed&) = delete;
  ReplicationBinlogFeed& operator=(const ReplicationBinlogFeed&) = delete;

  // The newest byte as the control plane last saw it (set_server_files(): SHOW BINARY LOGS);
  // nullopt before its first answer.
  std::optional<Position> newest() override;
  FeedFile open(const Position& from) override;
  FeedFile next(const std::string& finished) override;
  void request_stop() override;
  [[nodiscard]] uint64_t heartbeat() const override { return m_heartbeat.load(std::memory_order_relaxed); }

  // The server's current end (SHOW MASTER STATUS), a transaction boundary: for start = "end".
  // Retries with back-off until it answers; throws StopRequested when stopped first, and
  // std::runtime_error on errors that retrying cannot fix (access denied, binary logging off).
  Position server_end();

  // The server's binlog files as the control plane last listed them (no path, no mtime).
  void set_server_files(std::vector<BinlogFileInfo> files);
  std::vector<BinlogFileInfo> server_files() const;

  [[nodiscard]] replication::ReplicationStats stats() const;
  [[nodiscard]] std::string endpoint() const;

 private:
  class FileView;
  std::unique_ptr<replication::ReplicationSource> make_source(const std::string& file, uint64_t position);
  // SHOW BINARY LOGS on a short-lived connection, retried like the stream (stop-aware).
  std::vector<std::string> list_files();
  template <typename F>
  auto with_retry(const char* what, F f) -> decltype(f());
  void on_wait();

  ReplicationFeedOptions m_opt;
  std::atomic<bool> m_stop{false};
  std::atomic<uint64_t> m_heartbeat{0};
  std::chrono::steady_clock::time_point m_last_idle{};

  mutable std::mutex m_mutex;  // guards the members below (the data-plane thread swaps m_source)
  std::unique_ptr<replication::ReplicationSource> m_source;
  replication::ReplicationStats m_done_stats;  // of sources already replaced
  std::vector<BinlogFileInfo> m_server_files;
  std::string m_endpoint;
};

}  // namespace binwatch::watch
