// `binwatch run`: the pure parts (check answers, plans, duty cycle) and the real executable
// (BINWATCH_EXE) around a real shell loop, against a real HTTP server playing the daemon. Timing
// assertions are deadlines of several seconds and generous bands: this runs on loaded 2-core VMs.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "binwatch/control/run_wrapper.h"
#include "fake_check_daemon.h"
#include "support/binwatch_process.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using binwatch::control::CheckAction;
using binwatch::control::FailSafe;
using binwatch::control::Mode;
using binwatch::control::parse_check_answer;
using binwatch::testing::FakeCheckDaemon;

// ---------------------------------------------------------------------------------------------
// Pure parts

TEST(CheckAnswer, AllowOn200) {
  const auto d = parse_check_answer(200, R"({"StatusCode":200,"Action":"allow","Ratio":0,"Message":""})");
  EXPECT_EQ(d.action, CheckAction::Allow);
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(parse_check_answer(200, "").action, CheckAction::Allow);
  EXPECT_EQ(parse_check_answer(200, "not json").action, CheckAction::Allow);
  // A 200 cannot be made into a pause by its body; it can ask for a throttle.
  EXPECT_EQ(parse_check_answer(200, R"({"Action":"pause"})").action, CheckAction::Allow);
  const auto t = parse_check_answer(200, R"({"Action":"throttle","Ratio":0.25})");
  EXPECT_EQ(t.action, CheckAction::Throttle);
  EXPECT_DOUBLE_EQ(t.ratio, 0.25);
}

TEST(CheckAnswer, DaemonAnswersCarryActionRatioAndMessage) {
  const auto p = parse_check_answer(
      429, R"j({"StatusCode":429,"Value":240.0,"Threshold":600.0,"Message":"partition /srv/binlog fills in 4m0s )j"
           R"j((pause below 10m0s)","Action":"pause","Ratio":1.0,"Level":"pause"})j");
  EXPECT_EQ(p.action, CheckAction::Pause);
  EXPECT_EQ(p.message, "partition /srv/binlog fills in 4m0s (pause below 10m0s)");

  const auto t = parse_check_answer(429, R"({"StatusCode":429,"Message":"lag 12s","Action":"throttle","Ratio":0.5})");
  EXPECT_EQ(t.action, CheckAction::Throttle);
  EXPECT_DOUBLE_EQ(t.ratio, 0.5);
  EXPECT_EQ(t.message, "lag 12s");
  EXPECT_DOUBLE_EQ(parse_check_answer(429, R"({"Action":"throttle","Ratio":3})").ratio, 1.0);

  EXPECT_EQ(parse_check_answer(429, R"({"Action":"stop","Message":"critical"})").action, CheckAction::Stop);
  EXPECT_EQ(parse_check_answer(429, R"({"Action":"forbidden"})").action, CheckAction::Forbidden);
  const auto f = parse_check_answer(417, R"({"StatusCode":417,"Action":"forbidden","Message":"app cleanup is forbidden"})");
  EXPECT_EQ(f.action, CheckAction::Forbidden);
  EXPECT_EQ(f.message, "app cleanup is forbidden");
}

