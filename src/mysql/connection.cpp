// MariaDB Connector/C wrapper; see include/binwatch/mysql/connection.h for the precedence of
// settings. Connector/C reads MYSQL_READ_DEFAULT_FILE at connect time; every parameter passed as
// nullptr to mysql_real_connect falls back to the option file's value.
#include "binwatch/mysql/connection.h"

#include <algorithm>
#include <mutex>
#include <cctype>
#include <charconv>
#include <cstdlib>

namespace binwatch::mysql {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

const char* or_null(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

}  // namespace

void apply_dsn(std::string_view dsn, ConnectionOptions& into) {
  constexpr std::string_view kScheme = "mysql://";
  std::string_view rest = dsn;
  if (rest.substr(0, kScheme.size()) == kScheme) {
    rest.remove_prefix(kScheme.size());
  } else if (rest.substr(0, 10) == "mariadb://") {
    rest.remove_prefix(10);
  } else {
    throw std::invalid_argument("DSN must start with mysql:// (mysql://user@host:port/db)");
  }
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    throw std::invalid_argument("DSN parameters (?...) are not supported; use --defaults-file");
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view user = rest.substr(0, at);
    if (user.find(':') != std::string_view::npos) {
      throw std::invalid_argument(
          "a password in the DSN is refused (command lines are visible to other users); put it in "
          "an option file (--defaults-file) or the BINWATCH_MYSQL_PASSWORD / MYSQL_PWD "
          "environment variable");
    }
    if (user.empty()) throw std::invalid_argument("DSN has an empty user before '@'");
    into.user = std::string(user);
    rest.remove_prefix(at + 1);
  }
  std::string_view hostport = rest;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    into.database = std::string(rest.substr(slash + 1));
  }
  std::string_view host = hostport;
  if (!hostport.empty() && hostport.front() == '[') {  // [::1]:3306
    auto close = hostport.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("DSN: unclosed '[' in host");
    host = hostport.substr(1, close - 1);
    hostport.remove_prefix(close + 1);
    if (!hostport.empty() && hostport.front() != ':') {
      throw std::invalid_argument("DSN: expected ':port' after ']'");
    }
    hostport = hostport.empty() ? hostport : hostport.substr(0);
  } else if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    hostport.remove_prefix(colon);
  } else {
    hostport = {};
  }
  if (!hostport.empty()) {  // ":port"
    std::string_view p = hostport.substr(1);
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || ptr != p.data() + p.size() || port == 0 || port > 65535) {
      throw std::invalid_argument("DSN: bad port '" + std::string(p) + "'");
    }
    into.port = port;
  }
  if (!host.empty()) into.host = std::string(host);
}

int ResultSet::column(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (iequals(columns[i], name)) return static_cast<int>(i);
  }
  return -1;
}

std::optional<std::string> password_from_environment() {
  for (const char* name : {"BINWATCH_MYSQL_PASSWORD", "MYSQL_PWD"}) {
    if (const char* v = std::getenv(name)) return std::string(v);
  }
  return std::nullopt;
}

uint64_t to_u64(const std::optional<std::string>& v) {
  if (!v || v->empty()) return 0;
  try {
    return std::stoull(*v);
  } catch (const std::exception&) {
    return 0;
  }
}

double to_double(const std::optional<std::string>& v) {
  if (!v || v->empty()) return 0;
  try {
    return std::stod(*v);
  } catch (const std::exception&) {
    return 0;
  }
}

namespace {
// Server thread ids of this process's open connections: session control never kills them.
std::mutex g_own_mutex;
std::vector<uint64_t> g_own_ids;
}  // namespace

std::vector<uint64_t> own_thread_ids() {
  std::lock_guard lock(g_own_mutex);
  return g_own_ids;
}

void Connection::Closer::operator()(MYSQL* m) const {
  if (!m) return;
  if (const uint64_t id = mysql_thread_id(m)) {
    std::lock_guard lock(g_own_mutex);
    if (auto it = std::find(g_own_ids.begin(), g_own_ids.end(), id); it != g_own_ids.end()) g_own_ids.erase(it);
  }
  mysql_close(m);
}

