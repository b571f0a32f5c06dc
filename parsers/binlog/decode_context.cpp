#include "binwatch/binlog/decode_context.h"

namespace binwatch::binlog {

const FormatDescription& DecodeContext::format() const {
  static const FormatDescription kDefault{};
  return m_format ? *m_format : kDefault;
}

std::shared_ptr<const TableMap> DecodeContext::table(uint64_t table_id) const {
  auto it = m_tables.find(table_id);
  return it == m_tables.end() ? nullptr : it->second;
}

void DecodeContext::apply_format(FormatDescription fde) { m_format = std::move(fde); }

std::shared_ptr<const TableMap> DecodeContext::apply_table_map(TableMap map) {
  // Servers re-send table maps for every transaction, so dropping them all when the bound is
  // reached only costs a lookup miss for ids not mapped again (never happens in valid binlogs).
  if (m_tables.size() >= m_max_tables && !m_tables.count(map.table_id)) m_tables.clear();
  const uint64_t id = map.table_id;
  auto stored = std::make_shared<const TableMap>(std::move(map));
  m_tables[id] = stored;
  return stored;
}

void DecodeContext::apply(const Event& event) {
  if (auto* f = std::get_if<FormatDescription>(&event.body)) {
    apply_format(*f);
  } else if (auto* t = std::get_if<TableMap>(&event.body)) {
    apply_table_map(*t);
  }
}

}  // namespace binwatch::binlog
