#include "binwatch/watch/daemon.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#ifdef BINWATCH_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "binwatch/binlog/event_type.h"
#include "binwatch/control/run_wrapper.h"
#include "binwatch/mysql/connection.h"
#include "binwatch/policy/duration.h"
#include "binwatch/watch/alert_engine.h"
#include "binwatch/watch/binlog_feed.h"
#include "binwatch/watch/net_monitor.h"
#include "binwatch/watch/checkpoint.h"
#include "binwatch/watch/follower.h"
#include "binwatch/watch/json_number.h"
#include "binwatch/watch/metrics_writer.h"
#include "binwatch/watch/mounts.h"
#include "binwatch/watch/projection.h"
#include "binwatch/watch/rate_tracker.h"
#include "binwatch/watch/replication_feed.h"
#include "binwatch/watch/replication_health.h"
#include "binwatch/watch/session_control.h"
#include "binwatch/watch/throttle_engine.h"

namespace binwatch::watch {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

void notify(const std::string& text) {
#ifdef BINWATCH_HAVE_SYSTEMD
  sd_notify(0, text.c_str());
#else
  (void)text;
#endif
}

double seconds_since(Clock::time_point origin) {
  return std::chrono::duration<double>(Clock::now() - origin).count();
}

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// What the SQL poller saw last. Replaced as a whole (one-slot mailbox).
struct ServerObservation {
  bool connected = false;
  std::string error;
  Clock::time_point at{};
  std::map<std::string, std::string> variables;  // lower-case names
  std::vector<OpenTransaction> open;
  std::vector<BinlogFileInfo> binlogs;  // SHOW BINARY LOGS (replication mode): name and size only
};

// The SQL poller lives in a shared_ptr so that a thread stuck in a server that does not answer
// can be left behind at shutdown without touching freed memory.
struct SqlPoller {
  mysql::ConnectionOptions options;
  std::atomic<uint32_t> interval_ms{5000};
  bool list_binlogs = false;  // replication mode without a local index: lag and newest from here
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  std::mutex mutex;
  std::condition_variable cv;
  std::shared_ptr<const ServerObservation> latest;

  std::shared_ptr<const ServerObservation> get() {
    std::lock_guard lock(mutex);
    return latest;
  }
  void put(std::shared_ptr<const ServerObservation> o) {
    std::lock_guard lock(mutex);
    latest = std::move(o);
  }
  void sleep_ms(uint32_t ms) {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stop.load(); });
  }

  void run() {
    std::unique_ptr<mysql::Connection> conn;
    std::map<std::string, std::string> vars;
    Clock::time_point vars_at{};
    uint32_t backoff = 0;
    while (!stop.load()) {
      auto o = std::make_shared<ServerObservation>();
      try {
        if (!conn) {
          conn = std::make_unique<mysql::Connection>(options);
          vars.clear();
          spdlog::info("control plane: connected to {}", conn->endpoint());
        }
        if (vars.empty() || Clock::now() - vars_at > std::chrono::seconds(60)) {
          auto rs = conn->query(
              "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin_basename', 'datadir', 'tmpdir', "
              "'relay_log_basename', 'binlog_expire_logs_seconds', 'expire_logs_days', 'max_binlog_size')");
          vars.clear();
          for (const auto& row : rs.rows) {
            if (row.size() < 2 || !row[0]) continue;
            std::string name = *row[0];
            for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            vars[name] = row[1].value_or("");
          }
          vars_at = Clock::now();
        }
        auto rs = conn->query(
            "SELECT trx_rows_modified, trx_query FROM information_schema.INNODB_TRX WHERE trx_rows_modified > 0");
        for (const auto& row : rs.rows) {
          OpenTransaction t;
          t.rows_modified = row.size() > 0 && row[0] ? std::stoull(*row[0]) : 0;
          t.query = row.size() > 1 && row[1] ? *row[1] : "";
          o->open.push_back(std::move(t));
        }
        if (list_binlogs) {
          for (const auto& row : conn->query("SHOW BINARY LOGS").rows) {
            if (row.size() < 2 || !row[0] || !row[1]) continue;
            o->binlogs.push_back({*row[0], "", std::stoull(*row[1]), 0});
          }
        }
        o->connected = true;
        o->variables = vars;
        backoff = 0;
      } catch (const std::exception& e) {
        o->error = e.what();
        o->variables = vars;
        if (conn) spdlog::warn("control plane: {}", e.what());
        conn.reset();
        backoff = std::min<uint32_t>(backoff ? backoff * 2 : 1000, 30000);
      }
      o->at = Clock::now();
      put(std::move(o));
      sleep_ms(std::max(interval_ms.load(), backoff));
    }
    done.store(true);
  }
};

struct MountState {
  MountTarget target;
  std::deque<UsageSample> samples;
  DiskUsage usage;
  PartitionInput input;
  PartitionProjection projection;
  uint64_t expiring_bytes = 0;
};

// What the control plane publishes for the API (immutable once published).
struct ControlState {
  struct WindowRates {
    uint32_t seconds = 0;
    Rate total;
    std::vector<TableRate> tables;
  };
  std::vector<WindowRates> rates;
  std::vector<MountState> mounts;
  bool server_configured = false, server_connected = false;
  std::string server_error;
  double server_age = -1;
  uint64_t pending_burst_bytes = 0;
  double bytes_per_row_global = 0;
  std::optional<Position> newest;
  uint64_t lag_bytes = 0;
  int64_t checkpoint_saved_at = 0;
  Position checkpoint_position;
};

struct ProcessStats {
  double cpu_seconds = 0;
  uint64_t rss = 0;
  uint64_t open_fds = 0;
};

ProcessStats process_stats() {
  ProcessStats p;
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    p.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  if (statm >> pages >> resident) p.rss = resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/self/fd", ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    ++p.open_fds;
  return p;
}

