// The sidecar's pieces without a server: configuration, projection (pure, fake clock), rates,
// Prometheus text, checkpoints, and the follower on committed fixtures that "grow" under it.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "binwatch/binlog_scanner.h"
#include "binwatch/net/listen_queues.h"
#include "binwatch/watch/alert_engine.h"
#include "binwatch/watch/binlog_feed.h"
#include "binwatch/watch/checkpoint.h"
#include "binwatch/watch/follower.h"
#include "binwatch/watch/metrics_writer.h"
#include "binwatch/watch/net_monitor.h"
#include "binwatch/watch/projection.h"
#include "binwatch/watch/rate_tracker.h"
#include "binwatch/watch/watch_config.h"

namespace fs = std::filesystem;
using namespace binwatch;
using namespace binwatch::watch;

namespace {

std::string error_of(const std::string& toml) {
  try {
    parse_watch_config(toml, "binwatch.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(WatchConfig, ParsesEveryKey) {
  const auto c = parse_watch_config(R"(
[source]
mode = "local"
binlog_index = "/var/lib/mysql/mysql-bin.index"
start = "end"
poll_interval_ms = 100
[state]
dir = "/var/lib/binwatch"
checkpoint_interval_ms = 500
[http]
listen = "127.0.0.1:9999"
[mysql]
socket = "/run/mysqld/mysqld.sock"
poll_interval_ms = 2000
timeout_s = 3
[partitions]
sample_interval_ms = 1000
reserve_bytes = 1048576
short_window_s = 30
long_window_s = 600
expire_seconds = 86400
[[partitions.mount]]
path = "/srv/binlog"
role = "binlog"
reserve_bytes = 5
[rates]
windows_s = [60, 300]
top_tables = 3
)",
                                    "x.toml");
  EXPECT_EQ(c.binlog_index, "/var/lib/mysql/mysql-bin.index");
  EXPECT_EQ(c.start, StartAt::End);
  EXPECT_EQ(c.listen_port, 9999);
  EXPECT_EQ(c.socket, "/run/mysqld/mysqld.sock");
  EXPECT_TRUE(c.has_mysql());
  EXPECT_EQ(c.reserve_bytes, 1048576u);
  ASSERT_EQ(c.mounts.size(), 1u);
  EXPECT_EQ(*c.mounts[0].reserve_bytes, 5u);
  EXPECT_EQ(c.windows_s, (std::vector<uint32_t>{60, 300}));
  EXPECT_EQ(*c.expire_seconds, 86400u);
}

TEST(WatchConfig, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(error_of("[source]\nbinlog_dir = \"/x\"\nstrat = \"end\"\n"),
            "binwatch.toml:3: source.strat: unknown key (allowed here: mode, binlog_index, binlog_dir, start, "
            "poll_interval_ms, server_id, heartbeat_ms, reconnect_min_ms, reconnect_max_ms)");
  EXPECT_EQ(error_of("[source]\nbinlog_dir = \"/x\"\nstart = \"beginning\"\n"),
            "binwatch.toml:3: source.start: must be \"end\" or \"saved\" (got \"beginning\")");
  EXPECT_EQ(error_of("[source]\nbinlog_dir = \"/x\"\n[http]\nlisten = \"localhost\"\n"),
            "binwatch.toml:4: http.listen: must be HOST:PORT, e.g. \"127.0.0.1:9874\" (got \"localhost\")");
  EXPECT_EQ(error_of("[source]\nbinlog_dir = \"/x\"\n[partitions]\nreserve_bytes = \"1G\"\n"),
            "binwatch.toml:4: partitions.reserve_bytes: must be an integer");
  EXPECT_EQ(error_of("[source]\nmode = \"local\"\n"),
            "binwatch.toml:1: source: mode \"local\" needs binlog_index (the server's *.index file) or binlog_dir");
  EXPECT_NE(error_of("[source\n").find("binwatch.toml:1:"), std::string::npos);
  EXPECT_NE(error_of("[mysql]\ndsn = \"mysql://u:secret@h/db\"\n[source]\nbinlog_dir=\"/x\"\n").find("password"),
            std::string::npos);
}

TEST(WatchConfig, ReplicationModeNeedsAServerIdAndAConnection) {
  const auto c = parse_watch_config(
      "[source]\nmode = \"replication\"\nserver_id = 77\nheartbeat_ms = 250\nreconnect_min_ms = 20\n"
      "reconnect_max_ms = 900\n[mysql]\nsocket = \"/run/mysqld/mysqld.sock\"\n",
      "x.toml");
  EXPECT_EQ(c.mode, SourceMode::Replication);
  EXPECT_EQ(c.server_id, 77u);
  EXPECT_EQ(c.heartbeat_ms, 250u);
  EXPECT_EQ(c.reconnect_min_ms, 20u);
  EXPECT_EQ(c.reconnect_max_ms, 900u);
  EXPECT_TRUE(c.binlog_dir.empty());  // no local folder needed
  EXPECT_EQ(error_of("[source]\nmode = \"replication\"\n[mysql]\nsocket = \"/s\"\n"),
            "binwatch.toml:1: source.server_id: mode \"replication\" needs server_id (non-zero, unique among the "
            "server's replicas)");
  EXPECT_EQ(error_of("[source]\nmode = \"replication\"\nserver_id = 0\n[mysql]\nsocket = \"/s\"\n"),
            "binwatch.toml:3: source.server_id: must be between 1 and 4294967295 (got 0)");
  EXPECT_EQ(error_of("[source]\nmode = \"replication\"\nserver_id = 5\n"),
            "binwatch.toml:1: source.mode: \"replication\" connects through [mysql]: set mysql.socket, mysql.dsn or "
            "mysql.defaults_file");
  EXPECT_EQ(error_of("[source]\nmode = \"replication\"\nserver_id = 5\nreconnect_min_ms = 500\nreconnect_max_ms = 100\n"
                     "[mysql]\nsocket = \"/s\"\n"),
            "binwatch.toml:4: source.reconnect_min_ms: must not exceed reconnect_max_ms");
}

TEST(WatchConfig, DescribesChanges) {
  auto a = parse_watch_config("[source]\nbinlog_dir = \"/x\"\n", "a");
  auto b = parse_watch_config("[source]\nbinlog_dir = \"/x\"\n[partitions]\nreserve_bytes = 7\n[http]\nlisten=\"127.0.0.1:1\"\n", "b");
  auto changes = describe_changes(a, b);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0], "http.listen: 127.0.0.1:9874 -> 127.0.0.1:1 (takes effect after a restart)");
  EXPECT_EQ(changes[1], "partitions.reserve_bytes: 1073741824 -> 7");
}

