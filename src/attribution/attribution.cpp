#include "binwatch/attribution.h"

#include <algorithm>

namespace binwatch {

void TableStats::merge(const TableStats& o) {
  bytes += o.bytes;
  uncompressed_bytes += o.uncompressed_bytes;
  events += o.events;
  table_map_events += o.table_map_events;
  table_map_bytes += o.table_map_bytes;
  rows_events += o.rows_events;
  rows += o.rows;
  inserts += o.inserts;
  updates += o.updates;
  deletes += o.deletes;
  columns.resize(o.columns.before.size());
  for (size_t i = 0; i < o.columns.before.size(); ++i) {
    columns.before[i] += o.columns.before[i];
    columns.after[i] += o.columns.after[i];
    columns.nulls[i] += o.columns.nulls[i];
  }
  columns.image_overhead += o.columns.image_overhead;
  if (!o.column_types.empty()) column_types = o.column_types;
  if (!o.column_names.empty()) column_names = o.column_names;
}

namespace {

std::string index_key(const std::string& schema, const std::string& table) {
  std::string key;
  key.reserve(schema.size() + table.size() + 1);
  key.append(schema).push_back('\0');
  key.append(table);
  return key;
}

}  // namespace

const TableStats* Attribution::find(const std::string& schema, const std::string& table) const {
  auto it = m_index.find(index_key(schema, table));
  return it == m_index.end() ? nullptr : &m_tables[it->second];
}

size_t Attribution::table_index(const std::string& schema, const std::string& table) {
  auto [it, inserted] = m_index.try_emplace(index_key(schema, table), m_tables.size());
  if (inserted) {
    TableStats stats;
    stats.key = TableKey{schema, table};
    m_tables.push_back(std::move(stats));
  }
  return it->second;
}

std::vector<const TableStats*> Attribution::tables_by_bytes() const {
  std::vector<const TableStats*> out;
  out.reserve(m_tables.size());
  for (const auto& t : m_tables) out.push_back(&t);
  std::sort(out.begin(), out.end(), [](const TableStats* a, const TableStats* b) {
    if (a->bytes != b->bytes) return a->bytes > b->bytes;
    return a->key < b->key;
  });
  return out;
}

uint64_t Attribution::table_bytes() const {
  uint64_t sum = 0;
  for (const auto& t : m_tables) sum += t.bytes;
  return sum;
}

void Attribution::merge(const Attribution& o) {
  for (const auto& t : o.m_tables) table_at(table_index(t.key.schema, t.key.table)).merge(t);
  other.statement += o.other.statement;
  other.overhead += o.other.overhead;
  other.magic += o.other.magic;
  other.torn += o.other.torn;
  other.corrupt += o.other.corrupt;
  other.excluded += o.other.excluded;
  for (const auto& [type, s] : o.types) {
    types[type].events += s.events;
    types[type].bytes += s.bytes;
  }
  errors.insert(errors.end(), o.errors.begin(), o.errors.end());
  total_bytes += o.total_bytes;
}

}  // namespace binwatch
