#pragma once
// The data plane: one thread reads binlog files from a BinlogFeed, decodes and attributes them
// with scan_binlog (the report's attribution contract), and publishes immutable snapshots of the
// cumulative totals at transaction boundaries. It never waits on SQL, HTTP or checkpoint writes:
// readers take the latest snapshot (a shared_ptr swapped under a mutex held for a pointer copy).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "binwatch/attribution.h"
#include "binwatch/watch/binlog_feed.h"
#include "binwatch/watch/integrity.h"

namespace binwatch::watch {

struct FollowerState {
  Position start;     // counting began here
  Position position;  // every byte of [start, position) is in totals; a transaction boundary
  Attribution totals;
  uint64_t files_finished = 0;
  std::chrono::steady_clock::time_point published;  // when this snapshot was made
  int64_t last_event_time = 0;  // header timestamp of the last counted event (unix seconds)
};

class Follower {
 public:
  struct Options {
    // A boundary snapshot (a copy of the totals) at most this often while busy; when the feed
    // waits at a boundary it is published at once.
    uint32_t publish_interval_ms = 50;
    // An incomplete last event of the file being followed becomes a `torn` finding once it has
    // stayed incomplete this long (the server may still be writing it; a full disk makes it
    // wait). 0: only when the file is finished (a newer file exists). Needs a feed whose sources
    // count their bytes from offset 0 (the local feed).
    uint32_t torn_grace_ms = 0;
  };
  // The incomplete event the follower waits on (bytes read past the last whole event).
  struct PendingTail {
    std::string file;
    uint64_t offset = 0;  // where the incomplete event starts
    uint64_t bytes = 0;   // bytes of it on disk so far
    std::chrono::steady_clock::time_point since;  // unchanged since then
  };
  // Resumes at `resume` (a boundary: bytes before it are in `base`); `start` is where counting
  // began (kept for the status and the checkpoint).
  Follower(BinlogFeed& feed, Position start, Position resume, Attribution base, Options options);

  // The thread body: returns when stop was requested (StopRequested) or on a fatal error.
  void run();
  void request_stop() { m_feed.request_stop(); }

  [[nodiscard]] std::shared_ptr<const FollowerState> snapshot() const;
  // Called (on the data-plane thread) after each publish; must not block (e.g. notify a cv).
  void on_publish(std::function<void()> hook) { m_on_publish = std::move(hook); }
  // Why run() ended, when it was not a stop request.
  [[nodiscard]] std::optional<std::string> error() const;
  [[nodiscard]] bool running() const { return m_running.load(); }
  // Integrity findings of the files followed (bounded; counts by kind). Never null.
  [[nodiscard]] std::shared_ptr<const IntegrityLog> integrity() const;
  [[nodiscard]] std::optional<PendingTail> pending_tail() const;

 private:
  class Observer;
  void publish(const Attribution& file_attr, uint64_t resume_offset, const Position& at);
  // Adds findings to the log (a torn tail already raised for the active file is updated, not
  // counted again); marks an active-file finding resolved when its event completed.
  void record(std::vector<IntegrityFinding> findings);
  void resolve_active(const std::string& file, uint64_t offset);
  void set_pending(std::optional<PendingTail> tail);

  BinlogFeed& m_feed;
  Position m_start, m_resume;
  Attribution m_base;
  Options m_options;
  uint64_t m_files_finished = 0;
  int64_t m_last_event_time = 0;
  std::function<void()> m_on_publish;
  std::atomic<bool> m_running{false};
  std::atomic<uint64_t> m_input{0};  // bytes the current file's source handed out (its offset)

  mutable std::mutex m_mutex;  // guards the two below (pointer copies only)
  std::shared_ptr<const FollowerState> m_snapshot;
  std::optional<std::string> m_error;
  std::shared_ptr<const IntegrityLog> m_integrity = std::make_shared<IntegrityLog>();
  std::optional<PendingTail> m_pending;
};

// The last transaction boundary at or before `limit` in a binlog file (for start = "end"): the
// offset after the last event that left no transaction open. 0 when the file has no whole event.
uint64_t last_boundary(const std::string& path, uint64_t limit);

}  // namespace binwatch::watch
