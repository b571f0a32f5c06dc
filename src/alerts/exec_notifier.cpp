// The exec notifier: posix_spawnp of command + args in a process group of its own, the delivery's
// JSON written to its standard input, standard output discarded, the tail of standard error kept
// for the reason, and the whole group killed when timeout_ms passes.
#include "exec_notifier.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

extern char** environ;

namespace binwatch::alerts {
namespace {

// sysexits.h: "The input data was incorrect in some way": the same message would fail again.
constexpr int kExDataErr = 65;
constexpr size_t kStderrKept = 300;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return m_fd; }
  void reset() {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
  }

 private:
  int m_fd = -1;
};

class ExecNotifier final : public Notifier {
 public:
  using Notifier::Notifier;

 protected:
  SendResult do_send(const Delivery& d) override { return run(delivery_to_json(d).dump() + "\n"); }

 private:
  SendResult run(const std::string& input) {
    const ReceiverConfig& c = config();
    int in_pipe[2], err_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) return {SendOutcome::Retry, std::string("pipe: ") + std::strerror(errno), {}};
    Fd in_read(in_pipe[0]), in_write(in_pipe[1]);
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) return {SendOutcome::Retry, std::string("pipe: ") + std::strerror(errno), {}};
    Fd err_read(err_pipe[0]), err_write(err_pipe[1]);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_read.get(), 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, err_write.get(), 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Own process group (the timeout kills the command's children too); default signal mask and
    // SIGPIPE disposition (the sending thread blocks SIGPIPE).
    sigset_t none, pipe_only;
    sigemptyset(&none);
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &pipe_only);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> argv_text = {c.command};
    argv_text.insert(argv_text.end(), c.args.begin(), c.args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawnp(&pid, c.command.c_str(), &fa, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    in_read.reset();
    err_write.reset();
    if (rc != 0) return {SendOutcome::Permanent, "cannot start " + c.command + ": " + std::strerror(rc), {}};

    ::fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
    ::fcntl(err_read.get(), F_SETFL, O_NONBLOCK);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(c.timeout_ms);
    auto left_ms = [&] {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      return std::max<int64_t>(0, left.count());
    };
    size_t written = 0;
    std::string err;
    bool timed_out = false;
    // Feed standard input and drain standard error until both are done (or time is up).
    while (in_write.get() >= 0 || err_read.get() >= 0) {
      if (left_ms() == 0) {
        timed_out = true;
        break;
      }
      pollfd fds[2] = {{in_write.get(), POLLOUT, 0}, {err_read.get(), POLLIN, 0}};
      const int n = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(left_ms(), 100)));
      if (n < 0 && errno != EINTR) break;
      if (in_write.get() >= 0 && fds[0].revents) {
        const ssize_t w = ::write(in_write.get(), input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) in_write.reset();  // EPIPE: it stopped reading
      }
      if (err_read.get() >= 0 && fds[1].revents) {
        char buf[4096];
        const ssize_t r = ::read(err_read.get(), buf, sizeof buf);
        if (r > 0) {
          err.append(buf, static_cast<size_t>(r));
          if (err.size() > 4 * kStderrKept) err.erase(0, err.size() - kStderrKept);
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          err_read.reset();
        }
      }
    }
    int status = 0;
    pid_t done = 0;
    while (!timed_out) {
      done = ::waitpid(pid, &status, WNOHANG);
      if (done == pid || (done < 0 && errno != EINTR)) break;
      if (left_ms() == 0) {
        timed_out = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (timed_out) {
      ::kill(-pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return {SendOutcome::Retry, c.command + ": timed out after " + std::to_string(c.timeout_ms) + " ms (killed)", {}};
    }
    if (done != pid) return {SendOutcome::Retry, c.command + ": waitpid: " + std::strerror(errno), {}};
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    if (err.size() > kStderrKept) err = "..." + err.substr(err.size() - kStderrKept);
    for (char& ch : err) {
      if (ch == '\n') ch = ' ';
    }
    std::string reason = c.command + ": ";
    if (WIFSIGNALED(status)) reason += "killed by signal " + std::to_string(WTERMSIG(status));
    else reason += "exited with status " + std::to_string(WEXITSTATUS(status));
    if (!err.empty()) reason += ": " + err;
    const bool permanent = WIFEXITED(status) && WEXITSTATUS(status) == kExDataErr;
    return {permanent ? SendOutcome::Permanent : SendOutcome::Retry, reason, {}};
  }
};

}  // namespace

std::unique_ptr<Notifier> make_exec_notifier(const ReceiverConfig& config) {
  return std::make_unique<ExecNotifier>(config);
}

}  // namespace binwatch::alerts
