#include "binwatch/binlog/event_type.h"

#include <array>
#include <string>

#include "binwatch/binlog/decode_error.h"

namespace binwatch::binlog {

std::string_view event_type_name(uint8_t type) {
  switch (static_cast<EventType>(type)) {
    case EventType::Unknown: return "unknown";
    case EventType::StartV3: return "start_v3";
    case EventType::Query: return "query";
    case EventType::Stop: return "stop";
    case EventType::Rotate: return "rotate";
    case EventType::Intvar: return "intvar";
    case EventType::Load: return "load";
    case EventType::Slave: return "slave";
    case EventType::CreateFile: return "create_file";
    case EventType::AppendBlock: return "append_block";
    case EventType::ExecLoad: return "exec_load";
    case EventType::DeleteFile: return "delete_file";
    case EventType::NewLoad: return "new_load";
    case EventType::Rand: return "rand";
    case EventType::UserVar: return "user_var";
    case EventType::FormatDescription: return "format_description";
    case EventType::Xid: return "xid";
    case EventType::BeginLoadQuery: return "begin_load_query";
    case EventType::ExecuteLoadQuery: return "execute_load_query";
    case EventType::TableMap: return "table_map";
    case EventType::WriteRowsV0: return "write_rows_v0";
    case EventType::UpdateRowsV0: return "update_rows_v0";
    case EventType::DeleteRowsV0: return "delete_rows_v0";
    case EventType::WriteRowsV1: return "write_rows_v1";
    case EventType::UpdateRowsV1: return "update_rows_v1";
    case EventType::DeleteRowsV1: return "delete_rows_v1";
    case EventType::Incident: return "incident";
    case EventType::Heartbeat: return "heartbeat";
    case EventType::Ignorable: return "ignorable";
    case EventType::RowsQuery: return "rows_query";
    case EventType::WriteRowsV2: return "write_rows_v2";
    case EventType::UpdateRowsV2: return "update_rows_v2";
    case EventType::DeleteRowsV2: return "delete_rows_v2";
    case EventType::Gtid: return "gtid";
    case EventType::AnonymousGtid: return "anonymous_gtid";
    case EventType::PreviousGtids: return "previous_gtids";
    case EventType::TransactionContext: return "transaction_context";
    case EventType::ViewChange: return "view_change";
    case EventType::XaPrepare: return "xa_prepare";
    case EventType::PartialUpdateRows: return "partial_update_rows";
    case EventType::TransactionPayload: return "transaction_payload";
    case EventType::HeartbeatV2: return "heartbeat_v2";
    case EventType::GtidTagged: return "gtid_tagged";
    case EventType::MariadbAnnotateRows: return "mariadb_annotate_rows";
    case EventType::MariadbBinlogCheckpoint: return "mariadb_binlog_checkpoint";
    case EventType::MariadbGtid: return "mariadb_gtid";
    case EventType::MariadbGtidList: return "mariadb_gtid_list";
    case EventType::MariadbStartEncryption: return "mariadb_start_encryption";
    case EventType::MariadbQueryCompressed: return "mariadb_query_compressed";
    case EventType::MariadbWriteRowsCompressedV1: return "mariadb_write_rows_compressed_v1";
    case EventType::MariadbUpdateRowsCompressedV1: return "mariadb_update_rows_compressed_v1";
    case EventType::MariadbDeleteRowsCompressedV1: return "mariadb_delete_rows_compressed_v1";
    case EventType::MariadbWriteRowsCompressed: return "mariadb_write_rows_compressed";
    case EventType::MariadbUpdateRowsCompressed: return "mariadb_update_rows_compressed";
    case EventType::MariadbDeleteRowsCompressed: return "mariadb_delete_rows_compressed";
    case EventType::MariadbPartialRowData: return "mariadb_partial_row_data";
  }
  static const auto names = [] {
    std::array<std::string, 256> n;
    for (size_t i = 0; i < n.size(); ++i) n[i] = "type_" + std::to_string(i);
    return n;
  }();
  return names[type];
}

RowsTypeInfo rows_type_info(uint8_t type) {
  RowsTypeInfo r;
  r.is_rows = true;
  switch (type) {
    case 20: r = {true, RowsKind::Write, 0}; break;
    case 21: r = {true, RowsKind::Update, 0}; break;
    case 22: r = {true, RowsKind::Delete, 0}; break;
    case 23: r = {true, RowsKind::Write, 1}; break;
    case 24: r = {true, RowsKind::Update, 1}; break;
    case 25: r = {true, RowsKind::Delete, 1}; break;
    case 30: r = {true, RowsKind::Write, 2}; break;
    case 31: r = {true, RowsKind::Update, 2}; break;
    case 32: r = {true, RowsKind::Delete, 2}; break;
    case 39: r = {true, RowsKind::Update, 2, false, true}; break;
    case 166: r = {true, RowsKind::Write, 1, true}; break;
    case 167: r = {true, RowsKind::Update, 1, true}; break;
    case 168: r = {true, RowsKind::Delete, 1, true}; break;
    case 169: r = {true, RowsKind::Write, 2, true}; break;
    case 170: r = {true, RowsKind::Update, 2, true}; break;
    case 171: r = {true, RowsKind::Delete, 2, true}; break;
    default: r.is_rows = false;
  }
  return r;
}

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Checksum: return "checksum";
    case ErrorKind::Truncated: return "truncated";
    case ErrorKind::Malformed: return "malformed";
    case ErrorKind::Encrypted: return "encrypted";
    case ErrorKind::Unsupported: return "unsupported";
  }
  return "malformed";
}

}  // namespace binwatch::binlog
