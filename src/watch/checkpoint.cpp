#include "binwatch/watch/checkpoint.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "binwatch/atomic_file.h"

namespace binwatch::watch {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json to_json(const Attribution& a) {
  json tables = json::array();
  for (const auto& t : a.tables()) {
    tables.push_back({{"schema", t.key.schema}, {"table", t.key.table}, {"bytes", t.bytes},
                      {"uncompressed_bytes", t.uncompressed_bytes}, {"events", t.events},
                      {"table_map_events", t.table_map_events}, {"table_map_bytes", t.table_map_bytes},
                      {"rows_events", t.rows_events}, {"rows", t.rows}, {"inserts", t.inserts},
                      {"updates", t.updates}, {"deletes", t.deletes},
                      {"col_before", t.columns.before}, {"col_after", t.columns.after},
                      {"col_nulls", t.columns.nulls}, {"image_overhead", t.columns.image_overhead},
                      {"column_types", t.column_types}, {"column_names", t.column_names}});
  }
  json types = json::array();
  for (const auto& [code, s] : a.types) types.push_back({{"type", code}, {"events", s.events}, {"bytes", s.bytes}});
  return {{"tables", tables},
          {"other", {{"statement", a.other.statement}, {"overhead", a.other.overhead}, {"magic", a.other.magic},
                     {"torn", a.other.torn}, {"corrupt", a.other.corrupt}}},
          {"types", types},
          {"total_bytes", a.total_bytes}};
}

Attribution from_json(const json& j) {
  Attribution a;
  for (const auto& t : j.at("tables")) {
    TableStats& s = a.table_at(a.table_index(t.at("schema").get<std::string>(), t.at("table").get<std::string>()));
    s.bytes = t.at("bytes");
    s.uncompressed_bytes = t.at("uncompressed_bytes");
    s.events = t.at("events");
    s.table_map_events = t.at("table_map_events");
    s.table_map_bytes = t.at("table_map_bytes");
    s.rows_events = t.at("rows_events");
    s.rows = t.at("rows");
    s.inserts = t.at("inserts");
    s.updates = t.at("updates");
    s.deletes = t.at("deletes");
    s.columns.before = t.at("col_before").get<std::vector<uint64_t>>();
    s.columns.after = t.at("col_after").get<std::vector<uint64_t>>();
    s.columns.nulls = t.at("col_nulls").get<std::vector<uint64_t>>();
    s.columns.image_overhead = t.at("image_overhead");
    s.column_types = t.at("column_types").get<std::vector<uint8_t>>();
    s.column_names = t.at("column_names").get<std::vector<std::string>>();
    if (s.columns.after.size() != s.columns.before.size() || s.columns.nulls.size() != s.columns.before.size())
      throw std::runtime_error("column vectors of different lengths");
  }
  const json& o = j.at("other");
  a.other.statement = o.at("statement");
  a.other.overhead = o.at("overhead");
  a.other.magic = o.at("magic");
  a.other.torn = o.at("torn");
  a.other.corrupt = o.at("corrupt");
  for (const auto& t : j.at("types")) {
    auto& s = a.types[t.at("type").get<uint8_t>()];
    s.events = t.at("events");
    s.bytes = t.at("bytes");
  }
  a.total_bytes = j.at("total_bytes");
  return a;
}

}  // namespace

std::string attribution_to_json(const Attribution& a) { return to_json(a).dump(); }
Attribution attribution_from_json(const std::string& text) { return from_json(json::parse(text)); }

fs::path checkpoint_path(const fs::path& state_dir) { return state_dir / "checkpoint.json"; }

std::optional<Checkpoint> load_checkpoint(const fs::path& file) {
  const auto text = read_whole_file(file);
  if (!text) {
    if (!fs::exists(file)) return std::nullopt;
    throw std::runtime_error(file.string() + ": cannot read the checkpoint");
  }
  try {
    const json j = json::parse(*text);
    if (j.at("version").get<int>() != 1) throw std::runtime_error("unknown version");
    Checkpoint c;
    c.start = {j.at("start").at("file"), j.at("start").at("offset")};
    c.position = {j.at("position").at("file"), j.at("position").at("offset")};
    c.saved_at = j.at("saved_at");
    c.totals = from_json(j.at("totals"));
    return c;
  } catch (const std::exception& e) {
    throw std::runtime_error(file.string() + ": damaged checkpoint (" + e.what() +
                             "); move it away to start over from the end of the binlog");
  }
}

void save_checkpoint(const fs::path& file, const Checkpoint& c) {
  const json j = {{"version", 1},
                  {"start", {{"file", c.start.file}, {"offset", c.start.offset}}},
                  {"position", {{"file", c.position.file}, {"offset", c.position.offset}}},
                  {"saved_at", c.saved_at},
                  {"totals", to_json(c.totals)}};
  write_file_atomically(file, j.dump());
}

}  // namespace binwatch::watch