// --- projection: pure, with made-up times ---

TEST(Projection, GrowthIsTheLeastSquaresSlope) {
  std::vector<UsageSample> s;
  for (int t = 0; t <= 60; t += 5) s.push_back({static_cast<double>(t), static_cast<uint64_t>(1000 + 250 * t + (t % 10 ? 40 : -40))});
  EXPECT_NEAR(growth_rate(s, 60, 60), 250, 3);
  EXPECT_EQ(growth_rate(s, 60, 1), 0);  // one sample in the window
}

TEST(Projection, SteadyGrowthNoGate) {
  PartitionInput in;
  in.size = 100'000'000'000;
  in.avail = 90'000'000'000;  // 90% free: a "% free" rule would stay silent
  in.reserve = 10'000'000'000;
  in.statvfs_growth_short = 50'000'000;  // 3 GB/min, SoundCloud's rate
  const auto p = project(in);
  EXPECT_DOUBLE_EQ(p.time_to_full, 1600);  // 80 GB / 50 MB/s
  EXPECT_DOUBLE_EQ(p.time_to_full_burst, 1600);
  EXPECT_EQ(p.basis, "statvfs");
}

TEST(Projection, BinlogRateWinsWhenStatvfsLags) {
  PartitionInput in;
  in.avail = 1000;
  in.statvfs_growth_short = 1;
  in.binlog_growth_short = 10;
  in.binlog_growth_long = 2;
  const auto p = project(in);
  EXPECT_EQ(p.basis, "binlog");
  EXPECT_DOUBLE_EQ(p.time_to_full, 100);
}

TEST(Projection, PurgeFreesSpaceOnTheWay) {
  // 100 B headroom at 1 B/s: full at 100 s, unless 50 B expire at 30 s -> 150 s.
  EXPECT_DOUBLE_EQ(time_to_full(100, 1, {}), 100);
  EXPECT_DOUBLE_EQ(time_to_full(100, 1, {{50, 30}}), 150);
  // Expiring after the fill time changes nothing.
  EXPECT_DOUBLE_EQ(time_to_full(100, 1, {{50, 120}}), 100);
  // Chained: the second purge falls before the new fill time.
  EXPECT_DOUBLE_EQ(time_to_full(100, 1, {{50, 140}, {50, 30}}), 200);
  EXPECT_EQ(time_to_full(0, 1, {}), 0);
  EXPECT_EQ(time_to_full(10, 0, {}), kNever);
}

