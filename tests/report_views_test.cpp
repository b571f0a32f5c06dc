// The report views without a server: statement fingerprints (pt-query-digest's rules), and on
// every real and committed binlog the views' invariants (statement row bytes = table bytes,
// QUERY bytes = the statement bucket, minute totals = every observed byte, transactions inside
// the file) plus identical results for any thread count.
#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "binwatch/cli.h"
#include "binwatch/fingerprint.h"
#include "binwatch/report.h"

namespace binwatch {
namespace {

namespace fs = std::filesystem;

TEST(Fingerprint, LiteralsCommentsAndCase) {
  EXPECT_EQ(fingerprint("SELECT * FROM t WHERE id = 42 AND name = 'x''y' AND z = \"a\\\"b\""),
            "select * from t where id = ? and name = ? and z = ?");
  EXPECT_EQ(fingerprint("  UPDATE  `App`.`Groups`\n SET  n = n - 1,  f = 1.5e3 /* rails */ WHERE id=0x1F -- x\n"),
            "update `app`.`groups` set n = n - ?,f = ? where id=?");
  EXPECT_EQ(fingerprint("DELETE FROM t WHERE a = -5 AND b IS NULL"), "delete from t where a = ? and b is ?");
  EXPECT_EQ(fingerprint("select c1, t2.c3 from t2 where x=-1"), "select c1,t2.c3 from t2 where x=?");
}

TEST(Fingerprint, InListsAndValuesCollapse) {
  EXPECT_EQ(fingerprint("SELECT * FROM t WHERE id IN (1, 2, 3)"), "select * from t where id in(?+)");
  EXPECT_EQ(fingerprint("select * from t where id in (7)"), fingerprint("select * from t where id IN (1,2,3,4,5)"));
  EXPECT_EQ(fingerprint("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, NULL)"), "insert into t (a,b) values(?+)");
  EXPECT_EQ(fingerprint("insert into t values(1,2)"), fingerprint("insert into t values (3,4),(5,6)"));
  EXPECT_EQ(fingerprint("SELECT a FROM t LIMIT 10, 20"), "select a from t limit ?");
  EXPECT_EQ(fingerprint("use shop"), "use ?");
}

TEST(Fingerprint, IdentifiersWithDigitsStay) {
  EXPECT_EQ(fingerprint("select t1.c2 from db3.t1 where c2 = 12abc"), "select t1.c2 from db3.t1 where c2 = 12abc");
  EXPECT_EQ(fingerprint("update t set x = x+1"), "update t set x = x+?");
}

TEST(Fingerprint, HostileInputNeverHangsOrThrows) {
  for (const std::string& s : std::vector<std::string>{"'", "\"unterminated", "/* open", "`open", "-- ", "#", "0x", "1e", "-", ".5", "(", "in (",
                              std::string("a\0b", 3), std::string(10000, '('), std::string(5000, '?')}) {
    (void)fingerprint(s);
  }
}

TEST(ParseDatetime, Forms) {
  EXPECT_EQ(cli::parse_datetime("2023-11-14T22:13:20Z"), 1700000000u);
  EXPECT_EQ(cli::parse_datetime("2023-11-14T23:13:20+01:00"), 1700000000u);
  EXPECT_EQ(cli::parse_datetime("2023-11-14T22:13Z"), 1699999980u);
  EXPECT_FALSE(cli::parse_datetime("yesterday"));
  EXPECT_FALSE(cli::parse_datetime("2023-13-01 00:00:00"));
  EXPECT_FALSE(cli::parse_datetime("2023-11-14T22:13:20+1"));
}

std::vector<std::vector<std::string>> inputs() {
  std::vector<std::vector<std::string>> sets;
  const fs::path committed = fs::path(BINWATCH_SOURCE_DIR) / "fixtures/mariadb-10.11";
  for (const auto& variant : fs::directory_iterator(committed)) {
    if (!variant.is_directory()) continue;
    std::vector<std::string> files;
    for (const auto& f : fs::directory_iterator(variant)) {
      if (f.path().filename().string().starts_with("mariadb-bin.") && f.path().extension() != ".tsv") files.push_back(f.path());
    }
    std::sort(files.begin(), files.end());
    sets.push_back(files);
  }
  const fs::path shared = BINWATCH_SHARED_FIXTURES;
  if (fs::exists(shared)) {
    for (const auto& f : fs::recursive_directory_iterator(shared)) {
      if (!f.is_regular_file()) continue;
      const std::string name = f.path().filename().string();
      if (name.ends_with(".txt") || name.ends_with(".sql") || name.ends_with(".cnf.used") || name.ends_with(".md")) continue;
      sets.push_back({f.path().string()});
    }
  }
  return sets;
}

ReportOptions all_views(unsigned threads) {
  ReportOptions o;
  o.threads = threads;
  o.views.statements = o.views.transactions = o.views.minutes = true;
  o.views.top_transactions = 1000000;
  return o;
}

TEST(ReportViews, InvariantsOnEveryFixture) {
  size_t checked = 0;
  for (const auto& files : inputs()) {
    Report r;
    try {
      r = build_report(files, all_views(1));
    } catch (const std::exception&) {
      continue;  // not a binlog (other fixture files), encrypted: covered by the report tests
    }
    SCOPED_TRACE(files.front());
    ++checked;
    const Attribution& a = r.attribution;
    uint64_t rows_bytes = 0, query_bytes = 0;
    for (const auto& [fp, st] : r.views.statements()) {
      rows_bytes += st.rows_bytes;
      query_bytes += st.query_bytes;
    }
    EXPECT_EQ(rows_bytes, a.table_bytes());
    EXPECT_EQ(query_bytes, a.other.statement);
    uint64_t minutes = 0;
    for (const auto& [m, tables] : r.views.minute_tables()) {
      for (const auto& [k, b] : tables) minutes += b;
    }
    for (const auto& [m, b] : r.views.minute_other()) minutes += b;
    // Every observed byte is in a minute unless the file has no timestamp at all.
    const uint64_t observed = a.total_bytes - a.other.magic - a.other.torn - a.other.excluded;
    if (!r.files.front().earliest_time) {
      EXPECT_EQ(minutes, 0u);
    } else if (files.size() == 1) {
      EXPECT_EQ(minutes, observed);
    }
    uint64_t trx_bytes = 0;
    for (const auto& t : r.views.transactions()) {
      trx_bytes += t.bytes;
      EXPECT_LE(t.start_position, t.end_position);
      EXPECT_LE(t.end_position, r.files[t.file_index].size);
    }
    EXPECT_LE(trx_bytes, observed);
    // Sorted by bytes.
    for (size_t i = 1; i < r.views.transactions().size(); ++i) {
      EXPECT_GE(r.views.transactions()[i - 1].bytes, r.views.transactions()[i].bytes);
    }
  }
  EXPECT_GE(checked, 4u);
}

TEST(ReportViews, SameDocumentForAnyThreadCount) {
  std::vector<std::string> all;
  for (const auto& files : inputs()) {
    for (const auto& f : files) {
      try {
        (void)build_report({f}, ReportOptions{});
        all.push_back(f);
      } catch (const std::exception&) {
      }
    }
  }
  ASSERT_FALSE(all.empty());
  auto doc = [&](unsigned threads) {
    Report r = build_report(all, all_views(threads));
    r.show.column = r.show.statement = r.show.transaction = r.show.minute = r.show.type = true;
    return dump_json(report_json(r));
  };
  const std::string one = doc(1);
  EXPECT_EQ(doc(2), one);
  EXPECT_EQ(doc(5), one);
}

TEST(ReportViews, TableFilterKeepsExactlyThatTable) {
  const std::string file = fs::path(BINWATCH_SOURCE_DIR) / "fixtures/mariadb-10.11/crc32-full/mariadb-bin.000001";
  const Report all = build_report({file}, all_views(1));
  ReportOptions only = all_views(1);
  only.scan.filter.tables = {"bw.t_text"};
  const Report one = build_report({file}, only);
  ASSERT_EQ(one.attribution.tables().size(), 1u);
  const TableStats* full = all.attribution.find("bw", "t_text");
  ASSERT_NE(full, nullptr);
  EXPECT_EQ(one.attribution.tables()[0].bytes, full->bytes);
  EXPECT_EQ(one.attribution.tables()[0].rows, full->rows);
  EXPECT_EQ(one.attribution.other.statement, 0u);
  EXPECT_EQ(one.attribution.other.sum() + one.attribution.table_bytes(), one.attribution.total_bytes);
  // CSV of one view: header plus a line per table and bucket, fields quoted when needed.
  Report shown = one;
  const std::string csv = report_csv(shown, "table");
  EXPECT_TRUE(csv.starts_with("schema,table,bytes,"));
  EXPECT_NE(csv.find("\r\nbw,t_text," + std::to_string(full->bytes) + ","), std::string::npos) << csv;
  EXPECT_THROW((void)report_csv(shown, "nosuch"), std::invalid_argument);
}

}  // namespace
}  // namespace binwatch
