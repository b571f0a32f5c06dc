// Replication health without a server: SHOW SLAVE/REPLICA STATUS rows under both namings, the
// plain-language meaning of replication errors (1236 above all), pt-heartbeat's ts, the heartbeat
// table DDL, binlog position order and the [[replicas]]/[heartbeat]/[integrity] configuration.
#include <gtest/gtest.h>

#include <cstdlib>

#include "binwatch/replica/replica_status.h"
#include "binwatch/watch/primary_monitor.h"
#include "binwatch/watch/replication_health.h"
#include "binwatch/watch/watch_config.h"

using namespace binwatch;
using namespace binwatch::replica;

namespace {

using Row = std::vector<std::optional<std::string>>;

// A MariaDB 10.11 SHOW SLAVE STATUS row (column subset, names as the server sends them) of a
// replica whose IO thread stopped on 1236 after a purge.
const std::vector<std::string> kMariadbColumns = {
    "Slave_IO_State", "Master_Host", "Master_User", "Master_Port", "Master_Log_File", "Read_Master_Log_Pos",
    "Relay_Log_File", "Relay_Master_Log_File", "Slave_IO_Running", "Slave_SQL_Running", "Last_Errno",
    "Exec_Master_Log_Pos", "Relay_Log_Space", "Seconds_Behind_Master", "Last_IO_Errno", "Last_IO_Error",
    "Last_SQL_Errno", "Last_SQL_Error", "Master_Server_Id", "Using_Gtid", "Gtid_IO_Pos",
    "Slave_SQL_Running_State"};
const Row kMariadbRow = {"", "127.0.0.1", "repl", "3306", "mariadb-bin.000001", "4", "relay-bin.000002",
                         "mariadb-bin.000001", "No", "Yes", "0", "4", "256", std::nullopt, "1236",
                         "Got fatal error 1236 from master when reading data from binary log: 'Could not find first "
                         "log file name in binary log index file'",
                         "0", "", "1", "No", "", "Slave has read all relay log; waiting for more updates"};

// The same facts as MySQL 8.0.22+ names them in SHOW REPLICA STATUS.
const std::vector<std::string> kMysqlColumns = {
    "Replica_IO_State", "Source_Host", "Source_Port", "Source_Log_File", "Read_Source_Log_Pos",
    "Relay_Source_Log_File", "Replica_IO_Running", "Replica_SQL_Running", "Exec_Source_Log_Pos",
    "Relay_Log_Space", "Seconds_Behind_Source", "Last_IO_Errno", "Last_IO_Error", "Last_SQL_Errno",
    "Last_SQL_Error", "Source_Server_Id", "Retrieved_Gtid_Set", "Executed_Gtid_Set", "Replica_SQL_Running_State"};
const Row kMysqlRow = {"Waiting for source to send event", "10.0.0.1", "3306", "binlog.000042", "123456",
                       "binlog.000041", "Yes", "Yes", "99999", "1048576", "7", "0", "", "0", "", "11",
                       "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-70",
                       "Replica has read all relay log; waiting for more updates"};

}  // namespace

TEST(ReplicaStatus, MariadbSlaveNaming) {
  const ReplicaStatus s = interpret_replica_status(kMariadbColumns, kMariadbRow);
  EXPECT_TRUE(s.is_replica);
  EXPECT_FALSE(s.replica_naming);
  EXPECT_EQ(s.io, ThreadState::Stopped);
  EXPECT_EQ(s.sql, ThreadState::Running);
  EXPECT_EQ(s.last_io_errno, 1236u);
  EXPECT_NE(s.last_io_error.find("Could not find first log file"), std::string::npos);
  EXPECT_FALSE(s.seconds_behind);  // NULL
  EXPECT_EQ(s.relay_log_space, 256u);
  EXPECT_EQ(s.read_file, "mariadb-bin.000001");
  EXPECT_EQ(s.read_pos, 4u);
  EXPECT_EQ(s.exec_file, "mariadb-bin.000001");
  EXPECT_EQ(s.exec_pos, 4u);
  EXPECT_EQ(s.source_host, "127.0.0.1");
  EXPECT_EQ(s.source_port, 3306u);
  EXPECT_EQ(s.source_server_id, 1u);
  EXPECT_EQ(s.using_gtid, "No");
  EXPECT_EQ(s.sql_state, "Slave has read all relay log; waiting for more updates");
}

