#pragma once
// One configured replica ([[replicas]]), watched from the primary's sidecar on its own
// control-plane thread and connection: every poll interval SHOW SLAVE STATUS (MariaDB) or SHOW
// REPLICA STATUS (MySQL 8.0.22+, SHOW SLAVE STATUS before), interpreted by
// replica::interpret_replica_status, and the heartbeat row of the primary (lag = now - ts). A
// failed connect or query backs off with jitter (replication::backoff_delay) up to
// reconnect_max_ms; the timeout bounds every statement, so a hung replica only ages its own
// observation -- never the data plane, the HTTP API or the other replicas.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "binwatch/replica/replica_status.h"
#include "binwatch/watch/control_loop.h"
#include "binwatch/watch/watch_config.h"

namespace binwatch::watch {

struct ReplicaObservation {
  std::string name;
  std::string endpoint;
  bool up = false;         // the last poll answered
  std::string error;       // why it did not
  int64_t observed_at = 0;  // unix seconds of the last answered poll (0: never)
  std::optional<uint32_t> server_id;  // the replica's @@server_id
  std::string version;
  replica::ReplicaStatus status;  // of the last answered poll
  std::string io_error_explained, sql_error_explained;
  // Heartbeat (when [heartbeat] is configured)
  std::optional<double> heartbeat_lag;  // seconds: now - ts of the primary's row
  std::string heartbeat_ts;
  std::optional<uint32_t> heartbeat_server_id;  // whose row was read
  std::string heartbeat_error;
  uint64_t polls = 0, failures = 0;
};

class ReplicaMonitor : public ControlLoop {
 public:
  struct Options {
    ReplicaTarget target;
    HeartbeatConfig heartbeat;
    // The primary's @@server_id when known (0: not yet): whose heartbeat row to read when
    // heartbeat.server_id is 0; else the replica's Master_Server_Id is used.
    std::function<uint32_t()> primary_server_id;
  };
  explicit ReplicaMonitor(Options options);
  void run();
  [[nodiscard]] std::shared_ptr<const ReplicaObservation> snapshot() const { return m_latest.get(); }
  [[nodiscard]] const std::string& name() const { return m_options.target.name; }

 private:
  void poll(mysql::Connection& conn, ReplicaObservation& o);

  Options m_options;
  Latest<ReplicaObservation> m_latest;
  bool m_replica_syntax = true;  // MySQL: SHOW REPLICA STATUS until it is refused
};

}  // namespace binwatch::watch
