#pragma once
// Decoded event bodies. Views (Bytes, string_view) point into the event buffer the decoder was
// given, or into the event's own storage for decompressed MariaDB events; copy what must outlive it.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "binwatch/binlog/event_header.h"
#include "binwatch/binlog/event_type.h"
#include "binwatch/binlog/format_description.h"
#include "binwatch/binlog/table_map.h"

namespace binwatch::binlog {

// QUERY_EVENT (2) and MariaDB QUERY_COMPRESSED_EVENT (165).
//  post-header: thread_id u32, exec_time u32, db_len u8, error_code u16, status_vars_len u16
//  body: status vars, db + NUL, query text (165: compressed block, see mariadb_compression.h)
struct QueryEvent {
  uint32_t thread_id = 0;
  uint32_t exec_time = 0;
  uint16_t error_code = 0;
  std::string_view schema;
  std::string_view query;  // into the event, or into `storage` for QUERY_COMPRESSED
  std::shared_ptr<const std::string> storage;
  // A few status variables (MySQL log_event.h Q_* codes); absent ones stay empty/nullopt.
  std::optional<uint64_t> sql_mode;
  std::string_view catalog;
  std::optional<uint16_t> charset_client;
  std::string_view time_zone;
  std::string_view user, host;  // Q_INVOKER
  bool status_vars_complete = true;  // false when an unknown code stopped the walk
};

struct RotateEvent {
  uint64_t position = 0;
  std::string next_file;
};

struct XidEvent {
  uint64_t xid = 0;
};

// GTID_LOG_EVENT (33), ANONYMOUS_GTID_LOG_EVENT (34), GTID_TAGGED_LOG_EVENT (42, skipped by length).
struct GtidEvent {
  uint8_t flags = 0;
  std::array<uint8_t, 16> sid{};
  uint64_t gno = 0;
  bool anonymous = false;
  bool tagged = false;  // body not decoded (MySQL serialization format)
  std::optional<uint64_t> last_committed, sequence_number;
  std::optional<uint64_t> transaction_length;
  [[nodiscard]] std::string uuid() const;
};

// MariaDB GTID_EVENT (162): seq_no u64, domain_id u32, flags2 u8 [, commit_id u64].
struct MariadbGtidEvent {
  uint64_t seq_no = 0;
  uint32_t domain_id = 0;
  uint32_t server_id = 0;  // from the common header
  uint8_t flags2 = 0;
  std::optional<uint64_t> commit_id;
  [[nodiscard]] bool standalone() const { return flags2 & 0x1; }
  [[nodiscard]] std::string gtid() const;  // "domain-server-seq"
};

struct MariadbGtidListEvent {
  struct Entry {
    uint32_t domain_id, server_id;
    uint64_t seq_no;
  };
  std::vector<Entry> gtids;
};

struct BinlogCheckpointEvent {
  std::string file;
};

// MariaDB ANNOTATE_ROWS (160) and MySQL ROWS_QUERY (29): the statement behind the rows events.
struct RowsQueryEvent {
  std::string query;
};

struct IncidentEvent {
  uint16_t incident = 0;
  std::string message;
};

struct HeartbeatEvent {
  std::string log_name;
  std::optional<uint64_t> position;  // HEARTBEAT_V2 only
};

struct StartEncryptionEvent {
  uint8_t scheme = 0;
  uint32_t key_version = 0;
};

// TRANSACTION_PAYLOAD_EVENT (40). Body: (type packed, length packed, value) fields ending
// with type 0; 1 payload size, 2 compression type (0 ZSTD, 255 NONE), 3 uncompressed size;
// then the payload: whole events without checksums, log_pos 0.
struct TransactionPayloadEvent {
  uint64_t compression = 0;
  uint64_t payload_size = 0;
  uint64_t uncompressed_size = 0;
  Bytes payload;
};

// Rows events: v0 20-22, v1 23-25, v2 30-32, PARTIAL_UPDATE_ROWS 39, MariaDB compressed 166-171.
//  post-header: table_id 6 (4 if the post-header length is 6), flags u16,
//               v2: var_header_len u16 (counts itself) + extra row info
//  body: width (packed), columns-present bitmap, update: after-image bitmap, row images
//        (MariaDB compressed: row images as one zlib block, see mariadb_compression.h)
struct RowsEvent {
  RowsTypeInfo info;
  uint64_t table_id = 0;
  uint16_t flags = 0;
  uint64_t width = 0;
  Bytes columns_before;  // bitmap, (width+7)/8 bytes
  Bytes columns_after;   // update kinds only
  Bytes extra_info;
  Bytes rows;            // row images (decompressed for MariaDB compressed events)
  uint64_t compressed_rows_size = 0;  // MariaDB compressed: on-disk size of the compressed block
  std::shared_ptr<std::vector<std::byte>> storage;  // owns `rows` when decompressed
  [[nodiscard]] bool stmt_end() const { return flags & 0x1; }
};

// Any other event: nothing decoded beyond the header.
struct OtherEvent {};

using EventBody = std::variant<OtherEvent, FormatDescription, QueryEvent, RotateEvent, XidEvent,
                               GtidEvent, MariadbGtidEvent, MariadbGtidListEvent,
                               BinlogCheckpointEvent, RowsQueryEvent, IncidentEvent,
                               HeartbeatEvent, StartEncryptionEvent, TransactionPayloadEvent,
                               TableMap, RowsEvent>;

struct Event {
  EventHeader header;
  EventBody body;
};

}  // namespace binwatch::binlog
