// binwatch run: the pure decisions (check answer -> decision -> plan -> duty phase) and the loop
// that performs them on a child process group. One thread, one signalfd, one poll(): signals
// (SIGCHLD and the four forwarded ones) and the exec-status pipe wake the loop; the next check and
// the next duty-cycle switch bound its timeout, so nothing busy-waits.
#include "binwatch/control/run_wrapper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <stdexcept>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace binwatch::control {

std::string_view to_string(CheckAction action) {
  switch (action) {
    case CheckAction::Allow: return "allow";
    case CheckAction::Throttle: return "throttle";
    case CheckAction::Pause: return "pause";
    case CheckAction::Stop: return "stop";
    case CheckAction::Forbidden: return "forbidden";
    case CheckAction::NoMetric: return "no-metric";
    case CheckAction::Unreachable: return "unreachable";
  }
  return "unknown";
}

namespace {

std::optional<CheckAction> action_named(std::string_view s) {
  if (s == "allow") return CheckAction::Allow;
  if (s == "throttle") return CheckAction::Throttle;
  if (s == "pause") return CheckAction::Pause;
  if (s == "stop") return CheckAction::Stop;
  if (s == "forbidden") return CheckAction::Forbidden;
  return std::nullopt;
}

// The fields of a check answer that matter here; absent or mistyped fields stay empty.
struct AnswerBody {
  bool readable = false;  // a JSON object
  std::optional<CheckAction> action;
  std::optional<double> ratio;
  std::string message;
};

AnswerBody read_body(std::string_view text) {
  AnswerBody b;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return b;
  b.readable = true;
  if (auto it = j.find("Action"); it != j.end() && it->is_string()) b.action = action_named(it->get<std::string>());
  if (auto it = j.find("Ratio"); it != j.end() && it->is_number()) {
    const double r = it->get<double>();
    if (std::isfinite(r)) b.ratio = r;
  }
  if (auto it = j.find("Message"); it != j.end() && it->is_string()) b.message = it->get<std::string>();
  return b;
}

}  // namespace

CheckDecision parse_check_answer(int status, std::string_view body, std::string_view transport_error) {
  CheckDecision d;
  d.status = status;
  if (status == 0) {
    d.action = CheckAction::Unreachable;
    d.message = transport_error.empty() ? std::string("no answer") : std::string(transport_error);
    return d;
  }
  const AnswerBody b = read_body(body);
  const std::string http = "HTTP " + std::to_string(status);
  auto decide = [&](CheckAction action, const std::string& fallback) {
    d.action = action;
    d.message = b.message.empty() ? fallback : b.message;
    return d;
  };
  // A throttle needs a ratio in (0, 1]; more than 1 is held all the time.
  const bool throttle = b.action == CheckAction::Throttle && b.ratio && *b.ratio > 0;
  if (throttle) d.ratio = std::min(*b.ratio, 1.0);

  if (status == 200) {
    if (throttle) return decide(CheckAction::Throttle, http + " asks for a throttle");
    return decide(CheckAction::Allow, "allowed");
  }
  if (status == 429) {
    if (throttle) return decide(CheckAction::Throttle, http + " asks for a throttle");
    if (!b.readable) return decide(CheckAction::Pause, http + " without a readable body");
    if (!b.action) return decide(CheckAction::Pause, http + " without a known Action");
    switch (*b.action) {
      case CheckAction::Stop: return decide(CheckAction::Stop, http + " asks to stop");
      case CheckAction::Forbidden: return decide(CheckAction::Forbidden, http + " says forbidden");
      case CheckAction::Throttle: return decide(CheckAction::Pause, http + " asks for a throttle without a ratio in (0, 1]");
      default: return decide(CheckAction::Pause, http + " asks to pause");  // pause, or a contradictory allow
    }
  }
  if (status == 417) return decide(CheckAction::Forbidden, "forbidden by policy (" + http + ")");
  if (status == 404) {
    // A daemon without the throttle API answers 404 too: say so, it would otherwise hold forever.
    return decide(CheckAction::NoMetric, b.readable ? "no metric yet (" + http + ")"
                                                    : "no metric yet (" + http + " without a check answer: does the "
                                                      "daemon serve /check?)");
  }
  d.ratio = 0;
  return decide(CheckAction::Unreachable, status >= 500 ? http : "unexpected " + http);
}

