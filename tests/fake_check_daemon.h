#pragma once
// A real HTTP server on 127.0.0.1 (ephemeral port) that plays the daemon's throttle API
// (GET/HEAD /check/{app}): the test switches its answer; it counts the checks and remembers the
// paths and X-Binwatch-Run headers asked. Used by the `binwatch run` and pt-archiver plugin tests.
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

namespace binwatch::testing {

class FakeCheckDaemon {
 public:
  // port 0: an ephemeral port; otherwise that port (to come back where a stopped daemon was).
  explicit FakeCheckDaemon(int port = 0) {
    m_server.Get(R"(/check/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(m_mutex);
      ++m_checks;
      m_paths.push_back(req.path);
      m_run_headers.push_back(req.get_header_value("X-Binwatch-Run"));
      res.status = m_status;
      res.set_content(m_body, "application/json");
    });
    if (port == 0) {
      m_port = m_server.bind_to_any_port("127.0.0.1");
    } else if (m_server.bind_to_port("127.0.0.1", port)) {
      m_port = port;
    }
    if (m_port > 0) m_thread = std::thread([this] { m_server.listen_after_bind(); });
  }
  ~FakeCheckDaemon() { stop(); }
  FakeCheckDaemon(const FakeCheckDaemon&) = delete;
  FakeCheckDaemon& operator=(const FakeCheckDaemon&) = delete;

  [[nodiscard]] bool ok() const { return m_port > 0; }
  [[nodiscard]] int port() const { return m_port; }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }

  void stop() {
    if (!m_thread.joinable()) return;
    for (int i = 0; i < 200 && !m_server.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    m_server.stop();
    m_thread.join();
  }

  void answer(int status, std::string body) {
    std::lock_guard lock(m_mutex);
    m_status = status;
    m_body = std::move(body);
  }
  void allow() { answer(200, R"({"StatusCode":200,"Value":0,"Threshold":600,"Message":"","Action":"allow","Ratio":0})"); }
  void pause(const std::string& message) {
    answer(429, R"({"StatusCode":429,"Value":240.0,"Threshold":600.0,"Message":")" + message +
                    R"(","Action":"pause","Ratio":1.0,"Level":"pause"})");
  }
  void throttle(double ratio, const std::string& message) {
    answer(429, R"({"StatusCode":429,"Value":420.0,"Threshold":600.0,"Message":")" + message +
                    R"(","Action":"throttle","Ratio":)" + std::to_string(ratio) + R"(,"Level":"throttle"})");
  }

  [[nodiscard]] int checks() {
    std::lock_guard lock(m_mutex);
    return m_checks;
  }
  [[nodiscard]] std::vector<std::string> paths() {
    std::lock_guard lock(m_mutex);
    return m_paths;
  }
  // The X-Binwatch-Run header of each check ("" when absent).
  [[nodiscard]] std::vector<std::string> run_headers() {
    std::lock_guard lock(m_mutex);
    return m_run_headers;
  }

 private:
  httplib::Server m_server;
  std::thread m_thread;
  int m_port = -1;
  std::mutex m_mutex;
  int m_status = 200;
  std::string m_body = R"({"StatusCode":200,"Message":"","Action":"allow","Ratio":0})";
  int m_checks = 0;
  std::vector<std::string> m_paths;
  std::vector<std::string> m_run_headers;
};

}  // namespace binwatch::testing
