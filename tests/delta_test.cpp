// `binwatch delta`: the pure line/number alignment, and the real executable (BINWATCH_EXE) on
// `cat FILE` while the test rewrites the file's numbers between runs.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "binwatch/net/delta.h"

extern char** environ;

namespace binwatch::net {
namespace {

namespace fs = std::filesystem;

TEST(FindNumbers, SkipsIdentifiersAddressesAndHex) {
  auto n = find_numbers("eth0: 12 Ip6InReceives 7 10.0.0.1:3306 0x1f -3 2.5% (x 9)");
  std::vector<double> values;
  for (const auto& t : n) values.push_back(t.value);
  EXPECT_EQ(values, (std::vector<double>{12, 7, 3306, -3, 2.5, 9}));
}

TEST(LineShape, PaddingAndDigitsDoNotMatter) {
  EXPECT_EQ(line_shape("    9 times the listen queue overflowed"),
            line_shape("   10 times the listen queue overflowed"));
  EXPECT_EQ(line_shape("| Bytes_sent |  99 |"), line_shape("| Bytes_sent | 100 |"));
  EXPECT_NE(line_shape("    9 segments sent"), line_shape("    9 segments received"));
}

TEST(Annotate, NetstatStyleExactDeltas) {
  const std::string a = "Tcp:\n    100 active connection openings\n    5 times the listen queue of a socket overflowed\n";
  const std::string b = "Tcp:\n    130 active connection openings\n    5 times the listen queue of a socket overflowed\n";
  EXPECT_EQ(annotate_delta(a, b, 2),
            "Tcp:\n    130 [+30 15/s] active connection openings\n"
            "    5 times the listen queue of a socket overflowed\n");
  DeltaStyle all;
  all.show_unchanged = true;
  all.show_rate = false;
  EXPECT_EQ(annotate_delta(a, b, 2, all),
            "Tcp:\n    130 [+30] active connection openings\n"
            "    5 [+0] times the listen queue of a socket overflowed\n");
}

TEST(Annotate, NstatColumnsAndReorderedLines) {
  const std::string a = "TcpExtPAWSEstab   1000   0.0\nTcpExtTW  50  0.0\n";
  const std::string b = "TcpExtTW  50  0.0\nTcpExtPAWSEstab   1400   0.0\nTcpExtNew 1 0.0\n";
  EXPECT_EQ(annotate_delta(a, b, 1),
            "TcpExtTW  50  0.0\nTcpExtPAWSEstab   1400 [+400 400/s]   0.0\nTcpExtNew 1 0.0\n");
}

TEST(Annotate, RepeatedShapesPairInOrderAndDecimalsKept) {
  const std::string a = "    lo: 10 1\n  eth0: 20 2\nload 0.50\n";
  const std::string b = "    lo: 15 1\n  eth0: 20 3\nload 0.75\n";
  EXPECT_EQ(annotate_delta(a, b, 0),
            "    lo: 15 [+5] 1\n  eth0: 20 3 [+1]\nload 0.75 [+0.25]\n");
}

TEST(Annotate, DecreaseIsShownSigned) {
  EXPECT_EQ(annotate_delta("x 10\n", "x 7\n", 1), "x 7 [-3 -3/s]\n");
}

TEST(FormatRate, SignificantFigures) {
  EXPECT_EQ(format_rate(40), "40");
  EXPECT_EQ(format_rate(2.5), "2.5");
  EXPECT_EQ(format_rate(1.0 / 3), "0.333");
  EXPECT_EQ(format_rate(12345.6), "12346");
}

// --- the real executable ---

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class Scratch {
 public:
  Scratch() {
    std::string t = (fs::temp_directory_path() / "binwatch-delta-test-XXXXXX").string();
    if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp");
    m_path = t;
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  [[nodiscard]] const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

pid_t spawn(const std::vector<std::string>& args, const fs::path& dir) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, (dir / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, (dir / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> s{BINWATCH_EXE};
  s.insert(s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, BINWATCH_EXE, &fa, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

RunResult finish(pid_t pid, const fs::path& dir) {
  RunResult r;
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir / "stdout");
  r.err = slurp(dir / "stderr");
  return r;
}

void write_file(const fs::path& p, const std::string& text) {
  const fs::path tmp = p.string() + ".tmp";
  std::ofstream(tmp) << text;
  fs::rename(tmp, p);  // atomic: cat never sees half a file
}

TEST(DeltaExe, CatFileShowsExactDeltas) {
  Scratch dir;
  const fs::path file = dir.path() / "counters";
  write_file(file, "TcpExt:\n    1000 packets rejects in established connections because of timestamp\n"
                   "    7 times the listen queue of a socket overflowed\nnever 42 changes\n");
  // Runs at t = 0, 1.5, 3.0 s; the test rewrites the file at about 0.75 s and 2.25 s.
  const pid_t pid = spawn({"delta", "--interval", "1500ms", "--count", "2", "--", "cat", file.string()}, dir.path());
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(750));
  write_file(file, "TcpExt:\n    4500 packets rejects in established connections because of timestamp\n"
                   "    10 times the listen queue of a socket overflowed\nnever 42 changes\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  write_file(file, "TcpExt:\n    4500 packets rejects in established connections because of timestamp\n"
                   "    9 times the listen queue of a socket overflowed\nnever 42 changes\n");
  const RunResult r = finish(pid, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("    4500 [+3500 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("    10 [+3 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("    9 [-1 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("never 42 changes\n"), std::string::npos);
  EXPECT_EQ(r.out.find("[+0"), std::string::npos);
  // Two annotated outputs, each under its header; the first run is not printed.
  size_t headers = 0;
  for (size_t p = 0; (p = r.out.find("--- binwatch delta: run", p)) != std::string::npos; ++p) ++headers;
  EXPECT_EQ(headers, 2u);
  EXPECT_EQ(r.out.find("1000"), std::string::npos);
}

TEST(DeltaExe, FailingCommandIsAnError) {
  Scratch dir;
  RunResult r = finish(spawn({"delta", "--count", "1", "--", "cat", (dir.path() / "missing").string()}, dir.path()),
                 dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("exited with status 1"), std::string::npos) << r.err;
  r = finish(spawn({"delta", "--count", "1", "--", "/nonexistent/binwatch-cmd"}, dir.path()), dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("could not start"), std::string::npos) << r.err;
  r = finish(spawn({"delta", "--interval", "soon", "--", "true"}, dir.path()), dir.path());
  EXPECT_EQ(r.exit_code, 2);
}

TEST(NetstatExe, SnapshotRootAndBadRoot) {
  Scratch dir;
  RunResult r = finish(spawn({"netstat", "--proc-root", BINWATCH_SOURCE_DIR "/fixtures/procfs/linux-3.13-trusty-hand",
                        "--count", "2", "--interval", "100ms", "--json"},
                       dir.path()),
                 dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"conntrack-fill\""), std::string::npos);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);
  r = finish(spawn({"netstat", "--proc-root", "/nonexistent-root", "--count", "1"}, dir.path()), dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent-root/net/snmp"), std::string::npos) << r.err;
}

TEST(NetstatExe, ZeroRatesHiddenAfterTheFirstSampleUnlessAll) {
  // A snapshot does not change between samples: every rate is 0. The first JSON line lists the
  // watched counters that are not 0 (no rates yet); the second only rows a finding is about
  // (conntrack-fill's gauges), not the watched TcpExtListenOverflows at rate 0; --all lists it.
  Scratch dir;
  const std::string root = BINWATCH_SOURCE_DIR "/fixtures/procfs/linux-5.4-focal-hand";
  auto lines = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"netstat", "--proc-root", root, "--count", "2", "--interval", "100ms", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = finish(spawn(args, dir.path()), dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t nl; (nl = r.out.find('\n', start)) != std::string::npos; start = nl + 1) out.push_back(r.out.substr(start, nl - start));
    return out;
  };
  const auto quiet = lines({});
  ASSERT_EQ(quiet.size(), 2u);
  EXPECT_NE(quiet[0].find("\"TcpExtListenOverflows\":{\"value\""), std::string::npos) << quiet[0];
  EXPECT_EQ(quiet[1].find("\"TcpExtListenOverflows\""), std::string::npos) << quiet[1];
  EXPECT_EQ(quiet[1].find("\"rate\":"), std::string::npos) << "no row at rate 0: " << quiet[1];
  // The focal snapshot has no default route: the traffic rule is silent, not an error.
  EXPECT_NE(quiet[1].find("\"default_route_interface\":null"), std::string::npos) << quiet[1];
  EXPECT_EQ(quiet[1].find("default-route-out-over-in"), std::string::npos);
  const auto all = lines({"--all"});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_NE(all[1].find("\"TcpExtListenOverflows\":{\"value\""), std::string::npos) << all[1];
  EXPECT_NE(all[1].find("\"rate\":0"), std::string::npos);
}

TEST(SysctlCheckExe, ExitCodes) {
  Scratch dir;
  RunResult r = finish(spawn({"sysctl-check", "--proc-root", BINWATCH_SOURCE_DIR "/fixtures/procfs/linux-3.13-trusty-hand"},
                       dir.path()),
                 dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("net.ipv4.tcp_tw_recycle"), std::string::npos) << r.out;
  r = finish(spawn({"sysctl-check", "--json", "--proc-root", BINWATCH_SOURCE_DIR "/fixtures/procfs/linux-6.18.44-vm"},
                   dir.path()),
             dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = finish(spawn({"sysctl-check", "--proc-root", "/nonexistent-root"}, dir.path()), dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent-root/net/snmp"), std::string::npos);
}

}  // namespace
}  // namespace binwatch::net