Plan plan_for(const CheckDecision& decision, FailSafe fail_safe) {
  switch (decision.action) {
    case CheckAction::Allow: return {Mode::Run, 0};
    case CheckAction::Throttle:
      if (decision.ratio >= 1) return {Mode::Hold, 0};
      if (decision.ratio <= 0) return {Mode::Run, 0};
      return {Mode::Duty, decision.ratio};
    case CheckAction::Unreachable: return {fail_safe == FailSafe::Pause ? Mode::Hold : Mode::Run, 0};
    case CheckAction::Pause:
    case CheckAction::Stop:
    case CheckAction::Forbidden:
    case CheckAction::NoMetric: break;
  }
  return {Mode::Hold, 0};
}

int64_t duty_run_ms(double ratio, int64_t period_ms) {
  if (period_ms <= 0) return 0;
  if (!(ratio > 0)) return period_ms;  // also NaN
  if (ratio >= 1) return 0;
  return std::clamp<int64_t>(std::llround((1.0 - ratio) * static_cast<double>(period_ms)), 0, period_ms);
}

DutyPhase duty_phase(double ratio, int64_t period_ms, int64_t elapsed_ms) {
  const int64_t period = std::max<int64_t>(period_ms, 1);
  const int64_t run = duty_run_ms(ratio, period);
  const int64_t at = std::max<int64_t>(elapsed_ms, 0) % period;
  if (run >= period) return {true, period - at};
  if (run <= 0) return {false, period - at};
  if (at < run) return {true, run - at};
  return {false, period - at};
}

std::string run_header_value(const RunHeader& h) {
  std::string v = "pgid=" + std::to_string(h.pgid);
  if (h.interval_ms > 0) v += " interval_ms=" + std::to_string(h.interval_ms);
  return v;
}

std::optional<RunHeader> parse_run_header(std::string_view value) {
  RunHeader h;
  bool have_pgid = false;
  while (!value.empty()) {
    const size_t sp = value.find_first_of(" \t,;");
    const std::string_view item = value.substr(0, sp);
    value = sp == std::string_view::npos ? std::string_view{} : value.substr(sp + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = item.substr(0, eq), num = item.substr(eq + 1);
    int64_t n = 0;
    auto r = std::from_chars(num.data(), num.data() + num.size(), n);
    const bool ok = !num.empty() && r.ec == std::errc() && r.ptr == num.data() + num.size();
    if (key == "pgid") {
      if (!ok || n <= 1 || n > (int64_t{1} << 22)) return std::nullopt;  // PID_MAX_LIMIT
      h.pgid = n;
      have_pgid = true;
    } else if (key == "interval_ms") {
      if (!ok || n < 0 || n > 86'400'000) return std::nullopt;
      h.interval_ms = n;
    }
  }
  if (!have_pgid) return std::nullopt;
  return h;
}

std::string app_name(const RunOptions& options) {
  if (!options.app.empty()) return options.app;
  if (options.command.empty()) return "job";
  std::string cmd = options.command.front();
  while (cmd.size() > 1 && cmd.back() == '/') cmd.pop_back();
  const auto slash = cmd.rfind('/');
  return slash == std::string::npos ? cmd : cmd.substr(slash + 1);
}

namespace {

using Clock = std::chrono::steady_clock;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

std::string seconds_text(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(std::max<int64_t>(ms, 0)) / 1000.0);
  return buf;
}

std::string percent_encode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string describe(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection: return "cannot connect: refused or no route";
    case httplib::Error::ConnectionTimeout: return "connect timed out";
    case httplib::Error::Read: return "no answer: read failed or timed out";
    case httplib::Error::Write: return "request not sent: write failed";
    default: return "HTTP client error " + httplib::to_string(e);
  }
}

// GET {url}/check/{app} with 1 s timeouts: a hung daemon delays the loop by ~2 s at most.
class Checker {
 public:
  Checker(const std::string& url, const std::string& app)
      : m_client(url), m_path("/check/" + percent_encode(app)) {
    m_client.set_connection_timeout(1, 0);
    m_client.set_read_timeout(1, 0);
    m_client.set_write_timeout(1, 0);
  }
  [[nodiscard]] bool valid() const { return m_client.is_valid(); }
  // From now on each check names the job's process group (X-Binwatch-Run).
  void set_run(const RunHeader& h) { m_headers = {{kRunHeader, run_header_value(h)}}; }
  CheckDecision check() {
    const auto res = m_client.Get(m_path.c_str(), m_headers);
    if (!res) return parse_check_answer(0, {}, describe(res.error()));
    return parse_check_answer(res->status, res->body);
  }

