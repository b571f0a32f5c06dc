// Issue 6 against a private MariaDB with the real executable and real peers:
//  * levels from the binlog partition (a 64 MiB tmpfs, root only) drive the freno-compatible
//    /check API (curl, GET and HEAD), the flag files, pt-online-schema-change --pause-file (pauses
//    and resumes) and pt-archiver --sentinel (stops at critical);
//  * session control: dry run logs what it would kill and kills nothing; enforced, it kills the
//    bulk session and never binwatch's own connections or a replica's Binlog Dump thread;
//  * the SoundCloud replay (fat groups, counter-cache UPDATEs row by row): under `binwatch run`
//    the job is paused before the partition fills and resumes after PURGE BINARY LOGS; as a plain
//    tagged mariadb session it is killed at critical. The partition never fills and the server
//    keeps accepting other writes; the time from the level change to the pause or kill is
//    measured and must stay within 1 s;
//  * sessions launched through `binwatch run` (found by their TCP socket's owner and by the `_pid`
//    connection attribute) are bulk and killed at critical; the same clients outside it are not.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "support/binwatch_process.h"
#include "support/loopback.h"
#include "support/mariadb_server.h"
#include "support/tmpfs.h"
#include "support/watch_daemon.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using binwatch::test::free_port;
using binwatch::test::Http;
using binwatch::test::MariadbServer;
using binwatch::test::ScratchDir;
using binwatch::test::wait_for;
using binwatch::test::Tmpfs;
using binwatch::test::proc_state;
using Daemon = binwatch::test::WatchDaemon;
using Clock = std::chrono::steady_clock;

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool have(const char* tool) {
  return binwatch::test::run_command({"sh", "-c", std::string("command -v ") + tool}).exit_code == 0;
}

// A child process in the background, output in a file; never outlives the test.
class Background {
 public:
  Background(const std::vector<std::string>& args, const fs::path& log, const fs::path& stdin_file = "/dev/null")
      : m_log(log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, stdin_file.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<std::string> a = args;
    std::vector<char*> argv;
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    if (posix_spawnp(&m_pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) m_pid = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  // Kills it and every process group it leads or its children lead (the job of `binwatch run`,
  // perhaps SIGSTOPped: SIGKILL, then SIGCONT), so that a failed assertion leaves nothing behind.
  ~Background() {
    if (m_pid > 0 && !m_exit) {
      std::vector<pid_t> groups;
      if (::getpgid(m_pid) == m_pid) groups.push_back(m_pid);
      std::ifstream in("/proc/" + std::to_string(m_pid) + "/task/" + std::to_string(m_pid) + "/children");
      for (pid_t c; in >> c;)
        if (::getpgid(c) == c) groups.push_back(c);
      for (const pid_t g : groups) {
        ::kill(-g, SIGKILL);
        ::kill(-g, SIGCONT);
      }
      ::kill(m_pid, SIGKILL);
      ::kill(m_pid, SIGCONT);
      int st = 0;
      ::waitpid(m_pid, &st, 0);
    }
  }
  [[nodiscard]] pid_t pid() const { return m_pid; }
  // The exit code (128 + signal) once it has ended, else nullopt. Never blocks.
  std::optional<int> exited() {
    if (m_exit) return m_exit;
    int st = 0;
    if (m_pid > 0 && ::waitpid(m_pid, &st, WNOHANG) == m_pid)
      m_exit = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return m_exit;
  }
  std::optional<int> wait(int ms) {
    wait_for([&] { return exited().has_value(); }, ms);
    return exited();
  }
  [[nodiscard]] std::string log() const { return binwatch::test::slurp_file(m_log); }

 private:
  pid_t m_pid = -1;
  std::optional<int> m_exit;
  fs::path m_log;
};

// The children of a process (to find the job binwatch run started).
std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t c;
  while (in >> c) out.push_back(c);
  return out;
}

// A server whose binlogs (4 MiB files, so that a purge frees space) live on the tmpfs.
MariadbServer::Options binlog_on(const Tmpfs& fsys) {
  MariadbServer::Options o;
  o.binlog_dir = fsys.mnt / "binlog";
  o.max_binlog_size = 4 << 20;
  return o;
}

// Ballast on the partition: sets its free share to about `percent` (tmpfs allocates on fallocate).
void set_free_percent(const fs::path& mnt, double percent) {
  const fs::path ballast = mnt / "ballast";
  std::error_code ec;
  const uint64_t have = fs::exists(ballast, ec) ? fs::file_size(ballast, ec) : 0;
  const double size = static_cast<double>(binwatch::test::size_bytes(mnt));
  const double want_avail = size * percent / 100.0;
  const double delta = static_cast<double>(binwatch::test::avail_bytes(mnt)) - want_avail;  // > 0: add ballast
  const double next = std::max(0.0, static_cast<double>(have) + delta);
  const int fd = ::open(ballast.c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  if (next < static_cast<double>(have)) {
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(next)), 0) << std::strerror(errno);
  } else if (next > 0) {
    ASSERT_EQ(::posix_fallocate(fd, 0, static_cast<off_t>(next)), 0);
  }
  ::close(fd);
}

// Audit records of one event kind.
std::vector<json> audit(const fs::path& state, const std::string& event) {
  std::vector<json> out;
  std::ifstream in(state / "throttle-audit.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("event", "") == event) out.push_back(j);
  }
  return out;
}

// The first level change to `to` at or after `since_ms` (unix ms), or nullopt.
std::optional<int64_t> level_change_at(const fs::path& state, const std::string& to, int64_t since_ms) {
  for (const auto& r : audit(state, "level"))
    if (r["to"] == to && r["at_ms"].get<int64_t>() >= since_ms) return r["at_ms"].get<int64_t>();
  return std::nullopt;
}

