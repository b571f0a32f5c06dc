#include "binwatch/watch/replication_feed.h"

#include <algorithm>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace binwatch::watch {

using replication::ReplicationSource;

namespace {

void add_stats(replication::ReplicationStats& into, const replication::ReplicationStats& s) {
  into.connects += s.connects;
  into.reconnects += s.reconnects;
  into.heartbeats += s.heartbeats;
  into.artificial += s.artificial;
  into.events += s.events;
}

}  // namespace

// One file of the stream, as the follower reads it. A source that returns 0 because stop was
// requested is not a finished file: that throws StopRequested, as the local feed's waits do.
class ReplicationBinlogFeed::FileView : public ByteSource {
 public:
  FileView(ReplicationBinlogFeed& feed, ReplicationSource& source, std::string name)
      : m_feed(feed), m_source(source), m_name(std::move(name)) {}
  size_t read(std::byte* dst, size_t n) override {
    const size_t got = m_source.read(dst, n);
    if (got == 0 && (m_feed.m_stop.load() || m_source.stopped())) throw StopRequested{};
    note_input(got);
    return got;
  }
  [[nodiscard]] const std::string& name() const override { return m_name; }

 private:
  ReplicationBinlogFeed& m_feed;
  ReplicationSource& m_source;
  std::string m_name;
};

ReplicationBinlogFeed::ReplicationBinlogFeed(ReplicationFeedOptions options) : m_opt(std::move(options)) {
  if (m_opt.server_id == 0) throw std::invalid_argument("source.server_id: must be non-zero");
}

ReplicationBinlogFeed::~ReplicationBinlogFeed() = default;

void ReplicationBinlogFeed::request_stop() {
  m_stop.store(true);
  std::lock_guard lock(m_mutex);
  if (m_source) m_source->stop();
}

void ReplicationBinlogFeed::on_wait() {
  m_heartbeat.fetch_add(1, std::memory_order_relaxed);
  const auto now = std::chrono::steady_clock::now();
  if (now - m_last_idle < m_opt.idle_interval) return;
  m_last_idle = now;
  idle();
}

std::unique_ptr<ReplicationSource> ReplicationBinlogFeed::make_source(const std::string& file, uint64_t position) {
  replication::ReplicationOptions o;
  o.connection = m_opt.connection;
  o.server_id = m_opt.server_id;
  o.heartbeat = m_opt.heartbeat;
  o.file = file;
  o.position = std::max<uint64_t>(4, position);
  o.backoff_min = m_opt.backoff_min;
  o.backoff_max = m_opt.backoff_max;
  o.stop = [this] { return m_stop.load(); };
  o.on_wait = [this] { on_wait(); };
  return std::make_unique<ReplicationSource>(std::move(o));
}

template <typename F>
auto ReplicationBinlogFeed::with_retry(const char* what, F f) -> decltype(f()) {
  std::mt19937_64 rng(std::random_device{}());
  for (unsigned attempt = 0;; ++attempt) {
    if (m_stop.load()) throw StopRequested{};
    try {
      return f();
    } catch (const mysql::MysqlError& e) {
      if (!replication::is_transient_error(e.code())) throw;
      const auto delay = replication::backoff_delay(std::min(attempt, 30u), m_opt.backoff_min, m_opt.backoff_max,
                                                    std::uniform_real_distribution<double>(0.0, 1.0)(rng));
      spdlog::warn("replication: {} failed ({}); retrying in {} ms", what, e.what(), delay.count());
      const auto until = std::chrono::steady_clock::now() + delay;
      while (std::chrono::steady_clock::now() < until) {
        if (m_stop.load()) throw StopRequested{};
        m_heartbeat.fetch_add(1, std::memory_order_relaxed);
        std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
            std::chrono::milliseconds(50),
            std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()) +
                std::chrono::milliseconds(1)));
      }
    }
  }
}

