// `binwatch watch` against a private MariaDB, with the real executable:
//  * exactness: a mixed workload over several tables, FLUSH BINARY LOGS, PURGE BINARY LOGS, SIGKILL
//    of binwatch and a restart from its checkpoint; /metrics must equal `binwatch report` of the
//    same range (from the daemon's start position to its position) byte for byte, per table;
//    promtool checks the scrape when it is installed;
//  * server restarts (clean shutdown, then SIGKILL of mariadbd) while following: totals exact;
//  * a hung control plane (mariadbd SIGSTOPped) does not stall the follower: it catches up on
//    binlog files written before the stop and /metrics keeps answering;
//  * partition projection on a 64 MiB tmpfs (root only): a burst of open transactions shows in
//    the "with burst" time to full within two sampling periods, and steady growth is projected
//    to fill the partition at the time it really fills (errors printed, asserted within 25%).
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "support/binwatch_process.h"
#include "support/loopback.h"
#include "binwatch/watch/binlog_feed.h"
#include "support/mariadb_server.h"
#include "support/tmpfs.h"
#include "support/watch_daemon.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using binwatch::test::MariadbServer;
using binwatch::test::ScratchDir;
using binwatch::test::free_port;
using binwatch::test::Http;
using binwatch::test::wait_for;
using Daemon = binwatch::test::WatchDaemon;
using Clock = std::chrono::steady_clock;

// binwatch_binlog_bytes_total / rows_total per "schema.table".
std::map<std::string, double> scrape(const std::string& metrics, const std::string& name) {
  std::map<std::string, double> out;
  const std::regex re(name + R"re(\{schema="([^"]*)",table="([^"]*)"\} (\S+))re");
  std::istringstream in(metrics);
  std::string line;
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_match(line, m, re)) out[m[1].str() + "." + m[2].str()] = std::stod(m[3].str());
  return out;
}

std::string config_text(const fs::path& binlog_dir, const fs::path& state, int port, const std::string& socket,
                        const std::string& extra = "") {
  std::ostringstream c;
  c << "[source]\nbinlog_dir = \"" << binlog_dir.string() << "\"\nstart = \"saved\"\npoll_interval_ms = 100\n"
    << "[state]\ndir = \"" << state.string() << "\"\ncheckpoint_interval_ms = 200\n"
    << "[http]\nlisten = \"127.0.0.1:" << port << "\"\n"
    << "[mysql]\nsocket = \"" << socket << "\"\npoll_interval_ms = 300\ntimeout_s = 2\n" << extra;
  return c.str();
}

// Waits until the daemon has counted everything the server wrote (position at the newest byte).
// The newest file and its size are read again on every poll: MariaDB appends a
// BINLOG_CHECKPOINT event (45 bytes here) to the active file on its own once InnoDB has
// checkpointed the previous file's transactions, possibly after this wait has begun.
bool caught_up(const Http& http, MariadbServer& db, int ms = 15000) {
  return wait_for([&] {
    const auto files = db.binlog_files();
    if (files.empty()) return false;
    std::error_code ec;
    const std::string newest = files.back().filename().string();
    const uint64_t size = fs::file_size(files.back(), ec);
    if (ec) return false;
    auto s = http.status();
    return s && (*s)["position"]["file"] == newest && (*s)["position"]["offset"] == size;
  }, ms);
}

// "name:size ..." of the server's binlog files, for failure messages.
std::string list_files(MariadbServer& db) {
  std::string out;
  for (const auto& f : db.binlog_files()) {
    std::error_code ec;
    out += f.filename().string() + ":" + std::to_string(fs::file_size(f, ec)) + " ";
  }
  return out;
}

// What a failed wait shows: the daemon's log, the server's files and the daemon's status.
std::string failure_context(const Daemon& d, MariadbServer& db, const Http& http) {
  const auto status = http.status();
  return d.log() + "\nserver files: " + list_files(db) + "\nstatus: " + (status ? status->dump() : std::string("none"));
}

// Keeps a hard link (or copy) of every binlog file so that the report can still read purged ones.
void keep_files(MariadbServer& db, const fs::path& keep) {
  fs::create_directories(keep);
  for (const auto& f : db.binlog_files()) {
    const fs::path to = keep / f.filename();
    std::error_code ec;
    fs::remove(to, ec);
    fs::create_hard_link(f, to, ec);
    if (ec) fs::copy_file(f, to, fs::copy_options::overwrite_existing);
  }
}

// Keeps links of every binlog file in `keep`, then purges all but the active one (the server keeps
// files until InnoDB has checkpointed their transactions: retried a little). Returns how many
// files were listed before.
size_t purge_all_but_active(MariadbServer& db, const fs::path& keep) {
  keep_files(db, keep);
  const std::string active = db.binlog_files().back().filename().string();
  const size_t listed = db.binlog_files().size();
  EXPECT_TRUE(wait_for([&] {
    db.exec("PURGE BINARY LOGS TO '" + active + "'");
    return db.binlog_files().size() == 1;
  }, 5000)) << "only purged down to " << db.binlog_files().size() << " of " << listed;
  return listed;
}

// The tables workload() writes: three in app, one in other.
void create_schema(MariadbServer& db) {
  db.exec("CREATE DATABASE app; CREATE DATABASE other;"
          "CREATE TABLE app.posts (id INT AUTO_INCREMENT PRIMARY KEY, body VARCHAR(100), fat TEXT);"
          "CREATE TABLE app.groups (id INT PRIMARY KEY, n INT, note VARCHAR(300));"
          "CREATE TABLE app.users (id INT AUTO_INCREMENT PRIMARY KEY, login VARCHAR(40), seen DATETIME);"
          "CREATE TABLE other.log (id INT AUTO_INCREMENT PRIMARY KEY, msg TEXT);"
          "INSERT INTO app.groups (id, n) SELECT seq, 0 FROM app.seq_1_to_10");
}

void workload(MariadbServer& db, int round) {
  const std::string r = std::to_string(round);
  db.exec("INSERT INTO app.posts (body, fat) SELECT CONCAT('p', seq, '-" + r + "'), REPEAT('x', 2000 + seq) FROM app.seq_1_to_40");
  db.exec("UPDATE app.groups SET n = n + 1, note = REPEAT('g', 100 + " + r + ") WHERE id <= 5");
  db.exec("BEGIN; INSERT INTO app.users (login) VALUES ('u" + r + "a'), ('u" + r + "b'); "
          "UPDATE app.users SET seen = NOW() WHERE id % 3 = 0; COMMIT");
  db.exec("DELETE FROM app.posts WHERE id % 7 = " + std::to_string(round % 7));
  db.exec("INSERT INTO other.log (msg) VALUES ('round " + r + "')");
}