struct CheckResult {
  int status = 0;
  json body;
};
CheckResult check(int port, const std::string& app) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2);
  c.set_read_timeout(2);
  auto r = c.Get(("/check/" + app).c_str());
  if (!r) return {};
  return {r->status, json::parse(r->body, nullptr, false)};
}

std::string level_of(const Http& http) {
  auto s = http.status();
  return s && s->contains("throttle") ? (*s)["throttle"]["level"].get<std::string>() : std::string();
}

std::string config_text(const fs::path& binlog_dir, const fs::path& state, int port, const std::string& socket,
                        const std::string& extra) {
  std::ostringstream c;
  c << "[source]\nbinlog_dir = \"" << binlog_dir.string() << "\"\nstart = \"end\"\npoll_interval_ms = 100\n"
    << "[state]\ndir = \"" << state.string() << "\"\ncheckpoint_interval_ms = 500\n"
    << "[http]\nlisten = \"127.0.0.1:" << port << "\"\n"
    << "[mysql]\nsocket = \"" << socket << "\"\npoll_interval_ms = 300\ntimeout_s = 2\n"
    << "[partitions]\nsample_interval_ms = 200\nshort_window_s = 3\nlong_window_s = 10\nreserve_bytes = 1048576\n"
    << "[net]\nenabled = false\n" << extra;
  return c.str();
}

// Levels on the free share only: tests move them with ballast, whatever the binlog does.
constexpr const char* kFreePolicy = R"(
hold = "1s"
[[level]]
name = "throttle"
free_below_percent = 70
release_free_above_percent = 72
cooperative = "throttle"
ratio = 0.5
[[level]]
name = "pause"
free_below_percent = 50
release_free_above_percent = 52
cooperative = "pause"
[[level]]
name = "critical"
free_below_percent = 30
release_free_above_percent = 32
cooperative = "stop"
sessions = "kill_connection"
[[bulk]]
name = "tagged"
tag = true
[flags]
ghost_throttle_at = "throttle"
pt_osc_pause_at = "pause"
pt_archiver_sentinel_at = "critical"
[sessions]
enforce = true
cooldown = "200ms"
)";

class ThrottleIntegration : public ::testing::Test {
 protected:
  void SetUp() override { BINWATCH_REQUIRE_MARIADB(); }
};