std::optional<uint64_t> expire_seconds(const WatchConfig& cfg, const ServerObservation* server) {
  if (cfg.expire_seconds) return cfg.expire_seconds;
  if (!server) return std::nullopt;
  auto get = [&](const char* k) -> std::optional<double> {
    auto it = server->variables.find(k);
    if (it == server->variables.end() || it->second.empty()) return std::nullopt;
    try {
      return std::stod(it->second);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  };
  if (auto s = get("binlog_expire_logs_seconds"); s && *s > 0) return static_cast<uint64_t>(*s);
  if (auto d = get("expire_logs_days"); d && *d > 0) return static_cast<uint64_t>(*d * 86400);
  return std::nullopt;
}

class Daemon {
 public:
  Daemon(std::string config_path, WatchConfig cfg) : m_config_path(std::move(config_path)), m_cfg(std::make_shared<WatchConfig>(std::move(cfg))) {}

  int run();

 private:
  std::shared_ptr<const WatchConfig> config() {
    std::lock_guard lock(m_cfg_mutex);
    return m_cfg;
  }
  std::shared_ptr<const ControlState> control() {
    std::lock_guard lock(m_control_mutex);
    return m_control;
  }
  void checkpoint_loop();
  void sampler_loop();
  void reload();
  bool write_checkpoint(const FollowerState& s);
  std::string metrics();
  std::string status_json();

  std::string m_config_path;
  std::mutex m_cfg_mutex;
  std::shared_ptr<const WatchConfig> m_cfg;

  std::unique_ptr<BinlogFeed> m_feed;
  LocalBinlogFeed* m_local = nullptr;        // mode "local"
  ReplicationBinlogFeed* m_repl = nullptr;   // mode "replication"
  fs::path m_index;  // the server's index file when this host can read it (always in mode "local")
  std::vector<BinlogFileInfo> binlog_files(const ServerObservation* server);
  std::unique_ptr<Follower> m_follower;
  std::unique_ptr<AlertEngine> m_alerts;
  std::unique_ptr<NetMonitor> m_net;
  std::string m_token;  // bearer token of the mutating alert endpoints (empty: they answer 403)
  void add_alert_routes(httplib::Server& http);
  // The mutating endpoints' bearer check: false after answering 403 (no token file: `off` says
  // what is off) or 401.
  bool authorize(const httplib::Request& req, httplib::Response& res, std::string_view off);
  std::shared_ptr<SqlPoller> m_sql;
  fs::path m_checkpoint_file;
  Clock::time_point m_started = Clock::now();
  int64_t m_start_unix = unix_now();

  std::atomic<bool> m_stop{false};
  std::mutex m_wake_mutex;
  std::condition_variable m_wake;
  std::atomic<bool> m_dirty{false};

  std::mutex m_ckpt_mutex;  // serialises checkpoint writes (writer thread, final write)
  Position m_saved_position;
  std::atomic<int64_t> m_saved_at{0};

  std::mutex m_control_mutex;
  std::shared_ptr<const ControlState> m_control = std::make_shared<ControlState>();
  std::atomic<uint64_t> m_checkpoint_errors{0};

  // Replication health (issue 9): integrity findings, primary and replica monitors.
  std::unique_ptr<ReplicationHealth> m_health;

  // Throttling of bulk jobs (issue 6).
  std::shared_ptr<ThrottleEngine> m_throttle;  // shared: a session thread left behind keeps it
  std::shared_ptr<SessionControl> m_sessions;
  void add_throttle_routes(httplib::Server& http);
  void update_throttle(const ControlState& state);
};

void Daemon::update_throttle(const ControlState& state) {
  policy::ThrottleInputs in;
  // The binlog partition closest to full decides (burst of open transactions included); the free
  // share is the smallest one, named after its own partition.
  for (const auto& m : state.mounts) {
    if (!m.target.holds_binlog || m.usage.size == 0) continue;
    const double ttf = std::min(m.projection.time_to_full_burst, m.projection.time_to_full);
    const double free_pct = 100.0 * static_cast<double>(m.usage.avail) / static_cast<double>(m.usage.size);
    policy::add_partition(in, m.target.mount, ttf, free_pct);
  }
  if (m_health) in.replica_lag_s = m_health->worst_lag_seconds();
  m_throttle->set_bytes_per_row(state.bytes_per_row_global);
  m_throttle->update(in, unix_now_ms());
}

std::vector<BinlogFileInfo> Daemon::binlog_files(const ServerObservation* server) {
  if (!m_index.empty()) return binlog_files_of(m_index);
  if (m_repl && server && server->connected) m_repl->set_server_files(server->binlogs);
  return m_repl ? m_repl->server_files() : std::vector<BinlogFileInfo>{};
}

bool Daemon::write_checkpoint(const FollowerState& s) {
  std::lock_guard lock(m_ckpt_mutex);
  if (s.position == m_saved_position && m_saved_at.load() != 0) return true;
  Checkpoint c{s.start, s.position, s.totals, unix_now()};
  try {
    save_checkpoint(m_checkpoint_file, c);
    m_saved_position = s.position;
    m_saved_at.store(c.saved_at);
    return true;
  } catch (const std::exception& e) {
    m_checkpoint_errors.fetch_add(1);
    spdlog::error("checkpoint: {}", e.what());
    return false;
  }
}

void Daemon::checkpoint_loop() {
  while (!m_stop.load()) {
    {
      std::unique_lock lock(m_wake_mutex);
      m_wake.wait(lock, [&] { return m_stop.load() || m_dirty.load(); });
    }
    if (m_stop.load()) break;
    m_dirty.store(false);
    write_checkpoint(*m_follower->snapshot());
    // Throttle: at most one write per interval (the final one at stop is written regardless).
    std::unique_lock lock(m_wake_mutex);
    m_wake.wait_for(lock, std::chrono::milliseconds(config()->checkpoint_interval_ms), [&] { return m_stop.load(); });
  }
}

void Daemon::sampler_loop() {
  RateTracker rates;
  std::map<std::string, std::deque<UsageSample>> usage;  // by mount point
  Clock::time_point next_partition_sample = Clock::now();
  uint64_t last_progress = 0;
  Clock::time_point last_progress_at = Clock::now();
  Clock::time_point next_alert_eval = Clock::now();
  Clock::time_point next_net_sample = Clock::now();
  while (!m_stop.load()) {
    const auto cfg = config();
    const double now = seconds_since(m_started);
    const auto snap = m_follower->snapshot();
    rates.sample(now, snap->totals);

    auto state = std::make_shared<ControlState>(*control());
    state->rates.clear();
    for (uint32_t w : cfg->windows_s) {
      ControlState::WindowRates wr;
      wr.seconds = w;
      wr.total = rates.total(w);
      wr.tables = rates.tables(w);
      state->rates.push_back(std::move(wr));
    }
    const auto server = m_sql ? m_sql->get() : nullptr;
    state->server_configured = m_sql != nullptr;
    if (server) {
      state->server_connected = server->connected;
      state->server_error = server->error;
      state->server_age = std::chrono::duration<double>(Clock::now() - server->at).count();
    }
    auto files = binlog_files(server.get());
    if (!files.empty()) state->newest = Position{files.back().name, files.back().size};
    {
      // Bytes the follower has still to read: the rest of its file and every newer file.
      uint64_t lag = 0;
      const auto mine = binlog_sequence(snap->position.file);
      for (const auto& f : files) {
        const auto seq = binlog_sequence(f.name);
        if (f.name == snap->position.file) lag += f.size > snap->position.offset ? f.size - snap->position.offset : 0;
        else if (mine && seq && *seq > *mine) lag += f.size;
      }
      state->lag_bytes = lag;
    }
    state->checkpoint_saved_at = m_saved_at.load();
    {
      std::lock_guard lock(m_ckpt_mutex);
      state->checkpoint_position = m_saved_position;
    }

    bool sampled_partitions = false;
    if (Clock::now() >= next_partition_sample) {
      sampled_partitions = true;
      next_partition_sample = Clock::now() + std::chrono::milliseconds(cfg->sample_interval_ms);
      // Paths the server writes to: the binlog folder always; the rest from server variables.
      std::vector<RolePath> paths;
      if (!m_index.empty()) paths.push_back({"binlog", m_index.parent_path().string()});
      std::vector<std::optional<uint64_t>> reserves(paths.size());
      if (server) {
        auto var = [&](const char* k) {
          auto it = server->variables.find(k);
          return it == server->variables.end() ? std::string() : it->second;
        };
        if (auto b = var("log_bin_basename"); !b.empty()) paths.push_back({"binlog", fs::path(b).parent_path().string()});
        paths.push_back({"datadir", var("datadir")});
        for (const auto& t : [&] {
               std::vector<std::string> out;
               std::string s = var("tmpdir");
               size_t start = 0;
               while (start <= s.size()) {
                 size_t end = s.find(':', start);
                 if (end == std::string::npos) end = s.size();
                 if (end > start) out.push_back(s.substr(start, end - start));
                 start = end + 1;
               }
               return out;
             }())
          paths.push_back({"tmpdir", t});
        if (auto r = var("relay_log_basename"); !r.empty()) paths.push_back({"relaylog", fs::path(r).parent_path().string()});
        reserves.resize(paths.size());
      }
      for (const auto& m : cfg->mounts) {
        paths.push_back({m.role, m.path});
        reserves.push_back(m.reserve_bytes);
      }
      const auto targets = group_by_mount(paths, reserves);

      const BytesPerRow learned = learn_bytes_per_row(snap->totals);
      const bool server_fresh =
          server && server->connected &&
          Clock::now() - server->at < std::chrono::milliseconds(3 * cfg->mysql_poll_interval_ms + 1000);
      const uint64_t pending = server_fresh ? pending_burst_bytes(server->open, learned) : 0;
      state->pending_burst_bytes = pending;
      state->bytes_per_row_global = learned.global;
      const auto expire = expire_seconds(*cfg, server.get());
      const double short_w = cfg->short_window_s, long_w = cfg->long_window_s;

      state->mounts.clear();
      for (const auto& t : targets) {
        MountState ms;
        ms.target = t;
        auto du = disk_usage(t.mount);
        if (!du) continue;
        ms.usage = *du;
        auto& hist = usage[t.mount];
        hist.push_back({now, du->used});
        while (!hist.empty() && now - hist.front().t > long_w + 1) hist.pop_front();
        const std::vector<UsageSample> v(hist.begin(), hist.end());
        PartitionInput in;
        in.size = du->size;
        in.avail = du->avail;
        in.reserve = t.reserve.value_or(cfg->reserve_bytes);
        in.statvfs_growth_short = growth_rate(v, now, short_w);
        in.statvfs_growth_long = growth_rate(v, now, long_w);
        if (t.holds_binlog) {
          in.binlog_growth_short = rates.total(short_w).bytes_per_s;
          in.binlog_growth_long = rates.total(long_w).bytes_per_s;
          in.pending_burst_bytes = pending;
          if (expire && !m_index.empty()) {
            // Every file but the one being written expires at mtime + expiry (the server purges
            // at rotation; the projection takes the due time as the moment the bytes are freed).
            const int64_t unow = unix_now();
            std::map<std::string, std::string> mount_of_dir;  // binlogs share a folder or two
            for (size_t i = 0; i + 1 < files.size(); ++i) {
              const std::string dir = fs::path(files[i].path).parent_path().string();
              auto [it, added] = mount_of_dir.try_emplace(dir);
              if (added) it->second = mount_point_of(dir);
              if (it->second != t.mount) continue;
              const double due = static_cast<double>(files[i].mtime + static_cast<int64_t>(*expire) - unow);
              in.expiring.push_back({files[i].size, std::max(0.0, due)});
              ms.expiring_bytes += files[i].size;
            }
          }
        }
        ms.input = in;
        ms.projection = project(in);
        state->mounts.push_back(std::move(ms));
      }
    }
    {
      std::lock_guard lock(m_control_mutex);
      m_control = state;
    }
    if (m_throttle && sampled_partitions) update_throttle(*state);

    if (m_net && Clock::now() >= next_net_sample) {
      next_net_sample = Clock::now() + std::chrono::milliseconds(m_net->interval_ms());
      m_net->sample(seconds_since(m_started));
    }
    if (m_alerts && Clock::now() >= next_alert_eval) {
      next_alert_eval = Clock::now() + std::chrono::milliseconds(cfg->alerts.interval_ms);
      m_alerts->evaluate(metrics(), unix_now_ms());
    }

    // Watchdog: ping only while the data plane shows progress (bytes read or a wake while idle).
    const uint64_t progress = m_feed->heartbeat() + snap->totals.total_bytes;
    if (progress != last_progress || !m_follower->running()) {
      last_progress = progress;
      last_progress_at = Clock::now();
    }
    if (m_follower->running() && Clock::now() - last_progress_at < std::chrono::seconds(20)) notify("WATCHDOG=1");
    notify("STATUS=following " + snap->position.file + ":" + std::to_string(snap->position.offset));

    // Wake for the next partition sample (the throttle acts on it within that period).
    const auto wait = std::min<uint32_t>(1000, cfg->sample_interval_ms);
    std::unique_lock lock(m_wake_mutex);
    m_wake.wait_for(lock, std::chrono::milliseconds(wait), [&] { return m_stop.load(); });
  }
}

void Daemon::reload() {
  try {
    WatchConfig next = load_watch_config(m_config_path);
    const auto cur = config();
    const auto changes = describe_changes(*cur, next);
    if (changes.empty()) spdlog::info("SIGHUP: {} re-read, nothing changed", m_config_path);
    for (const auto& c : changes) spdlog::info("SIGHUP: {}", c);
    // Settings that need a restart keep their running values.
    next.mode = cur->mode;
    next.binlog_index = cur->binlog_index;
    next.binlog_dir = cur->binlog_dir;
    next.poll_interval_ms = cur->poll_interval_ms;
    next.server_id = cur->server_id;
    next.heartbeat_ms = cur->heartbeat_ms;
    next.reconnect_min_ms = cur->reconnect_min_ms;
    next.reconnect_max_ms = cur->reconnect_max_ms;
    next.state_dir = cur->state_dir;
    next.listen_host = cur->listen_host;
    next.listen_port = cur->listen_port;
    next.dsn = cur->dsn;
    next.socket = cur->socket;
    next.defaults_file = cur->defaults_file;
    next.replicas = cur->replicas;
    next.heartbeat = cur->heartbeat;
    next.integrity = cur->integrity;
    if (m_sql) m_sql->interval_ms.store(next.mysql_poll_interval_ms);
    std::lock_guard lock(m_cfg_mutex);
    m_cfg = std::make_shared<WatchConfig>(std::move(next));
  } catch (const std::exception& e) {
    spdlog::error("SIGHUP: keeping the running configuration: {}", e.what());
  }
}

std::string Daemon::metrics() {
  const auto snap = m_follower->snapshot();
  const auto ctl = control();
  MetricsWriter w;
  w.family("binwatch_binlog_bytes_total", "counter",
           "Binlog bytes attributed to a table (TABLE_MAP and ROWS events, whole) since counting started");
  for (const auto* t : snap->totals.tables_by_bytes())
    w.sample("binwatch_binlog_bytes_total", {{"schema", t->key.schema}, {"table", t->key.table}}, static_cast<double>(t->bytes));
  w.family("binwatch_binlog_rows_total", "counter", "Row changes logged for a table");
  for (const auto* t : snap->totals.tables_by_bytes())
    w.sample("binwatch_binlog_rows_total", {{"schema", t->key.schema}, {"table", t->key.table}}, static_cast<double>(t->rows));
  w.family("binwatch_binlog_other_bytes_total", "counter", "Binlog bytes not attributed to a table, by bucket");
  const auto& o = snap->totals.other;
  for (const auto& [bucket, v] : std::vector<std::pair<const char*, uint64_t>>{
           {"statement", o.statement}, {"overhead", o.overhead}, {"magic", o.magic}, {"torn", o.torn}, {"corrupt", o.corrupt}})
    w.sample("binwatch_binlog_other_bytes_total", {{"bucket", bucket}}, static_cast<double>(v));
  w.family("binwatch_binlog_events_total", "counter", "Top-level binlog events by type");
  for (const auto& [code, s] : snap->totals.types)
    w.sample("binwatch_binlog_events_total", {{"type", std::string(binlog::event_type_name(code))}}, static_cast<double>(s.events));
  w.family("binwatch_binlog_attributed_bytes_total", "counter", "All binlog bytes counted (every bucket)");
  w.sample("binwatch_binlog_attributed_bytes_total", static_cast<double>(snap->totals.total_bytes));
  w.family("binwatch_binlog_position_bytes", "gauge",
           "Offset in the current binlog file up to which every byte is counted (a transaction boundary)");
  w.sample("binwatch_binlog_position_bytes", {{"file", snap->position.file}}, static_cast<double>(snap->position.offset));
  w.family("binwatch_binlog_file_sequence", "gauge", "Sequence number of the binlog file being read");
  w.sample("binwatch_binlog_file_sequence", static_cast<double>(binlog_sequence(snap->position.file).value_or(0)));
  w.family("binwatch_binlog_lag_bytes", "gauge", "Binlog bytes written by the server and not yet counted");
  w.sample("binwatch_binlog_lag_bytes", static_cast<double>(ctl->lag_bytes));
  w.family("binwatch_binlog_last_event_timestamp_seconds", "gauge", "Header timestamp of the last counted event");
  w.sample("binwatch_binlog_last_event_timestamp_seconds", static_cast<double>(snap->last_event_time));
  w.family("binwatch_checkpoint_timestamp_seconds", "gauge", "When the last checkpoint was written");
  w.sample("binwatch_checkpoint_timestamp_seconds", static_cast<double>(ctl->checkpoint_saved_at));
  w.family("binwatch_checkpoint_errors_total", "counter", "Checkpoint writes that failed");
  w.sample("binwatch_checkpoint_errors_total", static_cast<double>(m_checkpoint_errors.load()));
  w.family("binwatch_table_write_rate_bytes_per_second", "gauge", "Binlog bytes per second of the top tables over a window");
  const auto cfg = config();
  for (const auto& r : ctl->rates) {
    size_t n = 0;
    for (const auto& t : r.tables) {
      if (n++ >= cfg->top_tables) break;
      w.sample("binwatch_table_write_rate_bytes_per_second",
               {{"schema", t.key.schema}, {"table", t.key.table}, {"window", window_label(r.seconds)}}, t.rate.bytes_per_s);
    }
  }
  w.family("binwatch_binlog_write_rate_bytes_per_second", "gauge", "All binlog bytes per second over a window");
  for (const auto& r : ctl->rates)
    w.sample("binwatch_binlog_write_rate_bytes_per_second", {{"window", window_label(r.seconds)}}, r.total.bytes_per_s);
  w.family("binwatch_partition_size_bytes", "gauge", "Size of a partition the server writes to");
  for (const auto& m : ctl->mounts) w.sample("binwatch_partition_size_bytes", {{"mount", m.target.mount}}, static_cast<double>(m.usage.size));
  w.family("binwatch_partition_avail_bytes", "gauge", "Bytes available to unprivileged writers");
  for (const auto& m : ctl->mounts) w.sample("binwatch_partition_avail_bytes", {{"mount", m.target.mount}}, static_cast<double>(m.usage.avail));
  w.family("binwatch_partition_reserve_bytes", "gauge", "Reserve kept free: time to full counts down to it");
  for (const auto& m : ctl->mounts) w.sample("binwatch_partition_reserve_bytes", {{"mount", m.target.mount}}, static_cast<double>(m.input.reserve));
  w.family("binwatch_partition_growth_bytes_per_second", "gauge",
           "Growth of used bytes: statvfs slope and binlog byte rate over the short and long windows");
  for (const auto& m : ctl->mounts) {
    const std::string s = window_label(cfg->short_window_s), l = window_label(cfg->long_window_s);
    w.sample("binwatch_partition_growth_bytes_per_second", {{"mount", m.target.mount}, {"window", s}, {"source", "statvfs"}}, m.input.statvfs_growth_short);
    w.sample("binwatch_partition_growth_bytes_per_second", {{"mount", m.target.mount}, {"window", l}, {"source", "statvfs"}}, m.input.statvfs_growth_long);
    if (m.input.binlog_growth_short) {
      w.sample("binwatch_partition_growth_bytes_per_second", {{"mount", m.target.mount}, {"window", s}, {"source", "binlog"}}, *m.input.binlog_growth_short);
      w.sample("binwatch_partition_growth_bytes_per_second", {{"mount", m.target.mount}, {"window", l}, {"source", "binlog"}}, *m.input.binlog_growth_long);
    }
  }
  w.family("binwatch_partition_time_to_full_seconds", "gauge",
           "Projected seconds until avail reaches the reserve (+Inf when not growing); burst=with includes open transactions");
  for (const auto& m : ctl->mounts) {
    w.sample("binwatch_partition_time_to_full_seconds", {{"mount", m.target.mount}, {"burst", "without"}}, m.projection.time_to_full);
    w.sample("binwatch_partition_time_to_full_seconds", {{"mount", m.target.mount}, {"burst", "with"}}, m.projection.time_to_full_burst);
  }
  w.family("binwatch_partition_expiring_bytes", "gauge", "Binlog bytes on the partition that the expiry setting will purge");
  for (const auto& m : ctl->mounts) w.sample("binwatch_partition_expiring_bytes", {{"mount", m.target.mount}}, static_cast<double>(m.expiring_bytes));
  w.family("binwatch_pending_burst_bytes", "gauge", "Binlog bytes open write transactions will write at commit (estimate)");
  w.sample("binwatch_pending_burst_bytes", static_cast<double>(ctl->pending_burst_bytes));
  if (m_repl) {
    const auto st = m_repl->stats();
    w.family("binwatch_replication_connects_total", "counter", "Binlog dump connections started (source.mode = replication)");
    w.sample("binwatch_replication_connects_total", static_cast<double>(st.connects));
    w.family("binwatch_replication_reconnects_total", "counter", "Binlog dump connections re-established after a loss");
    w.sample("binwatch_replication_reconnects_total", static_cast<double>(st.reconnects));
    w.family("binwatch_replication_heartbeats_total", "counter", "Heartbeat events received from the server");
    w.sample("binwatch_replication_heartbeats_total", static_cast<double>(st.heartbeats));
  }
  if (m_health) m_health->metrics(w);
  w.family("binwatch_server_up", "gauge", "1 when the control-plane SQL connection answered its last poll");
  w.sample("binwatch_server_up", ctl->server_connected ? 1 : 0);
  w.family("binwatch_server_observation_age_seconds", "gauge", "Age of the last control-plane SQL observation (-1: none)");
  w.sample("binwatch_server_observation_age_seconds", ctl->server_age);
  const ProcessStats p = process_stats();
  if (m_net) m_net->write_metrics(w);
  if (m_alerts) m_alerts->write_metrics(w);
  if (m_throttle) m_throttle->write_metrics(w);
  w.family("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds");
  w.sample("process_cpu_seconds_total", p.cpu_seconds);
  w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes");
  w.sample("process_resident_memory_bytes", static_cast<double>(p.rss));
  w.family("process_open_fds", "gauge", "Number of open file descriptors");
  w.sample("process_open_fds", static_cast<double>(p.open_fds));
  w.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds");
  w.sample("process_start_time_seconds", static_cast<double>(m_start_unix));
  return w.text();
}

std::string Daemon::status_json() {
  const auto snap = m_follower->snapshot();
  const auto ctl = control();
  const auto cfg = config();
  json j;
  if (m_local) {
    j["source"] = {{"mode", "local"}, {"index", m_local->index_path().string()}, {"inotify", m_local->using_inotify()}};
  } else {
    const auto st = m_repl->stats();
    j["source"] = {{"mode", "replication"},
                   {"endpoint", m_repl->endpoint()},
                   {"server_id", cfg->server_id},
                   {"index", m_index.empty() ? json(nullptr) : json(m_index.string())},
                   {"connects", st.connects},
                   {"reconnects", st.reconnects},
                   {"heartbeats", st.heartbeats}};
  }
  j["start"] = {{"file", snap->start.file}, {"offset", snap->start.offset}};
  j["position"] = {{"file", snap->position.file}, {"offset", snap->position.offset}};
  if (ctl->newest) j["newest"] = {{"file", ctl->newest->file}, {"offset", ctl->newest->offset}};
  j["lag_bytes"] = ctl->lag_bytes;
  j["last_event_time"] = snap->last_event_time;
  j["files_finished"] = snap->files_finished;
  j["checkpoint"] = {{"saved_at", ctl->checkpoint_saved_at},
                     {"file", ctl->checkpoint_position.file},
                     {"offset", ctl->checkpoint_position.offset}};
  j["total_bytes"] = snap->totals.total_bytes;
  json tables = json::array();
  for (const auto* t : snap->totals.tables_by_bytes()) {
    // Per column: bytes of its values in before and after images (names when the server logs them).
    json columns = json::array();
    for (size_t i = 0; i < t->columns.before.size(); ++i) {
      const uint64_t b = t->columns.before[i], a = t->columns.after[i];
      columns.push_back({{"index", i + 1},
                         {"name", i < t->column_names.size() ? json(t->column_names[i]) : json(nullptr)},
                         {"before_bytes", b}, {"after_bytes", a}, {"bytes", a + b}});
    }
    tables.push_back({{"schema", t->key.schema}, {"table", t->key.table}, {"bytes", t->bytes}, {"rows", t->rows},
                      {"events", t->events}, {"inserts", t->inserts}, {"updates", t->updates}, {"deletes", t->deletes},
                      {"columns", columns}});
  }
  j["tables"] = tables;
  json rates = json::array();
  for (const auto& r : ctl->rates) {
    json top = json::array();
    for (const auto& t : r.tables) {
      if (top.size() >= cfg->top_tables) break;
      top.push_back({{"schema", t.key.schema}, {"table", t.key.table}, {"bytes_per_second", t.rate.bytes_per_s},
                     {"rows_per_second", t.rate.rows_per_s}});
    }
    rates.push_back({{"window", window_label(r.seconds)}, {"seconds", r.seconds},
                     {"bytes_per_second", r.total.bytes_per_s}, {"top_tables", top}});
  }
  j["rates"] = rates;
  json parts = json::array();
  for (const auto& m : ctl->mounts) {
    parts.push_back({{"mount", m.target.mount},
                     {"roles", m.target.roles},
                     {"size", m.usage.size},
                     {"avail", m.usage.avail},
                     {"reserve", m.input.reserve},
                     {"headroom", m.projection.headroom},
                     {"growth_bytes_per_second",
                      {{"statvfs_short", m.input.statvfs_growth_short},
                       {"statvfs_long", m.input.statvfs_growth_long},
                       {"binlog_short", m.input.binlog_growth_short ? json(*m.input.binlog_growth_short) : json(nullptr)},
                       {"binlog_long", m.input.binlog_growth_long ? json(*m.input.binlog_growth_long) : json(nullptr)},
                       {"used", m.projection.growth},
                       {"basis", m.projection.basis}}},
                     {"expiring_bytes", m.expiring_bytes},
                     {"pending_burst_bytes", m.input.pending_burst_bytes},
                     {"time_to_full_seconds", finite_or_null(m.projection.time_to_full)},
                     {"time_to_full_with_burst_seconds", finite_or_null(m.projection.time_to_full_burst)}});
  }
  j["partitions"] = parts;
  j["server"] = {{"configured", ctl->server_configured}, {"connected", ctl->server_connected},
                 {"error", ctl->server_error}, {"observation_age_seconds", ctl->server_age},
                 {"pending_burst_bytes", ctl->pending_burst_bytes},
                 {"learned_bytes_per_row", ctl->bytes_per_row_global}};
  if (m_health) m_health->status(j);
  if (m_net) j["net"] = m_net->status();
  if (m_throttle) j["throttle"] = m_throttle->status(unix_now_ms());
  if (auto e = m_follower->error()) j["error"] = *e;
  return j.dump(2) + "\n";
}

bool Daemon::authorize(const httplib::Request& req, httplib::Response& res, std::string_view off) {
  auto answer = [&](int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(2) + "\n", "application/json");
  };
  if (m_token.empty()) {
    answer(403, {{"error", std::string(off) + ": set alerts.token_file (the API token)"}});
    return false;
  }
  if (!bearer_matches(req.get_header_value("Authorization"), m_token)) {
    res.set_header("WWW-Authenticate", "Bearer");
    answer(401, {{"error", "missing or wrong bearer token (Authorization: Bearer <alerts.token_file>)"}});
    return false;
  }
  return true;
}

