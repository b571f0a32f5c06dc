#pragma once
// Issue 9 in the daemon: binlog integrity findings (the follower's and the folder checker's), the
// primary monitor (heartbeat writes, replica discovery) and one monitor per configured replica,
// as control-plane threads, with their /metrics families and /api/v1/status fields. The daemon
// starts it after the follower, asks it for metrics and status, and stops it before returning.
// Nothing here blocks the data plane: the follower's findings are read through its snapshot.
//
// Stable names (alert rules use them):
//   binwatch_binlog_integrity_errors_total{kind}        findings raised (torn, corrupt, truncated-in-middle)
//   binwatch_binlog_integrity_findings{kind}            findings in the status list, not resolved
//   binwatch_binlog_integrity_pending_tail_seconds      how long the active file's last event is incomplete
//   binwatch_integrity_checked_files_total, binwatch_integrity_checked_bytes_total
//   binwatch_replica_up{replica}                        the last poll answered
//   binwatch_replica_running{replica,thread=io|sql}     1 running, 0 not (connecting counts as 0)
//   binwatch_replica_lag_seconds{replica,source=seconds_behind|heartbeat}
//   binwatch_replica_last_error_number{replica,thread=io|sql}
//   binwatch_replica_relay_log_space_bytes{replica}
//   binwatch_replica_observation_age_seconds{replica}
//   binwatch_replicas_connected, binwatch_replicas_registered   (Binlog Dump threads, SHOW SLAVE HOSTS rows)
//   binwatch_heartbeat_writes_total, binwatch_heartbeat_write_errors_total, binwatch_heartbeat_age_seconds
#include <filesystem>
#include <optional>
#include <memory>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "binwatch/mysql/connection.h"
#include "binwatch/watch/follower.h"
#include "binwatch/watch/integrity_checker.h"
#include "binwatch/watch/metrics_writer.h"
#include "binwatch/watch/primary_monitor.h"
#include "binwatch/watch/replica_monitor.h"
#include "binwatch/watch/watch_config.h"

namespace binwatch::watch {

class ReplicationHealth {
 public:
  // `index`: the server's binlog index when this host can read the folder (else no checker);
  // `primary`: the [mysql] connection (nullopt when not configured).
  ReplicationHealth(const WatchConfig& cfg, const Follower& follower, std::filesystem::path index,
                    std::optional<mysql::ConnectionOptions> primary);
  ~ReplicationHealth();
  ReplicationHealth(const ReplicationHealth&) = delete;
  ReplicationHealth& operator=(const ReplicationHealth&) = delete;

  void start();
  // Stops every thread; one stuck in a server that does not answer is left behind after ~2 s.
  void stop();

  void metrics(MetricsWriter& w) const;
  // The worst of the binwatch_replica_lag_seconds samples (either source, replicas that answered);
  // nullopt when no replica is measured. A throttle input.
  [[nodiscard]] std::optional<double> worst_lag_seconds() const;
  // Adds integrity[], integrity_checker, pending_tail, replicas[] and replication to the status.
  void status(nlohmann::json& j) const;

 private:
  struct Worker {
    std::shared_ptr<ControlLoop> loop;
    std::thread thread;
    std::string name;
  };

  const Follower& m_follower;
  HeartbeatConfig m_heartbeat;
  std::shared_ptr<IntegrityChecker> m_checker;
  std::shared_ptr<PrimaryMonitor> m_primary;
  std::vector<std::shared_ptr<ReplicaMonitor>> m_replicas;
  std::thread m_checker_thread;
  std::vector<Worker> m_workers;
};

// (file, offset) <= (file, offset) in binlog order (file sequence numbers, then offsets).
bool at_or_before(const std::string& file, uint64_t offset, const std::string& ref_file, uint64_t ref_offset);

}  // namespace binwatch::watch