TEST_F(ThrottleIntegration, LevelsDriveCheckApiFlagFilesPtOscAndPtArchiver) {
  if (!have("curl") || !have("pt-online-schema-change") || !have("pt-archiver"))
    GTEST_SKIP() << "needs curl and percona-toolkit (scripts/install-deps.sh installs them)";
  ScratchDir scratch("binwatch-throttle-levels");
  Tmpfs fsys(scratch.path() / "mnt", "64m");
  if (!fsys.mounted) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
  MariadbServer db(binlog_on(fsys));
  db.exec("CREATE DATABASE app; CREATE TABLE app.osc (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100));"
          "INSERT INTO app.osc (v) SELECT CONCAT('row', seq) FROM app.seq_1_to_3000;"
          "CREATE TABLE app.arch (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100));"
          "INSERT INTO app.arch (v) SELECT CONCAT('old', seq) FROM app.seq_1_to_5000;"
          "CREATE TABLE app.arch2 (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100));"
          "INSERT INTO app.arch2 (v) SELECT CONCAT('old', seq) FROM app.seq_1_to_1000");

  const fs::path state = scratch.path() / "state", flags = scratch.path() / "flags";
  fs::create_directories(flags);
  const fs::path ghost = flags / "gh-ost.throttle", pause = flags / "pt-osc.pause", sentinel = flags / "pt-archiver.sentinel";
  std::ofstream(scratch.path() / "throttle.toml") << kFreePolicy;
  const fs::path token = scratch.path() / "api.token";
  std::ofstream(token) << "test-token-0123456789abcdef\n";
  fs::permissions(token, fs::perms::owner_read | fs::perms::owner_write);
  const int port = free_port();
  std::ofstream(scratch.path() / "binwatch.toml")
      << config_text(db.binlog_dir(), state, port, db.socket(),
                     "[alerts]\ntoken_file = \"" + token.string() + "\"\n"
                     "[throttle]\npolicy = \"" + (scratch.path() / "throttle.toml").string() + "\"\n"
                     "ghost_flag_file = \"" + ghost.string() + "\"\npt_osc_pause_file = \"" + pause.string() +
                     "\"\npt_archiver_sentinel = \"" + sentinel.string() + "\"\nsession_interval_ms = 200\n");
  Http http{port};
  Daemon d(scratch.path() / "binwatch.toml", scratch.path() / "daemon.log");
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto curl_code = [&](const std::string& path, bool head) {
    std::vector<std::string> args{"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}"};
    if (head) args.push_back("-I");
    args.push_back(url + path);
    return binwatch::test::run_command(args).output;
  };
  ASSERT_TRUE(wait_for([&] { return check(port, "cleanup").status == 200; }, 10000)) << d.log();
  EXPECT_EQ(curl_code("/check/cleanup", false), "200");
  EXPECT_EQ(curl_code("/check/cleanup", true), "200") << "HEAD, as gh-ost --throttle-http asks";
  EXPECT_EQ(curl_code("/check/cleanup/mysql/main", false), "200");
  EXPECT_FALSE(fs::exists(ghost) || fs::exists(pause) || fs::exists(sentinel));

  // pt-archiver purges slowly from here on; it does not ask /check, only its sentinel stops it.
  Background arch({"pt-archiver", "--source", "h=localhost,S=" + db.socket() + ",u=root,D=app,t=arch,A=utf8mb4", "--purge",
                   "--where", "1=1", "--limit", "20", "--commit-each", "--why-quit", "--sleep", "1", "--sentinel", sentinel.string()},
                  scratch.path() / "pt-archiver.log");

  // Throttle (free < 70%): about half of the checks refused, every answer says throttle 0.5;
  // only gh-ost's flag file exists.
  set_free_percent(fsys.mnt, 62);
  ASSERT_TRUE(wait_for([&] { return level_of(http) == "throttle"; }, 5000)) << d.log();
  int refused = 0;
  for (int i = 0; i < 40; ++i) {
    auto c = check(port, "cleanup");
    EXPECT_EQ(c.body["Action"], "throttle");
    EXPECT_EQ(c.body["Ratio"], 0.5);
    refused += c.status == 429;
  }
  EXPECT_NEAR(refused, 20, 2);
  EXPECT_TRUE(wait_for([&] { return fs::exists(ghost); }, 2000));
  EXPECT_FALSE(fs::exists(pause));

  // Pause (free < 50%): every check refused, GET and HEAD; pt-osc's pause file appears.
  set_free_percent(fsys.mnt, 45);
  ASSERT_TRUE(wait_for([&] { return level_of(http) == "pause"; }, 5000)) << d.log();
  auto c = check(port, "cleanup");
  EXPECT_EQ(c.status, 429);
  EXPECT_EQ(c.body["Action"], "pause");
  EXPECT_NE(c.body["Message"].get<std::string>().find("% free"), std::string::npos) << c.body.dump();
  EXPECT_EQ(curl_code("/check/cleanup", true), "429");
  ASSERT_TRUE(wait_for([&] { return fs::exists(pause); }, 2000));
  EXPECT_TRUE(fs::exists(ghost));
  EXPECT_FALSE(fs::exists(sentinel));

  // A client that honours /check: a curl loop waits for 200.
  const fs::path loop_log = scratch.path() / "curl-loop.log";
  Background loop({"sh", "-c",
                   "while :; do c=$(curl -s -o /dev/null -w '%{http_code}' " + url +
                       "/check/cleanup); echo $c; [ \"$c\" = 200 ] && exit 0; sleep 0.1; done"},
                  loop_log);
  // pt-online-schema-change with --pause-file: it looks at the file before every chunk and, while
  // it exists, sleeps 60 s between looks (hard-coded in pt-osc's NibbleIterator).
  const std::string dsn = "h=localhost,S=" + db.socket() + ",u=root,D=app,t=osc";
  const auto osc_started = Clock::now();
  Background osc({"pt-online-schema-change", "--alter", "ADD COLUMN extra INT", "--execute", "--pause-file",
                  pause.string(), "--chunk-size", "200", "--recursion-method", "none", "--set-vars",
                  "lock_wait_timeout=5", dsn},
                 scratch.path() / "pt-osc.log");
  EXPECT_TRUE(wait_for([&] { return osc.log().find("because " + pause.string() + " exists") != std::string::npos; }, 20000))
      << osc.log();
  // pt-archiver with binwatch's plugin (contrib/pt-archiver) asks /check before each row: it
  // does not purge while paused.
  ::setenv("PERL5LIB", binwatch::test::source_path("contrib/pt-archiver").c_str(), 1);
  ::setenv("BINWATCH_URL", url.c_str(), 1);
  ::setenv("BINWATCH_APP", "pt-archiver-plugged", 1);
  Background plugged({"pt-archiver", "--source",
                      "h=localhost,S=" + db.socket() + ",u=root,D=app,t=arch2,A=utf8mb4,m=BinwatchThrottle", "--purge",
                      "--where", "1=1", "--limit", "50", "--commit-each", "--why-quit", "--no-safe-auto-increment"},
                     scratch.path() / "pt-archiver-plugged.log");
  auto arch2_rows = [&] { return std::stoi(db.query("SELECT COUNT(*) FROM app.arch2")[0][0].value_or("0")); };
  EXPECT_TRUE(wait_for([&] { return plugged.log().find("pausing") != std::string::npos; }, 10000)) << plugged.log();
  auto extra_columns = [&] {
    return db.query("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='app' AND TABLE_NAME='osc' "
                    "AND COLUMN_NAME='extra'")[0][0].value_or("");
  };

  // pt-archiver (running since before the pause: it does not look at /check) stops when critical
  // (free < 30%) creates its sentinel; rows remain. Meanwhile pt-osc and the curl loop wait.
  EXPECT_TRUE(wait_for([&] { return std::stoi(db.query("SELECT COUNT(*) FROM app.arch")[0][0].value_or("0")) < 5000; },
                       10000)) << "pt-archiver purged nothing: " << arch.log();
  EXPECT_FALSE(arch.exited()) << arch.log();
  set_free_percent(fsys.mnt, 25);
  ASSERT_TRUE(wait_for([&] { return fs::exists(sentinel); }, 5000)) << d.log();
  EXPECT_EQ(check(port, "cleanup").body["Action"], "stop");
  ASSERT_TRUE(arch.wait(10000).has_value()) << arch.log();
  EXPECT_NE(arch.log().find("Exiting because sentinel file " + sentinel.string() + " exists"), std::string::npos)
      << arch.log();
  const int left = std::stoi(db.query("SELECT COUNT(*) FROM app.arch")[0][0].value_or("0"));
  EXPECT_GT(left, 0);
  std::cout << "[ measured ] pt-archiver stopped at the sentinel with " << left << " of 5000 rows left\n";
  EXPECT_FALSE(osc.exited()) << "pt-osc must wait while paused:\n" << osc.log();
  EXPECT_FALSE(loop.exited()) << loop.log();
  EXPECT_EQ(extra_columns(), "0");

  EXPECT_EQ(arch2_rows(), 1000) << "the plugged pt-archiver purged while paused:\n" << plugged.log();
  // Release (free 85% for the hold time): files removed, checks 200, the loop ends at once,
  // pt-osc at its next look and completes.
  set_free_percent(fsys.mnt, 85);
  ASSERT_TRUE(wait_for([&] { return level_of(http) == "ok"; }, 8000)) << d.log();
  EXPECT_TRUE(wait_for([&] { return !fs::exists(pause) && !fs::exists(ghost) && !fs::exists(sentinel); }, 2000));
  ASSERT_EQ(plugged.wait(30000), 0) << plugged.log();
  EXPECT_EQ(arch2_rows(), 0) << plugged.log();
  ASSERT_EQ(loop.wait(10000), 0) << loop.log();
  const std::string codes = loop.log();
  EXPECT_EQ(codes.rfind("429", 0), 0u) << codes;
  EXPECT_NE(codes.find("\n200"), std::string::npos) << codes;
  ASSERT_EQ(osc.wait(120000), 0) << osc.log();
  EXPECT_EQ(extra_columns(), "1");
  std::cout << "[ measured ] pt-online-schema-change: done "
            << std::chrono::duration<double>(Clock::now() - osc_started).count() << " s after it started paused\n";

  // freno's app throttling: token required; a throttled app is refused while others pass.
  EXPECT_EQ(curl_code("/throttle-app/cleanup/ttl/5/ratio/1", false), "401");
  EXPECT_EQ(check(port, "cleanup").status, 200);
  auto auth = binwatch::test::run_command({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                                           "Authorization: Bearer test-token-0123456789abcdef",
                                           url + "/throttle-app/cleanup/ttl/5/ratio/1"});
  EXPECT_EQ(auth.output, "200");
  EXPECT_EQ(check(port, "cleanup").status, 429);
  EXPECT_EQ(check(port, "other-app").status, 200);
  auto apps = json::parse(*http.get("/throttled-apps"));
  EXPECT_TRUE(apps.contains("cleanup")) << apps.dump();
  auth = binwatch::test::run_command({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                                      "Authorization: Bearer test-token-0123456789abcdef", url + "/unthrottle-app/cleanup"});
  EXPECT_EQ(auth.output, "200");
  EXPECT_EQ(check(port, "cleanup").status, 200);

  // Audit and metrics.
  const auto levels = audit(state, "level");
  ASSERT_GE(levels.size(), 4u);  // ok -> throttle -> pause -> critical -> ok
  EXPECT_EQ(levels.front()["to"], "throttle");
  EXPECT_TRUE(levels.front().contains("inputs"));
  EXPECT_GE(audit(state, "flag_created").size(), 3u);
  EXPECT_GE(audit(state, "flag_removed").size(), 3u);
  const std::string metrics = *http.get("/metrics");
  EXPECT_NE(metrics.find("binwatch_throttle_level 0"), std::string::npos);
  EXPECT_NE(metrics.find("binwatch_throttle_checks_total{app=\"cleanup\",status=\"429\"}"), std::string::npos);
  EXPECT_NE(metrics.find("binwatch_alerts{rule=\"bulk-jobs-throttled\""), std::string::npos)
      << "the throttle levels are raised as alerts";
}

