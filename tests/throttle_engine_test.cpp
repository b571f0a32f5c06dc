// ThrottleEngine without a server: the bounds on what request URLs can grow (per-app check state
// and metrics).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "binwatch/watch/metrics_writer.h"
#include "binwatch/watch/throttle_engine.h"

using binwatch::watch::MetricsWriter;
using binwatch::watch::ThrottleEngine;

namespace {

// A fresh state directory, removed afterwards.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    m_path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

// The app label of every binwatch_throttle_checks_total sample, with its value.
std::map<std::string, double> checks_by_app(const ThrottleEngine& e) {
  MetricsWriter w;
  e.write_metrics(w);
  std::map<std::string, double> out;
  const std::string& text = w.text();
  const std::string prefix = "binwatch_throttle_checks_total{app=\"";
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    const size_t b = at + prefix.size(), e2 = text.find('"', b);
    const size_t sp = text.find(' ', text.find('}', e2));
    out[text.substr(b, e2 - b)] += std::stod(text.substr(sp + 1, text.find('\n', sp) - sp - 1));
  }
  return out;
}

}  // namespace

TEST(ThrottleEngine, DistinctAppsAreCappedAndTheRestCountedAsOther) {
  TempDir dir("binwatch-throttle-engine");
  binwatch::watch::ThrottleSettings settings;
  ThrottleEngine e(settings, dir.path());
  binwatch::policy::ThrottleInputs in;
  in.free_percent = 90;
  in.time_to_full_s = 1e9;
  e.update(in, 1000);

  const size_t cap = ThrottleEngine::kMaxTrackedApps;
  const size_t extra = 44;
  for (size_t i = 0; i < cap + extra; ++i) EXPECT_EQ(e.check("app-" + std::to_string(i), 2000).status, 200);
  // A tracked app keeps its own series after the cap is reached.
  EXPECT_EQ(e.check("app-0", 2000).status, 200);

  auto by_app = checks_by_app(e);
  EXPECT_EQ(by_app.size(), cap + 1) << "the first apps by name, then \"_other\"";
  EXPECT_EQ(by_app["_other"], static_cast<double>(extra));
  EXPECT_EQ(by_app["app-0"], 2);
  EXPECT_EQ(by_app["app-255"], 1);
  EXPECT_EQ(by_app.count("app-256"), 0u);

  // Many more distinct names change nothing in size.
  for (size_t i = 0; i < 5000; ++i) e.check("flood-" + std::to_string(i), 3000);
  by_app = checks_by_app(e);
  EXPECT_EQ(by_app.size(), cap + 1);
  EXPECT_EQ(by_app["_other"], static_cast<double>(extra + 5000));
}

TEST(ThrottleEngine, AnUntrackedAppIsStillAnsweredAboutItself) {
  TempDir dir("binwatch-throttle-engine");
  const auto policy_file = dir.path() / "throttle.toml";
  std::ofstream(policy_file) << "[apps]\nforbidden = [\"reckless-*\"]\n[[level]]\nname = \"pause\"\n"
                                "free_below_percent = 10\ncooperative = \"pause\"\n";
  binwatch::watch::ThrottleSettings settings;
  settings.policy_file = policy_file.string();
  const auto state = dir.path() / "state";
  std::filesystem::create_directories(state);
  ThrottleEngine e(settings, state);
  binwatch::policy::ThrottleInputs in;
  in.free_percent = 90;
  e.update(in, 1000);
  for (size_t i = 0; i < ThrottleEngine::kMaxTrackedApps; ++i) e.check("app-" + std::to_string(i), 2000);
  // Over the cap: counted under _other, but the forbidden glob and operator throttles still see
  // the real name.
  EXPECT_EQ(e.check("reckless-purge", 2000).status, 417);
  e.throttle_app("slow-*", 10, 1.0, "test", 2000);
  EXPECT_EQ(e.check("slow-job", 2000).status, 429);
  EXPECT_EQ(e.check("other-job", 2000).status, 200);
  auto by_app = checks_by_app(e);
  EXPECT_EQ(by_app["_other"], 3);
  EXPECT_EQ(by_app.count("reckless-purge"), 0u);
}