// The report of the range the daemon counted (from the start position in the start file to the
// newest byte, over the kept links of every file) must equal /metrics table for table.
void expect_metrics_equal_report(const std::string& metrics, const fs::path& keep, const std::string& start_file,
                                 uint64_t start_offset, const std::string& daemon_log) {
  std::vector<std::string> args{"report", "--format", "json", "--start-position", std::to_string(start_offset)};
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(keep)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files)
    if (f.filename().string() >= start_file) args.push_back(f.string());
  ASSERT_GE(args.size(), 8u) << "several files expected";
  ScratchDir rep("binwatch-watch-report");
  const auto report = binwatch::test::run_process(BINWATCH_EXE, args, rep.path());
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const json r = json::parse(report.out);
  std::map<std::string, double> report_bytes, report_rows;
  for (const auto& t : r["tables"]) {
    report_bytes[t["schema"].get<std::string>() + "." + t["table"].get<std::string>()] = t["bytes"].get<double>();
    report_rows[t["schema"].get<std::string>() + "." + t["table"].get<std::string>()] = t["rows"].get<double>();
  }
  const auto live_bytes = scrape(metrics, "binwatch_binlog_bytes_total");
  EXPECT_EQ(live_bytes, report_bytes) << daemon_log;
  EXPECT_EQ(scrape(metrics, "binwatch_binlog_rows_total"), report_rows);
  EXPECT_EQ(live_bytes.size(), 4u);
  for (const auto& [table, bytes] : live_bytes)
    std::cout << "[ measured ] " << table << ": /metrics " << static_cast<uint64_t>(bytes) << " B, report "
              << static_cast<uint64_t>(report_bytes[table]) << " B\n";
  std::cout << "[ measured ] report over " << args.size() - 5 << " files from " << start_file << ":" << start_offset << "\n";
}

class WatchIntegration : public ::testing::Test {
 protected:
  void SetUp() override { BINWATCH_REQUIRE_MARIADB(); }
};

TEST_F(WatchIntegration, MetricsEqualTheReportThroughRotationPurgeAndKill) {
  ScratchDir scratch("binwatch-watch");
  MariadbServer db;
  create_schema(db);
  workload(db, 0);  // before the daemon starts: not counted (start = end)

  const int port = free_port();
  const fs::path config = scratch.path() / "binwatch.toml";
  std::ofstream(config) << config_text(db.binlog_dir(), scratch.path() / "state", port, db.socket());
  Http http{port};
  auto d = std::make_unique<Daemon>(config, scratch.path() / "daemon.log");
  ASSERT_TRUE(wait_for([&] { return http.status().has_value(); }, 10000)) << d->log();
  const json started = *http.status();
  const std::string start_file = started["start"]["file"];
  const uint64_t start_offset = started["start"]["offset"];

  for (int r = 1; r <= 3; ++r) workload(db, r);
  db.flush_binary_logs();  // rotation while following
  for (int r = 4; r <= 5; ++r) workload(db, r);
  ASSERT_TRUE(caught_up(http, db)) << failure_context(*d, db, http);

  // kill -9 right after more writes (the daemon may be mid-transaction), write while it is
  // dead, rotate, then restart from the checkpoint.
  workload(db, 6);
  EXPECT_EQ(d->stop(SIGKILL), 128 + SIGKILL);
  workload(db, 7);
  db.flush_binary_logs();
  workload(db, 8);
  d = std::make_unique<Daemon>(config, scratch.path() / "daemon.log");
  ASSERT_TRUE(caught_up(http, db)) << failure_context(*d, db, http);

  // Purge everything but the active file while following; the kept links let the report read them.
  const size_t listed = purge_all_but_active(db, scratch.path() / "keep");
  ASSERT_LT(db.binlog_files().size(), listed);
  workload(db, 9);
  db.flush_binary_logs();
  workload(db, 10);
  ASSERT_TRUE(caught_up(http, db)) << failure_context(*d, db, http);
  keep_files(db, scratch.path() / "keep");

  // SIGTERM: a clean stop with a final checkpoint; the restarted daemon shows the same totals.
  const std::string before_stop = *http.get("/metrics");
  EXPECT_EQ(d->stop(SIGTERM), 0);
  d = std::make_unique<Daemon>(config, scratch.path() / "daemon.log");
  ASSERT_TRUE(caught_up(http, db)) << failure_context(*d, db, http);
  const std::string metrics = *http.get("/metrics");
  EXPECT_EQ(scrape(metrics, "binwatch_binlog_bytes_total"), scrape(before_stop, "binwatch_binlog_bytes_total"));

  expect_metrics_equal_report(metrics, scratch.path() / "keep", start_file, start_offset, d->log());
  EXPECT_NE(d->log().find("final checkpoint"), std::string::npos);

  // promtool on the real scrape, when Debian's prometheus package is installed.
  if (fs::exists("/usr/bin/promtool")) {
    const fs::path scrape_file = scratch.path() / "scrape.txt";
    std::ofstream(scrape_file) << metrics;
    const int rc = std::system(("/usr/bin/promtool check metrics < " + scrape_file.string() + " > " +
                                (scratch.path() / "promtool.out").string() + " 2>&1").c_str());
    EXPECT_EQ(rc, 0) << binwatch::test::slurp_file(scratch.path() / "promtool.out");
  }
  EXPECT_EQ(d->stop(SIGTERM), 0);
}

