#include "support/mariadb_server.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <system_error>

#ifndef BINWATCH_SOURCE_DIR
#error "BINWATCH_SOURCE_DIR must be defined by CMake (tests/support/CMakeLists.txt)"
#endif

extern char** environ;

namespace binwatch::test {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kScript = "scripts/mariadb-test-server.sh";
constexpr int kStartTimeoutSeconds = 60;

// ---------------------------------------------------------------------------------------------
// Process-wide cleanup registry. Signal handlers read it, so it is fixed-size, lock-free and
// holds only plain data; registration and release take a mutex against each other.
// ---------------------------------------------------------------------------------------------
constexpr int kMaxServers = 64;
constexpr std::size_t kMaxDir = 512;

struct Slot {
  std::atomic<int> state{0};       // kFree, kClaimed (being written), kLive
  std::atomic<pid_t> owner{0};     // the process that started it: forks must not clean it up
  std::atomic<pid_t> starter{0};   // the script while `start` runs (it kills its mariadbd on SIGTERM)
  std::atomic<pid_t> server{0};    // mariadbd once known
  char dir[kMaxDir] = {};
};
constexpr int kFree = 0, kClaimed = 1, kLive = 2;

std::array<Slot, kMaxServers> g_slots;
std::mutex g_slots_mutex;

constexpr std::array kCleanupSignals = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT,
                                        SIGSEGV, SIGBUS, SIGFPE, SIGILL};
struct sigaction g_previous[NSIG];

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

// Async-signal-safe: true while `pid` exists and is not a zombie (mariadbd is reparented, so its
// zombie may linger until init reaps it).
bool pid_alive(pid_t pid) {
  if (pid <= 0 || (kill(pid, 0) == -1 && errno == ESRCH)) return false;
  char path[64] = "/proc/";
  char digits[24];
  int n = 0;
  for (pid_t p = pid; p > 0 && n < 23; p /= 10) digits[n++] = static_cast<char>('0' + p % 10);
  std::size_t len = 6;
  while (n > 0) path[len++] = digits[--n];
  std::memcpy(path + len, "/stat", 6);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd == -1) return false;
  char buf[512];
  ssize_t got = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (got <= 0) return false;
  buf[got] = '\0';
  const char* paren = nullptr;
  for (const char* p = buf; *p; ++p)
    if (*p == ')') paren = p;
  return !(paren && paren[1] == ' ' && paren[2] == 'Z');
}

void wait_gone(pid_t pid, long max_ms) {
  for (long waited = 0; waited < max_ms && pid_alive(pid); waited += 10) sleep_ms(10);
}

// Async-signal-safe: kills this process's servers and removes their directories. Graceful
// shutdown is pointless here (everything is deleted) and not possible from a signal handler.
void emergency_cleanup() {
  const pid_t self = getpid();
  for (Slot& slot : g_slots) {
    if (slot.state.load() != kLive || slot.owner.load() != self) continue;
    if (pid_t starter = slot.starter.load(); starter > 0) {
      kill(starter, SIGTERM);  // its trap kills the half-started mariadbd
      for (int i = 0; i < 300 && waitpid(starter, nullptr, WNOHANG) == 0; ++i) sleep_ms(10);
      kill(starter, SIGKILL);
      waitpid(starter, nullptr, WNOHANG);
    }
    if (pid_t server = slot.server.load(); server > 0) {
      kill(server, SIGKILL);
      wait_gone(server, 3000);
    }
    pid_t rm = _Fork();  // unlike fork(), safe in a signal handler
    if (rm == 0) {
      char rm_path[] = "/bin/rm";
      char flag[] = "-rf";
      char dashes[] = "--";
      char* argv[] = {rm_path, flag, dashes, slot.dir, nullptr};
      char* envp[] = {nullptr};
      execve(rm_path, argv, envp);
      _exit(127);
    }
    if (rm > 0) {
      while (waitpid(rm, nullptr, 0) == -1 && errno == EINTR) {
      }
    }
    slot.state.store(kFree);
  }
}

