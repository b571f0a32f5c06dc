#pragma once
// Shared pieces of the daemon's control-plane threads that talk SQL (the primary monitor, one
// replica monitor per replica): a stop flag with an interruptible sleep, a done flag so that a
// thread stuck in a server that does not answer can be left behind at shutdown (the object lives
// in a shared_ptr the thread also holds), and a one-slot mailbox of the latest observation.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "binwatch/mysql/connection.h"

namespace binwatch::watch {

class ControlLoop {
 public:
  virtual ~ControlLoop() = default;
  void stop() {
    m_stop.store(true);
    std::lock_guard lock(m_sleep_mutex);
    m_cv.notify_all();
  }
  [[nodiscard]] bool stopping() const { return m_stop.load(); }
  [[nodiscard]] bool done() const { return m_done.load(); }

 protected:
  // Sleeps, woken early by stop(); false when stopping.
  bool sleep_ms(uint64_t ms) {
    std::unique_lock lock(m_sleep_mutex);
    m_cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return m_stop.load(); });
    return !m_stop.load();
  }
  void finished() { m_done.store(true); }
  // After a failure: sleeps backoff_delay(attempt, min, max) (full jitter) and counts the attempt;
  // a success resets `attempt` to 0.
  void back_off(unsigned& attempt, uint32_t min_ms, uint32_t max_ms);

 private:
  std::mt19937_64 m_rng{std::random_device{}()};
  std::atomic<bool> m_stop{false};
  std::atomic<bool> m_done{false};
  std::mutex m_sleep_mutex;
  std::condition_variable m_cv;
};

// The latest immutable observation; readers copy the pointer.
template <typename T>
class Latest {
 public:
  Latest() : m_value(std::make_shared<T>()) {}
  [[nodiscard]] std::shared_ptr<const T> get() const {
    std::lock_guard lock(m_mutex);
    return m_value;
  }
  void put(std::shared_ptr<const T> value) {
    std::lock_guard lock(m_mutex);
    m_value = std::move(value);
  }

 private:
  mutable std::mutex m_mutex;
  std::shared_ptr<const T> m_value;
};

// Connection settings like [mysql]'s: a DSN (no password), a socket, an option file; the
// timeout bounds connect and every read, so a hung server only ages the observation.
inline mysql::ConnectionOptions connection_options(const std::string& dsn, const std::string& socket,
                                                   const std::string& defaults_file, unsigned timeout_s) {
  mysql::ConnectionOptions o;
  if (!dsn.empty()) mysql::apply_dsn(dsn, o);
  o.socket = socket;
  o.defaults_file = defaults_file;
  o.connect_timeout_s = timeout_s;
  o.read_timeout_s = timeout_s;
  return o;
}

inline int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
inline double unix_time_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace binwatch::watch
