// Source: MySQL 8.4 sql/rpl_record.cc (unpack_row), sql/field.cc (Field_*::pack_length_from_metadata);
// MariaDB 11.4 sql/rpl_record.cc. Layout in include/binwatch/binlog/row_walker.h.
#include "binwatch/binlog/row_walker.h"

#include <string>

namespace binwatch::binlog {

void ColumnBytes::resize(size_t columns) {
  if (before.size() < columns) {
    before.resize(columns);
    after.resize(columns);
    nulls.resize(columns);
  }
}

namespace {

// One present column of a row image, with its layout resolved once per event.
struct ColumnOp {
  uint32_t col;
  ValueLayout layout;
  uint8_t prefix;
  uint32_t fixed;
};

struct Walker {
  const TableMap& map;
  ColumnBytes& acc;
  ByteCursor c;
  uint64_t row = 0;

  DecodeError fail(const std::string& what) const {
    return malformed("rows event for " + map.schema + "." + map.table + " (table_id " +
                     std::to_string(map.table_id) + "), row " + std::to_string(row + 1) + ": " +
                     what);
  }

  // One row image over the present columns `ops`; values are added to `sums`.
  bool image(const std::vector<ColumnOp>& ops, uint64_t* sums, bool partial_after, DecodeError& err) {
    if (partial_after) {
      const size_t start = c.offset();
      uint64_t options = 0;
      if (!c.packed(options)) { err = fail("value options past the end"); return false; }
      if ((options & 1) && !c.skip((map.json_columns + 7) / 8)) {
        err = fail("partial JSON bitmap past the end");
        return false;
      }
      acc.image_overhead += c.offset() - start;
    }
    const size_t nbytes = (ops.size() + 7) / 8;
    Bytes nulls;
    if (!c.bytes(nbytes, nulls)) { err = fail("NULL bitmap past the end"); return false; }
    acc.image_overhead += nbytes;
    uint64_t* null_counts = acc.nulls.data();
    const size_t n = ops.size();
    for (size_t k = 0; k < n; ++k) {
      const ColumnOp& op = ops[k];
      if (std::to_integer<unsigned>(nulls[k >> 3]) & (1u << (k & 7))) {
        ++null_counts[op.col];
        continue;
      }
      uint64_t size = op.fixed;
      if (op.layout == ValueLayout::LengthPrefix) {
        uint64_t len = 0;
        if (!c.uint_le(op.prefix, len)) {
          err = fail("length of column " + std::to_string(op.col + 1) + " past the end");
          return false;
        }
        size = len + op.prefix;
        if (!c.skip(len)) {
          err = fail("column " + std::to_string(op.col + 1) + " value of " + std::to_string(len) +
                     " bytes, only " + std::to_string(c.remaining()) + " left");
          return false;
        }
      } else if (op.layout == ValueLayout::Fixed) {
        if (!c.skip(size)) {
          err = fail("column " + std::to_string(op.col + 1) + " value of " + std::to_string(size) +
                     " bytes, only " + std::to_string(c.remaining()) + " left");
          return false;
        }
      } else {
        err = unsupported("rows event for " + map.schema + "." + map.table + ": column " +
                          std::to_string(op.col + 1) + " has type " +
                          std::to_string(map.types[op.col]) + " whose size this build cannot compute");
        return false;
      }
      sums[op.col] += size;
    }
    return true;
  }
};

bool present_columns(const TableMap& map, Bytes bitmap, uint64_t width, std::vector<ColumnOp>& out) {
  out.clear();
  const size_t table_columns = map.column_count();
  for (uint64_t i = 0; i < width; ++i) {
    if (std::to_integer<uint8_t>(bitmap[i / 8]) & (1u << (i % 8))) {
      if (i >= table_columns) return false;
      const ColumnLayout& l = map.layouts[i];
      out.push_back(ColumnOp{static_cast<uint32_t>(i), l.layout, l.prefix, l.fixed});
    }
  }
  return true;
}

}  // namespace

Result<RowsSummary> walk_rows(const TableMap& map, const RowsEvent& ev, ColumnBytes* columns) {
  thread_local std::vector<ColumnOp> before_cols, after_cols;
  thread_local ColumnBytes scratch;
  const size_t ncols = map.column_count();
  if (!present_columns(map, ev.columns_before, ev.width, before_cols) ||
      !present_columns(map, ev.columns_after, ev.width, after_cols)) {
    return malformed("rows event for " + map.schema + "." + map.table + " names column(s) beyond the " +
                     std::to_string(ncols) + " of its table map");
  }
  scratch.resize(ncols);
  std::fill_n(scratch.before.begin(), ncols, 0);
  std::fill_n(scratch.after.begin(), ncols, 0);
  std::fill_n(scratch.nulls.begin(), ncols, 0);
  scratch.image_overhead = 0;

  Walker w{map, scratch, ByteCursor(ev.rows)};
  RowsSummary s;
  DecodeError err;
  while (!w.c.empty()) {
    const size_t row_start = w.c.offset();
    switch (ev.info.kind) {
      case RowsKind::Write:
        if (!w.image(after_cols, scratch.after.data(), false, err)) return err;
        s.images += 1;
        break;
      case RowsKind::Delete:
        if (!w.image(before_cols, scratch.before.data(), false, err)) return err;
        s.images += 1;
        break;
      case RowsKind::Update:
        if (!w.image(before_cols, scratch.before.data(), false, err)) return err;
        if (!w.image(after_cols, scratch.after.data(), ev.info.partial_json, err)) return err;
        s.images += 2;
        break;
    }
    if (w.c.offset() == row_start) return w.fail("no column present: 0-byte row images never end");
    ++w.row;
  }
  s.rows = w.row;
  s.image_bytes = ev.rows.size();
  if (columns) {
    columns->resize(ncols);
    for (size_t i = 0; i < ncols; ++i) {
      columns->before[i] += scratch.before[i];
      columns->after[i] += scratch.after[i];
      columns->nulls[i] += scratch.nulls[i];
    }
    columns->image_overhead += scratch.image_overhead;
  }
  return s;
}

}  // namespace binwatch::binlog
