#pragma once
// Walks the row images of a rows event with the table map's column types and metadata, so every
// row is counted and every column's bytes in every image are known (for per-column reports).
// Source: MySQL 8.4 sql/rpl_record.cc (unpack_row), sql/field.cc pack lengths;
// MariaDB 11.4 sql/rpl_record.cc.
//
//  row image: NULL bitmap with one bit per present column ((n+7)/8 bytes), then each non-NULL
//             present column's value. UPDATE: before image then after image, repeated.
//  PARTIAL_UPDATE_ROWS after image: value_options (packed); if bit 0, one bit per JSON column
//             of the table ((json_columns+7)/8 bytes); then the image as above.
#include <cstdint>
#include <vector>

#include "binwatch/binlog/decode_error.h"
#include "binwatch/binlog/events.h"
#include "binwatch/binlog/table_map.h"

namespace binwatch::binlog {

// Sums over the rows of one event, added to by walk_rows.
struct ColumnBytes {
  std::vector<uint64_t> before;  // per column: bytes in before images (delete, update before)
  std::vector<uint64_t> after;   // per column: bytes in after images (insert, update after)
  std::vector<uint64_t> nulls;   // per column: images in which the column was present and NULL
  uint64_t image_overhead = 0;   // NULL bitmaps and partial-update value options
  void resize(size_t columns);
};

struct RowsSummary {
  uint64_t rows = 0;    // an update's before/after pair counts once
  uint64_t images = 0;
  uint64_t image_bytes = 0;  // all row image bytes walked
};

// `columns` may be null (count only). Fails with a located detail (row number, column) when an
// image does not fit the declared types or the event; nothing is added to `columns` then.
Result<RowsSummary> walk_rows(const TableMap& map, const RowsEvent& event, ColumnBytes* columns);

}  // namespace binwatch::binlog