extern "C" void on_cleanup_signal(int sig) {
  const int saved_errno = errno;
  emergency_cleanup();
  // Hand the signal to whatever handled it before (default: terminate, dump core): it is blocked
  // while this handler runs and is delivered again on return.
  sigaction(sig, &g_previous[sig], nullptr);
  raise(sig);
  errno = saved_errno;
}

void install_cleanup_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : kCleanupSignals) {
      struct sigaction current {};
      if (sigaction(sig, nullptr, &current) != 0) continue;
      if (current.sa_handler == SIG_IGN) continue;  // e.g. SIGINT in a background job: stay deaf
      struct sigaction action {};
      action.sa_handler = on_cleanup_signal;
      sigemptyset(&action.sa_mask);
      action.sa_flags = SA_RESTART;
      sigaction(sig, &action, &g_previous[sig]);
    }
    std::atexit(emergency_cleanup);
  });
}

int claim_slot(const fs::path& dir) {
  const std::string text = dir.string();
  if (text.size() >= kMaxDir) throw std::runtime_error("temporary directory path too long: " + text);
  std::lock_guard lock(g_slots_mutex);
  for (int i = 0; i < kMaxServers; ++i) {
    Slot& slot = g_slots[i];
    if (slot.state.load() != kFree) continue;
    slot.state.store(kClaimed);
    std::memcpy(slot.dir, text.c_str(), text.size() + 1);
    slot.owner.store(getpid());
    slot.starter.store(0);
    slot.server.store(0);
    slot.state.store(kLive);
    return i;
  }
  throw std::runtime_error("more than " + std::to_string(kMaxServers) + " MariadbServer objects alive");
}

void release_slot(int index) {
  if (index < 0) return;
  std::lock_guard lock(g_slots_mutex);
  g_slots[index].state.store(kFree);
}

// ---------------------------------------------------------------------------------------------
// Running programs
// ---------------------------------------------------------------------------------------------
fs::path script_path() { return source_path(kScript); }

// posix_spawnp(argv) with stdin from /dev/null, collecting its output. `on_spawn` gets the
// child's PID before the output is read (the registry wants the script's PID while it starts).
template <typename OnSpawn>
CommandResult spawn_and_collect(const std::vector<std::string>& args, OnSpawn on_spawn) {
  if (args.empty()) throw std::invalid_argument("run_command: empty argv");
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);

  std::vector<std::string> storage = args;
  std::vector<char*> argv;
  for (std::string& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  pid_t child = 0;
  const int rc = posix_spawnp(&child, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    throw std::system_error(rc, std::generic_category(), "cannot run " + args[0]);
  }
  on_spawn(child);

  CommandResult result;
  char buf[65536];
  for (;;) {
    ssize_t got = read(pipe_fds[0], buf, sizeof buf);
    if (got > 0) {
      result.output.append(buf, static_cast<std::size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      break;
    }
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(child, &status, 0) == -1 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

template <typename OnSpawn>
CommandResult run_script(std::vector<std::string> args, OnSpawn on_spawn) {
  args.insert(args.begin(), script_path().string());
  return spawn_and_collect(args, on_spawn);
}

CommandResult run_script(std::vector<std::string> args) {
  return run_script(std::move(args), [](pid_t) {});
}

// DIR/env is written with bash's printf %q: plain words, '' for empty, backslash escapes.
std::map<std::string, std::string> read_env_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::map<std::string, std::string> values;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string raw = line.substr(eq + 1), value;
    if (raw.starts_with("$'"))
      throw std::runtime_error("unsupported quoting in " + file.string() + ": " + line);
    if (raw != "''") {
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\\' && i + 1 < raw.size()) ++i;
        value += raw[i];
      }
    }
    values[line.substr(0, eq)] = value;
  }
  return values;
}

std::string env_value(const std::map<std::string, std::string>& env, const std::string& key,
                      const fs::path& file) {
  auto it = env.find(key);
  if (it == env.end() || it->second.empty())
    throw std::runtime_error(file.string() + " has no " + key + "=");
  return it->second;
}