TEST(Projection, BurstShortensTimeToFull) {
  PartitionInput in;
  in.avail = 1'000'000;
  in.reserve = 100'000;
  in.statvfs_growth_short = 1000;
  in.pending_burst_bytes = 600'000;
  auto p = project(in);
  EXPECT_DOUBLE_EQ(p.time_to_full, 900);
  EXPECT_DOUBLE_EQ(p.time_to_full_burst, 300);
  in.pending_burst_bytes = 2'000'000;  // does not fit at all
  EXPECT_EQ(project(in).time_to_full_burst, 0);
  in.statvfs_growth_short = 0;  // idle server, a burst that fits: never full
  in.pending_burst_bytes = 10;
  EXPECT_EQ(project(in).time_to_full_burst, kNever);
}

TEST(Projection, PendingBytesUseTheTablesLearnedBytesPerRow) {
  Attribution a;
  auto& big = a.table_at(a.table_index("app", "posts"));
  big.bytes = 10'000;
  big.rows = 10;  // 1000 B/row
  auto& small = a.table_at(a.table_index("app", "groups"));
  small.bytes = 1'000;
  small.rows = 10;  // 100 B/row
  const auto learned = learn_bytes_per_row(a);
  EXPECT_DOUBLE_EQ(learned.global, 550);
  EXPECT_EQ(pending_burst_bytes({{5, "DELETE FROM app.posts WHERE id < 100"}}, learned), 5000u);
  EXPECT_EQ(pending_burst_bytes({{5, "update groups set n = n - 1"}}, learned), 500u);
  EXPECT_EQ(pending_burst_bytes({{5, "INSERT INTO `app`.`posts` (a) VALUES (1)"}}, learned), 5000u);
  EXPECT_EQ(pending_burst_bytes({{2, ""}}, learned), 1100u);  // idle: the global average
  EXPECT_EQ(pending_burst_bytes({{2, "DELETE FROM other.t"}}, learned), 1100u);
}

// --- rates ---

TEST(RateTracker, WindowsOverCumulativeSamples) {
  RateTracker r;
  Attribution a;
  const size_t t = a.table_index("d", "t");
  for (int s = 0; s <= 600; ++s) {
    a.table_at(t).bytes = static_cast<uint64_t>(s) * (s <= 540 ? 100 : 1000);  // faster for the last minute
    a.table_at(t).rows = static_cast<uint64_t>(s);
    a.total_bytes = a.table_at(t).bytes + 7 * static_cast<uint64_t>(s);
    r.sample(s, a);
  }
  auto rows = r.tables(60);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NEAR(rows[0].rate.bytes_per_s, (600000.0 - 54000.0) / 60, 1e-6);
  EXPECT_NEAR(rows[0].rate.rows_per_s, 1, 1e-9);
  // 5 minutes from 1 s samples; 15 minutes from what history there is (minute samples).
  EXPECT_NEAR(r.total(300).bytes_per_s, (600000.0 + 4200 - (300 * 100 + 2100)) / 300, 1e-6);
  EXPECT_GT(r.total(900).bytes_per_s, 0);
}