void Daemon::add_alert_routes(httplib::Server& http) {
  http.Get("/api/v1/alerts", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(m_alerts->alerts_json(unix_now_ms()).dump(2) + "\n", "application/json");
  });
  auto mutate = [this](const httplib::Request& req, httplib::Response& res, bool is_ack) {
    auto answer = [&](int status, const json& body) {
      res.status = status;
      res.set_content(body.dump(2) + "\n", "application/json");
    };
    if (!authorize(req, res, "acknowledgements over HTTP are off")) return;
    const std::string id = req.matches[1];
    json body = json::object();
    if (!req.body.empty()) {
      body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object())
        return answer(400, {{"error", "the body must be a JSON object like {\"ttl\": \"30m\", \"reason\": \"...\", \"by\": \"...\"}"}});
    }
    auto text_field = [&](const char* k, std::string& out) {
      if (!body.contains(k)) return true;
      if (!body[k].is_string()) return false;
      out = body[k].get<std::string>();
      return true;
    };
    std::string by, reason, ttl_text;
    if (!text_field("by", by) || !text_field("reason", reason) || !text_field("ttl", ttl_text))
      return answer(400, {{"error", "by, reason and ttl must be strings"}});
    AlertEngine::Answer a;
    if (is_ack) {
      std::optional<int64_t> ttl;
      if (!ttl_text.empty()) {
        ttl = policy::parse_duration_ms(ttl_text);
        if (!ttl) return answer(400, {{"error", "ttl: not a duration (e.g. \"30m\", \"2h\"): " + ttl_text}});
      }
      a = m_alerts->ack(id, ttl, by, reason, unix_now_ms());
    } else {
      a = m_alerts->unack(id, by, unix_now_ms());
    }
    answer(a.status, a.body);
  };
  http.Post(R"(/api/v1/alerts/([^/]+)/ack)",
            [mutate](const httplib::Request& req, httplib::Response& res) { mutate(req, res, true); });
  http.Post(R"(/api/v1/alerts/([^/]+)/unack)",
            [mutate](const httplib::Request& req, httplib::Response& res) { mutate(req, res, false); });
}

