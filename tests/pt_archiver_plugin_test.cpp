// contrib/pt-archiver/BinwatchThrottle.pm: compiles, and its is_archivable() waits while a real
// local HTTP server playing the daemon answers 429 and proceeds after 200. Needs perl with
// HTTP::Tiny and JSON::PP (both core); skips cleanly without them.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fake_check_daemon.h"
#include "support/binwatch_process.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using binwatch::testing::FakeCheckDaemon;

const fs::path kPluginDir = fs::path(BINWATCH_SOURCE_DIR) / "contrib" / "pt-archiver";

using binwatch::test::slurp_file;

using binwatch::test::wait_for;

// perl ARGS with extra environment, output in DIR/stdout and DIR/stderr.
class Perl {
 public:
  Perl(const fs::path& dir, const std::vector<std::string>& args, const std::vector<std::string>& env = {})
      : m_dir(dir) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, (dir / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, (dir / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> a{"perl"};
    a.insert(a.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::vector<std::string> e = env;
    for (char** p = environ; *p; ++p) {
      const std::string kv = *p;
      if (kv.rfind("BINWATCH_", 0) != 0) e.push_back(kv);  // only what the test sets
    }
    std::vector<char*> envp;
    for (auto& s : e) envp.push_back(s.data());
    envp.push_back(nullptr);
    if (posix_spawnp(&m_pid, "perl", &fa, nullptr, argv.data(), envp.data()) != 0) m_pid = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Perl() {
    if (m_pid > 0 && !m_status) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
    }
  }
  Perl(const Perl&) = delete;
  Perl& operator=(const Perl&) = delete;

  [[nodiscard]] std::string out() const { return slurp_file(m_dir / "stdout"); }
  [[nodiscard]] std::string err() const { return slurp_file(m_dir / "stderr"); }
  std::optional<int> wait_exit(std::chrono::milliseconds deadline = 15s) {
    wait_for(
        [this] {
          int st = 0;
          if (m_pid > 0 && ::waitpid(m_pid, &st, WNOHANG) == m_pid) m_status = st;
          return m_status.has_value();
        },
        deadline);
    if (!m_status) return std::nullopt;
    return WIFEXITED(*m_status) ? WEXITSTATUS(*m_status) : 128 + WTERMSIG(*m_status);
  }

 private:
  fs::path m_dir;
  pid_t m_pid = -1;
  std::optional<int> m_status;
};


// What pt-archiver does with a source plugin, row by row (the documented call sequence).
const char* kDriver =
    "my $p = BinwatchThrottle->new(dbh => undef, db => 'test', tbl => 't1');"
    "$p->before_begin(cols => ['id'], allcols => ['id']);"
    "$| = 1; print \"begin\\n\";"
    "for my $id (1 .. 3) { my $ok = $p->is_archivable(row => [$id]); $p->before_delete(row => [$id]);"
    "  print \"row $id archivable=$ok\\n\"; }"
    "die 'custom_sth must return undef' if defined $p->custom_sth(row => [1], sql => 'INSERT');"
    "$p->after_finish(); print \"finished\\n\";";

struct PtArchiverPlugin : ::testing::Test {
  void SetUp() override {
    if (std::system("perl -MHTTP::Tiny -MJSON::PP -e1 >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "perl with HTTP::Tiny and JSON::PP is not installed";
    ASSERT_FALSE(dir.path().empty());
    ASSERT_TRUE(daemon.ok());
  }
  binwatch::test::ScratchDir dir{"binwatch-pt-plugin-test"};
  FakeCheckDaemon daemon;
};

TEST_F(PtArchiverPlugin, CompilesWithPerlC) {
  Perl perl(dir.path(), {"-c", (kPluginDir / "BinwatchThrottle.pm").string()});
  EXPECT_EQ(perl.wait_exit(), 0) << perl.err();
  EXPECT_NE(perl.err().find("syntax OK"), std::string::npos) << perl.err();
}

TEST_F(PtArchiverPlugin, WaitsWhileTheDaemonSays429AndProceedsAfter200) {
  daemon.pause("partition /srv/binlog fills in 4m0s (pause below 10m0s)");
  Perl perl(dir.path(), {"-I", kPluginDir.string(), "-MBinwatchThrottle", "-e", kDriver},
            {"BINWATCH_URL=" + daemon.url(), "BINWATCH_APP=archive-orders"});
  ASSERT_TRUE(wait_for([&] { return perl.out().find("begin") != std::string::npos; })) << perl.err();
  ASSERT_TRUE(wait_for([&] { return daemon.checks() >= 4; })) << "the plugin polls while held";
  EXPECT_EQ(perl.out().find("archivable"), std::string::npos) << "a row went through while the daemon said 429";
  EXPECT_FALSE(perl.wait_exit(0ms).has_value());

  daemon.allow();
  EXPECT_EQ(perl.wait_exit(), 0) << perl.err();
  EXPECT_NE(perl.out().find("row 3 archivable=1\nfinished\n"), std::string::npos) << perl.out();
  const std::string err = perl.err();
  EXPECT_NE(err.find("binwatch throttle: pausing 'archive-orders': partition /srv/binlog fills in 4m0s "
                     "(pause below 10m0s)\n"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("binwatch throttle: resuming 'archive-orders' after "), std::string::npos) << err;
  size_t pausing = 0;
  for (auto at = err.find("pausing"); at != std::string::npos; at = err.find("pausing", at + 1)) ++pausing;
  EXPECT_EQ(pausing, 1u) << "once per state change:\n" << err;
  for (const auto& path : daemon.paths()) EXPECT_EQ(path, "/check/archive-orders");
}

TEST_F(PtArchiverPlugin, StopKeepsWaitingAndThrottleProceeds) {
  daemon.answer(429, R"({"StatusCode":429,"Message":"disk critical","Action":"stop","Ratio":1.0,"Level":"critical"})");
  Perl perl(dir.path(), {"-I", kPluginDir.string(), "-MBinwatchThrottle", "-e", kDriver},
            {"BINWATCH_URL=" + daemon.url()});
  ASSERT_TRUE(wait_for([&] { return daemon.checks() >= 4; }));
  EXPECT_EQ(perl.out().find("archivable"), std::string::npos);
  EXPECT_NE(perl.err().find("pausing 'pt-archiver' (the daemon says stop: critical"), std::string::npos) << perl.err();

  daemon.throttle(0.5, "replica lag 12s");
  EXPECT_EQ(perl.wait_exit(), 0) << perl.err();
  EXPECT_NE(perl.out().find("finished"), std::string::npos);
  EXPECT_NE(perl.err().find("throttling 'pt-archiver' (held 50% of the time): replica lag 12s"), std::string::npos)
      << perl.err();
}

TEST_F(PtArchiverPlugin, UnreachableDaemonFollowsTheFailSafe) {
  daemon.stop();
  const std::string url = daemon.url();  // nothing listens there any more
  {
    Perl perl(dir.path(), {"-I", kPluginDir.string(), "-MBinwatchThrottle", "-e", kDriver},
              {"BINWATCH_URL=" + url, "BINWATCH_FAIL_SAFE=continue"});
    EXPECT_EQ(perl.wait_exit(), 0) << perl.err();
    EXPECT_NE(perl.err().find("unreachable"), std::string::npos) << perl.err();
    EXPECT_NE(perl.err().find("(fail-safe continue)"), std::string::npos) << perl.err();
  }
  Perl perl(dir.path(), {"-I", kPluginDir.string(), "-MBinwatchThrottle", "-e", kDriver}, {"BINWATCH_URL=" + url});
  EXPECT_TRUE(wait_for([&] { return perl.err().find("(fail-safe pause)") != std::string::npos; })) << perl.err();
  EXPECT_FALSE(perl.wait_exit(1s).has_value()) << "pt-archiver went on with the daemon unreachable";
  EXPECT_EQ(perl.out().find("archivable"), std::string::npos);
}

TEST_F(PtArchiverPlugin, AsAGeneralPluginItAttachesToTheSource) {
  // --plugin BinwatchThrottle: new(src => $src, dst => $dst, opts => $o), then pt-archiver calls
  // $src->{plugin} for every row.
  daemon.pause("lag");
  const char* driver =
      "my $src = { D => 'test', t => 't1', dbh => undef };"
      "my $g = BinwatchThrottle->new(src => $src, dst => undef, opts => undef);"
      "die 'not attached' unless ref $src->{plugin} eq 'BinwatchThrottle';"
      "$| = 1; print \"begin\\n\";"
      "print 'archivable=', $src->{plugin}->is_archivable(row => [1]), \"\\n\";"
      "$src->{plugin}->after_finish(); $g->statistics({}, time);";
  Perl perl(dir.path(), {"-I", kPluginDir.string(), "-MBinwatchThrottle", "-e", driver},
            {"BINWATCH_URL=" + daemon.url()});
  ASSERT_TRUE(wait_for([&] { return perl.out().find("begin") != std::string::npos; })) << perl.err();
  ASSERT_TRUE(wait_for([&] { return daemon.checks() >= 3; }));
  EXPECT_EQ(perl.out().find("archivable"), std::string::npos);
  daemon.allow();
  EXPECT_EQ(perl.wait_exit(), 0) << perl.err();
  EXPECT_NE(perl.out().find("archivable=1"), std::string::npos) << perl.out();
  EXPECT_NE(perl.err().find("was held "), std::string::npos) << perl.err();
}

}  // namespace