 private:
  httplib::Client m_client;
  std::string m_path;
  httplib::Headers m_headers;
};

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case SIGQUIT: return "SIGQUIT";
    default: return "a signal";
  }
}

// tcsetpgrp from a background group raises SIGTTOU unless it is ignored: ignore it around the call.
bool terminal_to(pid_t pgrp) {
  struct sigaction ign {}, old {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  if (::sigaction(SIGTTOU, &ign, &old) != 0) return false;
  const bool ok = ::tcsetpgrp(STDIN_FILENO, pgrp) == 0;
  ::sigaction(SIGTTOU, &old, nullptr);
  return ok;
}

class Wrapper {
 public:
  explicit Wrapper(const RunOptions& o)
      : m_o(o), m_app(app_name(o)), m_url(trimmed(o.url)), m_checker(m_url, m_app) {}

  ~Wrapper() {
    if (m_pid > 0 && !m_reaped) {
      // Only on an internal failure: the job goes on unsupervised, never stopped.
      ::kill(-m_pid, SIGCONT);
      std::cerr << "binwatch run: leaving '" << m_app << "' (pgid " << m_pid << ") running unsupervised\n";
    }
    if (m_tty) terminal_to(::getpgrp());
    for (int fd : {m_sfd, m_go_w, m_err_r})
      if (fd >= 0) ::close(fd);
    if (m_mask_set) ::sigprocmask(SIG_SETMASK, &m_old_mask, nullptr);
  }
  Wrapper(const Wrapper&) = delete;
  Wrapper& operator=(const Wrapper&) = delete;

  int run() {
    if (!m_checker.valid()) {
      std::cerr << "binwatch run: --url: not a usable http:// address: " << m_o.url << "\n";
      return 2;
    }
    setup_signals();
    // The child waits for the go byte before it execs CMD: the first check (which already names
    // the job's process group) comes before CMD runs a single instruction, so a job the daemon
    // holds never starts.
    start_child();
    m_checker.set_run({m_pid, m_o.check_interval_ms});
    CheckDecision first = m_checker.check();
    m_next_check = now_ms() + m_o.check_interval_ms;
    update(first, now_ms());
    apply(now_ms());
    release_child();
    return loop();
  }

 private:
  static std::string trimmed(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
  }

  void setup_signals() {
    // An inherited SIG_IGN for SIGCHLD would auto-reap the child and hide its exit status.
    if (::signal(SIGCHLD, SIG_DFL) == SIG_ERR) fail("signal(SIGCHLD)");
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&mask, sig);
    if (::sigprocmask(SIG_BLOCK, &mask, &m_old_mask) != 0) fail("sigprocmask");
    m_mask_set = true;
    m_sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (m_sfd < 0) fail("signalfd");
  }

  void start_child() {
    std::vector<char*> argv;
    for (const auto& a : m_o.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int go[2], err[2];
    if (::pipe2(go, O_CLOEXEC) != 0) fail("pipe2");
    if (::pipe2(err, O_CLOEXEC) != 0) {
      const int e = errno;
      ::close(go[0]);
      ::close(go[1]);
      errno = e;
      fail("pipe2");
    }
    m_tty = ::isatty(STDIN_FILENO) && ::tcgetpgrp(STDIN_FILENO) == ::getpgrp();
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int e = errno;
      for (int fd : {go[0], go[1], err[0], err[1]}) ::close(fd);
      errno = e;
      fail("fork");
    }
    if (pid == 0) {
      // Child: only async-signal-safe calls until exec.
      // The terminal is handed over by the parent only: the child cannot run CMD before the go
      // byte, so it needs no tcsetpgrp of its own (which could race a hold).
      ::setpgid(0, 0);
      ::sigprocmask(SIG_SETMASK, &m_old_mask, nullptr);
      ::close(go[1]);
      ::close(err[0]);
      // Wait for the parent's go: it may have stopped the group first.
      char byte;
      while (::read(go[0], &byte, 1) < 0 && errno == EINTR) {
      }
      ::execvp(argv[0], argv.data());
      const int e = errno;
      [[maybe_unused]] const ssize_t n = ::write(err[1], &e, sizeof e);
      ::_exit(127);
    }
    m_pid = pid;
    ::close(go[0]);
    ::close(err[1]);
    m_go_w = go[1];
    m_err_r = err[0];
    // Both sides set the group (as shells do): the parent's signals must reach the group at once.
    if (::setpgid(pid, pid) != 0 && errno != EACCES && errno != ESRCH) fail("setpgid(child)");
    if (m_tty) terminal_to(pid);
  }

  void release_child() {
    const char byte = 1;
    if (::write(m_go_w, &byte, 1) != 1) fail("write(start pipe)");
    ::close(m_go_w);
    m_go_w = -1;
  }

  // The daemon said `d`: adopt its plan and tell the operator when the state changed.
  void update(const CheckDecision& d, int64_t now) {
    const Plan p = plan_for(d, m_o.fail_safe);
    if (p.mode == Mode::Duty && m_plan.mode != Mode::Duty) m_duty_start = now;
    const bool was_held = m_started && m_plan.mode != Mode::Run;
    if (p.mode != Mode::Run && (!m_started || m_plan.mode == Mode::Run)) m_held_since = now;
    announce(d, p, was_held, now);
    m_plan = p;
    m_started = true;
  }

  void announce(const CheckDecision& d, const Plan& p, bool was_held, int64_t now) {
    // One line per change of (mode, action), and per ratio change of 0.1 or more while throttled.
    const bool same = m_started && p.mode == m_plan.mode && d.action == m_told_action &&
                      (p.mode != Mode::Duty || std::fabs(p.ratio - m_told_ratio) < 0.1);
    if (same) return;
    const CheckAction told_before = m_told_action;
    m_told_action = d.action;
    m_told_ratio = p.ratio;
    if (m_o.quiet) return;
    const std::string who = "'" + m_app + "' (pgid " + std::to_string(m_pid) + ")";
    const std::string held_for = seconds_text(now - m_held_since);
    const char* held_how = m_plan.mode == Mode::Duty ? " throttled" : " paused";
    std::string line;
    if (d.action == CheckAction::Unreachable) {
      line = "daemon " + m_url + " unreachable (" + d.message + "): ";
      if (p.mode == Mode::Hold)
        line += (was_held ? "keeping " + who + " paused" : "pausing " + who) + " (fail-safe pause)";
      else
        line += (was_held ? "resuming '" + m_app + "' after " + held_for + held_how : "'" + m_app + "' runs on") +
                " (fail-safe continue)";
    } else if (p.mode == Mode::Run) {
      if (was_held)
        line = "resuming '" + m_app + "' after " + held_for + held_how;
      else if (m_started && told_before == CheckAction::Unreachable)
        line = "daemon " + m_url + " answers again: '" + m_app + "' runs";
    } else if (p.mode == Mode::Duty) {
      line = "throttling " + who + " to run " + std::to_string(duty_run_ms(p.ratio, m_o.period_ms)) + " ms of every " +
             std::to_string(m_o.period_ms) + " ms: " + d.message;
    } else {
      std::string why;
      if (d.action == CheckAction::Stop) why = " (the daemon says stop: critical)";
      if (d.action == CheckAction::Forbidden) why = " (forbidden by policy)";
      line = (was_held && m_plan.mode == Mode::Hold ? "keeping " + who + " paused" : "pausing " + who) + why + ": " +
             d.message;
    }
    if (!line.empty()) std::cerr << "binwatch run: " << line << "\n" << std::flush;
  }

  bool want_stopped(int64_t now) const {
    if (m_draining) return false;
    switch (m_plan.mode) {
      case Mode::Run: return false;
      case Mode::Hold: return true;
      case Mode::Duty: return !duty_phase(m_plan.ratio, m_o.period_ms, now - m_duty_start).running;
    }
    return false;
  }

  void apply(int64_t now) {
    const bool stop = want_stopped(now);
    if (stop == m_stopped || m_reaped) return;
    signal_group(stop ? SIGSTOP : SIGCONT);
    m_stopped = stop;
    // The terminal follows whoever runs: Ctrl-C reaches this process while the job is held.
    if (m_tty) terminal_to(stop ? ::getpgrp() : m_pid);
  }

  void signal_group(int sig) {
    // ESRCH: the whole group is gone; the SIGCHLD that says so is on its way.
    if (::kill(-m_pid, sig) != 0 && errno != ESRCH)
      fail("kill(-" + std::to_string(m_pid) + ", " + std::string(::strsignal(sig)) + ")");
  }

  void forward(int sig) {
    if (!m_o.quiet)
      std::cerr << "binwatch run: forwarding " << signal_name(sig) << " to '" << m_app << "' (pgid " << m_pid
                << ")\n";
    signal_group(sig);
    signal_group(SIGCONT);  // a stopped job must run to handle it
    m_stopped = false;
    if (m_tty) terminal_to(m_pid);
    // The job is being told to end: let it, unthrottled. SIGHUP may mean "reload": keep control.
    if (sig != SIGHUP) m_draining = true;
  }

  void read_exec_status(bool block) {
    if (m_err_r < 0) return;
    if (!block) {
      pollfd p{m_err_r, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) return;
    }
    int e = 0;
    ssize_t n;
    do n = ::read(m_err_r, &e, sizeof e);
    while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof e)) m_exec_errno = e;
    ::close(m_err_r);  // EOF: exec succeeded (the pipe is close-on-exec)
    m_err_r = -1;
  }

  // true when the child is gone; m_status holds its wait status.
  bool reap() {
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(m_pid, &status, WNOHANG);
      if (r == 0) return false;
      if (r < 0) {
        if (errno == EINTR) continue;
        fail("waitpid");
      }
      if (WIFEXITED(status) || WIFSIGNALED(status)) {
        m_status = status;
        m_reaped = true;
        return true;
      }
    }
  }

  int finish() {
    // Never leave stopped members behind (the leader may have exited while others were held).
    ::kill(-m_pid, SIGCONT);
    m_stopped = false;
    if (m_tty) {
      terminal_to(::getpgrp());
      m_tty = false;
    }
    read_exec_status(true);
    if (m_exec_errno != 0) {
      std::cerr << "binwatch run: cannot execute '" << m_o.command.front() << "': " << std::strerror(m_exec_errno)
                << "\n";
      return 127;
    }
    if (WIFEXITED(m_status)) return WEXITSTATUS(m_status);
    if (WIFSIGNALED(m_status)) return 128 + WTERMSIG(m_status);
    return 1;
  }

  int loop() {
    for (;;) {
      int64_t now = now_ms();
      if (!m_draining && now >= m_next_check) {
        const CheckDecision d = m_checker.check();
        now = now_ms();
        update(d, now);
        m_next_check = now + m_o.check_interval_ms;
      }
      apply(now);

      int timeout = -1;
      if (!m_draining) {
        int64_t wait = m_next_check - now;
        if (m_plan.mode == Mode::Duty)
          wait = std::min(wait, duty_phase(m_plan.ratio, m_o.period_ms, now - m_duty_start).next_switch_ms);
        timeout = static_cast<int>(std::clamp<int64_t>(wait, 0, 60'000));
      }
      pollfd fds[2] = {{m_sfd, POLLIN, 0}, {m_err_r, POLLIN, 0}};
      const int n = ::poll(fds, m_err_r >= 0 ? 2 : 1, timeout);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("poll");
      }
      if (m_err_r >= 0 && (fds[1].revents & (POLLIN | POLLHUP))) read_exec_status(false);
      if (fds[0].revents & POLLIN) {
        signalfd_siginfo si;
        for (;;) {
          const ssize_t r = ::read(m_sfd, &si, sizeof si);
          if (r < 0 && errno == EINTR) continue;
          if (r < 0 && errno == EAGAIN) break;
          if (r != static_cast<ssize_t>(sizeof si)) fail("read(signalfd)");
          if (static_cast<int>(si.ssi_signo) != SIGCHLD) forward(static_cast<int>(si.ssi_signo));
        }
        // SIGCHLD coalesces: reap on any wake-up.
      }
      if (reap()) return finish();
    }
  }

  const RunOptions& m_o;
  std::string m_app;
  std::string m_url;
  Checker m_checker;
  sigset_t m_old_mask{};
  bool m_mask_set = false;
  int m_sfd = -1, m_go_w = -1, m_err_r = -1;
  pid_t m_pid = -1;
  bool m_tty = false;
  bool m_reaped = false;
  int m_status = 0;
  int m_exec_errno = 0;
  bool m_stopped = false;
  bool m_draining = false;
  bool m_started = false;
  Plan m_plan;
  CheckAction m_told_action = CheckAction::Allow;
  double m_told_ratio = 0;
  int64_t m_duty_start = 0;
  int64_t m_held_since = 0;
  int64_t m_next_check = 0;
};

}  // namespace

int run_wrapped(const RunOptions& options) {
  if (options.command.empty()) {
    std::cerr << "binwatch run: no command given (binwatch run [options] -- CMD ARGS...)\n";
    return 2;
  }
  try {
    Wrapper w(options);
    return w.run();
  } catch (const std::exception& e) {
    std::cerr << "binwatch run: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace binwatch::control