constexpr std::string_view kThrottleOff = "throttling apps over HTTP is off";

void Daemon::add_throttle_routes(httplib::Server& http) {
  // freno: HEAD/GET /check/{app}[/mysql/{store}] (cpp-httplib answers HEAD through GET routes).
  auto check = [this](const httplib::Request& req, httplib::Response& res) {
    const std::string app = req.matches[1];
    // `binwatch run` names its job's process group: its sessions are bulk (policy binwatch_run).
    if (req.has_header(control::kRunHeader)) {
      const std::string value = req.get_header_value(control::kRunHeader);
      if (auto h = control::parse_run_header(value))
        m_throttle->note_run(h->pgid, h->interval_ms, app,
                             {req.remote_addr, req.remote_port, req.local_addr, req.local_port}, unix_now_ms());
      else
        m_throttle->note_malformed_run(value, app, unix_now_ms());
    }
    const auto a = m_throttle->check(app, unix_now_ms());
    res.status = a.status;
    res.set_content(check_body(a).dump() + "\n", "application/json");
  };
  http.Get(R"(/check/([^/]+))", check);
  http.Get(R"(/check/([^/]+)/mysql/([^/]+))", check);

  // Mutating freno endpoints: behind the API token (alerts.token_file).
  auto throttle = [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res, kThrottleOff)) return;
    const std::string app = req.matches[1];
    // freno's defaults: one hour, ratio 1 (every check refused).
    double ttl = 60, ratio = 1;
    const std::string path = req.path;
    auto number_after = [&](const std::string& key, double& out) {
      const auto at = path.find("/" + key + "/");
      if (at == std::string::npos) return true;
      const std::string v = path.substr(at + key.size() + 2, path.find('/', at + key.size() + 2) - (at + key.size() + 2));
      try {
        size_t used = 0;
        out = std::stod(v, &used);
        return used == v.size() && std::isfinite(out);
      } catch (const std::exception&) {
        return false;
      }
    };
    if (!number_after("ttl", ttl) || ttl <= 0 || ttl > 7 * 24 * 60) {
      res.status = 400;
      res.set_content(json{{"error", "ttl: minutes in (0, 10080]"}}.dump() + "\n", "application/json");
      return;
    }
    if (!number_after("ratio", ratio) || ratio <= 0 || ratio > 1) {
      res.status = 400;
      res.set_content(json{{"error", "ratio: a number in (0, 1]"}}.dump() + "\n", "application/json");
      return;
    }
    const std::string by = req.has_param("by") ? req.get_param_value("by") : req.remote_addr;
    res.set_content(m_throttle->throttle_app(app, ttl, ratio, by, unix_now_ms()).dump(2) + "\n", "application/json");
  };
  for (const char* pattern : {R"(/throttle-app/([^/]+))", R"(/throttle-app/([^/]+)/ttl/[^/]+)",
                              R"(/throttle-app/([^/]+)/ratio/[^/]+)", R"(/throttle-app/([^/]+)/ttl/[^/]+/ratio/[^/]+)"}) {
    http.Get(pattern, throttle);
    http.Post(pattern, throttle);
  }
  auto unthrottle = [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res, kThrottleOff)) return;
    const std::string by = req.has_param("by") ? req.get_param_value("by") : req.remote_addr;
    res.set_content(m_throttle->unthrottle_app(std::string(req.matches[1]), by, unix_now_ms()).dump(2) + "\n",
                    "application/json");
  };
  http.Get(R"(/unthrottle-app/([^/]+))", unthrottle);
  http.Post(R"(/unthrottle-app/([^/]+))", unthrottle);
  http.Get("/throttled-apps", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(m_throttle->throttled_apps(unix_now_ms()).dump(2) + "\n", "application/json");
  });
  http.Get("/api/v1/throttle", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(m_throttle->status(unix_now_ms()).dump(2) + "\n", "application/json");
  });
}