std::vector<std::string> ReplicationBinlogFeed::list_files() {
  return with_retry("SHOW BINARY LOGS", [&] {
    mysql::Connection conn(m_opt.connection);
    {
      std::lock_guard lock(m_mutex);
      m_endpoint = conn.endpoint();
    }
    std::vector<std::string> names;
    for (const auto& row : conn.query("SHOW BINARY LOGS").rows)
      if (!row.empty() && row[0]) names.push_back(*row[0]);
    return names;
  });
}

Position ReplicationBinlogFeed::server_end() {
  return with_retry("SHOW MASTER STATUS", [&] {
    mysql::Connection conn(m_opt.connection);
    const auto rs = conn.query("SHOW MASTER STATUS");
    if (rs.rows.empty() || rs.rows[0].size() < 2 || !rs.rows[0][0] || !rs.rows[0][1]) {
      throw std::runtime_error("replication: SHOW MASTER STATUS on " + conn.endpoint() +
                               " returned nothing (binary logging off, or the BINLOG MONITOR / REPLICATION "
                               "CLIENT grant missing)");
    }
    return Position{*rs.rows[0][0], std::stoull(*rs.rows[0][1])};
  });
}

FeedFile ReplicationBinlogFeed::open(const Position& from) {
  std::string file = from.file;
  uint64_t position = from.offset;
  const auto names = list_files();
  if (names.empty()) throw std::runtime_error("replication: the server lists no binary log (SHOW BINARY LOGS)");
  if (std::find(names.begin(), names.end(), file) == names.end()) {
    const auto mine = binlog_sequence(file);
    std::string chosen;
    for (const auto& n : names) {
      const auto seq = binlog_sequence(n);
      if (mine && seq && *seq > *mine) {
        chosen = n;
        break;
      }
    }
    if (chosen.empty()) {
      // Numbering went back (RESET MASTER) or an unknown name: the oldest file the server has.
      chosen = names.front();
      spdlog::warn("replication: the server no longer has {} and nothing after it; continuing with {}", file, chosen);
    } else {
      spdlog::warn("replication: binlog {} was purged on the server; continuing with {}", file, chosen);
    }
    file = chosen;
    position = 0;
  }
  auto source = make_source(file, position);
  {
    std::lock_guard lock(m_mutex);
    if (m_source) add_stats(m_done_stats, m_source->stats());
    m_source = std::move(source);
    if (m_stop.load()) m_source->stop();
  }
  return FeedFile{file, std::make_unique<FileView>(*this, *m_source, file)};
}

FeedFile ReplicationBinlogFeed::next(const std::string& finished) {
  if (m_stop.load()) throw StopRequested{};
  if (!m_source || m_source->current_file() != finished)
    throw std::logic_error("replication feed: next(" + finished + ") without that file open");
  auto name = m_source->next_file();
  if (!name) {
    if (m_stop.load() || m_source->stopped()) throw StopRequested{};
    throw std::runtime_error("replication: " + finished + " did not end with a ROTATE to a next file");
  }
  return FeedFile{*name, std::make_unique<FileView>(*this, *m_source, *name)};
}

std::optional<Position> ReplicationBinlogFeed::newest() {
  std::lock_guard lock(m_mutex);
  if (m_server_files.empty()) return std::nullopt;
  return Position{m_server_files.back().name, m_server_files.back().size};
}

void ReplicationBinlogFeed::set_server_files(std::vector<BinlogFileInfo> files) {
  std::lock_guard lock(m_mutex);
  m_server_files = std::move(files);
}

std::vector<BinlogFileInfo> ReplicationBinlogFeed::server_files() const {
  std::lock_guard lock(m_mutex);
  return m_server_files;
}

replication::ReplicationStats ReplicationBinlogFeed::stats() const {
  std::lock_guard lock(m_mutex);
  replication::ReplicationStats s = m_done_stats;
  if (m_source) add_stats(s, m_source->stats());
  return s;
}

std::string ReplicationBinlogFeed::endpoint() const {
  std::lock_guard lock(m_mutex);
  return m_endpoint;
}

}  // namespace binwatch::watch