// --- Prometheus text ---

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(escape_label_value("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(escape_label_value("bad\xFFx"), "bad\xEF\xBF\xBDx");
  MetricsWriter w;
  w.family("m_total", "counter", "help");
  w.sample("m_total", {{"table", "x\"y"}}, 12345678901234.0);
  w.sample("m_total", {{"table", "z"}}, kNever);
  EXPECT_EQ(w.text(), "# HELP m_total help\n# TYPE m_total counter\nm_total{table=\"x\\\"y\"} 12345678901234\n"
                      "m_total{table=\"z\"} +Inf\n");
  EXPECT_EQ(format_metric_value(0.5), "0.5");
}

// --- checkpoints ---

TEST(Checkpoint, RoundTripsAtomically) {
  const fs::path dir = fs::temp_directory_path() / ("binwatch-ckpt-" + std::to_string(getpid()));
  fs::create_directories(dir);
  Checkpoint c;
  c.start = {"b.000001", 1234};
  c.position = {"b.000003", 99};
  auto& t = c.totals.table_at(c.totals.table_index("d", "t"));
  t.bytes = 42;
  t.rows = 3;
  t.columns.resize(2);
  t.columns.after[1] = 8;
  c.totals.types[30].events = 2;
  c.totals.other.overhead = 11;
  c.totals.total_bytes = 53;
  save_checkpoint(checkpoint_path(dir), c);
  EXPECT_FALSE(fs::exists(checkpoint_path(dir).string() + ".tmp"));
  const auto back = load_checkpoint(checkpoint_path(dir));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->position, c.position);
  EXPECT_EQ(back->start, c.start);
  EXPECT_EQ(back->totals.find("d", "t")->bytes, 42u);
  EXPECT_EQ(back->totals.find("d", "t")->columns.after[1], 8u);
  EXPECT_EQ(back->totals.types.at(30).events, 2u);
  EXPECT_EQ(back->totals.total_bytes, 53u);
  std::ofstream(checkpoint_path(dir)) << "{\"version\": 1";
  EXPECT_THROW(load_checkpoint(checkpoint_path(dir)), std::runtime_error);
  fs::remove_all(dir);
  EXPECT_FALSE(load_checkpoint(checkpoint_path(dir)));
}

// --- the follower on fixture binlogs written out piece by piece ---