TEST_F(ThrottleIntegration, DryRunKillsNothingAndOwnAndReplicationSessionsAreNeverKilled) {
  ScratchDir scratch("binwatch-throttle-sessions");
  MariadbServer primary;
  MariadbServer::Options ro;
  ro.server_id = 2;
  MariadbServer replica(ro);
  replica.replicate_from(primary);
  primary.exec("CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v INT)");
  auto dump_ids = [&] {
    std::vector<std::string> ids;
    for (const auto& r : primary.query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'"))
      ids.push_back(r[0].value_or(""));
    return ids;
  };
  ASSERT_TRUE(wait_for([&] { return dump_ids().size() == 1; }, 5000));
  const auto dump_before = dump_ids();

  // Critical always (free < 100%), every session of root is bulk: the worst case for collateral.
  auto policy = [](bool enforce) {
    return std::string(R"(
hold = "1s"
[[level]]
name = "critical"
free_below_percent = 100
cooperative = "stop"
sessions = "kill_connection"
[[bulk]]
name = "everyone"
user = "*"
[sessions]
cooldown = "100ms"
max_actions = 10
enforce = )") + (enforce ? "true" : "false") + "\n";
  };
  const fs::path state = scratch.path() / "state";
  const int port = free_port();
  Http http{port};
  auto start = [&](bool enforce, const std::string& name) {
    std::ofstream(scratch.path() / "throttle.toml") << policy(enforce);
    std::ofstream(scratch.path() / "binwatch.toml")
        << config_text(primary.binlog_dir(), state, port, primary.socket(),
                       "[throttle]\npolicy = \"" + (scratch.path() / "throttle.toml").string() +
                           "\"\nsession_interval_ms = 200\n");
    return std::make_unique<Daemon>(scratch.path() / "binwatch.toml", scratch.path() / (name + ".log"));
  };

  // A bulk session: a plain client with an open write transaction.
  auto victim = primary.connect();
  ASSERT_EQ(mysql_query(victim.get(), "BEGIN"), 0);
  ASSERT_EQ(mysql_query(victim.get(), "INSERT INTO app.t VALUES (1, 1), (2, 2)"), 0);
  const uint64_t victim_id = mysql_thread_id(victim.get());
  auto alive = [&] {
    if (mysql_query(victim.get(), "SELECT 1") != 0) return false;
    mysql_free_result(mysql_store_result(victim.get()));
    return true;
  };

  {
    auto d = start(false, "dry-run");
    ASSERT_TRUE(wait_for([&] {
      for (const auto& r : audit(state, "session_action"))
        if (r["session"]["id"] == victim_id && r["mode"] == "dry_run") return true;
      return false;
    }, 10000)) << d->log();
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // several more rounds
    EXPECT_TRUE(alive()) << "dry run killed the session: " << mysql_error(victim.get());
    EXPECT_NE(d->log().find("would kill_connection session " + std::to_string(victim_id)), std::string::npos);
    const auto m = http.get("/metrics");
    ASSERT_TRUE(m);
    EXPECT_NE(m->find("binwatch_throttle_session_actions_total{action=\"kill_connection\",mode=\"dry_run\"}"),
              std::string::npos);
    for (const auto& r : audit(state, "session_action")) EXPECT_EQ(r["mode"], "dry_run");
    d->stop(SIGTERM);
  }

  const size_t audited_before = audit(state, "session_action").size();
  auto d = start(true, "enforced");
  ASSERT_TRUE(wait_for([&] { return !alive(); }, 10000)) << d->log();
  const unsigned err = mysql_errno(victim.get());
  EXPECT_TRUE(err == 2006 || err == 2013 || err == 1927) << err << " " << mysql_error(victim.get());
  // Several more rounds with no other client session open (the rule matches every root session):
  // binwatch's own connections and the replica's Binlog Dump thread stay.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  d->stop(SIGTERM);
  primary.reconnect();  // the harness's own root session matched the rule too
  EXPECT_EQ(dump_ids(), dump_before) << "the replica's Binlog Dump thread was killed";
  primary.exec("INSERT INTO app.t VALUES (3, 3)");
  EXPECT_TRUE(wait_for([&] { return !replica.query("SELECT v FROM app.t WHERE id = 3").empty(); }, 5000))
      << "replication must keep working";
  const std::string log = d->log();
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("session control: connected"), 1u) << "binwatch's own session control connection was killed\n" << log;
  EXPECT_EQ(count("control plane: connected"), 1u) << "binwatch's SQL poller connection was killed\n" << log;
  EXPECT_NE(log.find("KILL CONNECTION " + std::to_string(victim_id)), std::string::npos) << log;
  const auto actions = audit(state, "session_action");
  ASSERT_GT(actions.size(), audited_before);
  for (size_t i = audited_before; i < actions.size(); ++i) {
    EXPECT_EQ(actions[i]["mode"], "enforced");
    EXPECT_EQ(actions[i]["session"]["command"].get<std::string>().find("Binlog Dump"), std::string::npos);
  }
  EXPECT_EQ(actions[audited_before]["session"]["id"], victim_id);
  EXPECT_EQ(actions[audited_before]["session"]["rows_modified"], 2);
}