// The ids of the server's binlog dump threads (binwatch in replication mode is one).
std::vector<std::string> dump_threads(MariadbServer& db) {
  std::vector<std::string> ids;
  for (const auto& row : db.query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'"))
    if (!row.empty() && row[0]) ids.push_back(*row[0]);
  return ids;
}

// source.mode = "replication": the same contract as the local follow, through a KILL of the dump
// thread, rotation, purge, kill -9 and SIGTERM restarts. No binlog folder is configured, so lag and
// newest come from SHOW BINARY LOGS on the control connection.
TEST_F(WatchIntegration, ReplicationModeMetricsEqualTheReportThroughDumpKillPurgeAndRestarts) {
  ScratchDir scratch("binwatch-watch-repl");
  MariadbServer db;
  create_schema(db);
  workload(db, 0);  // before the daemon starts: not counted

  const int port = free_port();
  const fs::path config = scratch.path() / "binwatch.toml";
  std::ofstream(config) << "[source]\nmode = \"replication\"\nserver_id = 4242\nheartbeat_ms = 300\n"
                        << "reconnect_min_ms = 50\nreconnect_max_ms = 400\nstart = \"saved\"\n"
                        << "[state]\ndir = \"" << (scratch.path() / "state").string() << "\"\ncheckpoint_interval_ms = 200\n"
                        << "[http]\nlisten = \"127.0.0.1:" << port << "\"\n"
                        << "[mysql]\nsocket = \"" << db.socket() << "\"\npoll_interval_ms = 300\ntimeout_s = 2\n";
  Http http{port};
  auto d = std::make_unique<Daemon>(config, scratch.path() / "daemon.log");
  ASSERT_TRUE(wait_for([&] { return http.status().has_value(); }, 10000)) << d->log();
  const json started = *http.status();
  EXPECT_EQ(started["source"]["mode"], "replication");
  const std::string start_file = started["start"]["file"];
  const uint64_t start_offset = started["start"]["offset"];
  {
    // The start is the server's end when the daemon started (SHOW MASTER STATUS).
    const auto files = db.binlog_files();
    EXPECT_EQ(start_file, files.back().filename().string());
    EXPECT_EQ(start_offset, fs::file_size(files.back()));
  }
  auto context = [&] { return failure_context(*d, db, http); };

  for (int r = 1; r <= 2; ++r) workload(db, r);
  db.flush_binary_logs();
  workload(db, 3);
  ASSERT_TRUE(caught_up(http, db)) << context();
  ASSERT_TRUE(wait_for([&] { return !dump_threads(db).empty(); }, 5000));

  // KILL the dump thread mid-stream, write while the daemon reconnects.
  for (const auto& id : dump_threads(db)) db.exec("KILL " + id);
  workload(db, 4);
  db.flush_binary_logs();
  workload(db, 5);
  ASSERT_TRUE(caught_up(http, db)) << context();
  EXPECT_GE((*http.status())["source"]["reconnects"].get<uint64_t>(), 1u) << context();
  EXPECT_NE(http.get("/metrics")->find("binwatch_replication_reconnects_total"), std::string::npos);

  // kill -9, write and rotate while it is down, restart from the checkpoint.
  workload(db, 6);
  EXPECT_EQ(d->stop(SIGKILL), 128 + SIGKILL);
  workload(db, 7);
  db.flush_binary_logs();
  workload(db, 8);
  d = std::make_unique<Daemon>(config, scratch.path() / "daemon.log");
  ASSERT_TRUE(caught_up(http, db)) << context();

  // Purge everything but the active file while streaming.
  purge_all_but_active(db, scratch.path() / "keep");
  workload(db, 9);
  db.flush_binary_logs();
  workload(db, 10);
  ASSERT_TRUE(caught_up(http, db)) << context();
  keep_files(db, scratch.path() / "keep");
  // Lag comes from the control connection's SHOW BINARY LOGS: zero once caught up.
  EXPECT_TRUE(wait_for([&] {
    auto st = http.status();
    return st && st->contains("newest") && (*st)["lag_bytes"] == 0 && (*st)["newest"]["file"] == (*st)["position"]["file"];
  }, 5000)) << context();

  // SIGTERM: a clean stop, the restarted daemon shows the same totals.
  const std::string before_stop = *http.get("/metrics");
  EXPECT_EQ(d->stop(SIGTERM), 0);
  d = std::make_unique<Daemon>(config, scratch.path() / "daemon.log");
  ASSERT_TRUE(caught_up(http, db)) << context();
  const std::string metrics = *http.get("/metrics");
  EXPECT_EQ(scrape(metrics, "binwatch_binlog_bytes_total"), scrape(before_stop, "binwatch_binlog_bytes_total"));
  expect_metrics_equal_report(metrics, scratch.path() / "keep", start_file, start_offset, d->log());
  EXPECT_EQ(d->stop(SIGTERM), 0);
}

TEST_F(WatchIntegration, HungServerDoesNotStallTheFollower) {
  ScratchDir scratch("binwatch-watch-stop");
  MariadbServer db;
  db.exec("CREATE DATABASE app; CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)");
  const int port = free_port();
  const fs::path config = scratch.path() / "binwatch.toml";
  std::ofstream(config) << config_text(db.binlog_dir(), scratch.path() / "state", port, db.socket());
  Http http{port};
  {
    Daemon d(config, scratch.path() / "daemon.log");
    ASSERT_TRUE(wait_for([&] { return http.status().has_value(); }, 10000)) << d.log();
    ASSERT_EQ(d.stop(SIGTERM), 0);  // a checkpoint at the current end
  }
  // Binlog written while binwatch is down: ~24 MB over several files.
  for (int i = 0; i < 4; ++i) {
    db.exec("INSERT INTO app.t (v) SELECT REPEAT('v', 20000) FROM app.seq_1_to_300");
    db.flush_binary_logs();
  }
  const auto files = db.binlog_files();  // SQL: before the stop
  const std::string newest = files.back().filename().string();

  // The server hangs: its socket accepts, nothing answers. The newest file's size is read after
  // the stop: until then the server may still append its asynchronous BINLOG_CHECKPOINT event.
  ASSERT_EQ(::kill(db.pid(), SIGSTOP), 0);
  struct Resume {
    pid_t pid;
    ~Resume() { ::kill(pid, SIGCONT); }
  } resume{db.pid()};
  const uint64_t newest_size = fs::file_size(files.back());
  Daemon d(config, scratch.path() / "daemon.log");
  const auto t0 = Clock::now();
  bool done = false;
  double worst_ms = 0;
  int answers = 0;
  while (Clock::now() - t0 < std::chrono::seconds(10)) {
    const auto q0 = Clock::now();
    auto m = http.get("/metrics", 2);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - q0).count();
    if (m) {
      ++answers;
      worst_ms = std::max(worst_ms, ms);
      std::smatch match;
      if (std::regex_search(*m, match, std::regex("binwatch_binlog_position_bytes\\{file=\"([^\"]+)\"\\} (\\d+)")) &&
          match[1] == newest && std::stoull(match[2]) == newest_size) {
        done = true;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double caught_up_s = std::chrono::duration<double>(Clock::now() - t0).count();
  // Keep asking for 3 s more while the server is still stopped (the SQL poller sits in its 2 s
  // timeouts meanwhile): the API must keep answering promptly.
  for (const auto t1 = Clock::now(); Clock::now() - t1 < std::chrono::seconds(3);) {
    const auto q0 = Clock::now();
    if (http.get("/metrics", 2)) {
      ++answers;
      worst_ms = std::max(worst_ms, std::chrono::duration<double, std::milli>(Clock::now() - q0).count());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cout << "[ measured ] SIGSTOPped server: follower caught up on " << files.size() << " files in " << caught_up_s
            << " s; /metrics answered " << answers << " times, slowest " << worst_ms << " ms\n";
  EXPECT_TRUE(done) << d.log();
  EXPECT_LT(worst_ms, 1000);
  EXPECT_GE(answers, 20);
  auto status = http.status();
  ASSERT_TRUE(status);
  EXPECT_FALSE((*status)["server"]["connected"].get<bool>());
  ::kill(db.pid(), SIGCONT);
  EXPECT_TRUE(wait_for([&] { auto s = http.status(); return s && (*s)["server"]["connected"].get<bool>(); }, 8000))
      << d.log();
  EXPECT_EQ(d.stop(SIGTERM), 0);
}

// A server driven through scripts/mariadb-test-server.sh directly, so that it can be restarted on
// its data (`stop --keep`, then `start` again): the harness class has no restart.
class RestartableServer {
 public:
  explicit RestartableServer(const fs::path& dir) : m_dir(dir) { start(); }
  ~RestartableServer() {
    m_conn.reset();
    binwatch::test::run_command({script(), "stop", "--dir", m_dir.string(), "--kill"});
  }
  void start() {
    const auto r = binwatch::test::run_command({script(), "start", "--dir", m_dir.string(), "--owner-pid",
                                                std::to_string(getpid()), "--timeout", "60"});
    if (r.exit_code != 0) throw std::runtime_error("cannot start: " + r.output);
    std::ifstream env(m_dir / "env");
    std::string line;
    while (std::getline(env, line)) {
      if (line.starts_with("SOCKET=")) m_socket = line.substr(7);
      if (line.starts_with("BINLOG_DIR=")) m_binlog_dir = line.substr(11);
    }
    m_conn.reset(mysql_init(nullptr));
    if (!mysql_real_connect(m_conn.get(), nullptr, "root", "", nullptr, 0, m_socket.c_str(), CLIENT_MULTI_STATEMENTS))
      throw std::runtime_error(std::string("connect: ") + mysql_error(m_conn.get()));
  }
  // A clean shutdown (kill = false) or SIGKILL of mariadbd (a crash), keeping the data.
  void stop(bool kill) {
    m_conn.reset();
    std::vector<std::string> argv{script(), "stop", "--dir", m_dir.string(), "--keep"};
    if (kill) argv.push_back("--kill");
    const auto r = binwatch::test::run_command(argv);
    if (r.exit_code != 0) throw std::runtime_error("cannot stop: " + r.output);
  }
  void exec(const std::string& sql) {
    if (mysql_query(m_conn.get(), sql.c_str()) != 0) throw std::runtime_error(mysql_error(m_conn.get()) + (": " + sql));
    do {
      if (MYSQL_RES* res = mysql_store_result(m_conn.get())) mysql_free_result(res);
    } while (mysql_next_result(m_conn.get()) == 0);
  }
  [[nodiscard]] const fs::path& binlog_dir() const { return m_binlog_dir; }
  [[nodiscard]] const std::string& socket() const { return m_socket; }

 private:
  static std::string script() { return binwatch::test::source_path("scripts/mariadb-test-server.sh").string(); }
  fs::path m_dir, m_binlog_dir;
  std::string m_socket;
  MariadbServer::Connection m_conn;
};

// The newest binlog file and its size, from the index.
std::pair<std::string, uint64_t> newest_binlog(const fs::path& binlog_dir) {
  std::string last, line;
  for (const auto& e : fs::directory_iterator(binlog_dir)) {
    if (e.path().extension() != ".index") continue;
    std::ifstream in(e.path());
    while (std::getline(in, line))
      if (!line.empty()) last = line;
  }
  const fs::path p = fs::path(last).is_absolute() ? fs::path(last) : binlog_dir / last;
  return {p.filename().string(), fs::file_size(p)};
}

TEST_F(WatchIntegration, ServerRestartsCleanAndCrashedTotalsExact) {
  ScratchDir scratch("binwatch-watch-restart");
  RestartableServer db(scratch.path() / "server");
  auto work = [&](int r) {
    const std::string n = std::to_string(r);
    db.exec("INSERT INTO app.a (v) SELECT REPEAT('a', 500 + seq) FROM app.seq_1_to_30");
    db.exec("BEGIN; INSERT INTO app.b (v) VALUES ('" + n + "'); UPDATE app.a SET v = CONCAT(v, '" + n +
            "') WHERE id % 5 = 0; COMMIT");
  };
  db.exec("CREATE DATABASE app; CREATE TABLE app.a (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT);"
          "CREATE TABLE app.b (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)");
  work(0);
  const int port = free_port();
  const fs::path config = scratch.path() / "binwatch.toml";
  std::ofstream(config) << config_text(db.binlog_dir(), scratch.path() / "state", port, db.socket());
  Http http{port};
  Daemon d(config, scratch.path() / "daemon.log");
  ASSERT_TRUE(wait_for([&] { return http.status().has_value(); }, 10000)) << d.log();
  const json started = *http.status();
  auto caught_up_here = [&] {
    const auto [file, size] = newest_binlog(db.binlog_dir());
    return wait_for([&, file = file, size = size] {
      auto s = http.status();
      return s && (*s)["position"]["file"] == file && (*s)["position"]["offset"] == size;
    }, 15000);
  };
  work(1);
  db.stop(false);  // clean shutdown: STOP event, file closed
  db.start();      // a new file appears
  work(2);
  ASSERT_TRUE(caught_up_here()) << d.log();
  db.stop(true);   // crash: SIGKILL, the file is left "in use"
  db.start();
  work(3);
  ASSERT_TRUE(caught_up_here()) << d.log();
  const std::string metrics = *http.get("/metrics");

  std::vector<std::string> args{"report", "--format", "json", "--start-position",
                                std::to_string(started["start"]["offset"].get<uint64_t>())};
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(db.binlog_dir()))
    if (binwatch::watch::binlog_sequence(e.path().filename().string()) &&
        e.path().filename().string() >= started["start"]["file"].get<std::string>())
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) args.push_back(f.string());
  ScratchDir rep("binwatch-watch-report");
  const auto report = binwatch::test::run_process(BINWATCH_EXE, args, rep.path());
  ASSERT_LE(report.exit_code, 1) << report.err;
  std::map<std::string, double> report_bytes;
  const json rj = json::parse(report.out);
  for (const auto& f : rj["files"])
    std::cout << "[ measured ] " << f["path"].get<std::string>() << ": " << f["size"] << " B, closed cleanly "
              << f["closed_cleanly"] << ", torn " << f["torn_tail"] << "\n";
  for (const auto& t : rj["tables"])
    report_bytes[t["schema"].get<std::string>() + "." + t["table"].get<std::string>()] = t["bytes"].get<double>();
  EXPECT_EQ(scrape(metrics, "binwatch_binlog_bytes_total"), report_bytes) << d.log();
  EXPECT_EQ(report_bytes.size(), 2u);
  std::cout << "[ measured ] two server restarts (clean, SIGKILL): " << files.size() << " files, totals equal: "
            << (scrape(metrics, "binwatch_binlog_bytes_total") == report_bytes) << "\n";
  EXPECT_EQ(d.stop(SIGTERM), 0);
}

// Without a server: sd_notify reaches NOTIFY_SOCKET (READY, STATUS, WATCHDOG), SIGHUP logs what
// changed, a bad file keeps the running configuration, SIGTERM exits 0 with a final checkpoint.
TEST(WatchDaemon, NotifiesSystemdAndReloadsOnSighup) {
  ScratchDir scratch("binwatch-watch-notify");
  const fs::path binlog = scratch.path() / "binlog";
  fs::create_directories(binlog);
  const fs::path fixtures = fs::path(BINWATCH_SOURCE_DIR) / "fixtures/mariadb-10.11/crc32-full";
  fs::copy_file(fixtures / "mariadb-bin.000001", binlog / "mariadb-bin.000001");
  std::ofstream(binlog / "mariadb-bin.index") << "./mariadb-bin.000001\n";
  const fs::path sock = scratch.path() / "notify";
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{0, 200000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  const int port = free_port();
  const fs::path config = scratch.path() / "binwatch.toml";
  const std::string base = "[source]\nbinlog_dir = \"" + binlog.string() + "\"\n[state]\ndir = \"" +
                           (scratch.path() / "state").string() + "\"\n[http]\nlisten = \"127.0.0.1:" +
                           std::to_string(port) + "\"\n";
  std::ofstream(config) << base;
  ::setenv("NOTIFY_SOCKET", sock.c_str(), 1);
  Daemon d(config, scratch.path() / "daemon.log");
  ::unsetenv("NOTIFY_SOCKET");
  std::string got;
  const auto until = Clock::now() + std::chrono::seconds(5);
  // READY, STATUS and WATCHDOG come from different threads: wait for all three, in any order.
  while (Clock::now() < until && (got.find("WATCHDOG=1") == std::string::npos || got.find("STATUS=") == std::string::npos ||
                                  got.find("READY=1") == std::string::npos)) {
    char buf[512];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) got.append(buf, static_cast<size_t>(n)).push_back('\n');
  }
  ::close(fd);
  EXPECT_NE(got.find("READY=1"), std::string::npos) << got;
  EXPECT_NE(got.find("STATUS=following mariadb-bin.000001:"), std::string::npos) << got;
  EXPECT_NE(got.find("WATCHDOG=1"), std::string::npos) << got;

  std::ofstream(config) << base << "[partitions]\nreserve_bytes = 12345\n";
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  EXPECT_TRUE(wait_for([&] { return d.log().find("partitions.reserve_bytes: 1073741824 -> 12345") != std::string::npos; }, 3000))
      << d.log();
  std::ofstream(config) << base << "[partitions]\nreserve = 1\n";
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  EXPECT_TRUE(wait_for([&] { return d.log().find("keeping the running configuration") != std::string::npos; }, 3000))
      << d.log();
  EXPECT_TRUE(Http{port}.get("/metrics").has_value());
  EXPECT_EQ(d.stop(SIGTERM), 0);
  EXPECT_NE(d.log().find("final checkpoint"), std::string::npos) << d.log();
  EXPECT_TRUE(fs::exists(scratch.path() / "state" / "checkpoint.json"));
}

// statvfs of a path: available bytes.
using binwatch::test::avail_bytes;

TEST_F(WatchIntegration, ProjectionOnASmallTmpfs) {
  ScratchDir scratch("binwatch-watch-tmpfs");
  const fs::path mnt = scratch.path() / "mnt";
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=64m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  {
    MariadbServer::Options o;
    o.binlog_dir = mnt / "binlog";
    o.max_binlog_size = 8 << 20;
    MariadbServer db(o);
    db.exec("CREATE DATABASE app; CREATE TABLE app.fill (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT);"
            "CREATE TABLE app.burst (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)");
    const uint64_t reserve = 8 << 20;
    const int port = free_port();
    const fs::path config = scratch.path() / "binwatch.toml";
    std::ofstream(config) << config_text(db.binlog_dir(), scratch.path() / "state", port, db.socket(),
                                         "[partitions]\nsample_interval_ms = 1000\nshort_window_s = 10\n"
                                         "long_window_s = 30\nreserve_bytes = " + std::to_string(reserve) + "\n");
    Http http{port};
    Daemon d(config, scratch.path() / "daemon.log");
    ASSERT_TRUE(wait_for([&] { return http.status().has_value(); }, 10000)) << d.log();
    auto mount_of = [&](const json& s) -> std::optional<json> {
      for (const auto& p : s["partitions"])
        if (p["mount"] == mnt.string()) return p;
      return std::nullopt;
    };

    // Learn bytes per row, then open a transaction of 800 rows x 10 KB (not committed).
    db.exec("INSERT INTO app.burst (v) SELECT REPEAT('b', 10000) FROM app.seq_1_to_50");
    ASSERT_TRUE(wait_for([&] { auto s = http.status(); return s && (*s)["server"]["learned_bytes_per_row"] > 0; }, 5000));
    auto trx = db.connect();
    ASSERT_EQ(mysql_query(trx.get(), "BEGIN"), 0);
    const auto burst_t0 = Clock::now();
    ASSERT_EQ(mysql_query(trx.get(), "INSERT INTO app.burst (v) SELECT REPEAT('b', 10000) FROM app.seq_1_to_800"), 0);
    const auto issued = Clock::now();
    double burst_seen_s = -1, pending = 0;
    wait_for([&] {
      auto s = http.status();
      if (!s) return false;
      auto p = mount_of(*s);
      if (!p || (*p)["pending_burst_bytes"].get<double>() < 4e6) return false;
      pending = (*p)["pending_burst_bytes"];
      if (!(*p)["time_to_full_seconds"].is_null()) {
        EXPECT_LT((*p)["time_to_full_with_burst_seconds"].get<double>(), (*p)["time_to_full_seconds"].get<double>());
      }
      burst_seen_s = std::chrono::duration<double>(Clock::now() - issued).count();
      return true;
    }, 6000);
    std::cout << "[ measured ] burst: statement took "
              << std::chrono::duration<double>(issued - burst_t0).count() << " s; pending " << pending / 1e6
              << " MB visible " << burst_seen_s << " s after it returned\n";
    ASSERT_GE(burst_seen_s, 0) << d.log();
    EXPECT_LE(burst_seen_s, 2.0 + 0.3 + 0.5);  // two sampling periods + the SQL poll + scrape slack
    // Commit it and compare the estimate with the binlog bytes that really landed.
    const double before_commit = (*http.status())["total_bytes"];
    ASSERT_EQ(mysql_query(trx.get(), "COMMIT"), 0);
    trx.reset();
    double landed = 0;
    EXPECT_TRUE(wait_for([&] {
      auto s = http.status();
      if (!s || (*s)["lag_bytes"] != 0) return false;
      landed = (*s)["total_bytes"].get<double>() - before_commit;
      return landed > 0;
    }, 5000));
    std::cout << "[ measured ] burst: estimated " << pending << " B before commit, " << landed
              << " B landed at commit: error " << 100 * (pending - landed) / landed << "%\n";
    EXPECT_NEAR(pending, landed, 0.1 * landed);

    // Steady growth: ~0.8 MB/s of binlog until the partition reaches the reserve (~60 s). The
    // committed burst above sits in the short window (10 s) for its first 10 s: marks start after it.
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      auto c = db.connect();
      auto next = Clock::now();
      while (!stop.load()) {
        mysql_query(c.get(), "INSERT INTO app.fill (v) SELECT REPEAT('f', 10000) FROM app.seq_1_to_8");
        next += std::chrono::milliseconds(100);
        std::this_thread::sleep_until(next);
      }
    });
    struct Join {
      std::atomic<bool>& s;
      std::thread& t;
      ~Join() { s.store(true); if (t.joinable()) t.join(); }
    } join{stop, writer};
    const auto t0 = Clock::now();
    std::map<int, double> predicted_full_at;  // seconds since t0 -> predicted full time (since t0)
    std::map<int, double> growth_at;
    double full_at = -1;
    while (Clock::now() - t0 < std::chrono::seconds(90)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      const double now = std::chrono::duration<double>(Clock::now() - t0).count();
      if (avail_bytes(mnt) <= reserve) {
        full_at = now;
        break;
      }
      for (int mark : {12, 30, 50}) {
        if (now >= mark && !predicted_full_at.contains(mark)) {
          auto s = http.status();
          auto p = s ? mount_of(*s) : std::nullopt;
          if (p && !(*p)["time_to_full_seconds"].is_null()) {
            predicted_full_at[mark] = now + (*p)["time_to_full_seconds"].get<double>();
            growth_at[mark] = (*p)["growth_bytes_per_second"]["used"];
          }
        }
      }
    }
    stop.store(true);
    writer.join();
    ASSERT_GT(full_at, 0) << "the partition did not reach the reserve in 90 s\n" << d.log();
    for (const auto& [mark, predicted] : predicted_full_at) {
      const double err = (predicted - full_at) / (full_at - mark);
      std::cout << "[ measured ] steady growth: after " << mark << " s the projection said full at " << predicted
                << " s (growth " << growth_at[mark] / 1e6 << " MB/s), reality " << full_at
                << " s: error " << 100 * err << "% of the remaining time\n";
      EXPECT_LT(std::abs(err), 0.25);
    }
    EXPECT_EQ(predicted_full_at.size(), 3u);
    d.stop(SIGTERM);
    db.exec("PURGE BINARY LOGS BEFORE NOW() + INTERVAL 1 DAY");  // free the tmpfs before the server stops
  }
}

}  // namespace