Connection::Connection(const ConnectionOptions& o) : m_mysql(mysql_init(nullptr)) {
  if (!m_mysql) throw MysqlError(0, "mysql_init failed (out of memory)");
  MYSQL* m = m_mysql.get();
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &o.connect_timeout_s);
  mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &o.read_timeout_s);
  mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (!o.defaults_file.empty()) {
    mysql_options(m, MYSQL_READ_DEFAULT_FILE, o.defaults_file.c_str());
    mysql_options(m, MYSQL_READ_DEFAULT_GROUP, "binwatch");
  }
  const auto password = password_from_environment();
  const bool use_socket = !o.socket.empty() && (o.host.empty() || o.host == "localhost");
  if (use_socket) {
    m_endpoint = o.socket;
  } else {
    m_endpoint = (o.host.empty() ? std::string("localhost") : o.host) +
                 (o.port ? ":" + std::to_string(o.port) : std::string());
  }
  if (!mysql_real_connect(m, or_null(o.host), or_null(o.user),
                          password ? password->c_str() : nullptr, or_null(o.database), o.port,
                          use_socket ? o.socket.c_str() : nullptr, 0)) {
    const unsigned code = mysql_errno(m);
    // mysql_error() never contains the password, only "(using password: YES)".
    throw MysqlError(code, "cannot connect to " + m_endpoint +
                               (o.user.empty() ? std::string() : " as " + o.user) + ": " +
                               mysql_error(m));
  }
  if (const char* host = m->host_info) {
    if (!use_socket) m_endpoint = m_endpoint + " (" + host + ")";
  }
  if (const uint64_t id = mysql_thread_id(m)) {
    std::lock_guard lock(g_own_mutex);
    g_own_ids.push_back(id);
  }
}

uint64_t Connection::thread_id() const { return m_mysql ? mysql_thread_id(m_mysql.get()) : 0; }

Connection::~Connection() = default;
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;

ResultSet Connection::query(std::string_view sql) {
  MYSQL* m = m_mysql.get();
  if (mysql_real_query(m, sql.data(), sql.size()) != 0) {
    const unsigned code = mysql_errno(m);
    std::string text(sql.substr(0, 200));
    if (sql.size() > 200) text += "...";
    throw MysqlError(code, std::string(mysql_error(m)) + " [" + std::to_string(code) + "] in: " + text);
  }
  ResultSet out;
  MYSQL_RES* res = mysql_store_result(m);
  if (!res) {
    if (mysql_field_count(m) != 0) {
      throw MysqlError(mysql_errno(m), std::string("reading the result failed: ") + mysql_error(m));
    }
    return out;
  }
  const unsigned n = mysql_num_fields(res);
  MYSQL_FIELD* fields = mysql_fetch_fields(res);
  for (unsigned i = 0; i < n; ++i) out.columns.emplace_back(fields[i].name, fields[i].name_length);
  while (MYSQL_ROW row = mysql_fetch_row(res)) {
    unsigned long* lengths = mysql_fetch_lengths(res);
    auto& r = out.rows.emplace_back();
    r.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
      if (row[i]) {
        r.emplace_back(std::string(row[i], lengths[i]));
      } else {
        r.emplace_back(std::nullopt);
      }
    }
  }
  mysql_free_result(res);
  // Drain further result sets (a CALL), so the connection stays usable.
  while (mysql_more_results(m) && mysql_next_result(m) == 0) {
    if (MYSQL_RES* extra = mysql_store_result(m)) mysql_free_result(extra);
  }
  return out;
}

std::optional<std::string> Connection::scalar(std::string_view sql) {
  ResultSet r = query(sql);
  if (r.rows.empty() || r.rows.front().empty()) return std::nullopt;
  return r.rows.front().front();
}

std::string Connection::quote(std::string_view value) const {
  std::string out(value.size() * 2 + 3, '\0');
  out[0] = '\'';
  const unsigned long n =
      mysql_real_escape_string(m_mysql.get(), out.data() + 1, value.data(), value.size());
  out.resize(n + 1);
  out += '\'';
  return out;
}

std::string Connection::server_version() const {
  const char* v = mysql_get_server_info(m_mysql.get());
  return v ? v : "";
}

bool Connection::is_mariadb() const {
  return server_version().find("MariaDB") != std::string::npos;
}

std::string quote_identifier(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  out += '`';
  return out;
}

}  // namespace binwatch::mysql
