#pragma once
// Pure interpretation of what a replica says about itself (issue 9): one row of SHOW SLAVE STATUS
// (MariaDB, MySQL before 8.0.22) or SHOW REPLICA STATUS (MySQL 8.0.22+, MariaDB 10.5.1+), looked
// up by column name under either naming (Slave_IO_Running / Replica_IO_Running, Master_Log_File /
// Source_Log_File, Seconds_Behind_Master / Seconds_Behind_Source, ...); the plain-language
// meaning of replication errors (1236 above all); and pt-heartbeat's `ts` column.
//
// Column names: MariaDB 10.11 sql/sql_repl.cc (show_master_info_get_fields) and MySQL 8.0
// sql/rpl_replica.cc (show_replica_status_send_meta_data), which renamed Master -> Source and
// Slave -> Replica in 8.0.22. No I/O, no clock: rows and text in, values out.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace binwatch::replica {

// Slave_IO_Running: "Yes", "No", "Connecting" (and MariaDB's "Preparing"); Slave_SQL_Running:
// "Yes", "No".
enum class ThreadState : uint8_t { Unknown, Running, Connecting, Stopped };
std::string_view thread_state_name(ThreadState state);  // "unknown", "running", "connecting", "stopped"
ThreadState parse_thread_state(std::string_view text);

struct ReplicaStatus {
  bool is_replica = false;           // a row came back (an empty result: replication not configured)
  bool replica_naming = false;       // the server used the REPLICA/SOURCE column names
  ThreadState io = ThreadState::Unknown, sql = ThreadState::Unknown;
  std::string io_state;              // Slave_IO_State: what the IO thread does
  std::string sql_state;             // Slave_SQL_Running_State
  unsigned last_io_errno = 0, last_sql_errno = 0;
  std::string last_io_error, last_sql_error;
  std::optional<int64_t> seconds_behind;  // NULL while the SQL thread is stopped or IO disconnected
  std::optional<uint64_t> relay_log_space;
  std::string source_host;
  std::optional<unsigned> source_port;
  std::optional<uint32_t> source_server_id;
  // Read position (IO thread): the primary's file and offset it has fetched up to.
  std::string read_file;
  std::optional<uint64_t> read_pos;
  // Executed position (SQL thread): the primary's file and offset it has applied up to.
  std::string exec_file;
  std::optional<uint64_t> exec_pos;
  std::string using_gtid;          // MariaDB: "No", "Slave_Pos", "Current_Pos"
  std::string gtid_io_pos;         // MariaDB: GTIDs the IO thread has received
  std::string gtid_slave_pos;      // MariaDB (SHOW ALL SLAVES STATUS only): GTIDs applied
  std::string retrieved_gtid_set;  // MySQL
  std::string executed_gtid_set;   // MySQL
};

// One row of SHOW SLAVE/REPLICA STATUS with its column names (any order, either naming, case
// insensitive). Missing columns stay empty; numbers that do not parse stay nullopt.
ReplicaStatus interpret_replica_status(const std::vector<std::string>& columns,
                                       const std::vector<std::optional<std::string>>& row);

// The meaning of a replication error for an operator, or "" when there is nothing to add to the
// server's text. 1236 (ER_MASTER_FATAL_ERROR_READING_BINLOG) is told apart by its text: a purged
// file or GTID, a position past the end of a file, or a damaged binlog (SoundCloud's "log event
// entry exceeded max_allowed_packet" after a torn event: not a max_allowed_packet problem).
std::string explain_replication_error(unsigned number, std::string_view text);

// pt-heartbeat's ts column ("2024-05-01T12:34:56.123456", also with a space and without the
// fraction) as unix seconds; `utc` as pt-heartbeat --utc (else the local time zone).
std::optional<double> parse_heartbeat_ts(std::string_view ts, bool utc);
// The reverse, with microseconds, the way pt-heartbeat --update writes it.
std::string format_heartbeat_ts(double unix_seconds, bool utc);

}  // namespace binwatch::replica