// The SoundCloud job: fat groups (5-50 KB descriptions), memberships and posts pointing at them,
// destroyed row by row with counter-cache UPDATEs of the group (each one logs the whole fat row,
// before and after). Loaded with sql_log_bin = 0: only the job writes binlog.
void load_soundcloud(MariadbServer& db, int groups) {
  db.exec("CREATE DATABASE app; CREATE TABLE app.other (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20));"
          "CREATE TABLE app.groups (id INT PRIMARY KEY, name VARCHAR(100), description MEDIUMTEXT,"
          " posts_count INT, members_count INT, updated_at DATETIME(6));"
          "CREATE TABLE app.memberships (id INT AUTO_INCREMENT PRIMARY KEY, group_id INT, user_id INT, KEY (group_id));"
          "CREATE TABLE app.posts (id INT AUTO_INCREMENT PRIMARY KEY, group_id INT, body VARCHAR(200), KEY (group_id))");
  const std::string n = std::to_string(groups);
  db.exec("SET SESSION sql_log_bin = 0;"
          "INSERT INTO app.groups SELECT seq, CONCAT('group ', seq),"
          " REPEAT(MD5(seq), (5000 + (seq * 7919) % 45000) DIV 32), 10, 20, NOW(6) FROM app.seq_1_to_" + n + ";"
          "INSERT INTO app.memberships (group_id, user_id) SELECT g.seq, u.seq FROM app.seq_1_to_" + n +
          " g JOIN app.seq_1_to_20 u ORDER BY g.seq, u.seq;"
          "INSERT INTO app.posts (group_id, body) SELECT g.seq, CONCAT('post ', p.seq) FROM app.seq_1_to_" + n +
          " g JOIN app.seq_1_to_10 p ORDER BY g.seq, p.seq");
}

// Group.find(ids).each(&:destroy) as the ORM runs it: one statement per row, a short think time.
void write_soundcloud_job(const fs::path& file, int groups, const std::string& tag) {
  std::ofstream out(file);
  for (int g = 1; g <= groups; ++g) {
    const std::string id = std::to_string(g);
    for (int k = 0; k < 20; ++k) {
      out << "DELETE FROM app.memberships WHERE id = " << (g - 1) * 20 + k + 1 << tag << ";\n"
          << "UPDATE app.groups SET members_count = members_count - 1, updated_at = NOW(6) WHERE id = " << id << tag
          << ";\nDO SLEEP(0.01)" << tag << ";\n";
    }
    for (int k = 0; k < 10; ++k) {
      out << "DELETE FROM app.posts WHERE id = " << (g - 1) * 10 + k + 1 << tag << ";\n"
          << "UPDATE app.groups SET posts_count = posts_count - 1, updated_at = NOW(6) WHERE id = " << id << tag
          << ";\nDO SLEEP(0.01)" << tag << ";\n";
    }
    out << "DELETE FROM app.groups WHERE id = " << id << tag << ";\n";
  }
}