TEST(CheckAnswer, MalformedBodiesAreConservative) {
  for (const char* body : {"", "not json", "[1,2]", "{\"Action\":42}", "{\"Action\":\"dance\"}", "{\"StatusCode\":429",
                           "{\"Action\":\"allow\"}", "{\"Action\":\"throttle\"}", "{\"Action\":\"throttle\",\"Ratio\":0}",
                           "{\"Action\":\"throttle\",\"Ratio\":-0.5}", "{\"Action\":\"throttle\",\"Ratio\":\"0.5\"}"}) {
    const auto d = parse_check_answer(429, body);
    EXPECT_EQ(d.action, CheckAction::Pause) << body;
    EXPECT_FALSE(d.message.empty()) << body;
  }
  EXPECT_EQ(parse_check_answer(417, "garbage").action, CheckAction::Forbidden);
  EXPECT_EQ(parse_check_answer(417, R"({"Action":"allow"})").action, CheckAction::Forbidden);
  const auto n = parse_check_answer(404, "");
  EXPECT_EQ(n.action, CheckAction::NoMetric);
  EXPECT_NE(n.message.find("no metric yet"), std::string::npos);
  EXPECT_EQ(parse_check_answer(404, R"({"StatusCode":404,"Action":"allow"})").action, CheckAction::NoMetric);
  for (int status : {500, 502, 503, 301, 400, 401, 403})
    EXPECT_EQ(parse_check_answer(status, R"({"Action":"allow"})").action, CheckAction::Unreachable) << status;
  const auto u = parse_check_answer(0, "", "cannot connect");
  EXPECT_EQ(u.action, CheckAction::Unreachable);
  EXPECT_EQ(u.message, "cannot connect");
}

TEST(CheckAnswer, PlanFollowsActionAndFailSafe) {
  auto plan = [](int status, const char* body, FailSafe fs) {
    return binwatch::control::plan_for(parse_check_answer(status, body), fs);
  };
  EXPECT_EQ(plan(200, "", FailSafe::Pause).mode, Mode::Run);
  const auto duty = plan(429, R"({"Action":"throttle","Ratio":0.5})", FailSafe::Pause);
  EXPECT_EQ(duty.mode, Mode::Duty);
  EXPECT_DOUBLE_EQ(duty.ratio, 0.5);
  EXPECT_EQ(plan(429, R"({"Action":"throttle","Ratio":1})", FailSafe::Pause).mode, Mode::Hold);
  for (const char* body : {R"({"Action":"pause"})", R"({"Action":"stop"})", R"({"Action":"forbidden"})", ""})
    EXPECT_EQ(plan(429, body, FailSafe::Continue).mode, Mode::Hold) << body;
  EXPECT_EQ(plan(404, "", FailSafe::Continue).mode, Mode::Hold);
  EXPECT_EQ(plan(417, "", FailSafe::Continue).mode, Mode::Hold);
  EXPECT_EQ(plan(503, "", FailSafe::Pause).mode, Mode::Hold);
  EXPECT_EQ(plan(503, "", FailSafe::Continue).mode, Mode::Run);
  EXPECT_EQ(binwatch::control::plan_for(parse_check_answer(0, "", "refused"), FailSafe::Continue).mode, Mode::Run);
}

TEST(DutyCycle, RunsFirstThenHoldsTheRatio) {
  using binwatch::control::duty_phase;
  EXPECT_EQ(binwatch::control::duty_run_ms(0.5, 1000), 500);
  EXPECT_EQ(binwatch::control::duty_run_ms(0.25, 1000), 750);
  EXPECT_EQ(binwatch::control::duty_run_ms(0.0, 1000), 1000);
  EXPECT_EQ(binwatch::control::duty_run_ms(1.0, 1000), 0);
  auto p = duty_phase(0.5, 1000, 0);
  EXPECT_TRUE(p.running);
  EXPECT_EQ(p.next_switch_ms, 500);
  p = duty_phase(0.5, 1000, 499);
  EXPECT_TRUE(p.running);
  EXPECT_EQ(p.next_switch_ms, 1);
  p = duty_phase(0.5, 1000, 500);
  EXPECT_FALSE(p.running);
  EXPECT_EQ(p.next_switch_ms, 500);
  p = duty_phase(0.5, 1000, 2999);
  EXPECT_FALSE(p.running);
  EXPECT_EQ(p.next_switch_ms, 1);
  EXPECT_TRUE(duty_phase(0.5, 1000, 3000).running);
  EXPECT_TRUE(duty_phase(0.5, 1000, -5).running);  // a clock step back is not a crash
}

