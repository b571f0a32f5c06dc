#include "binwatch/replica/replica_status.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace binwatch::replica {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool icontains(std::string_view text, std::string_view word) {
  if (word.size() > text.size()) return false;
  for (size_t i = 0; i + word.size() <= text.size(); ++i)
    if (iequals(text.substr(i, word.size()), word)) return true;
  return false;
}

template <typename T>
std::optional<T> number(const std::optional<std::string>& v) {
  if (!v || v->empty()) return std::nullopt;
  T out{};
  const auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size()) return std::nullopt;
  return out;
}

// The value of the first of `names` present in the row (names differ between the two schemes).
class Row {
 public:
  Row(const std::vector<std::string>& columns, const std::vector<std::optional<std::string>>& row)
      : m_columns(columns), m_row(row) {}
  [[nodiscard]] std::optional<std::string> get(std::initializer_list<std::string_view> names) const {
    for (auto name : names)
      for (size_t i = 0; i < m_columns.size() && i < m_row.size(); ++i)
        if (iequals(m_columns[i], name)) return m_row[i];
    return std::nullopt;
  }
  [[nodiscard]] std::string text(std::initializer_list<std::string_view> names) const {
    return get(names).value_or("");
  }
  [[nodiscard]] bool has(std::string_view name) const {
    for (const auto& c : m_columns)
      if (iequals(c, name)) return true;
    return false;
  }

 private:
  const std::vector<std::string>& m_columns;
  const std::vector<std::optional<std::string>>& m_row;
};

}  // namespace

std::string_view thread_state_name(ThreadState state) {
  switch (state) {
    case ThreadState::Running: return "running";
    case ThreadState::Connecting: return "connecting";
    case ThreadState::Stopped: return "stopped";
    case ThreadState::Unknown: break;
  }
  return "unknown";
}

ThreadState parse_thread_state(std::string_view text) {
  if (iequals(text, "Yes")) return ThreadState::Running;
  if (iequals(text, "No")) return ThreadState::Stopped;
  if (iequals(text, "Connecting") || iequals(text, "Preparing")) return ThreadState::Connecting;
  return ThreadState::Unknown;
}

ReplicaStatus interpret_replica_status(const std::vector<std::string>& columns,
                                       const std::vector<std::optional<std::string>>& row) {
  const Row r(columns, row);
  ReplicaStatus s;
  s.is_replica = !row.empty();
  if (!s.is_replica) return s;
  s.replica_naming = r.has("Replica_IO_Running");
  s.io = parse_thread_state(r.text({"Slave_IO_Running", "Replica_IO_Running"}));
  s.sql = parse_thread_state(r.text({"Slave_SQL_Running", "Replica_SQL_Running"}));
  s.io_state = r.text({"Slave_IO_State", "Replica_IO_State"});
  s.sql_state = r.text({"Slave_SQL_Running_State", "Replica_SQL_Running_State"});
  s.last_io_errno = number<unsigned>(r.get({"Last_IO_Errno"})).value_or(0);
  s.last_io_error = r.text({"Last_IO_Error"});
  s.last_sql_errno = number<unsigned>(r.get({"Last_SQL_Errno"})).value_or(0);
  s.last_sql_error = r.text({"Last_SQL_Error"});
  s.seconds_behind = number<int64_t>(r.get({"Seconds_Behind_Master", "Seconds_Behind_Source"}));
  s.relay_log_space = number<uint64_t>(r.get({"Relay_Log_Space"}));
  s.source_host = r.text({"Master_Host", "Source_Host"});
  s.source_port = number<unsigned>(r.get({"Master_Port", "Source_Port"}));
  s.source_server_id = number<uint32_t>(r.get({"Master_Server_Id", "Source_Server_Id"}));
  s.read_file = r.text({"Master_Log_File", "Source_Log_File"});
  s.read_pos = number<uint64_t>(r.get({"Read_Master_Log_Pos", "Read_Source_Log_Pos"}));
  s.exec_file = r.text({"Relay_Master_Log_File", "Relay_Source_Log_File"});
  s.exec_pos = number<uint64_t>(r.get({"Exec_Master_Log_Pos", "Exec_Source_Log_Pos"}));
  s.using_gtid = r.text({"Using_Gtid"});
  s.gtid_io_pos = r.text({"Gtid_IO_Pos"});
  s.gtid_slave_pos = r.text({"Gtid_Slave_Pos"});
  s.retrieved_gtid_set = r.text({"Retrieved_Gtid_Set"});
  s.executed_gtid_set = r.text({"Executed_Gtid_Set"});
  return s;
}