// A local webhook receiver: records every POSTed body (one notification each; no digests at the
// rate limits the test configures).
class HookReceiver {
 public:
  HookReceiver() : m_port(free_port()) {
    m_server.Post(R"(/(\w+))", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(m_mutex);
      json j = json::parse(req.body, nullptr, false);
      if (!j.is_discarded()) {
        j["_path"] = req.matches[1].str();
        m_received.push_back(std::move(j));
      }
      res.status = 202;
    });
    if (!m_server.bind_to_port("127.0.0.1", m_port)) throw std::runtime_error("cannot bind the webhook receiver");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
  }
  ~HookReceiver() {
    m_server.stop();
    m_thread.join();
  }
  [[nodiscard]] int port() const { return m_port; }
  // Messages to `path` matching kind/subject/severity (empty: any).
  std::vector<json> find(const std::string& path, const std::string& kind, const std::string& subject,
                         const std::string& severity) const {
    std::lock_guard lock(m_mutex);
    std::vector<json> out;
    for (const auto& j : m_received)
      if (j.value("_path", "") == path && (kind.empty() || j.value("kind", "") == kind) &&
          (subject.empty() || j.value("subject", "") == subject) &&
          (severity.empty() || j.value("severity", "") == severity))
        out.push_back(j);
    return out;
  }
  [[nodiscard]] std::string dump() const {
    std::lock_guard lock(m_mutex);
    std::string s;
    for (const auto& j : m_received)
      s += j.value("_path", "") + " " + j.value("kind", "") + " " + j.value("subject", "") + " " +
           j.value("severity", "") + " tier " + std::to_string(j.value("tier", 0)) + "\n";
    return s;
  }

 private:
  int m_port;
  httplib::Server m_server;
  std::thread m_thread;
  mutable std::mutex m_mutex;
  std::vector<json> m_received;
};