TEST(DutyCycle, HeldFractionEqualsRatioAndSwitchesAreAhead) {
  for (double ratio : {0.0, 0.1, 0.25, 0.5, 0.9, 1.0}) {
    for (int64_t period : {10, 250, 1000}) {
      int64_t held = 0;
      for (int64_t t = 0; t < period; ++t) {
        const auto p = binwatch::control::duty_phase(ratio, period, t);
        held += p.running ? 0 : 1;
        ASSERT_GT(p.next_switch_ms, 0) << ratio << " " << period << " " << t;
        ASSERT_LE(p.next_switch_ms, period);
      }
      EXPECT_NEAR(static_cast<double>(held) / static_cast<double>(period), ratio, 1.0 / static_cast<double>(period))
          << ratio << " " << period;
    }
  }
}

TEST(AppName, DefaultsToTheBasenameOfTheCommand) {
  binwatch::control::RunOptions o;
  o.command = {"/usr/bin/pt-archiver", "--source", "x"};
  EXPECT_EQ(binwatch::control::app_name(o), "pt-archiver");
  o.command = {"cleanup"};
  EXPECT_EQ(binwatch::control::app_name(o), "cleanup");
  o.app = "nightly";
  EXPECT_EQ(binwatch::control::app_name(o), "nightly");
}

TEST(RunHeader, FormatsAndParsesTheProcessGroup) {
  using binwatch::control::parse_run_header;
  using binwatch::control::run_header_value;
  EXPECT_EQ(run_header_value({1234, 250}), "pgid=1234 interval_ms=250");
  EXPECT_EQ(run_header_value({1234, 0}), "pgid=1234");
  auto h = parse_run_header("pgid=1234 interval_ms=250");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->pgid, 1234);
  EXPECT_EQ(h->interval_ms, 250);
  h = parse_run_header("app=x; pgid=77");  // other keys and separators are ignored
  ASSERT_TRUE(h);
  EXPECT_EQ(h->pgid, 77);
  EXPECT_EQ(h->interval_ms, 0);
  for (const char* bad : {"", "pgid=", "pgid=1", "pgid=0", "pgid=-5", "pgid=12x", "pgid=99999999999",
                          "interval_ms=250", "pgid=5 interval_ms=-1"})
    EXPECT_FALSE(parse_run_header(bad)) << bad;
}

// ---------------------------------------------------------------------------------------------
// The real executable

using binwatch::test::slurp_file;

int64_t size_of(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

// The state letter of /proc/PID/stat (R, S, T, Z, ...), '?' when gone.
using binwatch::test::proc_state;

// Members of process group `pgid` that are not zombies (a zombie reparented to a PID 1 that does
// not reap would keep kill(-pgid, 0) succeeding forever).
int live_members(pid_t pgid) {
  int n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;  // processes only (/proc/net/stat is a folder)
    const std::string stat = slurp_file(entry.path() / "stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state = '?';
    long ppid = 0, pgrp = 0;
    if (rest >> state >> ppid >> pgrp && pgrp == pgid && state != 'Z') ++n;
  }
  return n;
}

using binwatch::test::wait_for;

// A port nothing listens on (bound then released; nothing else on a test VM grabs it in between).
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 1;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

// One `binwatch run` with stdin /dev/null and its output in files; killed (with its job) if the
// test ends early.
class RunProcess {
 public:
  RunProcess(const fs::path& dir, const std::vector<std::string>& args) : m_dir(dir) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, (dir / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, (dir / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> s{BINWATCH_EXE, "run"};
    s.insert(s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : s) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&m_pid, BINWATCH_EXE, &fa, nullptr, argv.data(), environ) != 0) m_pid = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~RunProcess() {
    if (m_pid <= 0 || m_status) return;
    const pid_t job = job_pgid();
    ::kill(m_pid, SIGKILL);
    if (job > 0) {
      ::kill(-job, SIGKILL);
      ::kill(-job, SIGCONT);
    }
    ::waitpid(m_pid, nullptr, 0);
  }
  RunProcess(const RunProcess&) = delete;
  RunProcess& operator=(const RunProcess&) = delete;

  [[nodiscard]] pid_t pid() const { return m_pid; }
  [[nodiscard]] std::string err() const { return slurp_file(m_dir / "stderr"); }

  // The job's process group, from the shell's pid file or from the wrapper's "(pgid N)".
  [[nodiscard]] pid_t job_pgid() const {
    const std::string pid = slurp_file(m_dir / "pid");
    if (!pid.empty()) return static_cast<pid_t>(std::stol(pid));
    std::smatch m;
    const std::string e = err();
    if (std::regex_search(e, m, std::regex(R"(\(pgid (\d+)\))"))) return static_cast<pid_t>(std::stol(m[1]));
    return -1;
  }

  // The exit code as a shell would report it, or nullopt if still running at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds deadline = 15s) {
    wait_for(
        [this] {
          int st = 0;
          if (::waitpid(m_pid, &st, WNOHANG) == m_pid) m_status = st;
          return m_status.has_value();
        },
        deadline);
    if (!m_status) return std::nullopt;
    if (WIFEXITED(*m_status)) return WEXITSTATUS(*m_status);
    return 128 + WTERMSIG(*m_status);
  }

 private:
  fs::path m_dir;
  pid_t m_pid = -1;
  std::optional<int> m_status;
};

