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

 private:
  class Observer;
  void publish(const Attribution& file_attr, uint64_t resume_offset, const Position& at);

  BinlogFeed& m_feed;
  Position m_start, m_resume;
  Attribution m_base;
  Options m_options;
  uint64_t m_files_finished = 0;
  int64_t m_last_event_time = 0;
  std::function<void()> m_on_publish;
  std::atomic<bool> m_running{false};

  mutable std::mutex m_mutex;  // guards the two below (pointer copies only)
  std::shared_ptr<const FollowerState> m_snapshot;
  std::optional<std::string> m_error;
};

// The last transaction boundary at or before `limit` in a binlog file (for start = "end"): the
// offset after the last event that left no transaction open. 0 when the file has no whole event.
uint64_t last_boundary(const std::string& path, uint64_t limit);

}  // namespace binwatch::watch
