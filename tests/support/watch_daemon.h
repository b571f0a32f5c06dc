// Drives a real `binwatch watch` from tests: a free loopback port, the daemon as a child process
// (stderr and stdout appended to a log file shown when a check fails), its HTTP API, and polling.
// Header-only; needs BINWATCH_EXE defined by CMake for the test target.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "support/binwatch_process.h"

#include "support/loopback.h"

extern char** environ;

namespace binwatch::test {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A running `binwatch watch`, stderr kept in a file (shown when a check fails).
class WatchDaemon {
 public:
  WatchDaemon(const fs::path& config, const fs::path& log) : m_log(log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::vector<std::string> args{BINWATCH_EXE, "watch", "--config", config.string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&m_pid, BINWATCH_EXE, &fa, nullptr, argv.data(), environ) != 0) m_pid = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~WatchDaemon() { stop(SIGKILL); }
  WatchDaemon(const WatchDaemon&) = delete;
  WatchDaemon& operator=(const WatchDaemon&) = delete;
  int stop(int sig) {
    if (m_pid <= 0) return -1;
    ::kill(m_pid, sig);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  [[nodiscard]] std::string log() const { return binwatch::test::slurp_file(m_log); }
  [[nodiscard]] pid_t pid() const { return m_pid; }

 private:
  pid_t m_pid = -1;
  fs::path m_log;
};

struct Http {
  int port;
  std::optional<std::string> get(const std::string& path, int timeout_s = 2) const {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(timeout_s);
    c.set_read_timeout(timeout_s);
    auto r = c.Get(path.c_str());
    if (!r || r->status != 200) return std::nullopt;
    return r->body;
  }
  std::optional<json> status() const {
    auto b = get("/api/v1/status");
    if (!b) return std::nullopt;
    return json::parse(*b);
  }
};

}  // namespace binwatch::test