namespace {

// A fake procfs root: ROOT/PID/stat (pid, comm, ppid, pgrp, starttime), ROOT/PID/status (Uid:)
// and ROOT/PID/exe.
void fake_process(const std::filesystem::path& root, int pid, const std::string& comm, int ppid, int pgrp,
                  uint64_t start, const std::string& exe = "", uint32_t uid = 1000) {
  const auto dir = root / std::to_string(pid);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "stat") << pid << " (" << comm << ") S " << ppid << " " << pgrp << " " << pgrp
                              << " 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 " << start << " 0 0\n";
  std::ofstream(dir / "comm") << comm << "\n";
  std::ofstream(dir / "status") << "Name:\t" << comm << "\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t" << pid
                                << "\nPPid:\t" << ppid << "\nUid:\t" << uid << "\t" << uid << "\t" << uid << "\t" << uid
                                << "\nGid:\t" << uid << "\t" << uid << "\t" << uid << "\t" << uid << "\n";
  std::error_code ec;
  std::filesystem::remove(dir / "exe", ec);
  if (!exe.empty()) std::filesystem::create_symlink(exe, dir / "exe");
}

// ROOT/net/tcp: ESTABLISHED 127.0.0.1 connections to the daemon's port 9100, one per
// {client port, uid of the client's socket}, each with the daemon's (root's) end.
void fake_tcp(const std::filesystem::path& root, const std::vector<std::pair<int, uint32_t>>& clients) {
  std::filesystem::create_directories(root / "net");
  std::ofstream out(root / "net" / "tcp");
  out << "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
  int sl = 0;
  uint64_t inode = 50000;
  auto line = [&](int local_port, int remote_port, uint32_t uid) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "%4d: 0100007F:%04X 0100007F:%04X 01 00000000:00000000 00:00000000 00000000 %5u        0 %llu 1 "
                  "0000000000000000 20 4 30 10 -1\n",
                  sl++, local_port, remote_port, uid, static_cast<unsigned long long>(inode++));
    out << buf;
  };
  for (const auto& [port, uid] : clients) {
    line(port, 9100, uid);
    line(9100, port, 0);
  }
}

// A check from 127.0.0.1:PORT to the daemon at 127.0.0.1:9100.
ThrottleEngine::RunCaller caller(int port) { return {"127.0.0.1", port, "127.0.0.1", 9100}; }

std::string metrics_text(const ThrottleEngine& e) {
  MetricsWriter w;
  e.write_metrics(w);
  return w.text();
}

}  // namespace

