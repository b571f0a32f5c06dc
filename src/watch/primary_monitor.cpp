#include "binwatch/watch/primary_monitor.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "binwatch/replica/replica_status.h"

namespace binwatch::watch {

namespace {

using Clock = std::chrono::steady_clock;
using mysql::to_u64;

std::optional<std::string> field(const mysql::ResultSet& rs, size_t row, std::string_view name) {
  const int i = rs.column(name);
  if (i < 0 || row >= rs.rows.size() || static_cast<size_t>(i) >= rs.rows[row].size()) return std::nullopt;
  return rs.rows[row][static_cast<size_t>(i)];
}

}  // namespace

std::string quoted_table(const std::string& table) {
  const auto dot = table.find('.');
  return mysql::quote_identifier(table.substr(0, dot)) + "." + mysql::quote_identifier(table.substr(dot + 1));
}

std::string heartbeat_create_table_sql(const std::string& table) {
  return "CREATE TABLE IF NOT EXISTS " + quoted_table(table) +
         " (ts varchar(26) NOT NULL, server_id int unsigned NOT NULL PRIMARY KEY, "
         "file varchar(255) DEFAULT NULL, position bigint unsigned DEFAULT NULL, "
         "relay_master_log_file varchar(255) DEFAULT NULL, exec_master_log_pos bigint unsigned DEFAULT NULL)";
}

void PrimaryMonitor::discover(mysql::Connection& conn, PrimaryObservation& o) {
  o.discovered_at = unix_seconds_now();
  o.discovery_error.clear();
  o.hosts.clear();
  o.dumps.clear();
  try {
    // MySQL 8.0.22+ says SHOW REPLICAS; MariaDB and older MySQL say SHOW SLAVE HOSTS.
    const auto rs = conn.query(conn.is_mariadb() ? "SHOW SLAVE HOSTS" : "SHOW REPLICAS");
    for (size_t i = 0; i < rs.rows.size(); ++i) {
      DiscoveredReplica r;
      r.server_id = static_cast<uint32_t>(to_u64(field(rs, i, "Server_id")));
      r.host = field(rs, i, "Host").value_or("");
      r.port = static_cast<unsigned>(to_u64(field(rs, i, "Port")));
      r.source_id = static_cast<uint32_t>(
          to_u64(field(rs, i, "Master_id") ? field(rs, i, "Master_id") : field(rs, i, "Source_Id")));
      o.hosts.push_back(std::move(r));
    }
  } catch (const mysql::MysqlError& e) {
    o.discovery_error = std::string("replica hosts: ") + e.what();
  }
  try {
    const auto rs = conn.query(
        "SELECT ID, USER, HOST, COMMAND, TIME, STATE FROM information_schema.PROCESSLIST "
        "WHERE COMMAND LIKE 'Binlog Dump%' ORDER BY ID");
    for (size_t i = 0; i < rs.rows.size(); ++i) {
      DumpThread d;
      d.id = to_u64(field(rs, i, "ID"));
      d.user = field(rs, i, "USER").value_or("");
      d.host = field(rs, i, "HOST").value_or("");
      d.command = field(rs, i, "COMMAND").value_or("");
      d.seconds = to_u64(field(rs, i, "TIME"));
      d.state = field(rs, i, "STATE").value_or("");
      o.dumps.push_back(std::move(d));
    }
  } catch (const mysql::MysqlError& e) {
    o.discovery_error += (o.discovery_error.empty() ? "" : "; ") + std::string("processlist: ") + e.what();
  }
  o.discovered = true;
}

void PrimaryMonitor::write_heartbeat(mysql::Connection& conn, PrimaryObservation& o) {
  // The primary's own position, as pt-heartbeat records it (NULL without the grant).
  std::string file = "NULL", position = "NULL";
  try {
    const auto rs = conn.query("SHOW MASTER STATUS");
    if (!rs.rows.empty() && field(rs, 0, "File")) {
      file = conn.quote(*field(rs, 0, "File"));
      position = std::to_string(to_u64(field(rs, 0, "Position")));
    }
  } catch (const mysql::MysqlError&) {
  }
  const double now = unix_time_now();
  const std::string ts = replica::format_heartbeat_ts(now, m_options.heartbeat.utc);
  // MariaDB 10.11 checks SELECT on the columns of the ON DUPLICATE KEY UPDATE list (literals or
  // VALUES() alike): the account needs SELECT, INSERT and UPDATE on the table.
  conn.exec("INSERT INTO " + quoted_table(m_options.heartbeat.table) + " (ts, server_id, file, position) VALUES (" +
            conn.quote(ts) + ", @@server_id, " + file + ", " + position +
            ") ON DUPLICATE KEY UPDATE ts = VALUES(ts), file = VALUES(file), position = VALUES(position)");
  ++o.heartbeat_writes;
  o.heartbeat_error.clear();
  o.heartbeat_ts = ts;
  o.heartbeat_written_at = now;
}

void PrimaryMonitor::run() {
  std::unique_ptr<mysql::Connection> conn;
  unsigned attempt = 0;
  PrimaryObservation o;
  const bool heartbeat = m_options.heartbeat.enabled() && m_options.heartbeat.write;
  Clock::time_point next_discovery{};
  while (!stopping()) {
    try {
      if (!conn) {
        conn = std::make_unique<mysql::Connection>(m_options.connection);
        o.server_id = static_cast<uint32_t>(std::stoul(conn->scalar("SELECT @@server_id").value_or("0")));
        m_server_id.store(*o.server_id);
        if (heartbeat && m_options.heartbeat.create_table)
          conn->exec(heartbeat_create_table_sql(m_options.heartbeat.table));
        spdlog::info("primary monitor: connected to {} (server_id {}){}", conn->endpoint(), *o.server_id,
                     heartbeat ? ", writing the heartbeat to " + m_options.heartbeat.table : "");
      }
      o.connected = true;
      o.error.clear();
      if (Clock::now() >= next_discovery) {
        discover(*conn, o);
        next_discovery = Clock::now() + std::chrono::milliseconds(m_options.discovery_interval_ms);
      }
      if (heartbeat) {
        try {
          write_heartbeat(*conn, o);
        } catch (const mysql::MysqlError& e) {
          // A refused write (read_only, missing table or grant) is the heartbeat's problem, not
          // the connection's; a lost connection fails the next statement too and reconnects.
          ++o.heartbeat_errors;
          if (o.heartbeat_error != e.what()) spdlog::warn("heartbeat: {}", e.what());
          o.heartbeat_error = e.what();
          conn->scalar("SELECT 1");
        }
      }
      attempt = 0;
      m_latest.put(std::make_shared<PrimaryObservation>(o));
      const auto until_discovery = std::chrono::duration_cast<std::chrono::milliseconds>(next_discovery - Clock::now());
      const uint64_t wait = heartbeat ? m_options.heartbeat.interval_ms
                                      : static_cast<uint64_t>(std::max<int64_t>(until_discovery.count(), 10));
      sleep_ms(wait);
    } catch (const std::exception& e) {
      if (o.connected || o.error != e.what()) spdlog::warn("primary monitor: {}", e.what());
      conn.reset();
      o.connected = false;
      o.error = e.what();
      m_latest.put(std::make_shared<PrimaryObservation>(o));
      back_off(attempt, m_options.backoff_min_ms, m_options.backoff_max_ms);
    }
  }
  finished();
}

}  // namespace binwatch::watch
