// Integration: a private MariaDB writes binlogs for a workload with known row counts
// (scripts/sql/typed-rows.sql, every common column type, NULLs, multi-row events, a multi-table
// transaction); binwatch must report exactly those counts per table under every binlog variant,
// with the attribution invariant holding and no decoding errors.
#include <fstream>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "binwatch/attribution.h"
#include "binwatch/binlog/event_type.h"
#include "binwatch/binlog_scanner.h"
#include "binwatch/byte_source.h"
#include "support/mariadb_server.h"

namespace binwatch {
namespace {

using test::BinlogChecksum;
using test::MariadbServer;
using test::RowImage;
using test::RowMetadata;

struct Variant {
  std::string name;
  MariadbServer::Options options;
};

std::ostream& operator<<(std::ostream& os, const Variant& v) { return os << v.name; }

struct Scanned {
  Attribution attribution;
  std::vector<FileSummary> files;
  uint64_t file_bytes = 0;
};

Scanned scan_all(const std::vector<std::filesystem::path>& paths) {
  Scanned s;
  for (const auto& p : paths) {
    FileSource source(p.string());
    s.files.push_back(scan_binlog(source, s.attribution));
    s.file_bytes += std::filesystem::file_size(p);
  }
  return s;
}

void expect_invariant(const Scanned& s) {
  const Attribution& a = s.attribution;
  EXPECT_EQ(a.table_bytes() + a.other.sum(), a.total_bytes);
  EXPECT_EQ(a.total_bytes, s.file_bytes);
  for (const auto& e : a.errors) {
    ADD_FAILURE() << e.file << " offset " << e.offset << ": " << binlog::error_kind_name(e.kind)
                  << ": " << e.detail;
  }
}

class RowCounts : public ::testing::TestWithParam<Variant> {};

TEST_P(RowCounts, TypedWorkloadReportsExactRowCountsPerTable) {
  BINWATCH_REQUIRE_MARIADB();
  MariadbServer server(GetParam().options);
  server.exec_file(test::source_path("scripts/sql/typed-rows.sql"));
  server.flush_binary_logs();

  std::ifstream in(test::source_path("scripts/sql/typed-rows.expected.json"));
  ASSERT_TRUE(in) << "scripts/sql/typed-rows.expected.json";
  const auto expected = nlohmann::json::parse(in);

  const Scanned s = scan_all(server.binlog_files());
  expect_invariant(s);
  for (const auto& f : s.files) EXPECT_FALSE(f.torn_tail) << f.path;

  uint64_t inserts = 0, updates = 0, deletes = 0;
  for (const auto& [name, want] : expected["tables"].items()) {
    const auto dot = name.find('.');
    const TableStats* t = s.attribution.find(name.substr(0, dot), name.substr(dot + 1));
    ASSERT_NE(t, nullptr) << name << " missing from the report";
    EXPECT_EQ(t->inserts, want["inserts"].get<uint64_t>()) << name;
    EXPECT_EQ(t->updates, want["updates"].get<uint64_t>()) << name;
    EXPECT_EQ(t->deletes, want["deletes"].get<uint64_t>()) << name;
    EXPECT_EQ(t->rows, t->inserts + t->updates + t->deletes) << name;
    inserts += t->inserts;
    updates += t->updates;
    deletes += t->deletes;
  }
  EXPECT_EQ(inserts, expected["totals"]["inserts"].get<uint64_t>());
  EXPECT_EQ(updates, expected["totals"]["updates"].get<uint64_t>());
  EXPECT_EQ(deletes, expected["totals"]["deletes"].get<uint64_t>());

  // The settings really were in force: compressed events appear only with log_bin_compress.
  bool compressed_rows = false;
  for (const auto& [type, stats] : s.attribution.types) {
    if (type >= 166 && type <= 171) compressed_rows = true;
  }
  EXPECT_EQ(compressed_rows, GetParam().options.compress);
  for (const auto& f : s.files) {
    EXPECT_EQ(f.checksum, GetParam().options.checksum == BinlogChecksum::Crc32 ? "crc32" : "none");
  }
}

// Column bytes are exact: for an insert-only table the after-image bytes of a TEXT column equal
// the server's SUM(LENGTH(col)) plus a 2-byte length prefix per non-NULL value, and NULLs are
// counted per image.
TEST_P(RowCounts, ColumnBytesMatchTheServersLengths) {
  BINWATCH_REQUIRE_MARIADB();
  MariadbServer server(GetParam().options);
  server.exec(
      "CREATE DATABASE cb; USE cb;"
      "CREATE TABLE cb.t (id INT PRIMARY KEY, body TEXT NULL, tag VARCHAR(300) NULL, n INT) "
      "ENGINE=InnoDB;"
      "INSERT INTO cb.t SELECT seq, IF(seq % 5 = 0, NULL, REPEAT(CHAR(65 + seq % 26), seq * 37)),"
      " IF(seq % 3 = 0, NULL, REPEAT('x', seq % 290)), seq FROM seq_1_to_400;");
  server.flush_binary_logs();
  const auto rows = server.query(
      "SELECT SUM(LENGTH(body)), COUNT(body), SUM(LENGTH(tag)), COUNT(tag), COUNT(*) FROM cb.t");
  ASSERT_EQ(rows.size(), 1u);
  const uint64_t body_len = std::stoull(*rows[0][0]), body_count = std::stoull(*rows[0][1]);
  const uint64_t tag_len = std::stoull(*rows[0][2]), tag_count = std::stoull(*rows[0][3]);
  const uint64_t total = std::stoull(*rows[0][4]);

  const Scanned s = scan_all(server.binlog_files());
  expect_invariant(s);
  const TableStats* t = s.attribution.find("cb", "t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->inserts, total);
  ASSERT_EQ(t->columns.after.size(), 4u);
  EXPECT_EQ(t->columns.after[0], 4 * total);                 // INT
  EXPECT_EQ(t->columns.after[1], body_len + 2 * body_count);  // TEXT: 2-byte length prefix
  EXPECT_EQ(t->columns.after[2], tag_len + 2 * tag_count);    // VARCHAR(300) utf8mb4: 2-byte prefix
  EXPECT_EQ(t->columns.after[3], 4 * total);
  EXPECT_EQ(t->columns.nulls[1], total - body_count);
  EXPECT_EQ(t->columns.nulls[2], total - tag_count);
  if (GetParam().options.row_metadata == RowMetadata::Full) {
    EXPECT_EQ(t->column_names, (std::vector<std::string>{"id", "body", "tag", "n"}));
  }
}

// An event larger than 16 MiB (one row with a 20 MiB LONGBLOB) is read whole: its bytes, CRC and
// row image are exact. Replication streams split such events across packets; files never do.
TEST(LargeEvents, RowsEventOver16MiB) {
  BINWATCH_REQUIRE_MARIADB();
  MariadbServer::Options o;
  o.extra = {"max_allowed_packet=64M"};
  MariadbServer server(o);
  server.exec(
      "CREATE DATABASE big; CREATE TABLE big.b (id INT PRIMARY KEY, payload LONGBLOB);"
      "INSERT INTO big.b VALUES (1, REPEAT('z', 20 * 1024 * 1024));");
  server.flush_binary_logs();
  const Scanned s = scan_all(server.binlog_files());
  expect_invariant(s);
  const TableStats* t = s.attribution.find("big", "b");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->inserts, 1u);
  EXPECT_EQ(t->columns.after[1], 20u * 1024 * 1024 + 4);  // LONGBLOB: 4-byte length prefix
  EXPECT_GT(t->bytes, 20u * 1024 * 1024);
  uint64_t largest = 0;
  for (const auto& [type, stats] : s.attribution.types) {
    if (binlog::rows_type_info(type).is_rows) largest = std::max(largest, stats.bytes);
  }
  EXPECT_GT(largest, 16u * 1024 * 1024);
}

MariadbServer::Options opts(BinlogChecksum c, RowImage i, RowMetadata m, bool compress) {
  MariadbServer::Options o;
  o.checksum = c;
  o.row_image = i;
  o.row_metadata = m;
  o.compress = compress;
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Variants, RowCounts,
    ::testing::Values(
        Variant{"crc32_full", opts(BinlogChecksum::Crc32, RowImage::Full, RowMetadata::NoLog, false)},
        Variant{"none_minimal", opts(BinlogChecksum::None, RowImage::Minimal, RowMetadata::NoLog, false)},
        Variant{"crc32_noblob_metadata_full",
                opts(BinlogChecksum::Crc32, RowImage::NoBlob, RowMetadata::Full, false)},
        Variant{"crc32_full_compressed", opts(BinlogChecksum::Crc32, RowImage::Full, RowMetadata::NoLog, true)}),
    [](const ::testing::TestParamInfo<Variant>& info) { return info.param.name; });

}  // namespace
}  // namespace binwatch