// SoundCloud's missed page: an acknowledged disk alert on one partition must not silence another
// partition, a worse severity, or outlive its expiry. Two tmpfs mounts: A (a data folder) and B
// (the binlog). Real daemon, real server filling B, a local webhook receiver.
TEST_F(WatchIntegration, AcknowledgedAlertOnOneMountNeverSilencesAnother) {
  ScratchDir scratch("binwatch-alerts");
  const fs::path a = scratch.path() / "a", b = scratch.path() / "b";
  fs::create_directories(a);
  fs::create_directories(b);
  if (::mount("tmpfs", a.c_str(), "tmpfs", 0, "size=64m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
  struct Unmount {
    std::vector<fs::path> p;
    ~Unmount() {
      for (const auto& x : p) ::umount2(x.c_str(), MNT_DETACH);
    }
  } unmount{{a}};
  ASSERT_EQ(::mount("tmpfs", b.c_str(), "tmpfs", 0, "size=64m"), 0) << std::strerror(errno);
  unmount.p.push_back(b);

  MariadbServer::Options o;
  o.binlog_dir = b / "binlog";
  o.max_binlog_size = 8 << 20;
  MariadbServer db(o);
  db.exec("CREATE DATABASE app; CREATE TABLE app.fill (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)");

  HookReceiver hooks;
  const fs::path policy = scratch.path() / "alerts.toml";
  std::ofstream(policy) << "[ack]\ndefault_ttl = \"30m\"\nmax_ttl = \"1h\"\n"
                           "[[ladder]]\nname = \"default\"\nrepeat = \"0s\"\n"
                           "  [[ladder.tier]]\n  after = \"0s\"\n  receivers = [\"hook\"]\n"
                           "  [[ladder.tier]]\n  after = \"1h\"\n  receivers = [\"hook2\"]\n"
                           "[[rule]]\nname = \"partition-free\"\nkind = \"threshold\"\n"
                           "metric = \"binwatch_partition_avail_bytes\"\n"
                           "subjects = [\"" << a.string() << "\", \"" << b.string() << "\"]\n"
                           "summary = \"{subject}: {value} bytes free ({band})\"\n"
                           "  [[rule.band]]\n  severity = \"warning\"\n  below = " << (42 << 20) << "\n"
                           "  [[rule.band]]\n  severity = \"critical\"\n  below = " << (20 << 20) << "\n";
  const fs::path token_file = scratch.path() / "token";
  const std::string token = "t0k3n-for-the-alert-api-0123456789";
  std::ofstream(token_file) << token << "\n";
  fs::permissions(token_file, fs::perms::owner_read | fs::perms::owner_write);

  const int port = free_port();
  const fs::path config = scratch.path() / "binwatch.toml";
  std::ostringstream extra;
  extra << "[partitions]\nsample_interval_ms = 300\n[[partitions.mount]]\npath = \"" << a.string()
        << "\"\nrole = \"data\"\n"
        << "[alerts]\npolicy = \"" << policy.string() << "\"\ntoken_file = \"" << token_file.string()
        << "\"\ninterval_ms = 300\n";
  for (const char* name : {"hook", "hook2"})
    extra << "[[alerts.receiver]]\nname = \"" << name << "\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:"
          << hooks.port() << "/" << name << "\"\nrate_limit = 100\ntimeout_ms = 2000\n";
  std::ofstream(config) << config_text(db.binlog_dir(), scratch.path() / "state", port, db.socket(), extra.str());
  Http http{port};
  auto d = std::make_unique<Daemon>(config, scratch.path() / "daemon.log");
  ASSERT_TRUE(wait_for([&] { return http.status().has_value(); }, 10000)) << d->log();
  auto context = [&] { return d->log() + "\nreceived:\n" + hooks.dump(); };
  auto post = [&](const std::string& path, const std::string& body, const std::string& auth) {
    httplib::Client c("127.0.0.1", port);
    httplib::Headers h;
    if (!auth.empty()) h.emplace("Authorization", auth);
    return c.Post(path.c_str(), h, body, "application/json");
  };
  auto fill = [](const fs::path& file, size_t mib) {
    std::ofstream out(file, std::ios::binary | std::ios::app);
    const std::string chunk(1 << 20, 'f');
    for (size_t i = 0; i < mib; ++i) out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  };

  // 1. A fills past the warning line: A's warning pages.
  fill(a / "unrelated.dat", 26);
  ASSERT_TRUE(wait_for([&] { return !hooks.find("hook", "trigger", a.string(), "warning").empty(); }, 10000)) << context();
  const std::string a_warning = hooks.find("hook", "trigger", a.string(), "warning").front()["alert_id"];

  // The mutating endpoints: no token, a wrong token, a malformed body change nothing.
  auto r = post("/api/v1/alerts/" + a_warning + "/ack", R"({"reason":"x","by":"y"})", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401) << r->body;
  r = post("/api/v1/alerts/" + a_warning + "/ack", R"({"reason":"x","by":"y"})", "Bearer wrong-token-wrong-token-00");
  EXPECT_EQ(r->status, 401) << r->body;
  r = post("/api/v1/alerts/" + a_warning + "/ack", "{not json", "Bearer " + token);
  EXPECT_EQ(r->status, 400) << r->body;
  r = post("/api/v1/alerts/0000000000ff/ack", R"({"reason":"x","by":"y"})", "Bearer " + token);
  EXPECT_EQ(r->status, 404) << r->body;
  r = post("/api/v1/alerts/" + a_warning + "/ack", R"({"ttl":"3h","reason":"x","by":"y"})", "Bearer " + token);
  EXPECT_EQ(r->status, 422) << r->body;  // over the policy's max_ttl: refused, not shortened
  {
    const json alerts = json::parse(*http.get("/api/v1/alerts"));
    for (const auto& al : alerts["alerts"])
      if (al["id"] == a_warning) {
        EXPECT_EQ(al["state"], "firing");
      }
  }

  // 2. Acknowledge A's warning ("unrelated partition fill"), then kill -9 and restart: kept.
  r = post("/api/v1/alerts/" + a_warning + "/ack", R"({"ttl":"30m","reason":"unrelated cleanup","by":"dba"})",
           "Bearer " + token);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(d->stop(SIGKILL), 128 + SIGKILL);
  d = std::make_unique<Daemon>(config, scratch.path() / "daemon.log");
  ASSERT_TRUE(wait_for([&] { return http.get("/api/v1/alerts").has_value(); }, 10000)) << context();
  {
    const json alerts = json::parse(*http.get("/api/v1/alerts"));
    bool found = false;
    for (const auto& al : alerts["alerts"])
      if (al["id"] == a_warning) {
        found = true;
        EXPECT_EQ(al["state"], "acknowledged");
        EXPECT_EQ(al["ack"]["by"], "dba");
      }
    EXPECT_TRUE(found) << alerts.dump();
    EXPECT_NE(http.get("/metrics")->find("binwatch_alerts{rule=\"partition-free\",subject=\"" + a.string() +
                                         "\",severity=\"warning\",state=\"acknowledged\"} 1"),
              std::string::npos);
  }

  // 3. The binlog mount B fills: B pages at once, whatever A's acknowledgement says.
  for (int i = 0; i < 14; ++i)
    db.exec("INSERT INTO app.fill (v) SELECT REPEAT('x', 20000) FROM app.seq_1_to_100");
  ASSERT_TRUE(wait_for([&] { return !hooks.find("hook", "trigger", b.string(), "warning").empty(); }, 10000)) << context();

  // 4. A worsens to critical: pages despite the acknowledged warning.
  fill(a / "unrelated.dat", 20);
  ASSERT_TRUE(wait_for([&] { return !hooks.find("hook", "trigger", a.string(), "critical").empty(); }, 10000)) << context();
  EXPECT_EQ(hooks.find("hook2", "", a.string(), "").size(), 0u) << context();
  const std::string a_critical = hooks.find("hook", "trigger", a.string(), "critical").front()["alert_id"];
  EXPECT_NE(a_critical, a_warning);

  // 5. A short acknowledgement of A's critical expires while A is still full: it pages again and
  //    climbs to the next tier (hook2), which a fresh alert would reach only after an hour.
  //    (Through the CLI, as an operator would.)
  ScratchDir cwd("binwatch-alerts-cli");
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  const auto acked = binwatch::test::run_process(
      BINWATCH_EXE, {"ack", a_critical, "--ttl", "2s", "--reason", "looking", "--by", "dba", "--url", url,
                     "--token-file", token_file.string()}, cwd.path());
  ASSERT_EQ(acked.exit_code, 0) << acked.err;
  EXPECT_NE(acked.out.find(a_critical + ": acknowledged"), std::string::npos) << acked.out;
  const auto listed = binwatch::test::run_process(BINWATCH_EXE, {"alerts", "--url", url}, cwd.path());
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("acknowledged by dba: unrelated cleanup"), std::string::npos) << listed.out;
  const auto refused = binwatch::test::run_process(
      BINWATCH_EXE, {"ack", "0000000000ff", "--reason", "x", "--url", url, "--token-file", token_file.string()},
      cwd.path());
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("HTTP 404"), std::string::npos) << refused.err;
  ASSERT_TRUE(wait_for([&] { return !hooks.find("hook2", "", a.string(), "critical").empty(); }, 10000)) << context();
  EXPECT_GE(hooks.find("hook2", "", a.string(), "critical").front().value("tier", 0u), 1u);

  // 6. A is cleaned up: everyone paged about it hears that it resolved.
  fs::remove(a / "unrelated.dat");
  EXPECT_TRUE(wait_for([&] {
    return !hooks.find("hook", "resolve", a.string(), "critical").empty() &&
           !hooks.find("hook2", "resolve", a.string(), "critical").empty();
  }, 10000)) << context();
  // No page about A's warning after its acknowledgement except the resolve.
  for (const auto& m : hooks.find("hook", "trigger", a.string(), "warning")) EXPECT_EQ(m["alert_id"], a_warning);
  EXPECT_EQ(hooks.find("hook", "trigger", a.string(), "warning").size(), 1u) << context();
  std::cout << "[ measured ] webhook messages:\n" << hooks.dump();
  EXPECT_EQ(d->stop(SIGTERM), 0);
}