TEST(ReplicaStatus, MysqlReplicaNaming) {
  const ReplicaStatus s = interpret_replica_status(kMysqlColumns, kMysqlRow);
  EXPECT_TRUE(s.replica_naming);
  EXPECT_EQ(s.io, ThreadState::Running);
  EXPECT_EQ(s.sql, ThreadState::Running);
  EXPECT_EQ(s.seconds_behind, 7);
  EXPECT_EQ(s.read_file, "binlog.000042");
  EXPECT_EQ(s.read_pos, 123456u);
  EXPECT_EQ(s.exec_file, "binlog.000041");
  EXPECT_EQ(s.exec_pos, 99999u);
  EXPECT_EQ(s.relay_log_space, 1048576u);
  EXPECT_EQ(s.source_server_id, 11u);
  EXPECT_EQ(s.retrieved_gtid_set, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77");
  EXPECT_EQ(s.executed_gtid_set, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-70");
  EXPECT_EQ(s.io_state, "Waiting for source to send event");
}

TEST(ReplicaStatus, CaseOrderMissingColumnsAndEmptyResult) {
  // Another order and case, a connecting IO thread, a number that is not one.
  const ReplicaStatus s = interpret_replica_status({"slave_sql_running", "SLAVE_IO_RUNNING", "Seconds_Behind_Master"},
                                                   {"No", "Connecting", "n/a"});
  EXPECT_EQ(s.io, ThreadState::Connecting);
  EXPECT_EQ(s.sql, ThreadState::Stopped);
  EXPECT_FALSE(s.seconds_behind);
  EXPECT_FALSE(s.relay_log_space);
  EXPECT_EQ(parse_thread_state("Preparing"), ThreadState::Connecting);
  EXPECT_EQ(parse_thread_state("maybe"), ThreadState::Unknown);
  EXPECT_FALSE(interpret_replica_status(kMariadbColumns, {}).is_replica);  // not a replica
}

TEST(ReplicaStatus, Error1236IsExplainedByItsText) {
  const std::string purged = explain_replication_error(
      1236, "Got fatal error 1236 from master when reading data from binary log: 'Could not find first log file "
            "name in binary log index file'");
  EXPECT_NE(purged.find("no longer has (purged)"), std::string::npos) << purged;
  EXPECT_NE(purged.find("was purged from the primary"), std::string::npos) << purged;
  // SoundCloud's message: a torn event read as an oversized one.
  const std::string torn = explain_replication_error(
      1236, "Got fatal error 1236 from master when reading data from binary log: 'log event entry exceeded "
            "max_allowed_packet; Increase max_allowed_packet on master'");
  EXPECT_NE(torn.find("damaged"), std::string::npos) << torn;
  EXPECT_NE(torn.find("max_allowed_packet does not help"), std::string::npos) << torn;
  EXPECT_NE(explain_replication_error(1236, "binlog truncated in the middle of event; consider out of disk space")
                .find("damaged at that position"),
            std::string::npos);
  EXPECT_NE(explain_replication_error(1236, "Could not find GTID state requested by slave in any binlog files")
                .find("purged"),
            std::string::npos);
  EXPECT_EQ(explain_replication_error(1236, "something new"),
            "the replica asked for a binlog position the primary no longer has (purged) or that is damaged");
  EXPECT_NE(explain_replication_error(1062, "Duplicate entry").find("diverged"), std::string::npos);
  EXPECT_EQ(explain_replication_error(0, ""), "");
  EXPECT_EQ(explain_replication_error(1146, "Table doesn't exist"), "");
}

TEST(ReplicaStatus, HeartbeatTsParsesLikePtHeartbeat) {
  // pt-heartbeat --utc writes "2024-05-01T12:34:56.123456"; a row inserted with NOW() reads
  // "2024-05-01 12:34:56".
  const auto t = parse_heartbeat_ts("2024-05-01T12:34:56.123456", true);
  ASSERT_TRUE(t);
  EXPECT_NEAR(*t, 1714566896.123456, 1e-6);
  EXPECT_EQ(parse_heartbeat_ts("2024-05-01 12:34:56", true), 1714566896.0);
  EXPECT_NEAR(*parse_heartbeat_ts("2024-05-01T12:34:56.5", true), 1714566896.5, 1e-9);
  for (const char* bad : {"", "2024-05-01", "2024-05-01T12:34", "2024-13-01T00:00:00", "2024-05-01T12:34:56.",
                          "2024-05-01T12:34:56Z", "yesterday at noon", "2024-05-01T12:34:56.1234567890"})
    EXPECT_FALSE(parse_heartbeat_ts(bad, true)) << bad;
  // Round trip through the writer's format, in UTC and in the local zone.
  EXPECT_EQ(format_heartbeat_ts(1714566896.123456, true), "2024-05-01T12:34:56.123456");
  EXPECT_EQ(format_heartbeat_ts(1714566896.9999996, true), "2024-05-01T12:34:57.000000");
  setenv("TZ", "America/New_York", 1);
  tzset();
  const std::string local = format_heartbeat_ts(1714566896.25, false);
  EXPECT_EQ(local, "2024-05-01T08:34:56.250000");
  EXPECT_NEAR(*parse_heartbeat_ts(local, false), 1714566896.25, 1e-6);
  unsetenv("TZ");
  tzset();
}

TEST(ReplicaStatus, HeartbeatTableIsPtHeartbeatsLayout) {
  const std::string sql = watch::heartbeat_create_table_sql("percona.heartbeat");
  EXPECT_NE(sql.find("CREATE TABLE IF NOT EXISTS `percona`.`heartbeat`"), std::string::npos);
  for (const char* col : {"ts varchar(26) NOT NULL", "server_id int unsigned NOT NULL PRIMARY KEY",
                          "file varchar(255)", "position bigint unsigned", "relay_master_log_file varchar(255)",
                          "exec_master_log_pos bigint unsigned"})
    EXPECT_NE(sql.find(col), std::string::npos) << col;
}

TEST(ReplicaStatus, PositionsInBinlogOrder) {
  using watch::at_or_before;
  EXPECT_TRUE(at_or_before("mariadb-bin.000002", 100, "mariadb-bin.000002", 100));
  EXPECT_FALSE(at_or_before("mariadb-bin.000002", 101, "mariadb-bin.000002", 100));
  EXPECT_TRUE(at_or_before("mariadb-bin.000009", 9999, "mariadb-bin.000010", 4));
  EXPECT_FALSE(at_or_before("mariadb-bin.1000000", 4, "mariadb-bin.999999", 4));  // numbers, not text
}

TEST(ReplicaStatus, ConfigurationOfReplicasHeartbeatAndIntegrity) {
  const auto c = watch::parse_watch_config(R"(
[source]
binlog_dir = "/var/lib/mysql"
[mysql]
socket = "/run/mysqld/mysqld.sock"
[[replicas]]
name = "db2"
dsn = "mysql://monitor@10.0.0.2:3306"
poll_interval_ms = 1000
timeout_s = 2
[[replicas]]
name = "db3"
defaults_file = "/etc/binwatch/db3.cnf"
[heartbeat]
table = "percona.heartbeat"
interval_ms = 500
create_table = true
utc = false
[integrity]
interval_ms = 2000
max_read_bytes_per_second = 1048576
torn_grace_ms = 0
)",
                                           "x.toml");
  ASSERT_EQ(c.replicas.size(), 2u);
  EXPECT_EQ(c.replicas[0].name, "db2");
  EXPECT_EQ(c.replicas[0].poll_interval_ms, 1000u);
  EXPECT_EQ(c.replicas[1].defaults_file, "/etc/binwatch/db3.cnf");
  EXPECT_EQ(c.replicas[1].reconnect_max_ms, 30000u);
  EXPECT_EQ(c.heartbeat.table, "percona.heartbeat");
  EXPECT_TRUE(c.heartbeat.write);
  EXPECT_TRUE(c.heartbeat.create_table);
  EXPECT_FALSE(c.heartbeat.utc);
  EXPECT_EQ(c.integrity.torn_grace_ms, 0u);
  EXPECT_EQ(c.integrity.max_read_bytes_per_second, 1048576u);

  auto error_of = [](const std::string& toml) -> std::string {
    try {
      watch::parse_watch_config("[source]\nbinlog_dir = \"/x\"\n" + toml, "b.toml");
    } catch (const watch::ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of("[[replicas]]\nname = \"a\"\n").find("replicas[0].dsn: a replica needs"), std::string::npos);
  EXPECT_NE(error_of("[[replicas]]\nname = \"a b\"\nsocket = \"/s\"\n").find("replicas[0].name"), std::string::npos);
  EXPECT_NE(error_of("[[replicas]]\nname = \"a\"\nsocket = \"/s\"\n[[replicas]]\nname = \"a\"\nsocket = \"/t\"\n")
                .find("used twice"),
            std::string::npos);
  EXPECT_NE(error_of("[[replicas]]\nname = \"a\"\ndsn = \"mysql://u:pw@h\"\n").find("password"), std::string::npos);
  EXPECT_NE(error_of("[heartbeat]\ntable = \"heartbeat\"\nwrite = false\n").find("heartbeat.table"),
            std::string::npos);
  EXPECT_NE(error_of("[heartbeat]\ntable = \"a.b\"\n").find("heartbeat.write"), std::string::npos);  // no [mysql]
  EXPECT_NE(error_of("[integrity]\ncheck = true\n").find("integrity.check: unknown key"), std::string::npos);
  EXPECT_EQ(error_of("[heartbeat]\ntable = \"a.b\"\nwrite = false\n"), "");
}
