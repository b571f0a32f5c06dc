#pragma once
// binwatch.toml: the sidecar's configuration (`binwatch watch --config FILE`,
// `binwatch check-config FILE`). Every key is documented in systemd/binwatch.toml; unknown keys
// are errors (a typo must not silently fall back to a default), reported as FILE:LINE: key: what.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "binwatch/alerts/receiver_config.h"

namespace binwatch::watch {

// A configuration error located in its file ("binwatch.toml:12: source.start: must be ...").
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class SourceMode { Local, Replication };
enum class StartAt { End, Saved };

struct MountOverride {
  std::string path;                     // a folder on the mount (the mount point is found)
  std::string role;                     // "binlog", "datadir", "tmpdir", "relaylog" or free text
  std::optional<uint64_t> reserve_bytes;  // this mount's reserve instead of the default
};

// [alerts]: the alert policy, the token for the mutating HTTP endpoints, and the receivers.
struct AlertsSettings {
  bool enabled = true;
  std::string policy_file;  // empty: the policy compiled in (policies/alerts.toml)
  std::string token_file;   // bearer token for POST /api/v1/alerts/{id}/ack|unack; empty: those refuse (403)
  uint32_t interval_ms = 1000;  // evaluation period
  std::vector<alerts::ReceiverConfig> receivers;  // [[alerts.receiver]]; a "log" receiver always exists
};

// [[replicas]]: a replica binwatch connects to (control plane, its own thread each).
struct ReplicaTarget {
  std::string name;  // label value in metrics and status; unique
  std::string dsn, socket, defaults_file;  // like [mysql]: no password in the DSN
  uint32_t poll_interval_ms = 2000;
  uint32_t timeout_s = 5;  // connect and read timeout
  uint32_t reconnect_min_ms = 500;  // back-off with full jitter between these bounds
  uint32_t reconnect_max_ms = 30000;
};

// [heartbeat]: a pt-heartbeat compatible table, written on the primary, read on every replica.
struct HeartbeatConfig {
  std::string table;  // "db.table"; empty: no heartbeat
  uint32_t interval_ms = 1000;
  bool write = true;          // binwatch writes the primary's row through [mysql]
  bool create_table = false;  // CREATE TABLE IF NOT EXISTS at start (needs CREATE)
  bool utc = true;            // ts in UTC, as pt-heartbeat --utc
  uint32_t server_id = 0;     // whose row replicas read; 0: the primary's @@server_id
  [[nodiscard]] bool enabled() const { return !table.empty(); }
};

// [integrity]
struct IntegrityConfig {
  bool check_folder = true;  // verify binlog files of the folder that the follower does not read
  uint32_t interval_ms = 10000;  // how often the folder is listed
  uint64_t max_read_bytes_per_second = uint64_t{32} << 20;
  uint32_t torn_grace_ms = 60000;  // an incomplete event at the active file's end: finding after this
};

// [net]: the kernel's network and host counters beside the binlog (policies/net.toml rules).
struct NetSettings {
  bool enabled = true;
  std::string proc_root = "/proc";  // another folder: a snapshot (tests); listeners are then not sampled
  std::string policy_file;          // empty: the compiled-in policies/net.toml
  uint32_t interval_ms = 5000;
};

// [throttle]: bulk maintenance jobs slowed, paused or stopped before the binlog partition fills
// (policies/throttle.toml rules; freno-compatible /check API, flag files, session control).
struct ThrottleSettings {
  bool enabled = true;
  std::string policy_file;  // empty: the compiled-in policies/throttle.toml
  // Flag files the daemon creates at the policy's [flags] levels and removes below them.
  std::string ghost_flag_file;      // gh-ost --throttle-flag-file
  std::string pt_osc_pause_file;    // pt-online-schema-change --pause-file
  std::string pt_archiver_sentinel; // pt-archiver --sentinel (stops the job)
  uint32_t session_interval_ms = 1000;  // processlist poll of session control (needs [mysql])
};

struct WatchConfig {
  std::string origin;  // the file it came from (messages)

  // [source]
  SourceMode mode = SourceMode::Local;
  std::string binlog_index;  // the server's *.index file; or found in binlog_dir
  std::string binlog_dir;
  StartAt start = StartAt::Saved;  // saved: the checkpoint when there is one, else the end
  uint32_t poll_interval_ms = 250;  // fallback when inotify is unavailable; also the re-check
  // mode = "replication": binwatch connects as a replica through the [mysql] connection.
  uint32_t server_id = 0;             // required there; unique among the server's replicas
  uint32_t heartbeat_ms = 1000;       // master_heartbeat_period; 3 periods of silence = reconnect
  uint32_t reconnect_min_ms = 100;    // back-off with full jitter between these bounds
  uint32_t reconnect_max_ms = 30000;

  // [state]
  std::string state_dir = "/var/lib/binwatch";
  uint32_t checkpoint_interval_ms = 1000;

  // [http]
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 9874;

  // [mysql] (control plane; optional)
  std::string dsn, socket, defaults_file;
  uint32_t mysql_poll_interval_ms = 5000;
  uint32_t mysql_timeout_s = 5;

  // [partitions]
  uint32_t sample_interval_ms = 5000;
  uint64_t reserve_bytes = uint64_t{1} << 30;
  uint32_t short_window_s = 60;
  uint32_t long_window_s = 900;
  std::optional<uint64_t> expire_seconds;  // overrides the server's binlog_expire_logs_seconds
  std::vector<MountOverride> mounts;

  AlertsSettings alerts;
  NetSettings net;
  ThrottleSettings throttle;

  // [rates]
  std::vector<uint32_t> windows_s = {60, 300, 900, 3600};
  uint32_t top_tables = 10;

  std::vector<ReplicaTarget> replicas;  // [[replicas]]
  HeartbeatConfig heartbeat;            // [heartbeat]
  IntegrityConfig integrity;            // [integrity]

  [[nodiscard]] bool has_mysql() const { return !dsn.empty() || !socket.empty() || !defaults_file.empty(); }
};

// Parses TOML text; throws ConfigError with origin:line for syntax, type, range and unknown keys.
WatchConfig parse_watch_config(std::string_view toml_text, std::string_view origin);
// Reads and parses a file; throws ConfigError (also when it cannot be read).
WatchConfig load_watch_config(const std::string& path);
// Human lines describing what differs ("http.listen: 127.0.0.1:1 -> 127.0.0.1:2"), for SIGHUP.
std::vector<std::string> describe_changes(const WatchConfig& before, const WatchConfig& after);
// Window label: 60 -> "1m", 3600 -> "1h", 90 -> "90s".
std::string window_label(uint32_t seconds);

}  // namespace binwatch::watch
