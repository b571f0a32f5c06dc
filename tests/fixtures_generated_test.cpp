// The binlogs committed under fixtures/mariadb-10.11/ (made by scripts/make-fixtures.sh from
// scripts/sql/typed-rows.sql under four binlog variants) decode without errors, keep the
// attribution invariant, and report exactly the row counts the SQL produces.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "binwatch/attribution.h"
#include "binwatch/binlog/event_type.h"
#include "binwatch/binlog_scanner.h"
#include "binwatch/byte_source.h"

namespace binwatch {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(BINWATCH_SOURCE_DIR) / "fixtures" / "mariadb-10.11";

class GeneratedFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(GeneratedFixture, RowCountsAndInvariant) {
  const fs::path dir = kFixtures / GetParam();
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name.starts_with("mariadb-bin.") && e.path().extension() != ".tsv") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << dir;

  Attribution a;
  uint64_t size = 0;
  for (const auto& f : files) {
    FileSource src(f.string());
    const FileSummary s = scan_binlog(src, a);
    EXPECT_FALSE(s.torn_tail) << f;
    EXPECT_EQ(s.size, fs::file_size(f));
    size += s.size;
  }
  EXPECT_EQ(a.table_bytes() + a.other.sum(), a.total_bytes);
  EXPECT_EQ(a.total_bytes, size);
  EXPECT_TRUE(a.errors.empty()) << a.errors.front().detail;

  std::ifstream in(dir / "typed-rows.expected.json");
  const auto expected = nlohmann::json::parse(in);
  for (const auto& [name, want] : expected["tables"].items()) {
    const auto dot = name.find('.');
    const TableStats* found = a.find(name.substr(0, dot), name.substr(dot + 1));
    ASSERT_NE(found, nullptr) << name;
    EXPECT_EQ(found->inserts, want["inserts"].get<uint64_t>()) << name;
    EXPECT_EQ(found->updates, want["updates"].get<uint64_t>()) << name;
    EXPECT_EQ(found->deletes, want["deletes"].get<uint64_t>()) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, GeneratedFixture,
                         ::testing::Values("crc32-full", "crc32-full-compressed",
                                           "crc32-noblob-metadata-full", "none-minimal"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace binwatch