// The net watcher inside the daemon (issue 8), on the hand-edited 3.13 snapshot whose conntrack
// table is full (count == max): the finding is in /metrics and /api/v1/status at once, and the
// alert policy's net rule (for = 0s here) fires on it.
TEST_F(WatchIntegration, NetFindingsReachMetricsStatusAndAlerts) {
  const fs::path snapshot = fs::path(BINWATCH_SOURCE_DIR) / "fixtures/procfs/linux-3.13-trusty-hand";
  if (!fs::exists(snapshot)) GTEST_SKIP() << snapshot << " is missing";
  ScratchDir scratch("binwatch-watch-net");
  MariadbServer db;
  const fs::path policy = scratch.path() / "alerts.toml";
  std::ofstream(policy) << "[ack]\ndefault_ttl = \"30m\"\nmax_ttl = \"1h\"\n"
                           "[[ladder]]\nname = \"default\"\nrepeat = \"0s\"\n"
                           "  [[ladder.tier]]\n  after = \"0s\"\n  receivers = [\"log\"]\n"
                           "[[rule]]\nname = \"net-counters\"\nkind = \"threshold\"\n"
                           "metric = \"binwatch_net_finding_severity\"\nsummary = \"network: {subject}\"\n"
                           "  [[rule.band]]\n  severity = \"warning\"\n  above = 1.5\n"
                           "  [[rule.band]]\n  severity = \"critical\"\n  above = 2.5\n";
  const int port = free_port();
  const fs::path config = scratch.path() / "binwatch.toml";
  std::ofstream(config) << config_text(db.binlog_dir(), scratch.path() / "state", port, db.socket(),
                                       "[net]\nproc_root = \"" + snapshot.string() + "\"\ninterval_ms = 500\n"
                                       "[alerts]\npolicy = \"" + policy.string() + "\"\ninterval_ms = 300\n");
  Http http{port};
  Daemon d(config, scratch.path() / "daemon.log");
  ASSERT_TRUE(wait_for([&] { return http.status().has_value(); }, 10000)) << d.log();
  std::string conntrack_rule;
  ASSERT_TRUE(wait_for([&] {
    auto s = http.status();
    if (!s || !s->contains("net")) return false;
    for (const auto& f : (*s)["net"]["findings"])
      if (f["counter"].get<std::string>().find("conntrack") != std::string::npos && f["severity"] == "critical") {
        conntrack_rule = f["rule"];
        return true;
      }
    return false;
  }, 10000)) << d.log() << "\n" << (http.status() ? (*http.status())["net"].dump() : std::string("none"));
  const std::string metrics = *http.get("/metrics");
  EXPECT_NE(metrics.find("binwatch_net_finding_severity{net_rule=\"" + conntrack_rule + "\""), std::string::npos);
  EXPECT_NE(metrics.find("binwatch_net_up 1"), std::string::npos);
  EXPECT_NE(metrics.find("binwatch_net_value{name=\"conntrack.count\"} 65536"), std::string::npos);
  // Rates from the second sample on, for watched counters only: the snapshot does not change, so
  // a watched counter's rate is exactly 0 (tests/watch_test.cpp checks non-zero rates).
  std::string with_rates;
  EXPECT_TRUE(wait_for([&] {
    with_rates = http.get("/metrics").value_or("");
    return with_rates.find("binwatch_net_rate{name=\"TcpExtListenOverflows\"} 0\n") != std::string::npos;
  }, 10000)) << with_rates;
  EXPECT_NE(with_rates.find("binwatch_net_rate{name=\"dev.eth0.tx_bytes\"} 0\n"), std::string::npos);
  EXPECT_EQ(with_rates.find("binwatch_net_rate{name=\"TcpInSegs\"}"), std::string::npos);
  if (fs::exists("/usr/bin/promtool")) {
    const fs::path scrape_file = scratch.path() / "scrape.txt";
    std::ofstream(scrape_file) << with_rates;
    const int rc = std::system(("/usr/bin/promtool check metrics < " + scrape_file.string() + " > " +
                                (scratch.path() / "promtool.out").string() + " 2>&1").c_str());
    EXPECT_EQ(rc, 0) << binwatch::test::slurp_file(scratch.path() / "promtool.out");
  }
  EXPECT_TRUE(wait_for([&] {
    auto a = http.get("/api/v1/alerts");
    if (!a) return false;
    const json doc = json::parse(*a);  // kept: a range-for over a temporary's member dangles
    for (const auto& al : doc["alerts"])
      if (al["rule"] == "net-counters" && al["subject"] == conntrack_rule && al["severity"] == "critical" &&
          al["state"] == "firing")
        return true;
    return false;
  }, 10000)) << *http.get("/api/v1/alerts") << d.log();
  EXPECT_EQ(d.stop(SIGTERM), 0);
}