long env_number(const std::map<std::string, std::string>& env, const std::string& key, const fs::path& file) {
  const std::string text = env_value(env, key, file);
  std::size_t used = 0;
  long value = -1;
  try {
    value = std::stol(text, &used);
  } catch (const std::exception&) {
  }
  if (used != text.size() || value <= 0)
    throw std::runtime_error(file.string() + ": " + key + "=" + text + " is not a positive number");
  return value;
}

bool env_flag(const char* name) {
  const char* value = std::getenv(name);
  return value && *value && std::string_view(value) != "0";
}

// The first of `names` on PATH, /usr/sbin or /usr/bin, or the program named by `override_var`.
std::optional<fs::path> find_program(std::initializer_list<const char*> names, const char* override_var) {
  if (const char* value = override_var ? std::getenv(override_var) : nullptr; value && *value) {
    if (access(value, X_OK) == 0) return fs::path(value);
    return std::nullopt;
  }
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    for (std::string dir; std::getline(ss, dir, ':');)
      if (!dir.empty()) dirs.push_back(dir);
  }
  dirs.emplace_back("/usr/sbin");
  dirs.emplace_back("/usr/bin");
  for (const char* name : names)
    for (const std::string& dir : dirs)
      if (fs::path candidate = fs::path(dir) / name; access(candidate.c_str(), X_OK) == 0) return candidate;
  return std::nullopt;
}

fs::path make_temp_dir() {
  // The socket path must fit in sun_path (108 bytes): fall back to /tmp for a long TMPDIR.
  std::string base = "/tmp";
  if (const char* tmpdir = std::getenv("TMPDIR"); tmpdir && *tmpdir && std::strlen(tmpdir) < 60)
    base = tmpdir;
  std::string pattern = base + "/binwatch-mariadb-XXXXXX";
  if (!mkdtemp(pattern.data()))
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  return pattern;
}

std::string abbreviate(std::string_view sql) {
  constexpr std::size_t kMax = 2000;
  if (sql.size() <= kMax) return std::string(sql);
  return std::string(sql.substr(0, kMax)) + " ... [" + std::to_string(sql.size()) + " bytes in all]";
}

