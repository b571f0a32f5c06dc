#pragma once
// Binlog event type codes. Sources: MySQL 8.4 libs/mysql/binlog/event/binlog_event.h
// (enum Log_event_type) and MariaDB 11.4 sql/log_event.h (enum Log_event_type, 160+).
#include <cstdint>
#include <string_view>

namespace binwatch::binlog {

enum class EventType : uint8_t {
  Unknown = 0,
  StartV3 = 1,
  Query = 2,
  Stop = 3,
  Rotate = 4,
  Intvar = 5,
  Load = 6,
  Slave = 7,
  CreateFile = 8,
  AppendBlock = 9,
  ExecLoad = 10,
  DeleteFile = 11,
  NewLoad = 12,
  Rand = 13,
  UserVar = 14,
  FormatDescription = 15,
  Xid = 16,
  BeginLoadQuery = 17,
  ExecuteLoadQuery = 18,
  TableMap = 19,
  WriteRowsV0 = 20,
  UpdateRowsV0 = 21,
  DeleteRowsV0 = 22,
  WriteRowsV1 = 23,
  UpdateRowsV1 = 24,
  DeleteRowsV1 = 25,
  Incident = 26,
  Heartbeat = 27,
  Ignorable = 28,
  RowsQuery = 29,
  WriteRowsV2 = 30,
  UpdateRowsV2 = 31,
  DeleteRowsV2 = 32,
  Gtid = 33,
  AnonymousGtid = 34,
  PreviousGtids = 35,
  TransactionContext = 36,
  ViewChange = 37,
  XaPrepare = 38,
  PartialUpdateRows = 39,
  TransactionPayload = 40,
  HeartbeatV2 = 41,
  GtidTagged = 42,
  // MariaDB
  MariadbAnnotateRows = 160,
  MariadbBinlogCheckpoint = 161,
  MariadbGtid = 162,
  MariadbGtidList = 163,
  MariadbStartEncryption = 164,
  MariadbQueryCompressed = 165,
  MariadbWriteRowsCompressedV1 = 166,
  MariadbUpdateRowsCompressedV1 = 167,
  MariadbDeleteRowsCompressedV1 = 168,
  MariadbWriteRowsCompressed = 169,
  MariadbUpdateRowsCompressed = 170,
  MariadbDeleteRowsCompressed = 171,
  MariadbPartialRowData = 172,
};

// Stable lower-case name used in reports ("write_rows_v2", "mariadb_gtid", ...);
// "type_<n>" for codes this build does not know.
std::string_view event_type_name(uint8_t type);

// Kind of row change a rows event carries.
enum class RowsKind : uint8_t { Write, Update, Delete };

struct RowsTypeInfo {
  bool is_rows = false;
  RowsKind kind = RowsKind::Write;
  uint8_t version = 1;        // 0, 1 or 2 (on-disk layout of the post-header)
  bool compressed = false;    // MariaDB 166-171: row data is a zlib block
  bool partial_json = false;  // MySQL PARTIAL_UPDATE_ROWS_EVENT (39)
};
RowsTypeInfo rows_type_info(uint8_t type);

}  // namespace binwatch::binlog