TEST(ThrottleEngine, RunRegistrationsOnlyForGroupsLedByAChildOfBinwatch) {
  TempDir dir("binwatch-throttle-runs");
  const auto proc = dir.path() / "proc";
  const auto state = dir.path() / "state";
  std::filesystem::create_directories(state);
  fake_process(proc, 400, "binwatch", 1, 400, 100, "/usr/local/bin/binwatch");
  fake_process(proc, 500, "mariadb", 400, 500, 777, "/usr/bin/mariadb");  // binwatch run's job
  fake_process(proc, 401, "bash", 1, 401, 100, "/usr/bin/bash");
  fake_process(proc, 600, "mariadb", 401, 600, 888, "/usr/bin/mariadb");  // a shell's job
  fake_process(proc, 700, "worker", 400, 500, 999, "/usr/bin/worker");    // in 500's group, leads none
  fake_process(proc, 410, "binwatch", 1, 410, 100);                       // exe unreadable: comm decides
  fake_process(proc, 510, "perl", 410, 510, 555);

  fake_tcp(proc, {{40000, 1000}});  // the caller: uid 1000, like the binwatch processes
  const auto me = caller(40000);

  binwatch::watch::ThrottleSettings settings;
  ThrottleEngine e(settings, state, proc);
  EXPECT_TRUE(e.note_run(500, 250, "nightly", me, 1000));
  EXPECT_TRUE(e.note_run(510, 0, "archiver", me, 1000));
  EXPECT_FALSE(e.note_run(600, 250, "spoofed", me, 1000)) << "its parent is bash";
  EXPECT_FALSE(e.note_run(700, 250, "spoofed", me, 1000)) << "not a group leader";
  EXPECT_FALSE(e.note_run(800, 250, "spoofed", me, 1000)) << "no such process";
  auto runs = e.runs(1000);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].pgid, 500);
  EXPECT_EQ(runs[0].app, "nightly");
  EXPECT_EQ(runs[0].leader_start, 777u);
  const std::string m = metrics_text(e);
  EXPECT_NE(m.find("binwatch_throttle_runs 2\n"), std::string::npos) << m;
  EXPECT_NE(m.find("binwatch_throttle_run_refusals_total{reason=\"parent_not_binwatch\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("binwatch_throttle_run_refusals_total{reason=\"not_group_leader\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("binwatch_throttle_run_refusals_total{reason=\"no_process\"} 1\n"), std::string::npos) << m;
  EXPECT_EQ(e.status(1000)["runs"].size(), 2u);
  e.note_malformed_run("pgid=abc", "spoofed", 1000);
  EXPECT_NE(metrics_text(e).find("binwatch_throttle_run_refusals_total{reason=\"malformed\"} 1\n"), std::string::npos);

  // Kept ThrottleEngine::kRunKeepMs after the last check; a check refreshes it.
  const int64_t keep = ThrottleEngine::kRunKeepMs;
  EXPECT_TRUE(e.note_run(500, 250, "nightly", me, 1000 + keep - 1));
  EXPECT_EQ(e.runs(1000 + keep).size(), 1u) << "510 expired, 500 refreshed";
  // The leader gone (the rest of its group may live on): not refreshed, it expires; once the group
  // has ended, its id can name an unrelated group.
  std::filesystem::remove_all(proc / "500");
  EXPECT_FALSE(e.note_run(500, 250, "nightly", me, 2000 + keep));
  EXPECT_EQ(e.runs(2000 + keep).size(), 1u) << "still registered until it expires";
  EXPECT_TRUE(e.runs(1000 + 2 * keep - 1).empty()) << "expired kRunKeepMs after its last good check";
  // The pid reused by a process that is not binwatch's child: refused.
  fake_process(proc, 500, "evil", 401, 500, 4242);
  EXPECT_FALSE(e.note_run(500, 250, "nightly", me, 3000 + keep));
  ASSERT_EQ(e.runs(3000 + keep).size(), 1u);
  EXPECT_EQ(e.runs(3000 + keep)[0].leader_start, 777u) << "not taken over by the refused one";
  EXPECT_TRUE(e.runs(1000 + 2 * keep).empty());
  // A long check interval keeps a run 4 intervals.
  fake_process(proc, 520, "mariadb", 400, 520, 1234);
  EXPECT_TRUE(e.note_run(520, 60000, "slow", me, 10'000'000));
  EXPECT_EQ(e.runs(10'000'000 + 239'999).size(), 1u);
  EXPECT_TRUE(e.runs(10'000'000 + 240'000).empty());
}

TEST(ThrottleEngine, RunKeepIsCappedWhateverIntervalTheHeaderClaims) {
  TempDir dir("binwatch-throttle-run-cap");
  const auto proc = dir.path() / "proc";
  const auto state = dir.path() / "state";
  std::filesystem::create_directories(state);
  fake_process(proc, 400, "binwatch", 1, 400, 100, "/usr/local/bin/binwatch");
  fake_process(proc, 500, "mariadb", 400, 500, 777, "/usr/bin/mariadb");
  fake_tcp(proc, {{40000, 1000}});
  binwatch::watch::ThrottleSettings settings;
  ThrottleEngine e(settings, state, proc);
  // interval_ms=86400000 (a day, the header's maximum) would keep it 4 days: at most 4 minutes.
  EXPECT_TRUE(e.note_run(500, 86'400'000, "nightly", caller(40000), 1000));
  const int64_t max_keep = 4 * ThrottleEngine::kRunMaxIntervalMs;
  EXPECT_EQ(e.runs(1000 + max_keep - 1).size(), 1u);
  EXPECT_TRUE(e.runs(1000 + max_keep).empty());
}

TEST(ThrottleEngine, RunRegistrationIsBoundToTheCallersUidAndKeepsItsFirstApp) {
  TempDir dir("binwatch-throttle-run-caller");
  const auto proc = dir.path() / "proc";
  const auto state = dir.path() / "state";
  std::filesystem::create_directories(state);
  fake_process(proc, 400, "binwatch", 1, 400, 100, "/usr/local/bin/binwatch", 1000);  // alice's binwatch run
  fake_process(proc, 500, "mariadb", 400, 500, 777, "/usr/bin/mariadb", 1000);
  fake_process(proc, 410, "binwatch", 1, 410, 100, "/usr/local/bin/binwatch", 0);  // the daemon (root)
  fake_process(proc, 510, "sh", 410, 510, 555, "/usr/bin/sh", 0);                   // its exec-notifier child
  // Sockets to the daemon: 40000 is alice's (1000), 40001 mallory's (2000), 40002 root's.
  fake_tcp(proc, {{40000, 1000}, {40001, 2000}, {40002, 0}});
  binwatch::watch::ThrottleSettings settings;
  ThrottleEngine e(settings, state, proc);

  EXPECT_FALSE(e.note_run(500, 250, "spoofed", caller(40001), 1000)) << "another user's binwatch run";
  EXPECT_FALSE(e.note_run(510, 250, "spoofed", caller(40001), 1000)) << "the daemon's own child";
  EXPECT_FALSE(e.note_run(510, 250, "spoofed", caller(40000), 1000)) << "alice is not root";
  EXPECT_FALSE(e.note_run(500, 250, "spoofed", caller(40009), 1000)) << "no such socket (another host)";
  EXPECT_FALSE(e.note_run(500, 250, "spoofed", {"127.0.0.1", 40000, "127.0.0.1", 9200}, 1000))
      << "the right port, to another server";
  EXPECT_TRUE(e.runs(1000).empty());
  EXPECT_NE(metrics_text(e).find("binwatch_throttle_run_refusals_total{reason=\"caller_mismatch\"} 5\n"),
            std::string::npos)
      << metrics_text(e);

  EXPECT_TRUE(e.note_run(500, 250, "nightly", caller(40000), 1000)) << "alice's own";
  EXPECT_TRUE(e.note_run(510, 250, "notifier", caller(40002), 1000)) << "root may register any";
  // ::ffff:127.0.0.1 (an IPv6 listener) names the same socket.
  EXPECT_TRUE(e.note_run(500, 250, "nightly", {"::ffff:127.0.0.1", 40000, "::ffff:127.0.0.1", 9100}, 1100));

  // A live registration keeps its first app: another app's check does not take it over.
  EXPECT_FALSE(e.note_run(500, 250, "other", caller(40000), 1200));
  EXPECT_FALSE(e.note_run(500, 250, "other", caller(40002), 1200));
  auto runs = e.runs(1200);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].pgid, 500);
  EXPECT_EQ(runs[0].app, "nightly");
  EXPECT_NE(metrics_text(e).find("binwatch_throttle_run_refusals_total{reason=\"app_mismatch\"} 2\n"),
            std::string::npos)
      << metrics_text(e);
  // Once the leader's pid names another process (a new binwatch run of the same user), it may be
  // registered anew, with its own app.
  fake_process(proc, 500, "perl", 400, 500, 9999, "/usr/bin/perl", 1000);
  EXPECT_TRUE(e.note_run(500, 250, "archiver", caller(40000), 1300));
  runs = e.runs(1300);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].app, "archiver");
  EXPECT_EQ(runs[0].leader_start, 9999u);
}
