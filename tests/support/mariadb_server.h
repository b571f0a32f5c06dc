// A throwaway private MariaDB for tests: RAII over scripts/mariadb-test-server.sh.
//
//   BINWATCH_REQUIRE_MARIADB();                      // GTEST_SKIP with a reason if no server here
//   binwatch::test::MariadbServer server({.row_image = binwatch::test::RowImage::Minimal});
//   server.exec("CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY); INSERT d.t VALUES (1)");
//   server.flush_binary_logs();
//   for (const auto& file : server.binlog_files()) { ... }
//
// Each server lives in a fresh mkdtemp directory (data, binlogs, socket, error log) and is stopped
// and removed by the destructor. If the test process dies first, nothing is left running either:
// SIGINT/SIGTERM/SIGHUP/SIGQUIT and crash signals (SIGABRT, SIGSEGV, ...) kill the servers and
// remove their directories before the signal takes its course, exit() does the same, and a
// watchdog started by the script stops the server once the test process is gone (SIGKILL included).
// Set BINWATCH_KEEP_MARIADB=1 to keep the directories (the servers are still stopped) for
// inspection; BINWATCH_SKIP_MARIADB=1 makes BINWATCH_REQUIRE_MARIADB() skip. A server starts in
// about 0.6 s: its system tables are copied from the script's seed cache (see the script).
//
// Not thread-safe: use one MariadbServer from one thread at a time (connect() gives other threads
// their own connections).
#pragma once

#include <mysql.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace binwatch::test {

enum class BinlogChecksum { Crc32, None };
enum class RowImage { Full, Minimal, NoBlob };
enum class RowMetadata { NoLog, Minimal, Full };

// The spelling the server uses for the setting ("CRC32", "NOBLOB", "NO_LOG", ...).
std::string_view to_string(BinlogChecksum value);
std::string_view to_string(RowImage value);
std::string_view to_string(RowMetadata value);

// An error reported by the server, with the statement that caused it in what().
class SqlError : public std::runtime_error {
public:
  SqlError(unsigned code, std::string sqlstate, const std::string& message)
      : std::runtime_error(message), m_code(code), m_sqlstate(std::move(sqlstate)) {}
  unsigned code() const { return m_code; }
  const std::string& sqlstate() const { return m_sqlstate; }

private:
  unsigned m_code;
  std::string m_sqlstate;
};

// Why no private server can be started on this machine (script or MariaDB binaries missing,
// BINWATCH_SKIP_MARIADB set), or nullopt when one can.
std::optional<std::string> mariadb_unavailable_reason();

// The source tree (BINWATCH_SOURCE_DIR, set by CMake) and paths inside it, e.g.
// source_path("scripts/sql/typed-rows.sql").
std::filesystem::path source_dir();
std::filesystem::path source_path(std::string_view relative);

// Runs argv[0] (looked up on PATH) with stdin from /dev/null; returns its exit code (128 + signal
// when killed) and its stdout and stderr, interleaved. Throws when it cannot be started.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult run_command(const std::vector<std::string>& argv);

// The process exists and is not a zombie.
bool process_alive(pid_t pid);

class MariadbServer {
public:
  struct Options {
    BinlogChecksum checksum = BinlogChecksum::Crc32;
    RowImage row_image = RowImage::Full;
    RowMetadata row_metadata = RowMetadata::NoLog;  // the server's default
    bool compress = false;                          // log_bin_compress (min_len 10)
    std::uint64_t max_binlog_size = 0;              // bytes, 4096..1 GiB; 0 = server default (1 GiB)
    std::filesystem::path binlog_dir;               // empty = <dir>/binlog
    std::vector<std::string> extra;                 // "key=value" -> mariadbd --key=value
    int port = 0;                                   // 0 = a free 127.0.0.1 port
    unsigned server_id = 1;                         // a replica needs another one than its primary
  };

  // replicate_from(): how this server replicates from a primary.
  struct ReplicaOptions {
    std::string user = "repl";  // created on the primary, 'user'@'127.0.0.1', REPLICATION SLAVE
    std::string password = "repl-secret";
    std::string use_gtid = "no";  // MASTER_USE_GTID: "no" (file/position), "slave_pos", "current_pos"
    bool start = true;            // START SLAVE and wait until both threads run
  };

