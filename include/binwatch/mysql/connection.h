#pragma once
// A client connection to a MySQL or MariaDB server through MariaDB Connector/C, shared by the
// subcommands that talk SQL (preflight now; the sidecar's introspection and report's column names
// later). Deliberately small: connect, run a statement, read rows as bytes, quote literals.
//
// Where the connection settings come from, lowest precedence first:
//   1. the client option files Connector/C reads for group [client] when `defaults_file` is set
//      (mysql_options MYSQL_READ_DEFAULT_FILE) -- host, port, user, socket and password;
//   2. a DSN `mysql://user@host:port/db` (no password: a password in a DSN is refused, since
//      command lines are visible in `ps` and shell history);
//   3. explicit `socket`.
// The password is only ever taken from the option file or from the environment
// (BINWATCH_MYSQL_PASSWORD, then MYSQL_PWD); it is never logged or put in error messages.
#include <mysql.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace binwatch::mysql {

struct ConnectionOptions {
  std::string host;           // empty: the option file's or Connector/C's default (localhost)
  unsigned port = 0;          // 0: option file or default
  std::string user;           // empty: option file, else the OS user (Connector/C default)
  std::string database;       // default schema, may be empty
  std::string socket;         // Unix socket path; used when host is empty or "localhost"
  std::string defaults_file;  // a my.cnf-style file read for group [client] (and [binwatch])
  unsigned connect_timeout_s = 10;
  unsigned read_timeout_s = 600;
};

// Parses `mysql://[user@]host[:port][/database]` into `into` (fields it names are overwritten).
// Throws std::invalid_argument naming what is wrong; a password (`user:secret@`) is refused.
void apply_dsn(std::string_view dsn, ConnectionOptions& into);

// An error from the server or the client library, with the server's error number.
class MysqlError : public std::runtime_error {
 public:
  MysqlError(unsigned code, const std::string& what) : std::runtime_error(what), m_code(code) {}
  [[nodiscard]] unsigned code() const { return m_code; }

 private:
  unsigned m_code;
};

// One result set: column names and rows; a NULL is nullopt, values are the bytes as sent.
struct ResultSet {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  // Index of a column by name (case-insensitive), or -1.
  [[nodiscard]] int column(std::string_view name) const;
};

// A column value as a number: 0 for NULL and for text that is not one.
uint64_t to_u64(const std::optional<std::string>& v);
double to_double(const std::optional<std::string>& v);

class Connection {
 public:
  // Connects; throws MysqlError (the message names host/socket and user, never the password).
  explicit Connection(const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;

  // Runs one statement and returns its result set (empty when it has none). Throws MysqlError
  // with the server's message and the first 200 characters of the statement.
  ResultSet query(std::string_view sql);
  void exec(std::string_view sql) { (void)query(sql); }
  // The first column of the first row, or nullopt (no row or NULL).
  std::optional<std::string> scalar(std::string_view sql);

  // A quoted SQL string literal of `value` ('...' with escapes for this connection's charset).
  [[nodiscard]] std::string quote(std::string_view value) const;

  [[nodiscard]] std::string server_version() const;  // e.g. "10.11.19-MariaDB-0+deb12u1"
  [[nodiscard]] bool is_mariadb() const;
  // Where it is connected: "host:port" or the socket path (for messages).
  [[nodiscard]] const std::string& endpoint() const { return m_endpoint; }
  [[nodiscard]] MYSQL* handle() const { return m_mysql.get(); }
  // The server's id of this connection (CONNECTION_ID(), the processlist Id).
  [[nodiscard]] uint64_t thread_id() const;

 private:
  struct Closer {
    void operator()(MYSQL* m) const;  // also forgets its thread id (own_thread_ids)
  };
  std::unique_ptr<MYSQL, Closer> m_mysql;
  std::string m_endpoint;
};

// Processlist ids of every connection this process has open (binwatch's own sessions, which
// session control must never kill).
std::vector<uint64_t> own_thread_ids();

// A backtick-quoted identifier (`a``b` for a`b).
std::string quote_identifier(std::string_view name);

// The password from the environment (BINWATCH_MYSQL_PASSWORD, then MYSQL_PWD), if set.
std::optional<std::string> password_from_environment();

}  // namespace binwatch::mysql