TEST_F(ThrottleIntegration, SoundCloudReplayPausedUnderBinwatchRunAndKilledAsAPlainSession) {
  if (!have("mariadb")) GTEST_SKIP() << "needs the mariadb client";
  ScratchDir scratch("binwatch-throttle-soundcloud");
  Tmpfs fsys(scratch.path() / "mnt", "64m");
  if (!fsys.mounted) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
  MariadbServer db(binlog_on(fsys));
  const int groups = 300;
  load_soundcloud(db, groups);
  write_soundcloud_job(scratch.path() / "job.sql", groups, "");
  write_soundcloud_job(scratch.path() / "job-tagged.sql", groups, " /* binwatch:app=cleanup */");

  const fs::path state = scratch.path() / "state";
  std::ofstream(scratch.path() / "throttle.toml") << kFreePolicy;
  const int port = free_port();
  std::ofstream(scratch.path() / "binwatch.toml")
      << config_text(db.binlog_dir(), state, port, db.socket(),
                     "[throttle]\npolicy = \"" + (scratch.path() / "throttle.toml").string() +
                         "\"\nsession_interval_ms = 200\n");
  Http http{port};
  Daemon d(scratch.path() / "binwatch.toml", scratch.path() / "daemon.log");
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  ASSERT_TRUE(wait_for([&] { return check(port, "cleanup").status == 200; }, 10000)) << d.log();
  const uint64_t size = binwatch::test::size_bytes(fsys.mnt);
  auto purge = [&] {
    const std::string active = db.binlog_files().back().filename().string();
    db.exec("PURGE BINARY LOGS TO '" + active + "'");
  };

  // 1. Under binwatch run: paused before the partition fills, resumed after the purge.
  {
    const int64_t t0 = unix_ms();
    Background run({BINWATCH_EXE, "run", "--app", "cleanup", "--url", url, "--check-interval-ms", "100", "--",
                    "mariadb", "--no-defaults", "-S", db.socket(), "-u", "root", "app"},
                   scratch.path() / "run.log", scratch.path() / "job.sql");
    uint64_t min_avail = binwatch::test::avail_bytes(fsys.mnt);
    std::optional<int64_t> paused_at;
    pid_t job = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(90);
    while (Clock::now() < deadline && !run.exited()) {
      min_avail = std::min(min_avail, binwatch::test::avail_bytes(fsys.mnt));
      if (!job) {
        auto c = children_of(run.pid());
        if (!c.empty()) job = c.front();
      }
      if (job && proc_state(job) == 'T' && level_of(http) == "pause") {
        paused_at = unix_ms();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(paused_at) << "the job was not paused:\n" << run.log() << "\n" << d.log();
    const auto pause_level_at = level_change_at(state, "pause", t0);
    ASSERT_TRUE(pause_level_at);
    // Stays paused while the level holds: the partition stops growing.
    const uint64_t avail_paused = binwatch::test::avail_bytes(fsys.mnt);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    for (int i = 0; i < 10; ++i) min_avail = std::min(min_avail, binwatch::test::avail_bytes(fsys.mnt));
    EXPECT_EQ(proc_state(job), 'T') << run.log();
    EXPECT_GE(binwatch::test::avail_bytes(fsys.mnt) + (64u << 10), avail_paused) << "the binlog grew while the job was paused";
    db.exec("INSERT INTO app.other (v) VALUES ('still writable')");
    std::cout << "[ measured ] binwatch run: level pause at +" << *pause_level_at - t0 << " ms, job stopped "
              << *paused_at - *pause_level_at << " ms later (observed with a 20 ms poll); minimum free "
              << min_avail << " of " << size << " bytes (" << 100.0 * min_avail / size << "%)\n";
    EXPECT_LE(*paused_at - *pause_level_at, 1000) << "from the level change to the pause taking effect";
    EXPECT_GT(min_avail, 0u);
    EXPECT_NE(run.log().find("pausing 'cleanup'"), std::string::npos) << run.log();

    // PURGE BINARY LOGS: the level falls after the hold time and the job runs again.
    purge();
    const int64_t purged_at = unix_ms();
    ASSERT_TRUE(wait_for([&] { return level_of(http) == "ok" || level_of(http) == "throttle"; }, 10000)) << d.log();
    ASSERT_TRUE(wait_for([&] { return proc_state(job) != 'T'; }, 5000)) << run.log();
    std::cout << "[ measured ] binwatch run: resumed " << unix_ms() - purged_at << " ms after the purge (hold 1s)\n";
    const int before = std::stoi(db.query("SELECT COUNT(*) FROM app.memberships")[0][0].value_or("0"));
    EXPECT_TRUE(wait_for([&] {
      return std::stoi(db.query("SELECT COUNT(*) FROM app.memberships")[0][0].value_or("0")) < before;
    }, 5000)) << "the job makes progress again";
    ::kill(run.pid(), SIGTERM);
    const auto rc = run.wait(10000);
    ASSERT_TRUE(rc.has_value()) << run.log();
    EXPECT_EQ(*rc, 128 + SIGTERM) << "SIGTERM is forwarded to the job: " << run.log();
  }

  // 2. The same job as a plain tagged mariadb session: pause does not reach it, critical kills it.
  purge();
  ASSERT_TRUE(wait_for([&] { return level_of(http) == "ok"; }, 10000)) << d.log();
  {
    const int64_t t0 = unix_ms();
    Background plain({"mariadb", "--no-defaults", "--comments", "-S", db.socket(), "-u", "root", "app"},
                     scratch.path() / "plain.log", scratch.path() / "job-tagged.sql");
    uint64_t min_avail = binwatch::test::avail_bytes(fsys.mnt);
    std::optional<int64_t> exited_at;
    const auto deadline = Clock::now() + std::chrono::seconds(90);
    while (Clock::now() < deadline) {
      min_avail = std::min(min_avail, binwatch::test::avail_bytes(fsys.mnt));
      if (plain.exited()) {
        exited_at = unix_ms();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(exited_at) << "the session was not killed:\n" << d.log();
    EXPECT_NE(*plain.exited(), 0) << plain.log();
    const auto critical_at = level_change_at(state, "critical", t0);
    ASSERT_TRUE(critical_at) << plain.log() << "\n" << d.log();
    EXPECT_TRUE(level_change_at(state, "pause", t0)) << "the plain session ran on through the pause level";
    std::cout << "[ measured ] plain session: level critical at +" << *critical_at - t0 << " ms, client gone "
              << *exited_at - *critical_at << " ms later; minimum free " << min_avail << " of " << size << " bytes ("
              << 100.0 * min_avail / size << "%)\n";
    EXPECT_LE(*exited_at - *critical_at, 1000) << "from the level change to the kill taking effect";
    EXPECT_GT(min_avail, 0u);
    db.exec("INSERT INTO app.other (v) VALUES ('after the kill')");
    bool killed = false;
    for (const auto& r : audit(state, "session_action"))
      if (r["mode"] == "enforced" && r["action"] == "kill_connection" && r["session"]["app"] == "cleanup") killed = true;
    EXPECT_TRUE(killed) << d.log();
  }
}

// Sessions launched through `binwatch run` are bulk (rule binwatch_run) whatever they run: an
// untagged long INSERT ... SELECT of a mariadb client under `binwatch run` is classified by its
// process group (over TCP: the client socket's owner in /proc; over the unix socket: the `_pid`
// connection attribute, with performance_schema on) and killed at critical, where SIGSTOP of the
// client alone would not stop the statement on the server. The same clients not under
// `binwatch run` are not touched.
TEST_F(ThrottleIntegration, SessionsOfBinwatchRunAreBulkAndKilledAtCriticalOthersAreNot) {
  if (!have("mariadb") || !have("setsid")) GTEST_SKIP() << "needs the mariadb client and setsid";
  ScratchDir scratch("binwatch-throttle-run-sessions");
  Tmpfs fsys(scratch.path() / "mnt", "64m");
  if (!fsys.mounted) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
  auto opts = binlog_on(fsys);
  opts.extra = {"performance_schema=ON"};  // MariaDB's default is OFF: no `_pid` attribute then
  MariadbServer db(opts);
  ASSERT_EQ(db.query("SELECT @@performance_schema")[0][0].value_or(""), "1");
  db.exec("CREATE DATABASE app; CREATE TABLE app.t1 (id INT PRIMARY KEY, v INT); CREATE TABLE app.t2 LIKE app.t1;"
          "CREATE TABLE app.t3 LIKE app.t1; CREATE TABLE app.t4 LIKE app.t1");

  const fs::path state = scratch.path() / "state";
  std::ofstream(scratch.path() / "throttle.toml") << R"(
hold = "1s"
[[level]]
name = "critical"
free_below_percent = 30
release_free_above_percent = 32
cooperative = "stop"
sessions = "kill_connection"
[[bulk]]
name = "binwatch_run"
binwatch_run = true
[sessions]
enforce = true
cooldown = "100ms"
max_actions = 4
)";
  const int port = free_port();
  std::ofstream(scratch.path() / "binwatch.toml")
      << config_text(db.binlog_dir(), state, port, db.socket(),
                     "[throttle]\npolicy = \"" + (scratch.path() / "throttle.toml").string() +
                         "\"\nsession_interval_ms = 200\n");
  Http http{port};
  Daemon d(scratch.path() / "binwatch.toml", scratch.path() / "daemon.log");
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  ASSERT_TRUE(wait_for([&] { return check(port, "probe").status == 200; }, 10000)) << d.log();

  // One long write each (one row every 50 ms: it runs for minutes), untagged.
  auto insert = [](const std::string& table) {
    return "INSERT INTO app." + table + " SELECT seq, SLEEP(0.05) FROM app.seq_1_to_100000";
  };
  const std::vector<std::string> tcp = {"mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", std::to_string(db.port()),
                                        "-u", "root"};
  const std::vector<std::string> sock = {"mariadb", "--no-defaults", "-S", db.socket(), "-u", "root"};
  auto under_run = [&](const std::string& app, std::vector<std::string> client, const std::string& table) {
    std::vector<std::string> a = {BINWATCH_EXE, "run", "--app", app, "--url", url, "--check-interval-ms", "100", "--"};
    client.push_back("-e");
    client.push_back(insert(table));
    a.insert(a.end(), client.begin(), client.end());
    return a;
  };
  auto plain = [&](std::vector<std::string> client, const std::string& table) {
    client.push_back("-e");
    client.push_back(insert(table));
    return client;
  };
  Background run_tcp(under_run("bigjob-tcp", tcp, "t1"), scratch.path() / "run-tcp.log");
  Background run_sock(under_run("bigjob-socket", sock, "t2"), scratch.path() / "run-socket.log");
  Background plain_tcp(plain(tcp, "t3"), scratch.path() / "plain-tcp.log");
  // setsid: this one leads a process group of its own, as a job of binwatch run does; only its
  // parent (this test, not binwatch) tells them apart.
  std::vector<std::string> own_group = plain(sock, "t4");
  own_group.insert(own_group.begin(), "setsid");
  Background plain_sock(own_group, scratch.path() / "plain-socket.log");

  // The session of each client, by the table its statement writes.
  auto session_of = [&](const std::string& table) -> std::optional<uint64_t> {
    auto rows = db.query("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'INSERT INTO app." + table +
                         " %'");
    if (rows.empty()) return std::nullopt;
    return std::stoull(rows[0][0].value_or("0"));
  };
  ASSERT_TRUE(wait_for([&] { return session_of("t1") && session_of("t2") && session_of("t3") && session_of("t4"); },
                       10000))
      << run_tcp.log() << run_sock.log() << plain_tcp.log() << plain_sock.log();
  const uint64_t s1 = *session_of("t1"), s2 = *session_of("t2"), s3 = *session_of("t3"), s4 = *session_of("t4");

  // At level ok: both runs registered, their sessions (and only those) listed as bulk.
  auto bulk_listed = [&] {
    std::map<uint64_t, json> out;
    auto st = http.get("/api/v1/throttle");
    if (!st) return out;
    auto j = json::parse(*st, nullptr, false);
    if (j.is_discarded() || !j.contains("bulk_sessions")) return out;
    for (const auto& b : j["bulk_sessions"]) out[b["id"].get<uint64_t>()] = b;
    return out;
  };
  ASSERT_TRUE(wait_for([&] { return bulk_listed().size() == 2; }, 10000)) << d.log();
  // /check has no token: anyone may claim a process group. A claim for the plain client's group is
  // refused (its leader's parent is not binwatch) and counted.
  ASSERT_EQ(::getpgid(plain_sock.pid()), plain_sock.pid()) << "setsid made it a group leader";
  {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get("/check/spoofed", {{"X-Binwatch-Run", "pgid=" + std::to_string(plain_sock.pid())}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  {
    const auto m = http.get("/metrics");
    ASSERT_TRUE(m) << d.log();
    EXPECT_NE(m->find("binwatch_throttle_run_refusals_total{reason=\"parent_not_binwatch\"} 1\n"), std::string::npos)
        << *m;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a few more polls
  auto listed = bulk_listed();
  ASSERT_EQ(listed.size(), 2u) << d.log();
  ASSERT_TRUE(listed.count(s1) && listed.count(s2)) << json(listed).dump();
  EXPECT_EQ(listed[s1]["app"], "bigjob-tcp");
  EXPECT_EQ(listed[s1]["rule"], "binwatch_run");
  EXPECT_EQ(listed[s1]["client_via"], "tcp");
  EXPECT_EQ(listed[s2]["app"], "bigjob-socket");
  EXPECT_EQ(listed[s2]["client_via"], "_pid");
  const pid_t job_tcp = static_cast<pid_t>(listed[s1]["client_pgid"].get<int64_t>());
  const pid_t job_sock = static_cast<pid_t>(listed[s2]["client_pgid"].get<int64_t>());
  EXPECT_EQ(children_of(run_tcp.pid()), std::vector<pid_t>{job_tcp}) << "the job binwatch run started leads the group";
  EXPECT_EQ(children_of(run_sock.pid()), std::vector<pid_t>{job_sock});
  EXPECT_EQ(audit(state, "run_registered").size(), 2u);
  EXPECT_TRUE(audit(state, "session_action").empty()) << "nothing is done at level ok";
  {
    const auto m = http.get("/metrics");
    ASSERT_TRUE(m) << d.log();
    EXPECT_NE(m->find("binwatch_throttle_runs 2\n"), std::string::npos) << *m;
  }

  // Critical: binwatch run stops the clients (SIGSTOP), which would leave their statements running
  // on the server; session control kills those sessions. The plain clients' sessions stay.
  const int64_t t0 = unix_ms();
  set_free_percent(fsys.mnt, 25);
  ASSERT_TRUE(wait_for([&] { return !session_of("t1") && !session_of("t2"); }, 10000)) << d.log();
  const int64_t seen_gone_at = unix_ms();
  const auto critical_at = level_change_at(state, "critical", t0);
  ASSERT_TRUE(critical_at) << d.log();
  // The kills themselves, by the daemon's clock: the audit's session_action records (written when
  // each KILL CONNECTION has returned; at_ms is taken just before it is sent). The SQL polls above
  // only confirm the sessions are gone; their 50 ms sleeps are not part of the measurement.
  std::map<uint64_t, int64_t> first_kill_at;
  for (const auto& r : audit(state, "session_action")) {
    const auto id = r["session"]["id"].get<uint64_t>();
    const auto at = r["at_ms"].get<int64_t>();
    if ((id == s1 || id == s2) && (!first_kill_at.count(id) || at < first_kill_at[id])) first_kill_at[id] = at;
  }
  ASSERT_EQ(first_kill_at.size(), 2u) << d.log();
  const int64_t last_kill_at = std::max(first_kill_at[s1], first_kill_at[s2]);
  std::cout << "[ measured ] binwatch run sessions: level critical at +" << *critical_at - t0
            << " ms, both KILL CONNECTIONs sent " << last_kill_at - *critical_at
            << " ms later (audit); seen gone by SQL polls " << seen_gone_at - *critical_at << " ms later\n";
  EXPECT_LE(last_kill_at - *critical_at, 1000) << "from the level change to the kills";
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // several more rounds at critical
  EXPECT_EQ(session_of("t3"), s3) << "a plain TCP client is not bulk\n" << d.log();
  EXPECT_EQ(session_of("t4"), s4) << "a plain unix-socket client is not bulk\n" << d.log();
  std::set<uint64_t> killed;
  for (const auto& r : audit(state, "session_action")) {
    EXPECT_EQ(r["mode"], "enforced");
    EXPECT_EQ(r["action"], "kill_connection");
    EXPECT_EQ(r["session"]["rule"], "binwatch_run") << r.dump();
    killed.insert(r["session"]["id"].get<uint64_t>());
  }
  EXPECT_EQ(killed, (std::set<uint64_t>{s1, s2}));
  EXPECT_NE(d.log().find("KILL CONNECTION " + std::to_string(s1)), std::string::npos);
  db.exec("INSERT INTO app.t1 VALUES (0, 0)");  // the server keeps accepting other writes

  // SIGTERM to binwatch run reaches the held job (forwarded to the group, then SIGCONT).
  for (auto* r : {&run_tcp, &run_sock}) {
    ::kill(r->pid(), SIGTERM);
    EXPECT_TRUE(r->wait(10000).has_value()) << r->log();
  }
  EXPECT_TRUE(wait_for([&] { return !binwatch::test::process_alive(job_tcp) && !binwatch::test::process_alive(job_sock); },
                       5000));
}

}  // namespace