int Daemon::run() {
  const auto cfg = config();
  const bool replication = cfg->mode == SourceMode::Replication;
  if (!cfg->binlog_index.empty()) m_index = cfg->binlog_index;
  else if (!cfg->binlog_dir.empty()) m_index = find_binlog_index(cfg->binlog_dir);
  mysql::ConnectionOptions connection;
  if (!cfg->dsn.empty()) mysql::apply_dsn(cfg->dsn, connection);
  connection.socket = cfg->socket;
  connection.defaults_file = cfg->defaults_file;
  connection.connect_timeout_s = cfg->mysql_timeout_s;
  connection.read_timeout_s = cfg->mysql_timeout_s;
  std::error_code ec;
  fs::create_directories(cfg->state_dir, ec);
  if (ec) throw std::runtime_error(cfg->state_dir + ": cannot create the state folder: " + ec.message());
  m_checkpoint_file = checkpoint_path(cfg->state_dir);
  if (replication) {
    ReplicationFeedOptions ro;
    ro.connection = connection;
    ro.server_id = cfg->server_id;
    ro.heartbeat = std::chrono::milliseconds(cfg->heartbeat_ms);
    ro.backoff_min = std::chrono::milliseconds(cfg->reconnect_min_ms);
    ro.backoff_max = std::chrono::milliseconds(cfg->reconnect_max_ms);
    auto feed = std::make_unique<ReplicationBinlogFeed>(ro);
    m_repl = feed.get();
    m_feed = std::move(feed);
  } else {
    auto feed = std::make_unique<LocalBinlogFeed>(m_index, cfg->poll_interval_ms);
    m_local = feed.get();
    m_feed = std::move(feed);
  }

  Position start, resume;
  Attribution base;
  std::optional<Checkpoint> saved;
  if (cfg->start == StartAt::Saved) saved = load_checkpoint(m_checkpoint_file);
  if (saved) {
    start = saved->start;
    resume = saved->position;
    base = std::move(saved->totals);
    m_saved_position = resume;
    m_saved_at.store(saved->saved_at);
    spdlog::info("resuming at the checkpoint {}:{} (counting since {}:{})", resume.file, resume.offset, start.file,
                 start.offset);
  } else if (replication) {
    // SHOW MASTER STATUS is always at a transaction boundary (groups are written whole).
    spdlog::info("asking the server for the end of its binlog (SHOW MASTER STATUS)");
    start = resume = m_repl->server_end();
    spdlog::info("starting at the end of the binlog: {}:{}", start.file, start.offset);
  } else {
    auto newest = m_feed->newest();
    if (!newest) throw std::runtime_error(m_index.string() + ": the binlog index lists no readable binlog file");
    std::string full = (m_index.parent_path() / newest->file).string();
    for (const auto& f : m_local->files())
      if (f.name == newest->file) full = f.path;
    const uint64_t at = last_boundary(full, newest->offset);
    start = resume = Position{newest->file, at};
    spdlog::info("starting at the end of the binlog: {}:{}", start.file, start.offset);
  }

  Follower::Options follow_options;
  // An incomplete event at the end of the active file counts from offset 0 of a local file.
  if (!replication) follow_options.torn_grace_ms = cfg->integrity.torn_grace_ms;
  m_follower = std::make_unique<Follower>(*m_feed, start, resume, std::move(base), follow_options);
  m_follower->on_publish([this] {
    m_dirty.store(true);
    m_wake.notify_all();
  });

  httplib::Server http;
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http.Get("/api/v1/status", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(status_json(), "application/json");
  });
  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("binwatch watch: /metrics, /api/v1/status, /api/v1/alerts, /api/v1/throttle, /check/{app}\n",
                    "text/plain");
  });
  if (cfg->net.enabled) m_net = std::make_unique<NetMonitor>(cfg->net);
  if (cfg->alerts.enabled) {
    const std::string generator = "http://" + cfg->listen_host + ":" + std::to_string(cfg->listen_port) + "/api/v1/alerts";
    m_alerts = std::make_unique<AlertEngine>(cfg->alerts, cfg->state_dir, generator);
    add_alert_routes(http);
  }
  if (!cfg->alerts.token_file.empty()) m_token = read_token_file(cfg->alerts.token_file);
  if (cfg->throttle.enabled) {
    m_throttle = std::make_shared<ThrottleEngine>(cfg->throttle, cfg->state_dir);
    add_throttle_routes(http);
  }
  if (!http.bind_to_port(cfg->listen_host, cfg->listen_port)) {
    throw std::runtime_error("http.listen: cannot listen on " + cfg->listen_host + ":" + std::to_string(cfg->listen_port));
  }
  spdlog::info("HTTP API on http://{}:{}/ (metrics, api/v1/status)", cfg->listen_host, cfg->listen_port);

  // Signals go to the main thread only: block them before any thread starts.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  if (cfg->has_mysql()) {
    m_sql = std::make_shared<SqlPoller>();
    m_sql->options = connection;
    m_sql->list_binlogs = replication && m_index.empty();
    m_sql->interval_ms.store(cfg->mysql_poll_interval_ms);
  }

  if (m_alerts) m_alerts->start();
  // Made before the HTTP thread reads it; its threads start with the others below.
  m_health = std::make_unique<ReplicationHealth>(
      *cfg, *m_follower, m_index, cfg->has_mysql() ? std::optional(connection) : std::nullopt);

  std::thread follower([this] { m_follower->run(); });
  std::thread checkpointer([this] { checkpoint_loop(); });
  std::thread sampler([this] { sampler_loop(); });
  std::thread http_thread([&http] { http.listen_after_bind(); });
  std::thread sql_thread;
  if (m_sql) sql_thread = std::thread([sql = m_sql] { sql->run(); });
  m_health->start();
  std::thread sessions_thread;
  if (m_throttle && cfg->has_mysql()) {
    SessionControl::Options so;
    so.connection = connection;
    so.interval_ms = cfg->throttle.session_interval_ms;
    so.now_ms = [] { return unix_now_ms(); };
    m_sessions = std::make_shared<SessionControl>(std::move(so), m_throttle);
    sessions_thread = std::thread([s = m_sessions] { s->run(); });
  } else if (m_throttle) {
    spdlog::info("throttle: no [mysql] connection: sessions are not watched (cooperative jobs and flag files only)");
  }

  notify("READY=1");
  int rc = 0;
  while (true) {
    timespec timeout{0, 500'000'000};
    const int sig = sigtimedwait(&set, nullptr, &timeout);
    if (sig == SIGHUP) {
      notify("RELOADING=1");
      reload();
      notify("READY=1");
      continue;
    }
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("signal {}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    if (!m_follower->running() && m_follower->error()) {
      spdlog::error("the follower stopped: {}", *m_follower->error());
      rc = 1;
      break;
    }
  }
  notify("STOPPING=1");
  m_follower->request_stop();
  follower.join();
  m_stop.store(true);
  m_wake.notify_all();
  checkpointer.join();
  sampler.join();
  // The last boundary the follower reached: nothing after it was counted.
  const auto last = m_follower->snapshot();
  if (write_checkpoint(*last))
    spdlog::info("final checkpoint {}:{} ({} bytes counted)", last->position.file, last->position.offset,
                 last->totals.total_bytes);
  http.stop();
  http_thread.join();
  if (m_alerts) m_alerts->stop();
  m_health->stop();
  if (m_sessions) {
    m_sessions->stop();
    for (int i = 0; i < 20 && !m_sessions->done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (m_sessions->done()) sessions_thread.join();
    else {
      spdlog::warn("session control: the server does not answer; leaving it behind");
      sessions_thread.detach();
    }
  }
  if (m_sql) {
    m_sql->stop.store(true);
    m_sql->cv.notify_all();
    for (int i = 0; i < 20 && !m_sql->done.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (m_sql->done.load()) sql_thread.join();
    else {
      spdlog::warn("the SQL connection does not answer; leaving it behind");
      sql_thread.detach();
    }
  }
  return rc;
}

}  // namespace

int run_daemon(const std::string& config_path) {
  Daemon d(config_path, load_watch_config(config_path));
  return d.run();
}

}  // namespace binwatch::watch