std::string explain_replication_error(unsigned number, std::string_view text) {
  switch (number) {
    case 0: return {};
    case 1236: {
      // ER_MASTER_FATAL_ERROR_READING_BINLOG: the primary's dump thread could not serve the
      // position asked for. The server's text tells which case it is.
      std::string base =
          "the replica asked for a binlog position the primary no longer has (purged) or that is damaged";
      if (icontains(text, "could not find first log file name") || icontains(text, "could not find gtid state") ||
          icontains(text, "which is not in the master's binlog") || icontains(text, "purged"))
        return base + ": here the file or GTID it needs was purged from the primary; the replica must be "
                      "rebuilt from a backup or pointed at a position the primary still has";
      if (icontains(text, "exceeded max_allowed_packet") || icontains(text, "truncated in the middle") ||
          icontains(text, "event too big") || icontains(text, "bogus data") || icontains(text, "corrupt") ||
          icontains(text, "checksum"))
        return base + ": here the primary's binlog is damaged at that position (a torn or corrupt event: "
                      "a size read out of garbage looks like an oversized packet, so raising "
                      "max_allowed_packet does not help); see binwatch's integrity findings for the last good "
                      "position and restart the replica from there or from the next file";
      if (icontains(text, "position > file size") || icontains(text, "greater than the file size") ||
          icontains(text, "beyond the end"))
        return base + ": here it asked for a position past the end of the primary's file (the file was "
                      "truncated or replaced after the replica read it)";
      return base;
    }
    case 1045:
      return "the replication user cannot log in to the primary (wrong password, or the account or its "
             "REPLICATION SLAVE grant is missing)";
    case 2003:
    case 2005:
    case 2013:
    case 2006:
      return "the replica cannot reach the primary (network, the primary is down, or it closed the connection); "
             "the IO thread retries by itself";
    case 1032:
      return "a row the primary changed is missing on the replica: the replica's data has diverged from the "
             "primary";
    case 1062:
      return "a row the primary inserted already exists on the replica: the replica's data has diverged from the "
             "primary (or someone wrote to the replica)";
    case 1205:
      return "the replica's SQL thread waited too long for a lock (a long transaction on the replica holds it)";
    default: break;
  }
  return {};
}

std::optional<double> parse_heartbeat_ts(std::string_view ts, bool utc) {
  // YYYY-MM-DD[T ]HH:MM:SS[.ffffff]
  while (!ts.empty() && std::isspace(static_cast<unsigned char>(ts.back()))) ts.remove_suffix(1);
  if (ts.size() < 19) return std::nullopt;
  auto digits = [&](size_t at, size_t n) -> std::optional<int> {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(ts[i]))) return std::nullopt;
      v = v * 10 + (ts[i] - '0');
    }
    return v;
  };
  if (ts[4] != '-' || ts[7] != '-' || (ts[10] != 'T' && ts[10] != ' ') || ts[13] != ':' || ts[16] != ':')
    return std::nullopt;
  const auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2), mi = digits(14, 2),
             s = digits(17, 2);
  if (!y || !mo || !d || !h || !mi || !s || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 ||
      *s > 60)
    return std::nullopt;
  double fraction = 0;
  if (ts.size() > 19) {
    if (ts[19] != '.' || ts.size() == 20 || ts.size() > 29) return std::nullopt;
    double scale = 0.1;
    for (size_t i = 20; i < ts.size(); ++i, scale /= 10) {
      if (!std::isdigit(static_cast<unsigned char>(ts[i]))) return std::nullopt;
      fraction += (ts[i] - '0') * scale;
    }
  }
  std::tm tm{};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  tm.tm_hour = *h;
  tm.tm_min = *mi;
  tm.tm_sec = *s;
  tm.tm_isdst = -1;
  const time_t t = utc ? timegm(&tm) : mktime(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  return static_cast<double>(t) + fraction;
}

std::string format_heartbeat_ts(double unix_seconds, bool utc) {
  double whole = std::floor(unix_seconds);
  auto micros = static_cast<long>(std::llround((unix_seconds - whole) * 1e6));
  if (micros >= 1000000) {
    whole += 1;
    micros -= 1000000;
  }
  const auto t = static_cast<time_t>(whole);
  std::tm tm{};
  if (utc) gmtime_r(&t, &tm);
  else localtime_r(&t, &tm);
  char buf[128];  // room for any int the compiler cannot rule out
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  return buf;
}

}  // namespace binwatch::replica