namespace {

const fs::path kFixtures = fs::path(BINWATCH_SOURCE_DIR) / "fixtures/mariadb-10.11/crc32-full";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Attribution scan_files(const std::vector<fs::path>& files) {
  Attribution a;
  for (const auto& f : files) {
    FileSource s(f.string());
    scan_binlog(s, a);
  }
  return a;
}

void expect_same_tables(const Attribution& live, const Attribution& report) {
  ASSERT_EQ(live.tables().size(), report.tables().size());
  for (const auto& t : report.tables()) {
    const TableStats* l = live.find(t.key.schema, t.key.table);
    ASSERT_NE(l, nullptr) << t.key.table;
    EXPECT_EQ(l->bytes, t.bytes) << t.key.table;
    EXPECT_EQ(l->rows, t.rows) << t.key.table;
    EXPECT_EQ(l->events, t.events) << t.key.table;
    EXPECT_EQ(l->columns.after, t.columns.after) << t.key.table;
  }
}

struct GrowingDir {
  fs::path dir;
  GrowingDir() {
    dir = fs::temp_directory_path() / ("binwatch-follow-" + std::to_string(getpid()) + "-" +
                                       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir);
    std::ofstream(dir / "mariadb-bin.index") << "./mariadb-bin.000001\n";
    std::ofstream(dir / "mariadb-bin.000001", std::ios::binary);
  }
  ~GrowingDir() { fs::remove_all(dir); }
  // Appends `data` to `file` in random pieces (events split across writes), with short pauses.
  void dribble(const std::string& file, const std::string& data, unsigned seed) {
    std::mt19937 rng(seed);
    std::ofstream out(dir / file, std::ios::binary | std::ios::app);
    for (size_t at = 0; at < data.size();) {
      const size_t n = std::min<size_t>(data.size() - at, 1 + rng() % 9000);
      out.write(data.data() + at, static_cast<std::streamsize>(n));
      out.flush();
      at += n;
      if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
};

template <typename F>
bool wait_until(F f, int ms = 10000) {
  for (int i = 0; i < ms / 5; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

}  // namespace

TEST(Follower, GrowingFileRotationAndResumeMatchTheReport) {
  const std::string one = slurp(kFixtures / "mariadb-bin.000001"), two = slurp(kFixtures / "mariadb-bin.000002");
  ASSERT_GT(one.size(), 1000u);
  GrowingDir g;
  const Attribution report = scan_files({kFixtures / "mariadb-bin.000001", kFixtures / "mariadb-bin.000002"});

  // First run: follow while the file grows, stop in the middle.
  LocalBinlogFeed feed(g.dir / "mariadb-bin.index", 50);
  Follower f1(feed, {"mariadb-bin.000001", 0}, {"mariadb-bin.000001", 0}, {}, {.publish_interval_ms = 0});
  std::thread t1([&] { f1.run(); });
  g.dribble("mariadb-bin.000001", one.substr(0, one.size() / 2), 1);
  ASSERT_TRUE(wait_until([&] { return f1.snapshot()->position.offset > 4; }));
  f1.request_stop();
  t1.join();
  ASSERT_FALSE(f1.error()) << *f1.error();
  const auto mid = f1.snapshot();
  EXPECT_LE(mid->position.offset, one.size() / 2);
  EXPECT_EQ(mid->totals.total_bytes, mid->position.offset);  // [0, position) exactly

  // Second run from that "checkpoint": the rest of the file, then a rotation.
  LocalBinlogFeed feed2(g.dir / "mariadb-bin.index", 50);
  Follower f2(feed2, mid->start, mid->position, mid->totals, {.publish_interval_ms = 0});
  std::thread t2([&] { f2.run(); });
  g.dribble("mariadb-bin.000001", one.substr(one.size() / 2), 2);
  std::ofstream(g.dir / "mariadb-bin.000002", std::ios::binary);
  std::ofstream(g.dir / "mariadb-bin.index", std::ios::app) << "./mariadb-bin.000002\n";
  g.dribble("mariadb-bin.000002", two, 3);
  const bool done = wait_until([&] {
    auto s = f2.snapshot();
    return s->position.file == "mariadb-bin.000002" && s->position.offset == two.size();
  });
  f2.request_stop();
  t2.join();
  ASSERT_TRUE(done) << f2.snapshot()->position.file << ":" << f2.snapshot()->position.offset;
  const auto end = f2.snapshot();
  EXPECT_EQ(end->files_finished, 1u);
  EXPECT_EQ(end->totals.total_bytes, one.size() + two.size());
  expect_same_tables(end->totals, report);
  EXPECT_EQ(end->totals.other.statement, report.other.statement);
  EXPECT_EQ(end->totals.other.overhead, report.other.overhead);
  EXPECT_EQ(end->totals.other.magic, report.other.magic);
}

TEST(Follower, PurgedCheckpointFileMovesToTheNextOne) {
  const std::string two = slurp(kFixtures / "mariadb-bin.000002");
  GrowingDir g;
  fs::remove(g.dir / "mariadb-bin.000001");
  std::ofstream(g.dir / "mariadb-bin.index") << "./mariadb-bin.000002\n";
  std::ofstream(g.dir / "mariadb-bin.000002", std::ios::binary) << two;
  LocalBinlogFeed feed(g.dir / "mariadb-bin.index", 50);
  Follower f(feed, {"mariadb-bin.000001", 4}, {"mariadb-bin.000001", 400}, {}, {.publish_interval_ms = 0});
  std::thread t([&] { f.run(); });
  const bool done = wait_until([&] { return f.snapshot()->position == Position{"mariadb-bin.000002", two.size()}; });
  f.request_stop();
  t.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(f.snapshot()->totals.total_bytes, two.size());
}

TEST(Follower, LastBoundaryIsATransactionEnd) {
  const fs::path file = kFixtures / "mariadb-bin.000001";
  const uint64_t size = fs::file_size(file);
  EXPECT_EQ(last_boundary(file.string(), size), size);
  const uint64_t mid = last_boundary(file.string(), size / 2);
  EXPECT_LT(mid, size / 2);
  EXPECT_GT(mid, 4u);
  // Counting from there with the report's --start-position gives the rest of the file.
  Attribution rest;
  FileSource s(file.string());
  ScanOptions opt;
  opt.filter.start_position = mid;
  EXPECT_NO_THROW(scan_binlog(s, rest, opt));
}

// A server that crashes mid-write leaves its file with a torn last event and no ROTATE; on restart
// it starts the next file. The follower counts the torn bytes as torn (as the report does) and
// goes on with the new file.
TEST(Follower, CrashedServerTornFileThenRestartFile) {
  const std::string one = slurp(kFixtures / "mariadb-bin.000001"), two = slurp(kFixtures / "mariadb-bin.000002");
  GrowingDir g;
  const std::string torn = one.substr(0, one.size() - 100);  // cuts into the last events
  {
    std::ofstream(g.dir / "torn.000001", std::ios::binary) << torn;
    std::ofstream(g.dir / "torn.000002", std::ios::binary) << two;
  }
  const Attribution report = scan_files({g.dir / "torn.000001", g.dir / "torn.000002"});
  ASSERT_GT(report.other.torn, 0u);
  fs::remove(g.dir / "torn.000001");
  fs::remove(g.dir / "torn.000002");

  LocalBinlogFeed feed(g.dir / "mariadb-bin.index", 50);
  Follower f(feed, {"mariadb-bin.000001", 0}, {"mariadb-bin.000001", 0}, {}, {.publish_interval_ms = 0});
  std::thread t([&] { f.run(); });
  g.dribble("mariadb-bin.000001", torn, 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the "server" is down a while
  EXPECT_EQ(f.snapshot()->files_finished, 0u);  // not finished until a newer file is listed
  std::ofstream(g.dir / "mariadb-bin.000002", std::ios::binary);
  std::ofstream(g.dir / "mariadb-bin.index", std::ios::app) << "./mariadb-bin.000002\n";
  g.dribble("mariadb-bin.000002", two, 5);
  const bool done = wait_until([&] { return f.snapshot()->position == Position{"mariadb-bin.000002", two.size()}; });
  f.request_stop();
  t.join();
  ASSERT_TRUE(done);
  const auto s = f.snapshot();
  EXPECT_EQ(s->totals.other.torn, report.other.torn);
  EXPECT_EQ(s->totals.total_bytes, torn.size() + two.size());
  expect_same_tables(s->totals, report);
}

// RESET MASTER: the numbering starts again below the checkpoint's file; the follower continues
// with the new first file instead of waiting for a number that will never come.
TEST(Follower, NumberingThatGoesBackIsFollowed) {
  const std::string two = slurp(kFixtures / "mariadb-bin.000002");
  GrowingDir g;
  std::ofstream(g.dir / "mariadb-bin.000001", std::ios::binary) << two;
  LocalBinlogFeed feed(g.dir / "mariadb-bin.index", 20);
  Follower f(feed, {"mariadb-bin.000057", 4}, {"mariadb-bin.000057", 400}, {}, {.publish_interval_ms = 0});
  std::thread t([&] { f.run(); });
  const bool done = wait_until([&] { return f.snapshot()->position == Position{"mariadb-bin.000001", two.size()}; });
  f.request_stop();
  t.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(f.snapshot()->totals.total_bytes, two.size());
}

TEST(AlertEngine, ObservationsFromTheExpositionKeepLabelsAndPickTheSubject) {
  MetricsWriter w;
  w.family("binwatch_partition_avail_bytes", "gauge", "x");
  w.sample("binwatch_partition_avail_bytes", {{"mount", "/var/lib/mysql \"bin\"\nlog"}}, 1024);
  w.family("binwatch_binlog_bytes_total", "counter", "x");
  w.sample("binwatch_binlog_bytes_total", {{"schema", "app"}, {"table", "groups"}}, 8.6e8);
  w.family("binwatch_replica_running", "gauge", "x");
  w.sample("binwatch_replica_running", {{"replica", "r1"}, {"thread", "sql"}}, 0);
  w.family("binwatch_partition_time_to_full_seconds", "gauge", "x");
  w.sample("binwatch_partition_time_to_full_seconds", {{"mount", "/"}, {"burst", "with"}},
           std::numeric_limits<double>::infinity());
  w.family("binwatch_server_up", "gauge", "x");
  w.sample("binwatch_server_up", 1);
  const auto obs = observations_from_exposition(w.text() + "garbage line {\nname{unterminated=\"x} 1\n");
  ASSERT_EQ(obs.size(), 5u);
  EXPECT_EQ(obs[0].metric, "binwatch_partition_avail_bytes");
  EXPECT_EQ(obs[0].subject, "/var/lib/mysql \"bin\"\nlog");  // escapes undone
  EXPECT_EQ(obs[0].value, 1024);
  EXPECT_EQ(obs[1].subject, "app.groups");
  EXPECT_EQ(obs[1].value, 8.6e8);
  EXPECT_EQ(obs[2].subject, "r1");
  EXPECT_EQ(obs[2].labels.at("thread"), "sql");
  EXPECT_TRUE(std::isinf(obs[3].value));
  EXPECT_EQ(obs[3].labels.at("burst"), "with");
  EXPECT_EQ(obs[4].subject, "binwatch_server_up");
}

TEST(AlertEngine, BearerTokenAndTokenFile) {
  EXPECT_TRUE(bearer_matches("Bearer 0123456789abcdef", "0123456789abcdef"));
  EXPECT_FALSE(bearer_matches("Bearer 0123456789abcdeF", "0123456789abcdef"));
  EXPECT_FALSE(bearer_matches("bearer 0123456789abcdef", "0123456789abcdef"));
  EXPECT_FALSE(bearer_matches("Bearer 0123456789abcdef0", "0123456789abcdef"));
  EXPECT_FALSE(bearer_matches("", ""));
  const fs::path d = fs::temp_directory_path() / ("binwatch-token-" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  struct Cleanup {
    fs::path p;
    ~Cleanup() { fs::remove_all(p); }
  } cleanup{d};
  const fs::path f = d / "token";
  std::ofstream(f) << "  0123456789abcdef-xyz \n";
  fs::permissions(f, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(read_token_file(f.string()), "0123456789abcdef-xyz");
  fs::permissions(f, fs::perms::others_read, fs::perm_options::add);
  EXPECT_THROW(read_token_file(f.string()), std::runtime_error);  // world-readable
  std::ofstream(d / "short") << "abc\n";
  fs::permissions(d / "short", fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_THROW(read_token_file((d / "short").string()), std::runtime_error);
  EXPECT_THROW(read_token_file((d / "absent").string()), std::runtime_error);
}

TEST(WatchConfig, AlertsSectionAndReceivers) {
  const auto c = parse_watch_config(
      "[source]\nbinlog_dir = \"/x\"\n[alerts]\npolicy = \"/etc/binwatch/alerts.toml\"\ntoken_file = \"/etc/binwatch/t\"\n"
      "interval_ms = 500\n[[alerts.receiver]]\nname = \"oncall\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/x\"\n",
      "x.toml");
  EXPECT_TRUE(c.alerts.enabled);
  EXPECT_EQ(c.alerts.policy_file, "/etc/binwatch/alerts.toml");
  EXPECT_EQ(c.alerts.interval_ms, 500u);
  ASSERT_EQ(c.alerts.receivers.size(), 1u);
  EXPECT_EQ(c.alerts.receivers[0].name, "oncall");
  EXPECT_EQ(error_of("[source]\nbinlog_dir = \"/x\"\n[alerts]\ntoken = \"secret\"\n"),
            "binwatch.toml:4: alerts.token: unknown key (allowed here: enabled, policy, token_file, interval_ms, receiver)");
  EXPECT_NE(error_of("[source]\nbinlog_dir = \"/x\"\n[[alerts.receiver]]\nname = \"a\"\ntype = \"carrier-pigeon\"\n")
                .find("binwatch.toml:5: alerts.receiver[0].type"),
            std::string::npos);
}

namespace {

// Adds `by` to one field of a "Prefix: Name ..." / "Prefix: value ..." pair of lines
// (/proc/net/netstat, /proc/net/snmp), keeping everything else as it was.
std::string bump_pair_field(const std::string& text, const std::string& prefix, const std::string& field, int64_t by) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  auto words = [](const std::string& line) {
    std::vector<std::string> w;
    std::istringstream ws(line);
    for (std::string x; ws >> x;) w.push_back(x);
    return w;
  };
  bool done = false;
  for (size_t i = 0; i + 1 < lines.size() && !done; ++i) {
    if (!lines[i].starts_with(prefix + ":") || !lines[i + 1].starts_with(prefix + ":")) continue;
    const auto names = words(lines[i]);
    auto values = words(lines[i + 1]);
    for (size_t k = 1; k < names.size() && k < values.size(); ++k) {
      if (names[k] != field) continue;
      values[k] = std::to_string(std::stoll(values[k]) + by);
      std::string joined;
      for (const auto& v : values) joined += (joined.empty() ? "" : " ") + v;
      lines[i + 1] = joined;
      done = true;
    }
  }
  EXPECT_TRUE(done) << prefix << " " << field;
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace

// binwatch_net_rate in the daemon's exposition: per second between the last two samples (the
// monitor takes the time from its caller: a fake clock here), only for counters the policy's rate
// and ratio rules read, "@default-route" resolved from the snapshot's net/route.
TEST(NetMonitor, ExportsRatesOfWatchedCountersOnly) {
  const fs::path root = fs::temp_directory_path() / ("binwatch-netmon-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::copy(fs::path(BINWATCH_SOURCE_DIR) / "fixtures/procfs/linux-3.13-trusty-hand", root, fs::copy_options::recursive);
  NetSettings settings;
  settings.proc_root = root.string();
  NetMonitor monitor(settings);
  monitor.sample(100.0);
  {
    MetricsWriter w;
    monitor.write_metrics(w);
    EXPECT_NE(w.text().find("# TYPE binwatch_net_rate gauge\n"), std::string::npos);
    EXPECT_EQ(w.text().find("binwatch_net_rate{"), std::string::npos) << "a rate needs two samples";
  }
  const fs::path netstat = root / "net/netstat";
  std::string text;
  {
    std::ifstream in(netstat);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::ofstream(netstat, std::ios::trunc) << bump_pair_field(text, "TcpExt", "ListenOverflows", 50);
  monitor.sample(102.0);
  MetricsWriter w;
  monitor.write_metrics(w);
  const std::string& m = w.text();
  EXPECT_NE(m.find("binwatch_net_rate{name=\"TcpExtListenOverflows\"} 25\n"), std::string::npos) << m;
  EXPECT_NE(m.find("binwatch_net_finding_severity{net_rule=\"listen-overflows\",counter=\"TcpExtListenOverflows\"} 3\n"),
            std::string::npos);
  EXPECT_NE(m.find("binwatch_net_rate{name=\"TcpExtPAWSEstab\"} 0\n"), std::string::npos);
  // The snapshot's default route is eth0 (metric 100; eth1's backup route has 200).
  EXPECT_NE(m.find("binwatch_net_rate{name=\"dev.eth0.tx_bytes\"} 0\n"), std::string::npos);
  EXPECT_NE(m.find("binwatch_net_rate{name=\"dev.eth0.rx_bytes\"} 0\n"), std::string::npos);
  // Unwatched counters and gauges have a value series but no rate series.
  EXPECT_NE(m.find("binwatch_net_value{name=\"TcpInSegs\"}"), std::string::npos);
  EXPECT_EQ(m.find("binwatch_net_rate{name=\"TcpInSegs\"}"), std::string::npos);
  EXPECT_EQ(m.find("binwatch_net_rate{name=\"dev.lo."), std::string::npos);
  EXPECT_EQ(m.find("binwatch_net_rate{name=\"sockstat."), std::string::npos);
  size_t rate_series = 0;
  for (size_t at = 0; (at = m.find("\nbinwatch_net_rate{", at)) != std::string::npos; ++at) ++rate_series;
  EXPECT_GE(rate_series, 8u);
  EXPECT_LE(rate_series, 30u) << "bounded by the policy, not by the host";
  if (fs::exists("/usr/bin/promtool")) {
    std::ofstream(root / "scrape.txt") << m;
    const int rc = std::system(("/usr/bin/promtool check metrics < " + (root / "scrape.txt").string() + " > " +
                                (root / "promtool.out").string() + " 2>&1").c_str());
    std::ifstream out(root / "promtool.out");
    EXPECT_EQ(rc, 0) << std::string(std::istreambuf_iterator<char>(out), std::istreambuf_iterator<char>());
  }
  fs::remove_all(root);
}

// On the live /proc the monitor samples listeners; decide() already turns them into findings, and
// each finding must appear once (it used to be appended a second time: duplicate series).
TEST(NetMonitor, ListenerFindingsAppearOnce) {
  int64_t somaxconn = 0;
  std::ifstream("/proc/sys/net/core/somaxconn") >> somaxconn;
  if (somaxconn <= 511) GTEST_SKIP() << "somaxconn " << somaxconn << ": 511 is not below it here";
  try {
    (void)net::read_listeners();
  } catch (const net::SockDiagError& e) {
    GTEST_SKIP() << "sock_diag unavailable: " << e.what();
  }
  const int l = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(l, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(l, 511), 0);  // nginx's silent default, below this VM's somaxconn
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const std::string counter = "listen.127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  NetMonitor monitor(NetSettings{});  // proc_root /proc: listeners over sock_diag
  monitor.sample(1.0);
  const auto status = monitor.status();
  ::close(l);
  ASSERT_EQ(status["error"].get<std::string>(), "");
  int seen = 0;
  std::set<std::pair<std::string, std::string>> keys;
  for (const auto& f : status["findings"]) {
    EXPECT_TRUE(keys.insert({f["rule"].get<std::string>(), f["counter"].get<std::string>()}).second)
        << "duplicate finding " << f.dump();
    if (f["counter"] == counter && f["rule"] == "listen-backlog-default") ++seen;
  }
  EXPECT_EQ(seen, 1) << status.dump();
}