  using Row = std::vector<std::optional<std::string>>;  // nullopt = SQL NULL; bytes kept as-is
  using Rows = std::vector<Row>;

  struct MysqlCloser {
    void operator()(MYSQL* connection) const;
  };
  using Connection = std::unique_ptr<MYSQL, MysqlCloser>;

  // Starts the server; throws std::runtime_error with the script's output when it cannot.
  MariadbServer();
  explicit MariadbServer(Options options);
  ~MariadbServer();
  MariadbServer(const MariadbServer&) = delete;
  MariadbServer& operator=(const MariadbServer&) = delete;

  const Options& options() const { return m_options; }
  const std::filesystem::path& dir() const { return m_dir; }
  const std::string& socket() const { return m_socket; }  // connect as root, empty password
  int port() const { return m_port; }                      // on 127.0.0.1, same account
  const std::filesystem::path& datadir() const { return m_datadir; }
  const std::filesystem::path& binlog_dir() const { return m_binlog_dir; }
  const std::filesystem::path& error_log() const { return m_error_log; }
  pid_t pid() const { return m_pid; }
  const std::string& version() const { return m_version; }  // e.g. "10.11.19-MariaDB-0+deb12u1"

  // Runs one or more ';'-separated statements (no client commands such as DELIMITER); throws
  // SqlError naming the failing statement's number, the server's message and the SQL.
  void exec(std::string_view sql);
  void exec_file(const std::filesystem::path& sql_file);
  // Like exec(), and returns the rows of the last result set (empty if none).
  Rows query(std::string_view sql);
  void flush_binary_logs();
  // SHOW BINARY LOGS as full paths, oldest first (the last one is the file being written).
  std::vector<std::filesystem::path> binlog_files();
  // SELECT @@GLOBAL.<name> as text ("" for NULL); throws SqlError for an unknown variable.
  std::string variable(std::string_view name);
  // A new connection (root over the socket, utf8mb4, multi-statements on) owned by the caller.
  Connection connect() const;
  // A fresh connection for exec()/query() (after a test killed the old one).
  void reconnect() { m_connection = connect(); }

  // Makes this server a replica of `primary` over TCP on 127.0.0.1 (the primary's port), with a
  // replication user and password created on the primary (not binlogged), starting at the
  // primary's current SHOW MASTER STATUS (MASTER_USE_GTID=no) or at its gtid_binlog_pos (GTID).
  // With options.start, waits up to 20 s until Slave_IO_Running and Slave_SQL_Running say Yes.
  void replicate_from(MariadbServer& primary, const ReplicaOptions& options);
  void replicate_from(MariadbServer& primary) { replicate_from(primary, ReplicaOptions{}); }
  // SHOW SLAVE STATUS as column -> value ("" for NULL); empty when not a replica.
  std::map<std::string, std::string> slave_status();
  // Waits until the SQL thread has applied everything `primary` has written so far (by GTID
  // position: gtid_slave_pos reaches the primary's gtid_binlog_pos); false after timeout_ms.
  bool wait_caught_up(MariadbServer& primary, int timeout_ms = 20000);

private:
  void start();
  void stop() noexcept;

  Options m_options;
  std::filesystem::path m_dir;
  std::filesystem::path m_datadir;
  std::filesystem::path m_binlog_dir;
  std::filesystem::path m_error_log;
  std::string m_socket;
  std::string m_version;
  int m_port = 0;
  pid_t m_pid = 0;
  pid_t m_owner = 0;  // the process that started the server; only it stops it
  int m_slot = -1;  // index in the process-wide cleanup registry
  Connection m_connection;
};

}  // namespace binwatch::test

// Skips the current test (GTEST_SKIP) with the reason when no private MariaDB can run here.
// Use it in a TEST body, SetUp() or SetUpTestSuite().
#define BINWATCH_REQUIRE_MARIADB()                                                      \
  do {                                                                                  \
    if (auto binwatch_mariadb_reason_ = ::binwatch::test::mariadb_unavailable_reason()) \
      GTEST_SKIP() << *binwatch_mariadb_reason_;                                        \
  } while (false)
