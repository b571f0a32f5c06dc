#pragma once
// A report JSON document written by hand after docs/report-json.md, shaped like SoundCloud's
// incident: `soundcloud.groups` wrote 820 MiB (fat TEXT descriptions rewritten by counter-cache
// UPDATEs) while the next table wrote 30 MiB; the baseline flags it at ~27x. Used by the HTML
// renderer tests (report_html_test, report_html_chromium_test).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace binwatch::test {

inline constexpr uint64_t kMiB = 1024 * 1024;

inline nlohmann::ordered_json soundcloud_report() {
  using json = nlohmann::ordered_json;
  struct T {
    const char* table;
    uint64_t bytes;
    uint64_t rows, inserts, updates, deletes;
  };
  const std::vector<T> tables = {
      {"groups", 820 * kMiB, 61'214, 0, 58'900, 2'314},
      {"comments", 30 * kMiB, 242'118, 120'004, 0, 122'114},
      {"tracks", 12 * kMiB, 40'220, 10'010, 30'210, 0},
      {"users", 6 * kMiB + 301 * 1024, 18'004, 2'001, 16'003, 0},
      {"activities", 3 * kMiB + 512 * 1024, 52'331, 52'331, 0, 0},
      {"playlists", 1 * kMiB + 200 * 1024, 3'100, 400, 2'700, 0},
      {"sessions", 820 * 1024, 9'800, 4'900, 0, 4'900},
      {"likes", 410 * 1024, 7'100, 7'000, 0, 100},
      {"reposts", 120 * 1024, 1'900, 1'900, 0, 0},
      {"schema_migrations", 2 * 1024, 3, 3, 0, 0},
  };
  const uint64_t statement = 2 * kMiB + 100 * 1024, overhead = 9 * kMiB + 700 * 1024, magic = 8;
  uint64_t total = statement + overhead + magic;
  for (const auto& t : tables) total += t.bytes;

  json doc;
  doc["files"] = json::array();
  doc["files"].push_back({{"path", "/var/lib/mysql/mariadb-bin.000041"},
                          {"size", 536'871'210},
                          {"server_version", "10.11.6-MariaDB-0+deb12u1-log"},
                          {"checksum", "CRC32"},
                          {"events", 402'112},
                          {"first_event_time", "2026-11-21T10:00:03Z"},
                          {"last_event_time", "2026-11-21T10:16:40Z"},
                          {"closed_cleanly", true},
                          {"torn_tail", nullptr},
                          {"unknown_events", 0}});
  doc["files"].push_back({{"path", "/var/lib/mysql/mariadb-bin.000042"},
                          {"size", total + 4 - 536'871'210},
                          {"server_version", "10.11.6-MariaDB-0+deb12u1-log"},
                          {"checksum", "CRC32"},
                          {"events", 398'004},
                          {"first_event_time", "2026-11-21T10:16:40Z"},
                          {"last_event_time", "2026-11-21T10:29:58Z"},
                          {"closed_cleanly", false},
                          {"torn_tail", nullptr},
                          {"unknown_events", 0}});
  doc["filters"] = {{"start_datetime", nullptr}, {"stop_datetime", nullptr}, {"start_position", nullptr},
                    {"stop_position", nullptr},  {"databases", json::array()}, {"tables", json::array()}};
  doc["covered_seconds"] = 1795;
  doc["tables"] = json::array();
  for (const auto& t : tables) {
    doc["tables"].push_back({{"schema", "soundcloud"},
                             {"table", t.table},
                             {"bytes", t.bytes},
                             {"uncompressed_bytes", t.bytes},
                             {"events", t.rows / 20 + 1},
                             {"rows_events", t.rows / 20 + 1},
                             {"table_map_events", t.rows / 20 + 1},
                             {"table_map_bytes", (t.rows / 20 + 1) * 60},
                             {"rows", t.rows},
                             {"inserts", t.inserts},
                             {"updates", t.updates},
                             {"deletes", t.deletes},
                             {"share", double(t.bytes) / double(total)},
                             {"row_image_overhead_bytes", t.rows * 12},
                             {"columns", json::array()}});
  }
  doc["other"] = {{"statement", statement}, {"overhead", overhead}, {"magic", magic},
                  {"torn", 0},              {"corrupt", 0},         {"excluded", 0}};
  doc["types"] = json::array({
      {{"type", 31}, {"name", "UPDATE_ROWS_EVENT_V1"}, {"events", 4'100}, {"bytes", 790 * kMiB}},
      {{"type", 30}, {"name", "WRITE_ROWS_EVENT_V1"}, {"events", 10'300}, {"bytes", 40 * kMiB}},
      {{"type", 32}, {"name", "DELETE_ROWS_EVENT_V1"}, {"events", 6'400}, {"bytes", 44 * kMiB}},
      {{"type", 19}, {"name", "TABLE_MAP_EVENT"}, {"events", 20'800}, {"bytes", 1'248'000}},
      {{"type", 2}, {"name", "QUERY_EVENT"}, {"events", 12'000}, {"bytes", statement}},
  });
  doc["errors"] = json::array();
  doc["total_bytes"] = total;

  // Columns of groups: the TEXT description dominates, before and after images alike.
  struct C {
    const char* name;
    const char* type;
    uint64_t before, after;
  };
  const std::vector<C> gcols = {
      {"description", "blob", 371 * kMiB, 371 * kMiB},  {"name", "varchar", 9 * kMiB, 9 * kMiB},
      {"updated_at", "datetime2", 6 * kMiB, 6 * kMiB}, {"cnt", "long", 3 * kMiB, 3 * kMiB},
      {"id", "longlong", 3 * kMiB, 3 * kMiB},          {"owner_id", "longlong", 3 * kMiB, 3 * kMiB},
  };
  uint64_t gsum = 0;
  for (const auto& c : gcols) gsum += c.before + c.after;
  doc["columns"] = json::array();
  int index = 0;
  for (const auto& c : gcols) {
    doc["columns"].push_back({{"schema", "soundcloud"}, {"table", "groups"}, {"index", ++index},
                              {"column", c.name}, {"name_source", "binlog"}, {"type", 252},
                              {"type_name", c.type}, {"before_bytes", c.before}, {"after_bytes", c.after},
                              {"bytes", c.before + c.after}, {"null_images", 0},
                              {"share_of_table", double(c.before + c.after) / double(gsum)}});
  }
  doc["columns"].push_back({{"schema", "soundcloud"}, {"table", "comments"}, {"index", 3}, {"column", "body"},
                            {"name_source", "binlog"}, {"type", 252}, {"type_name", "blob"},
                            {"before_bytes", 14 * kMiB}, {"after_bytes", 12 * kMiB}, {"bytes", 26 * kMiB},
                            {"null_images", 0}, {"share_of_table", 0.9}});

  doc["statements"] = {
      {"has_text", true},
      {"rows_bytes_without_text", 0},
      {"items", json::array({
                    {{"fingerprint", "update `soundcloud`.`groups` set updated_at=? where id=?"},
                     {"sample", "UPDATE `soundcloud`.`groups` SET updated_at=NOW() WHERE id=81234"},
                     {"source", "annotate_rows"}, {"bytes", 610 * kMiB}, {"rows_bytes", 610 * kMiB},
                     {"rows_events", 2'900}, {"rows", 29'450}, {"query_bytes", 0}, {"query_events", 0},
                     {"tables", json::array({"soundcloud.groups"})}},
                    {{"fingerprint", "update `soundcloud`.`groups` set cnt=cnt-? where id=?"},
                     {"sample", "UPDATE `soundcloud`.`groups` SET cnt=cnt-1 WHERE id=81234"},
                     {"source", "annotate_rows"}, {"bytes", 205 * kMiB}, {"rows_bytes", 205 * kMiB},
                     {"rows_events", 1'100}, {"rows", 29'450}, {"query_bytes", 0}, {"query_events", 0},
                     {"tables", json::array({"soundcloud.groups"})}},
                    {{"fingerprint", "delete from `soundcloud`.`comments` where group_id=? and id in(?+)"},
                     {"sample", "DELETE FROM `soundcloud`.`comments` WHERE group_id=81234 AND id IN (1,2,3)"},
                     {"source", "annotate_rows"}, {"bytes", 28 * kMiB}, {"rows_bytes", 28 * kMiB},
                     {"rows_events", 6'100}, {"rows", 122'114}, {"query_bytes", 0}, {"query_events", 0},
                     {"tables", json::array({"soundcloud.comments"})}},
                    {{"fingerprint", "insert into `soundcloud`.`tracks`(...) values(?+)"},
                     {"sample", "INSERT INTO `soundcloud`.`tracks` (id, title) VALUES (1, 'x')"},
                     {"source", "annotate_rows"}, {"bytes", 12 * kMiB}, {"rows_bytes", 12 * kMiB},
                     {"rows_events", 500}, {"rows", 40'220}, {"query_bytes", 0}, {"query_events", 0},
                     {"tables", json::array({"soundcloud.tracks"})}},
                })}};

  // Top transactions: the counter-cache pattern, one group per transaction.
  doc["transactions"] = json::array();
  for (int i = 0; i < 10; ++i) {
    const uint64_t start = 1'000'000 + 9'000'000ull * i;
    doc["transactions"].push_back(
        {{"id", "0-1-" + std::to_string(884'211 + i * 37)},
         {"gtid", "0-1-" + std::to_string(884'211 + i * 37)},
         {"file", i < 5 ? "mariadb-bin.000041" : "mariadb-bin.000042"},
         {"start_position", start},
         {"end_position", start + (9 - i) * kMiB / 2 + 3 * kMiB},
         {"start_time", "2026-11-21T10:" + std::to_string(10 + i) + ":0" + std::to_string(i % 10) + "Z"},
         {"end_time", "2026-11-21T10:" + std::to_string(10 + i) + ":4" + std::to_string(i % 10) + "Z"},
         {"start_epoch", 1'795'255'200 + 600 + 60 * i + i},
         {"end_epoch", 1'795'255'200 + 640 + 60 * i + i},
         {"bytes", (9 - i) * kMiB / 2 + 3 * kMiB},
         {"rows", 812 - 40 * i},
         {"events", 64 - 2 * i},
         {"tables", i == 0 ? json::array({"soundcloud.groups", "soundcloud.comments", "soundcloud.activities"})
                           : json::array({"soundcloud.groups", "soundcloud.comments"})}});
  }

  // 30 minutes from 2026-11-21T10:00:00Z; groups spikes from 10:08 to 10:21.
  const int64_t t0 = 1'795'255'200;
  json names = json::array();
  for (size_t k = 0; k < 8; ++k) names.push_back(std::string("soundcloud.") + tables[k].table);
  uint64_t other_tables = 0;
  for (size_t k = 8; k < tables.size(); ++k) other_tables += tables[k].bytes;
  std::vector<double> groups_w(30);
  double wsum = 0;
  for (int m = 0; m < 30; ++m) wsum += groups_w[m] = (m >= 8 && m < 22) ? 36.0 + (m % 3) * 4 : 1.0 + (m % 4) * 0.2;
  json items = json::array();
  std::vector<uint64_t> left;
  for (size_t k = 0; k < 8; ++k) left.push_back(tables[k].bytes);
  uint64_t left_other = other_tables, left_non = statement + overhead + magic;
  for (int m = 0; m < 30; ++m) {
    json row = json::array();
    uint64_t sum = 0;
    for (size_t k = 0; k < 8; ++k) {
      uint64_t v;
      if (m == 29) {
        v = left[k];
      } else if (k == 0) {
        v = static_cast<uint64_t>(double(tables[0].bytes) * groups_w[m] / wsum);
      } else {
        v = tables[k].bytes / 30 * (m % 5 + 8) / 10;
      }
      v = std::min(v, left[k]);
      left[k] -= v;
      row.push_back(v);
      sum += v;
    }
    const uint64_t ot = m == 29 ? left_other : std::min(left_other, other_tables / 30);
    const uint64_t nt = m == 29 ? left_non : std::min(left_non, (statement + overhead) / 30);
    left_other -= ot;
    left_non -= nt;
    const int64_t epoch = t0 + 60 * m;
    char minute[32];
    std::snprintf(minute, sizeof minute, "2026-11-21T10:%02d:00Z", m);
    items.push_back({{"minute", minute}, {"epoch", epoch}, {"tables", row}, {"other_tables", ot},
                     {"non_table", nt}, {"total", sum + ot + nt}});
  }
  doc["minutes"] = {{"tables", names}, {"items", items}};

  // Baseline: a normal hour of traffic.
  const double hours = 1795.0 / 3600.0;
  struct B {
    const char* table;
    double baseline_per_hour;  // 0: absent from the baseline
  };
  const std::vector<B> base = {{"groups", 0}, {"comments", 48.0 * kMiB}, {"tracks", 21.0 * kMiB},
                               {"users", 14.0 * kMiB}, {"activities", 6.0 * kMiB}, {"playlists", 2.5 * kMiB},
                               {"sessions", 0}, {"likes", 0.9 * kMiB}};
  json btables = json::array();
  for (size_t k = 0; k < base.size(); ++k) {
    const double rate = double(tables[k].bytes) / hours;
    double brate = base[k].baseline_per_hour;
    if (k == 0) brate = rate / 27.3;
    json ratio = brate > 0 ? json(rate / brate) : json(nullptr);
    btables.push_back({{"schema", "soundcloud"}, {"table", base[k].table}, {"bytes", tables[k].bytes},
                       {"baseline_bytes", static_cast<uint64_t>(brate)}, {"rate_per_hour", rate},
                       {"baseline_rate_per_hour", brate}, {"ratio", ratio},
                       {"flagged", brate > 0 && rate / brate > 10.0}});
  }
  json bcols = json::array();
  bcols.push_back({{"schema", "soundcloud"}, {"table", "groups"}, {"column", "description"},
                   {"bytes", 742 * kMiB}, {"baseline_bytes", 50 * kMiB}, {"rate_per_hour", 742 * kMiB / hours},
                   {"baseline_rate_per_hour", 50.0 * kMiB}, {"ratio", 742 / hours / 50}, {"flagged", true}});
  bcols.push_back({{"schema", "soundcloud"}, {"table", "comments"}, {"column", "body"}, {"bytes", 26 * kMiB},
                   {"baseline_bytes", 40 * kMiB}, {"rate_per_hour", 26 * kMiB / hours},
                   {"baseline_rate_per_hour", 40.0 * kMiB}, {"ratio", 26 / hours / 40}, {"flagged", false}});
  doc["baseline"] = {{"files", json::array({"/backup/normal/mariadb-bin.000031"})},
                     {"covered_seconds", 3600},
                     {"incident_covered_seconds", 1795},
                     {"ratio_alert", 10.0},
                     {"tables", btables},
                     {"columns", bcols}};
  return doc;
}

}  // namespace binwatch::test