// The job under test: writes its pid, then a line every 50 ms.
std::vector<std::string> tick_job(const fs::path& dir) {
  return {"sh", "-c",
          "echo $$ > '" + (dir / "pid.tmp").string() + "' && mv '" + (dir / "pid.tmp").string() + "' '" +
              (dir / "pid").string() + "'; while :; do echo tick >> '" + (dir / "ticks").string() +
              "'; sleep 0.05; done"};
}

std::vector<std::string> with(std::vector<std::string> options, const std::vector<std::string>& job) {
  options.push_back("--");
  options.insert(options.end(), job.begin(), job.end());
  return options;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Ticks written over `window` (the shell writes "tick\n", 5 bytes).
int64_t ticks_during(const fs::path& ticks, std::chrono::milliseconds window) {
  const int64_t before = size_of(ticks);
  std::this_thread::sleep_for(window);
  return (size_of(ticks) - before) / 5;
}

struct RunWrapper : ::testing::Test {
  void SetUp() override {
    ASSERT_FALSE(dir.path().empty());
    ASSERT_TRUE(daemon.ok());
  }
  binwatch::test::ScratchDir dir{"binwatch-run-test"};
  FakeCheckDaemon daemon;
  fs::path ticks() const { return dir.path() / "ticks"; }
};

TEST_F(RunWrapper, PausesTheGroupUntilTheDaemonAllows) {
  daemon.allow();
  RunProcess run(dir.path(), with({"--url", daemon.url(), "--app", "cleanup", "--check-interval-ms", "50"},
                                  tick_job(dir.path())));
  ASSERT_GT(run.pid(), 0);
  ASSERT_TRUE(wait_for([&] { return size_of(ticks()) > 0 && run.job_pgid() > 0; })) << run.err();
  const pid_t job = run.job_pgid();

  daemon.pause("partition /srv/binlog fills in 4m0s (pause below 10m0s)");
  ASSERT_TRUE(wait_for([&] { return proc_state(job) == 'T'; })) << run.err();
  const int64_t held_size = size_of(ticks());
  const int checks_before = daemon.checks();
  std::this_thread::sleep_for(1s);  // the window over which nothing may be written
  EXPECT_EQ(size_of(ticks()), held_size);
  EXPECT_EQ(proc_state(job), 'T');
  EXPECT_GE(daemon.checks(), checks_before + 3) << "the wrapper keeps asking while it holds the job";
  const std::string err = run.err();
  EXPECT_EQ(count(err, "pausing"), 1u) << "once per state change, not once per poll:\n" << err;
  EXPECT_NE(err.find("binwatch run: pausing 'cleanup' (pgid " + std::to_string(job) +
                     "): partition /srv/binlog fills in 4m0s (pause below 10m0s)"),
            std::string::npos)
      << err;

  daemon.allow();
  EXPECT_TRUE(wait_for([&] { return size_of(ticks()) > held_size; })) << run.err();
  EXPECT_NE(proc_state(job), 'T');
  EXPECT_TRUE(wait_for([&] { return run.err().find("resuming 'cleanup' after ") != std::string::npos; }))
      << run.err();
  for (const auto& path : daemon.paths()) EXPECT_EQ(path, "/check/cleanup");
  // Every check, the first (before the job ran) included, names the job's process group.
  for (const auto& h : daemon.run_headers()) EXPECT_EQ(h, "pgid=" + std::to_string(job) + " interval_ms=50");

  ::kill(run.pid(), SIGTERM);
  EXPECT_EQ(run.wait_exit(), 128 + SIGTERM) << run.err();
}

TEST_F(RunWrapper, ThrottleAtHalfGivesAboutHalfTheTicks) {
  daemon.allow();
  RunProcess run(dir.path(), with({"--url", daemon.url(), "--check-interval-ms", "50", "--period-ms", "400"},
                                  tick_job(dir.path())));
  ASSERT_GT(run.pid(), 0);
  ASSERT_TRUE(wait_for([&] { return size_of(ticks()) > 0; })) << run.err();
  const int64_t free_ticks = ticks_during(ticks(), 3s);
  ASSERT_GT(free_ticks, 10) << "the job barely ran unthrottled; cannot compare";

  daemon.throttle(0.5, "replica lag 12s (throttle above 10s)");
  ASSERT_TRUE(wait_for([&] { return run.err().find("throttling 'sh'") != std::string::npos; })) << run.err();
  const int64_t throttled_ticks = ticks_during(ticks(), 3s);
  const double share = static_cast<double>(throttled_ticks) / static_cast<double>(free_ticks);
  EXPECT_GE(share, 0.25) << throttled_ticks << " of " << free_ticks;
  EXPECT_LE(share, 0.75) << throttled_ticks << " of " << free_ticks;
  const std::string err = run.err();
  EXPECT_NE(err.find("to run 200 ms of every 400 ms: replica lag 12s (throttle above 10s)"), std::string::npos) << err;
  EXPECT_EQ(count(err, "throttling"), 1u) << err;

  daemon.allow();
  EXPECT_TRUE(wait_for([&] { return run.err().find("resuming 'sh' after ") != std::string::npos; })) << run.err();
  EXPECT_NE(run.err().find(" throttled"), std::string::npos) << run.err();
  ::kill(run.pid(), SIGTERM);  // not SIGINT: a job started in the background may ignore it
  EXPECT_EQ(run.wait_exit(), 128 + SIGTERM) << run.err();
}

TEST_F(RunWrapper, UnreachableDaemonWithFailSafePauseHoldsAndSaysSo) {
  daemon.allow();
  const int port = daemon.port();
  RunProcess run(dir.path(), with({"--url", daemon.url(), "--app", "cleanup", "--check-interval-ms", "50"},
                                  tick_job(dir.path())));
  ASSERT_GT(run.pid(), 0);
  ASSERT_TRUE(wait_for([&] { return size_of(ticks()) > 0 && run.job_pgid() > 0; })) << run.err();
  const pid_t job = run.job_pgid();

  daemon.stop();
  ASSERT_TRUE(wait_for([&] { return proc_state(job) == 'T'; })) << run.err();
  const int64_t held_size = size_of(ticks());
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(size_of(ticks()), held_size);
  std::string err = run.err();
  EXPECT_NE(err.find("binwatch run: daemon " + daemon.url() + " unreachable ("), std::string::npos) << err;
  EXPECT_NE(err.find("pausing 'cleanup' (pgid " + std::to_string(job) + ") (fail-safe pause)"), std::string::npos)
      << err;
  EXPECT_EQ(count(err, "unreachable"), 1u) << err;

  // The daemon comes back where it was.
  FakeCheckDaemon back(port);
  if (!back.ok()) GTEST_SKIP() << "port " << port << " could not be bound again; the comeback is not tested";
  back.allow();
  EXPECT_TRUE(wait_for([&] { return size_of(ticks()) > held_size; })) << run.err();
  EXPECT_TRUE(wait_for([&] { return run.err().find("resuming 'cleanup' after ") != std::string::npos; }))
      << run.err();
  ::kill(run.pid(), SIGTERM);
  EXPECT_EQ(run.wait_exit(), 128 + SIGTERM) << run.err();
}

TEST_F(RunWrapper, NeverReachableWithFailSafePauseNeverStartsTheJob) {
  const std::string url = "http://127.0.0.1:" + std::to_string(closed_port());
  RunProcess run(dir.path(), with({"--url", url, "--check-interval-ms", "50"}, tick_job(dir.path())));
  ASSERT_GT(run.pid(), 0);
  ASSERT_TRUE(wait_for([&] { return run.job_pgid() > 0; })) << run.err();
  const pid_t job = run.job_pgid();
  ASSERT_TRUE(wait_for([&] { return proc_state(job) == 'T'; })) << run.err();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(size_of(ticks()), 0) << "the job ran while the daemon was unreachable";
  EXPECT_NE(run.err().find("unreachable"), std::string::npos) << run.err();
  EXPECT_NE(run.err().find("(fail-safe pause)"), std::string::npos) << run.err();
  ::kill(run.pid(), SIGTERM);
  EXPECT_EQ(run.wait_exit(), 128 + SIGTERM) << run.err();
}

TEST_F(RunWrapper, FailSafeContinueKeepsTheJobRunning) {
  const std::string url = "http://127.0.0.1:" + std::to_string(closed_port());
  RunProcess run(dir.path(), with({"--url", url, "--check-interval-ms", "50", "--fail-safe", "continue"},
                                  tick_job(dir.path())));
  ASSERT_GT(run.pid(), 0);
  ASSERT_TRUE(wait_for([&] { return size_of(ticks()) > 0; })) << run.err();
  const int64_t first = size_of(ticks());
  EXPECT_TRUE(wait_for([&] { return size_of(ticks()) >= first + 5 * 10; })) << run.err();
  EXPECT_NE(proc_state(run.job_pgid()), 'T');
  const std::string err = run.err();
  EXPECT_NE(err.find("unreachable"), std::string::npos) << err;
  EXPECT_NE(err.find("(fail-safe continue)"), std::string::npos) << err;
  EXPECT_EQ(count(err, "unreachable"), 1u) << err;
  ::kill(run.pid(), SIGTERM);
  EXPECT_EQ(run.wait_exit(), 128 + SIGTERM) << run.err();
}

TEST_F(RunWrapper, SigtermReachesAPausedJob) {
  daemon.allow();
  RunProcess run(dir.path(), with({"--url", daemon.url(), "--check-interval-ms", "50"}, tick_job(dir.path())));
  ASSERT_GT(run.pid(), 0);
  ASSERT_TRUE(wait_for([&] { return size_of(ticks()) > 0 && run.job_pgid() > 0; })) << run.err();
  const pid_t job = run.job_pgid();
  daemon.pause("replica lag 40s (pause above 30s)");
  ASSERT_TRUE(wait_for([&] { return proc_state(job) == 'T'; })) << run.err();

  ASSERT_EQ(::kill(run.pid(), SIGTERM), 0);
  EXPECT_EQ(run.wait_exit(), 128 + SIGTERM) << run.err();
  EXPECT_NE(run.err().find("forwarding SIGTERM to 'sh' (pgid " + std::to_string(job) + ")"), std::string::npos)
      << run.err();
  EXPECT_TRUE(wait_for([&] { return live_members(job) == 0; })) << "members of the job's group survived";
}

TEST_F(RunWrapper, ExitCodeIsTheCommands) {
  daemon.allow();
  {
    RunProcess run(dir.path(), {"--url", daemon.url(), "--", "sh", "-c", "exit 7"});
    EXPECT_EQ(run.wait_exit(), 7) << run.err();
    EXPECT_EQ(run.err(), "");
  }
  ASSERT_FALSE(daemon.paths().empty());
  EXPECT_EQ(daemon.paths().front(), "/check/sh");
  {
    RunProcess run(dir.path(), {"--url", daemon.url(), "--", "sh", "-c", "kill -KILL $$"});
    EXPECT_EQ(run.wait_exit(), 128 + SIGKILL) << run.err();
  }
}

TEST_F(RunWrapper, MissingCommandExits127AndNamesIt) {
  daemon.allow();
  RunProcess run(dir.path(), {"--url", daemon.url(), "--", "/nonexistent/binwatch-test-cmd", "x"});
  EXPECT_EQ(run.wait_exit(), 127);
  EXPECT_NE(run.err().find("cannot execute '/nonexistent/binwatch-test-cmd': No such file or directory"),
            std::string::npos)
      << run.err();
}

TEST_F(RunWrapper, QuietSaysNothingAboutPauses) {
  daemon.pause("disk");
  RunProcess run(dir.path(), with({"--url", daemon.url(), "--quiet", "--check-interval-ms", "50"},
                                  {"sh", "-c", "exit 3"}));
  ASSERT_GT(run.pid(), 0);
  EXPECT_TRUE(wait_for([&] { return daemon.checks() >= 3; }));
  EXPECT_FALSE(run.wait_exit(500ms).has_value()) << "the job ran while paused";
  daemon.allow();
  EXPECT_EQ(run.wait_exit(), 3);
  EXPECT_EQ(run.err(), "");
}

TEST_F(RunWrapper, JobHasTheTerminalForegroundWhileItRuns) {
  // Under a pseudo-terminal (util-linux `script`): held first (terminal kept), then allowed (the
  // job's group gets the foreground); after the exit the terminal is the caller's again.
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "script (util-linux) is not installed";
  daemon.pause("not yet");
  const fs::path d = dir.path();
  std::ofstream(d / "job.sh") << "awk '{print $5, $8}' /proc/$$/stat > '" << (d / "job").string() << "'\n";
  std::ofstream(d / "outer.sh") << "'" << BINWATCH_EXE << "' run --url " << daemon.url()
                                << " --check-interval-ms 50 -- /bin/sh '" << (d / "job.sh").string() << "'\n"
                                << "echo $? > '" << (d / "rc").string() << "'\n"
                                << "awk '{print $5, $8}' /proc/$$/stat > '" << (d / "after").string() << "'\n";
  int rc = -1;
  std::thread outer([&] {
    rc = std::system(("timeout 60 script -qec \"/bin/sh '" + (d / "outer.sh").string() + "'\" /dev/null </dev/null >'" +
                      (d / "script.out").string() + "' 2>&1")
                         .c_str());
  });
  EXPECT_TRUE(wait_for([&] { return daemon.checks() >= 3; }));
  EXPECT_EQ(size_of(d / "job"), 0) << "the job ran while held";
  daemon.allow();
  outer.join();
  ASSERT_EQ(rc, 0) << slurp_file(d / "script.out");
  EXPECT_EQ(slurp_file(d / "rc"), "0\n") << slurp_file(d / "script.out");
  std::istringstream job(slurp_file(d / "job")), after(slurp_file(d / "after"));
  long job_pgrp = 0, job_tpgid = 0, shell_pgrp = 0, shell_tpgid = 0;
  ASSERT_TRUE(job >> job_pgrp >> job_tpgid) << slurp_file(d / "script.out");
  ASSERT_TRUE(after >> shell_pgrp >> shell_tpgid) << slurp_file(d / "script.out");
  EXPECT_EQ(job_tpgid, job_pgrp) << "the job's group is the terminal's foreground while it runs";
  EXPECT_NE(job_pgrp, shell_pgrp) << "the job runs in its own process group";
  EXPECT_EQ(shell_tpgid, shell_pgrp) << "the terminal is given back";
}

}  // namespace