[[noreturn]] void throw_sql_error(MYSQL* connection, std::string_view sql, int statement) {
  const unsigned code = mysql_errno(connection);
  std::string message = "MariaDB error " + std::to_string(code) + " (" + mysql_sqlstate(connection) +
                        ")";
  if (statement > 1) message += " in statement " + std::to_string(statement);
  message += ": ";
  message += mysql_error(connection);
  message += "\n  SQL: ";
  message += abbreviate(sql);
  std::string sqlstate = mysql_sqlstate(connection);
  // Leave the connection usable: results still pending would make the next query fail with
  // "Commands out of sync".
  while (mysql_more_results(connection) && mysql_next_result(connection) == 0) {
    if (MYSQL_RES* rest = mysql_store_result(connection)) mysql_free_result(rest);
  }
  throw SqlError(code, std::move(sqlstate), message);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string_view to_string(BinlogChecksum value) {
  return value == BinlogChecksum::Crc32 ? "CRC32" : "NONE";
}

std::string_view to_string(RowImage value) {
  switch (value) {
    case RowImage::Full: return "FULL";
    case RowImage::Minimal: return "MINIMAL";
    case RowImage::NoBlob: return "NOBLOB";
  }
  return "?";
}

std::string_view to_string(RowMetadata value) {
  switch (value) {
    case RowMetadata::NoLog: return "NO_LOG";
    case RowMetadata::Minimal: return "MINIMAL";
    case RowMetadata::Full: return "FULL";
  }
  return "?";
}

CommandResult run_command(const std::vector<std::string>& argv) {
  return spawn_and_collect(argv, [](pid_t) {});
}

bool process_alive(pid_t pid) { return pid_alive(pid); }

fs::path source_dir() { return fs::path(BINWATCH_SOURCE_DIR); }

fs::path source_path(std::string_view relative) { return source_dir() / relative; }

std::optional<std::string> mariadb_unavailable_reason() {
  static const std::optional<std::string> reason = []() -> std::optional<std::string> {
    if (env_flag("BINWATCH_SKIP_MARIADB")) return "BINWATCH_SKIP_MARIADB is set";
    const fs::path script = script_path();
    if (access(script.c_str(), X_OK) != 0)
      return "private MariaDB unavailable: " + script.string() + " is missing or not executable";
    // The same programs and override variables as the script's find_bin.
    std::string missing;
    auto need = [&](std::initializer_list<const char*> names, const char* var, const char* package) {
      if (find_program(names, var)) return;
      if (!missing.empty()) missing += ", ";
      missing += std::string(*names.begin()) + " (" + package + ")";
    };
    need({"mariadbd", "mysqld"}, "MARIADBD", "mariadb-server");
    need({"mariadb-install-db", "mysql_install_db"}, "MARIADB_INSTALL_DB", "mariadb-server");
    need({"mariadb-admin", "mysqladmin"}, "MARIADB_ADMIN", "mariadb-client");
    need({"mariadb", "mysql"}, "MARIADB_CLIENT", "mariadb-client");
    need({"setsid"}, nullptr, "util-linux");
    if (!missing.empty())
      return "private MariaDB unavailable: not found: " + missing + "; run scripts/install-deps.sh";
    return std::nullopt;
  }();
  return reason;
}

void MariadbServer::MysqlCloser::operator()(MYSQL* connection) const { mysql_close(connection); }

MariadbServer::MariadbServer() : MariadbServer(Options{}) {}

MariadbServer::MariadbServer(Options options) : m_options(std::move(options)), m_owner(getpid()) {
  if (auto reason = mariadb_unavailable_reason()) throw std::runtime_error(*reason);
  install_cleanup_handlers();
  m_dir = make_temp_dir();
  try {
    m_slot = claim_slot(m_dir);
    start();
    m_connection = connect();
  } catch (...) {
    stop();
    throw;
  }
}

MariadbServer::~MariadbServer() { stop(); }

void MariadbServer::start() {
  std::vector<std::string> args{"start", "--dir", m_dir.string(), "--timeout",
                                std::to_string(kStartTimeoutSeconds), "--owner-pid",
                                std::to_string(getpid())};
  auto add = [&](std::string option, std::string_view value) {
    args.push_back(std::move(option));
    args.emplace_back(value);
  };
  add("--checksum", to_string(m_options.checksum));
  add("--row-image", to_string(m_options.row_image));
  add("--row-metadata", to_string(m_options.row_metadata));
  add("--compress", m_options.compress ? "ON" : "OFF");
  if (m_options.port != 0) add("--port", std::to_string(m_options.port));
  if (m_options.max_binlog_size != 0) add("--max-binlog-size", std::to_string(m_options.max_binlog_size));
  if (!m_options.binlog_dir.empty()) add("--binlog-dir", m_options.binlog_dir.string());
  if (m_options.server_id != 1) add("--server-id", std::to_string(m_options.server_id));
  for (const std::string& extra : m_options.extra) add("--extra", extra);

  Slot& slot = g_slots[m_slot];
  const CommandResult result = run_script(args, [&](pid_t starter) { slot.starter.store(starter); });
  slot.starter.store(0);
  if (result.exit_code != 0) {
    throw std::runtime_error("cannot start a private MariaDB (" + script_path().string() +
                             " start exited with " + std::to_string(result.exit_code) + "):\n" + result.output);
  }

  const fs::path env_file = m_dir / "env";
  const auto env = read_env_file(env_file);
  m_pid = static_cast<pid_t>(env_number(env, "PID", env_file));
  slot.server.store(m_pid);
  m_socket = env_value(env, "SOCKET", env_file);
  m_port = static_cast<int>(env_number(env, "PORT", env_file));
  m_datadir = env_value(env, "DATADIR", env_file);
  m_binlog_dir = env_value(env, "BINLOG_DIR", env_file);
  m_error_log = env_value(env, "LOG", env_file);
  m_version = env.contains("VERSION") ? env.at("VERSION") : std::string();
}

void MariadbServer::stop() noexcept {
  if (getpid() != m_owner) {
    // A forked child (death test, fork in a test) destroying its copy: the server, the directory
    // and the connection's socket belong to the parent. Even COM_QUIT would end its session, so
    // the handle is abandoned, kept reachable so that LeakSanitizer does not report it.
    static auto* abandoned = new std::vector<MYSQL*>();
    abandoned->push_back(m_connection.release());
    return;
  }
  m_connection.reset();
  if (m_dir.empty()) return;
  const bool keep = env_flag("BINWATCH_KEEP_MARIADB");
  try {
    std::vector<std::string> args{"stop", "--dir", m_dir.string(), "--timeout", "20"};
    if (keep) args.emplace_back("--keep");
    const CommandResult result = run_script(args);
    if (result.exit_code != 0)
      std::cerr << "MariadbServer: " << script_path().string() << " stop failed (" << result.exit_code
                << "):\n" << result.output;
    if (keep) std::cerr << "MariadbServer: kept " << m_dir << " (BINWATCH_KEEP_MARIADB)\n";
  } catch (const std::exception& e) {
    std::cerr << "MariadbServer: stop failed: " << e.what() << "\n";
  }
  // Whatever happened above, nothing may be left running or on disk.
  if (m_pid > 0 && pid_alive(m_pid)) {
    kill(m_pid, SIGKILL);
    wait_gone(m_pid, 3000);
  }
  if (!keep) {
    std::error_code ignored;
    fs::remove_all(m_dir, ignored);
  }
  release_slot(m_slot);
  m_slot = -1;
  m_dir.clear();
}

MariadbServer::Connection MariadbServer::connect() const {
  static std::once_flag library_once;
  std::call_once(library_once, [] { mysql_library_init(0, nullptr, nullptr); });
  Connection connection(mysql_init(nullptr));
  if (!connection) throw std::runtime_error("mysql_init failed (out of memory)");
  const unsigned timeout = 10;
  mysql_options(connection.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(connection.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (!mysql_real_connect(connection.get(), nullptr, "root", "", nullptr, 0, m_socket.c_str(),
                          CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS)) {
    throw std::runtime_error("cannot connect to the private MariaDB on " + m_socket + ": " +
                             mysql_error(connection.get()) + " (log: " + m_error_log.string() + ")");
  }
  return connection;
}

MariadbServer::Rows MariadbServer::query(std::string_view sql) {
  MYSQL* connection = m_connection.get();
  if (mysql_real_query(connection, sql.data(), sql.size()) != 0) throw_sql_error(connection, sql, 1);
  Rows rows;
  for (int statement = 1;; ++statement) {
    if (MYSQL_RES* result = mysql_store_result(connection)) {
      std::unique_ptr<MYSQL_RES, decltype(&mysql_free_result)> guard(result, mysql_free_result);
      rows.clear();
      const unsigned columns = mysql_num_fields(result);
      while (MYSQL_ROW row = mysql_fetch_row(result)) {
        const unsigned long* lengths = mysql_fetch_lengths(result);
        Row& out = rows.emplace_back();
        out.reserve(columns);
        for (unsigned i = 0; i < columns; ++i) {
          if (row[i]) {
            out.emplace_back(std::string(row[i], lengths[i]));
          } else {
            out.emplace_back(std::nullopt);
          }
        }
      }
    } else if (mysql_field_count(connection) != 0) {
      throw_sql_error(connection, sql, statement);
    }
    const int next = mysql_next_result(connection);
    if (next < 0) break;
    if (next > 0) throw_sql_error(connection, sql, statement + 1);
  }
  return rows;
}

void MariadbServer::exec(std::string_view sql) { query(sql); }

void MariadbServer::exec_file(const fs::path& sql_file) {
  std::ifstream in(sql_file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + sql_file.string());
  std::stringstream text;
  text << in.rdbuf();
  try {
    exec(text.str());
  } catch (const SqlError& e) {
    throw SqlError(e.code(), e.sqlstate(), sql_file.string() + ": " + e.what());
  }
}

void MariadbServer::flush_binary_logs() { exec("FLUSH BINARY LOGS"); }

std::vector<fs::path> MariadbServer::binlog_files() {
  std::vector<fs::path> files;
  for (const Row& row : query("SHOW BINARY LOGS"))
    if (!row.empty() && row[0]) files.push_back(m_binlog_dir / *row[0]);
  return files;
}

std::string MariadbServer::variable(std::string_view name) {
  if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") != std::string_view::npos)
    throw std::invalid_argument("not a variable name: " + std::string(name));
  const Rows rows = query("SELECT @@GLOBAL." + std::string(name));
  if (rows.size() != 1 || rows[0].size() != 1) throw std::runtime_error("no value for @@" + std::string(name));
  return rows[0][0].value_or(std::string());
}

namespace {

std::string sql_string(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

void MariadbServer::replicate_from(MariadbServer& primary, const ReplicaOptions& o) {
  if (primary.options().server_id == m_options.server_id)
    throw std::invalid_argument("replicate_from: the replica needs a server_id other than the primary's (" +
                                std::to_string(m_options.server_id) + ")");
  const std::string account = sql_string(o.user) + "@'127.0.0.1'";
  // Not binlogged: the replica must not replay the account it uses itself.
  primary.exec("SET SESSION sql_log_bin = 0; CREATE USER IF NOT EXISTS " + account + " IDENTIFIED BY " +
               sql_string(o.password) + "; GRANT REPLICATION SLAVE ON *.* TO " + account +
               "; SET SESSION sql_log_bin = 1");
  std::string where;
  if (o.use_gtid == "no") {
    const Rows status = primary.query("SHOW MASTER STATUS");
    if (status.empty() || status[0].size() < 2 || !status[0][0] || !status[0][1])
      throw std::runtime_error("replicate_from: SHOW MASTER STATUS on the primary gave no position");
    where = ", MASTER_LOG_FILE = " + sql_string(*status[0][0]) + ", MASTER_LOG_POS = " + *status[0][1];
  } else {
    exec("SET GLOBAL gtid_slave_pos = " + sql_string(primary.variable("gtid_binlog_pos")));
  }
  exec("CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = " + std::to_string(primary.port()) +
       ", MASTER_USER = " + sql_string(o.user) + ", MASTER_PASSWORD = " + sql_string(o.password) +
       ", MASTER_CONNECT_RETRY = 1, MASTER_USE_GTID = " + o.use_gtid + where);
  if (!o.start) return;
  exec("START SLAVE");
  for (int i = 0; i < 400; ++i) {
    auto s = slave_status();
    if (s["Slave_IO_Running"] == "Yes" && s["Slave_SQL_Running"] == "Yes") return;
    if (!s["Last_IO_Error"].empty() || !s["Last_SQL_Error"].empty())
      throw std::runtime_error("replicate_from: replication failed: " + s["Last_IO_Error"] + s["Last_SQL_Error"]);
    sleep_ms(50);
  }
  throw std::runtime_error("replicate_from: the replication threads did not start within 20 s");
}

std::map<std::string, std::string> MariadbServer::slave_status() {
  MYSQL* connection = m_connection.get();
  const std::string_view sql = "SHOW SLAVE STATUS";
  if (mysql_real_query(connection, sql.data(), sql.size()) != 0) throw_sql_error(connection, sql, 1);
  std::map<std::string, std::string> out;
  MYSQL_RES* result = mysql_store_result(connection);
  if (!result) return out;
  std::unique_ptr<MYSQL_RES, decltype(&mysql_free_result)> guard(result, mysql_free_result);
  const unsigned columns = mysql_num_fields(result);
  MYSQL_FIELD* fields = mysql_fetch_fields(result);
  if (MYSQL_ROW row = mysql_fetch_row(result)) {
    const unsigned long* lengths = mysql_fetch_lengths(result);
    for (unsigned i = 0; i < columns; ++i) out[fields[i].name] = row[i] ? std::string(row[i], lengths[i]) : "";
  }
  return out;
}

bool MariadbServer::wait_caught_up(MariadbServer& primary, int timeout_ms) {
  const std::string want = primary.variable("gtid_binlog_pos");
  for (int waited = 0; waited <= timeout_ms; waited += 20) {
    if (variable("gtid_slave_pos") == want) return true;
    sleep_ms(20);
  }
  return false;
}

}  // namespace binwatch::test
