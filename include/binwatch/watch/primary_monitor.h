#pragma once
// The primary's side of replication health (control plane, its own thread and connection through
// [mysql]): writes the pt-heartbeat compatible row every heartbeat interval when configured, and
// discovers the replicas (SHOW SLAVE HOSTS / SHOW REPLICAS and the Binlog Dump threads of the
// processlist) every discovery interval. Its own connection keeps the heartbeat on time whatever
// the SQL poller's INNODB_TRX query costs; a failure backs off with jitter and never touches the
// data plane.
//
// Heartbeat row (pt-heartbeat's --create-table layout, percona-toolkit 3.2.1):
//   ts varchar(26) NOT NULL, server_id int unsigned NOT NULL PRIMARY KEY,
//   file varchar(255), position bigint unsigned,            -- SHOW MASTER STATUS
//   relay_master_log_file varchar(255), exec_master_log_pos bigint unsigned  -- SHOW SLAVE STATUS
// written as INSERT ... ON DUPLICATE KEY UPDATE (grants: SELECT, INSERT, UPDATE on the table:
// MariaDB checks SELECT on the columns the update list sets), ts as
// pt-heartbeat writes it ("YYYY-MM-DDTHH:MM:SS.ffffff", UTC with heartbeat.utc).
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "binwatch/watch/control_loop.h"
#include "binwatch/watch/watch_config.h"

namespace binwatch::watch {

struct DiscoveredReplica {  // a row of SHOW SLAVE HOSTS / SHOW REPLICAS
  uint32_t server_id = 0;
  std::string host;
  unsigned port = 0;
  uint32_t source_id = 0;
};

struct DumpThread {  // a Binlog Dump (GTID) thread of the processlist: a connected replica
  uint64_t id = 0;
  std::string user, host, command, state;
  uint64_t seconds = 0;
};

struct PrimaryObservation {
  bool connected = false;
  std::string error;  // of the last connection attempt or heartbeat write
  std::optional<uint32_t> server_id;  // @@server_id
  std::vector<DiscoveredReplica> hosts;
  std::vector<DumpThread> dumps;
  bool discovered = false;
  std::string discovery_error;  // e.g. a missing grant (REPLICATION MASTER ADMIN, PROCESS)
  int64_t discovered_at = 0;
  // Heartbeat writes (heartbeat.write)
  uint64_t heartbeat_writes = 0, heartbeat_errors = 0;
  std::string heartbeat_error;
  std::string heartbeat_ts;        // the last ts written
  double heartbeat_written_at = 0;  // unix seconds of the last successful write
};

class PrimaryMonitor : public ControlLoop {
 public:
  struct Options {
    mysql::ConnectionOptions connection;
    HeartbeatConfig heartbeat;
    uint32_t discovery_interval_ms = 5000;
    uint32_t backoff_min_ms = 500, backoff_max_ms = 30000;
  };
  explicit PrimaryMonitor(Options options) : m_options(std::move(options)) {}
  void run();
  [[nodiscard]] std::shared_ptr<const PrimaryObservation> snapshot() const { return m_latest.get(); }
  // The primary's @@server_id once known (0 before): the heartbeat row replicas read.
  [[nodiscard]] uint32_t server_id() const { return m_server_id.load(); }

 private:
  void discover(mysql::Connection& conn, PrimaryObservation& o);
  void write_heartbeat(mysql::Connection& conn, PrimaryObservation& o);

  Options m_options;
  Latest<PrimaryObservation> m_latest;
  std::atomic<uint32_t> m_server_id{0};
};

// CREATE TABLE IF NOT EXISTS for the heartbeat table (pt-heartbeat's layout).
std::string heartbeat_create_table_sql(const std::string& table);
// "db.table" -> "`db`.`table`".
std::string quoted_table(const std::string& table);

}  // namespace binwatch::watch
