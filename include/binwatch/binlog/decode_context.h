#pragma once
// Decoding state of one binlog stream: the format description in force and the table-id map.
// Updated only through apply(); decoders read it. The table map is bounded (Maxwell #1468).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

#include "binwatch/binlog/events.h"
#include "binwatch/binlog/format_description.h"
#include "binwatch/binlog/table_map.h"

namespace binwatch::binlog {

class DecodeContext {
 public:
  static constexpr size_t kDefaultMaxTables = 16384;
  explicit DecodeContext(size_t max_tables = kDefaultMaxTables) : m_max_tables(max_tables) {}

  [[nodiscard]] bool has_format() const { return m_format.has_value(); }
  // A v4 default (no checksums) until a format description was applied.
  [[nodiscard]] const FormatDescription& format() const;
  [[nodiscard]] bool checksums() const { return m_format && m_format->event_checksums(); }

  [[nodiscard]] std::shared_ptr<const TableMap> table(uint64_t table_id) const;
  [[nodiscard]] size_t table_count() const { return m_tables.size(); }

  void apply(const Event& event);
  void apply_format(FormatDescription fde);
  // Returns the stored map (shared, so rows decoders can keep it across later table maps).
  std::shared_ptr<const TableMap> apply_table_map(TableMap map);
  void clear_tables() { m_tables.clear(); }

 private:
  std::optional<FormatDescription> m_format;
  std::unordered_map<uint64_t, std::shared_ptr<const TableMap>> m_tables;
  size_t m_max_tables;
};

}  // namespace binwatch::binlog
