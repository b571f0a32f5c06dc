#include "binwatch/watch/replica_monitor.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "binwatch/watch/primary_monitor.h"

namespace binwatch::watch {

namespace {

constexpr unsigned kParseError = 1064;  // ER_PARSE_ERROR: SHOW REPLICA STATUS before MySQL 8.0.22

}  // namespace

ReplicaMonitor::ReplicaMonitor(Options options) : m_options(std::move(options)) {
  auto o = std::make_shared<ReplicaObservation>();
  o->name = m_options.target.name;
  o->error = "not polled yet";
  m_latest.put(std::move(o));
}

void ReplicaMonitor::poll(mysql::Connection& conn, ReplicaObservation& o) {
  mysql::ResultSet rs;
  if (conn.is_mariadb() || !m_replica_syntax) {
    rs = conn.query("SHOW SLAVE STATUS");
  } else {
    try {
      rs = conn.query("SHOW REPLICA STATUS");
    } catch (const mysql::MysqlError& e) {
      if (e.code() != kParseError) throw;
      m_replica_syntax = false;
      rs = conn.query("SHOW SLAVE STATUS");
    }
  }
  o.status = replica::interpret_replica_status(rs.columns, rs.rows.empty() ? std::vector<std::optional<std::string>>{}
                                                                           : rs.rows.front());
  o.io_error_explained = replica::explain_replication_error(o.status.last_io_errno, o.status.last_io_error);
  o.sql_error_explained = replica::explain_replication_error(o.status.last_sql_errno, o.status.last_sql_error);

  o.heartbeat_lag.reset();
  o.heartbeat_ts.clear();
  o.heartbeat_error.clear();
  o.heartbeat_server_id.reset();
  const HeartbeatConfig& hb = m_options.heartbeat;
  if (!hb.enabled()) return;
  uint32_t id = hb.server_id;
  if (id == 0 && m_options.primary_server_id) id = m_options.primary_server_id();
  if (id == 0 && o.status.source_server_id) id = *o.status.source_server_id;
  if (id == 0) {
    o.heartbeat_error = "whose heartbeat row to read is not known yet (set heartbeat.server_id)";
    return;
  }
  o.heartbeat_server_id = id;
  try {
    const auto ts = conn.scalar("SELECT ts FROM " + quoted_table(hb.table) + " WHERE server_id = " + std::to_string(id));
    const double now = unix_time_now();
    if (!ts) {
      o.heartbeat_error = "no heartbeat row for server_id " + std::to_string(id) + " in " + hb.table;
      return;
    }
    o.heartbeat_ts = *ts;
    const auto at = replica::parse_heartbeat_ts(*ts, hb.utc);
    if (!at) {
      o.heartbeat_error = "cannot read the heartbeat ts '" + *ts + "'";
      return;
    }
    // A replica ahead of this clock (skew between writers) reads as no lag, as pt-heartbeat does.
    o.heartbeat_lag = std::max(0.0, now - *at);
  } catch (const mysql::MysqlError& e) {
    o.heartbeat_error = e.what();
  }
}

void ReplicaMonitor::run() {
  const ReplicaTarget& t = m_options.target;
  std::unique_ptr<mysql::Connection> conn;
  unsigned attempt = 0;
  ReplicaObservation o = *snapshot();
  while (!stopping()) {
    try {
      if (!conn) {
        conn = std::make_unique<mysql::Connection>(connection_options(t.dsn, t.socket, t.defaults_file, t.timeout_s));
        o.endpoint = conn->endpoint();
        o.version = conn->server_version();
        o.server_id = static_cast<uint32_t>(std::stoul(conn->scalar("SELECT @@server_id").value_or("0")));
        spdlog::info("replica {}: connected to {} (server_id {})", t.name, o.endpoint, *o.server_id);
      }
      poll(*conn, o);
      ++o.polls;
      o.up = true;
      o.error.clear();
      o.observed_at = unix_seconds_now();
      attempt = 0;
      m_latest.put(std::make_shared<ReplicaObservation>(o));
      sleep_ms(t.poll_interval_ms);
    } catch (const std::exception& e) {
      if (o.up || o.error != e.what()) spdlog::warn("replica {}: {}", t.name, e.what());
      conn.reset();
      ++o.failures;
      o.up = false;
      o.error = e.what();
      m_latest.put(std::make_shared<ReplicaObservation>(o));
      back_off(attempt, t.reconnect_min_ms, t.reconnect_max_ms);
    }
  }
  finished();
}

}  // namespace binwatch::watch
