// Issue 3's forensic checks against a private MariaDB: SoundCloud's counter-cache pattern on fat
// TEXT parents (delete child, UPDATE parent SET cnt=cnt-1, UPDATE parent SET updated_at=NOW() per
// child, then delete the parent), written after an hour of normal traffic. The report must name
// the fat column with its exact bytes (LENGTH() of what the workload wrote plus the 3-byte
// MEDIUMTEXT prefix, per row image), the `UPDATE ... updated_at` statement shape, the largest
// transactions, the minutes, and flag the table against the normal-traffic baseline. Results must
// not depend on --threads or on reading .gz/.zst copies.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "support/binwatch_process.h"
#include "support/mariadb_server.h"

namespace binwatch {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::MariadbServer;

constexpr int64_t kBaselineStart = 1700000000 - 1700000000 % 60;  // 2023-11-14T22:13:00Z
constexpr int64_t kIncidentStart = kBaselineStart + 2 * 3600;
constexpr int kPostsPerGroup = 20;
const std::vector<int> kFatGroups{2, 3, 4};

std::string ts(int64_t t) { return "SET TIMESTAMP=" + std::to_string(t) + ";"; }

struct Workload {
  fs::path setup, baseline, incident;     // one binlog file each
  std::map<int, uint64_t> description_length;  // fat groups: LENGTH(description)
  std::map<int, uint64_t> posts;               // fat groups: posts deleted
};

class ReportForensics : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (test::mariadb_unavailable_reason()) return;
    MariadbServer::Options options;
    options.row_metadata = test::RowMetadata::Full;
    s_server = new MariadbServer(options);
    MariadbServer& db = *s_server;
    db.exec(
        "CREATE DATABASE app; USE app;"
        "CREATE TABLE app.groups (id INT PRIMARY KEY, name VARCHAR(100), description MEDIUMTEXT, "
        "  posts_count INT NOT NULL DEFAULT 0, updated_at DATETIME(6));"
        "CREATE TABLE app.posts (id INT AUTO_INCREMENT PRIMARY KEY, group_id INT NOT NULL, "
        "  body VARCHAR(200), KEY (group_id));"
        "CREATE TABLE app.users (id INT AUTO_INCREMENT PRIMARY KEY, login VARCHAR(40), seen DATETIME);");
    // Descriptions of 5 to 50 KB (SoundCloud's group descriptions), group 1 small.
    const int sizes[] = {300, 5000, 27000, 50000};
    for (int g = 1; g <= 4; ++g) {
      db.exec(ts(kBaselineStart - 600) + "INSERT INTO app.groups VALUES (" + std::to_string(g) + ", 'group " +
              std::to_string(g) + "', REPEAT(CHAR(64 + " + std::to_string(g) + "), " +
              std::to_string(sizes[g - 1]) + "), " + std::to_string(kPostsPerGroup) + ", NOW(6))");
      db.exec(ts(kBaselineStart - 600) + "INSERT INTO app.posts (group_id, body) SELECT " + std::to_string(g) +
              ", CONCAT('post ', seq) FROM seq_1_to_" + std::to_string(kPostsPerGroup));
    }
    // The new file's first events carry the session's timestamp: start each file at its period.
    db.exec(ts(kBaselineStart));
    db.flush_binary_logs();
    // Normal traffic for an hour: a user seen and a post every minute, a counter update on the
    // small group every 10 minutes.
    for (int m = 0; m < 60; ++m) {
      const int64_t t = kBaselineStart + m * 60 + 5;
      std::string sql = ts(t) + "INSERT INTO app.users (login, seen) VALUES (CONCAT('u', " + std::to_string(m) +
                        "), NOW());" + "INSERT INTO app.posts (group_id, body) VALUES (1, 'hello');";
      if (m % 10 == 0) sql += "UPDATE app.groups SET posts_count = posts_count + 1 WHERE id = 1;";
      db.exec(sql);
    }
    db.exec(ts(kIncidentStart));
    db.flush_binary_logs();
    Workload& w = s_workload;
    for (int g : kFatGroups) {
      auto rows = db.query("SELECT LENGTH(description), (SELECT COUNT(*) FROM app.posts p WHERE p.group_id = g.id) "
                           "FROM app.groups g WHERE id = " + std::to_string(g));
      w.description_length[g] = std::stoull(*rows.at(0).at(0));
      w.posts[g] = std::stoull(*rows.at(0).at(1));
    }
    // The cleanup, ORM style, spread over 30 minutes: per child a transaction deleting it and
    // touching its parent twice; then the parent.
    int64_t t = kIncidentStart;
    const int64_t step = 30 * 60 / (static_cast<int64_t>(kFatGroups.size()) * kPostsPerGroup + 3);
    for (int g : kFatGroups) {
      auto ids = db.query("SELECT id FROM app.posts WHERE group_id = " + std::to_string(g) + " ORDER BY id");
      for (const auto& row : ids) {
        t += step;
        db.exec(ts(t) + "BEGIN; DELETE FROM app.posts WHERE id = " + *row.at(0) +
                "; UPDATE app.groups SET posts_count = posts_count - 1 WHERE id = " + std::to_string(g) +
                "; UPDATE app.groups SET updated_at = NOW(6) WHERE id = " + std::to_string(g) + "; COMMIT;");
      }
      t += step;
      db.exec(ts(t) + "DELETE FROM app.groups WHERE id = " + std::to_string(g));
    }
    db.flush_binary_logs();
    const auto files = db.binlog_files();
    w.setup = files.at(files.size() - 4);
    w.baseline = files.at(files.size() - 3);
    w.incident = files.at(files.size() - 2);
  }

  static void TearDownTestSuite() {
    delete s_server;
    s_server = nullptr;
  }

  void SetUp() override {
    BINWATCH_REQUIRE_MARIADB();
    ASSERT_NE(s_server, nullptr);
  }

  json report(const std::vector<std::string>& args) {
    auto r = test::run_binwatch(args, m_scratch.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  static MariadbServer* s_server;
  static Workload s_workload;
  test::ScratchDir m_scratch{"binwatch-forensics"};
};

MariadbServer* ReportForensics::s_server = nullptr;
Workload ReportForensics::s_workload;

TEST_F(ReportForensics, ColumnViewNamesTheFatColumnWithItsExactBytes) {
  const Workload& w = s_workload;
  const json j = report({"report", "--format", "json", "--by", "column", w.incident.string()});
  // Per fat group: each of the 2n updates logs a before and an after image with the description,
  // the parent's delete one before image. MEDIUMTEXT has a 3-byte length prefix.
  uint64_t before = 0, after = 0;
  for (int g : kFatGroups) {
    const uint64_t value = w.description_length.at(g) + 3, n = w.posts.at(g);
    before += (2 * n + 1) * value;
    after += 2 * n * value;
  }
  const json& top = j.at("columns").at(0);
  EXPECT_EQ(top.at("schema"), "app");
  EXPECT_EQ(top.at("table"), "groups");
  EXPECT_EQ(top.at("column"), "description");
  EXPECT_EQ(top.at("name_source"), "binlog");
  EXPECT_EQ(top.at("before_bytes").get<uint64_t>(), before);
  EXPECT_EQ(top.at("after_bytes").get<uint64_t>(), after);
  EXPECT_EQ(top.at("bytes").get<uint64_t>(), before + after);
  // Share of the table's row-image bytes: recomputed from the table's own columns.
  uint64_t image = 0;
  for (const json& t : j.at("tables")) {
    if (t.at("table") != "groups") continue;
    image = t.at("row_image_overhead_bytes").get<uint64_t>();
    for (const json& c : t.at("columns")) image += c.at("bytes").get<uint64_t>();
  }
  ASSERT_GT(image, 0u);
  EXPECT_DOUBLE_EQ(top.at("share_of_table").get<double>(), static_cast<double>(before + after) / image);
  EXPECT_GT(top.at("share_of_table").get<double>(), 0.95);

  // The terminal view says it in one line.
  auto text = test::run_binwatch({"report", "--by", "column", w.incident.string()}, m_scratch.path());
  EXPECT_NE(text.out.find("app.groups.description"), std::string::npos) << text.out;
}

TEST_F(ReportForensics, StatementViewNamesTheTouchUpdate) {
  const json j = report({"report", "--format", "json", "--by", "statement", s_workload.incident.string()});
  const json& st = j.at("statements");
  EXPECT_TRUE(st.at("has_text").get<bool>());
  EXPECT_EQ(st.at("rows_bytes_without_text").get<uint64_t>(), 0u);
  const uint64_t children = kFatGroups.size() * kPostsPerGroup;
  std::map<std::string, json> by_fp;
  for (const json& item : st.at("items")) by_fp[item.at("fingerprint")] = item;
  ASSERT_TRUE(by_fp.contains("update app.groups set updated_at = now(?) where id = ?")) << st.dump(1);
  const json& touch = by_fp["update app.groups set updated_at = now(?) where id = ?"];
  EXPECT_EQ(touch.at("rows").get<uint64_t>(), children);
  EXPECT_EQ(touch.at("rows_events").get<uint64_t>(), children);
  EXPECT_EQ(touch.at("tables"), json::array({"app.groups"}));
  ASSERT_TRUE(by_fp.contains("update app.groups set posts_count = posts_count - ? where id = ?"));
  ASSERT_TRUE(by_fp.contains("delete from app.posts where id = ?"));
  EXPECT_EQ(by_fp["delete from app.posts where id = ?"].at("rows").get<uint64_t>(), children);
  // The two parent updates write the fat row twice per child: they lead the view.
  const std::string first = st.at("items").at(0).at("fingerprint");
  const std::string second = st.at("items").at(1).at("fingerprint");
  EXPECT_TRUE(first.starts_with("update app.groups set") && second.starts_with("update app.groups set"))
      << first << " / " << second;
  // Everything is accounted for: row bytes by statement = table bytes.
  uint64_t rows_bytes = 0, tables = 0;
  for (const json& item : st.at("items")) rows_bytes += item.at("rows_bytes").get<uint64_t>();
  for (const json& t : j.at("tables")) tables += t.at("bytes").get<uint64_t>();
  EXPECT_EQ(rows_bytes, tables);
}

TEST_F(ReportForensics, TransactionAndMinuteViews) {
  const json j = report({"report", "--format", "json", "--by", "transaction,minute", "--top", "5",
                         s_workload.incident.string()});
  const json& trx = j.at("transactions");
  ASSERT_EQ(trx.size(), 5u);
  // The largest: a child of the 50 KB group, four images of the parent and the child's delete.
  const json& top = trx.at(0);
  EXPECT_TRUE(std::regex_match(top.at("id").get<std::string>(), std::regex("0-1-[0-9]+"))) << top;
  EXPECT_EQ(top.at("gtid"), top.at("id"));
  EXPECT_EQ(top.at("tables"), json::array({"app.groups", "app.posts"}));
  EXPECT_EQ(top.at("rows").get<uint64_t>(), 3u);
  EXPECT_GE(top.at("bytes").get<uint64_t>(), 4 * (s_workload.description_length.at(4) + 3));
  for (size_t i = 1; i < trx.size(); ++i) EXPECT_LE(trx[i].at("bytes"), trx[i - 1].at("bytes"));
  // A transaction's position range, reported back through the filters, is exactly its bytes.
  const json range = report({"report", "--format", "json", "--start-position",
                             std::to_string(top.at("start_position").get<uint64_t>()), "--stop-position",
                             std::to_string(top.at("end_position").get<uint64_t>()), s_workload.incident.string()});
  const json& o = range.at("other");
  EXPECT_EQ(range.at("total_bytes").get<uint64_t>() - o.at("excluded").get<uint64_t>() - o.at("magic").get<uint64_t>(),
            top.at("bytes").get<uint64_t>());

  // Minutes: the cleanup spans 30 minutes, every minute writes the groups table, and the minute
  // totals add up to every byte of the file's events.
  const json& minutes = j.at("minutes");
  EXPECT_EQ(minutes.at("tables").at(0), "app.groups");
  const json& items = minutes.at("items");
  EXPECT_GE(items.size(), 30u);
  EXPECT_LE(items.size(), 33u);  // plus the file's own rotate/format events stamped "now"
  uint64_t sum = 0;
  size_t with_groups = 0;
  for (const json& m : items) {
    sum += m.at("total").get<uint64_t>();
    if (m.at("tables").at(0).get<uint64_t>() > 0) ++with_groups;
  }
  EXPECT_GE(with_groups, 29u);
  EXPECT_EQ(sum + j.at("other").at("magic").get<uint64_t>(), j.at("total_bytes").get<uint64_t>());
}

TEST_F(ReportForensics, DatetimeFilterSelectsTheSameBytesAsTheMinuteView) {
  const std::string file = s_workload.incident.string();
  const json all = report({"report", "--format", "json", "--by", "minute", "--top-tables", "10", file});
  const int64_t from = kIncidentStart + 600, to = kIncidentStart + 1200;
  uint64_t expected = 0;
  for (const json& m : all.at("minutes").at("items")) {
    const int64_t epoch = m.at("epoch");
    if (epoch < from || epoch >= to) continue;
    for (const json& b : m.at("tables")) expected += b.get<uint64_t>();
    expected += m.at("other_tables").get<uint64_t>();
  }
  auto iso = [](int64_t t) {
    char buf[32];
    std::time_t tt = t;
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
    return std::string(buf);
  };
  const json window = report({"report", "--format", "json", "--start-datetime", iso(from), "--stop-datetime", iso(to), file});
  uint64_t tables = 0;
  for (const json& t : window.at("tables")) tables += t.at("bytes").get<uint64_t>();
  EXPECT_GT(expected, 0u);
  EXPECT_EQ(tables, expected);
  EXPECT_EQ(window.at("filters").at("start_datetime"), iso(from));
  // --database/--table: only that table's bytes, and exactly the unfiltered figure.
  const json posts = report({"report", "--format", "json", "--table", "app.posts", file});
  ASSERT_EQ(posts.at("tables").size(), 1u);
  for (const json& t : all.at("tables")) {
    if (t.at("table") == "posts") {
      EXPECT_EQ(posts.at("tables").at(0).at("bytes"), t.at("bytes"));
    }
  }
  EXPECT_EQ(report({"report", "--format", "json", "--database", "nosuch", file}).at("tables").size(), 0u);
}

TEST_F(ReportForensics, BaselineFlagsTheTable) {
  const json j = report({"report", "--format", "json", s_workload.incident.string(), "--baseline",
                         s_workload.baseline.string()});
  const json& b = j.at("baseline");
  EXPECT_GE(b.at("covered_seconds").get<uint64_t>(), 59u * 60);
  EXPECT_GE(b.at("incident_covered_seconds").get<uint64_t>(), 29u * 60);
  std::map<std::string, json> rows;
  for (const json& r : b.at("tables")) rows[r.at("table")] = r;
  ASSERT_TRUE(rows.contains("groups"));
  const json& groups = rows["groups"];
  EXPECT_TRUE(groups.at("flagged").get<bool>()) << groups;
  EXPECT_GE(groups.at("ratio").get<double>(), 10.0);
  // The ratio is the two rates, each bytes over its own covered hours.
  const double rate = groups.at("bytes").get<double>() / (b.at("incident_covered_seconds").get<double>() / 3600);
  const double base = groups.at("baseline_bytes").get<double>() / (b.at("covered_seconds").get<double>() / 3600);
  EXPECT_NEAR(groups.at("ratio").get<double>(), rate / base, 1e-9 * rate / base);
  EXPECT_FALSE(rows["posts"].at("flagged").get<bool>()) << rows["posts"];
  EXPECT_EQ(b.at("tables").at(0).at("table"), "groups");
  bool description_flagged = false;
  for (const json& c : b.at("columns")) {
    if (c.at("table") == "groups" && c.at("column") == "description") description_flagged = c.at("flagged");
  }
  EXPECT_TRUE(description_flagged);
  // At a glance on a terminal: the first table row of the comparison carries the flag.
  auto text = test::run_binwatch({"report", s_workload.incident.string(), "--baseline", s_workload.baseline.string()},
                                 m_scratch.path());
  const size_t at = text.out.find("BASELINE COMPARISON");
  ASSERT_NE(at, std::string::npos) << text.out;
  const size_t line = text.out.find("app.groups", at);
  ASSERT_NE(line, std::string::npos);
  EXPECT_NE(text.out.substr(line, text.out.find('\n', line) - line).find("FLAGGED"), std::string::npos);
}

TEST_F(ReportForensics, SameResultWithAnyThreadCountAndFromArchives) {
  const Workload& w = s_workload;
  const std::vector<std::string> files{w.setup.string(), w.baseline.string(), w.incident.string()};
  auto with = [&](const std::string& threads, const std::vector<std::string>& inputs) {
    std::vector<std::string> args{"report", "--format", "json", "--threads", threads};
    args.insert(args.end(), inputs.begin(), inputs.end());
    return report(args);
  };
  const json one = with("1", files);
  EXPECT_EQ(with("3", files), one);
  EXPECT_EQ(with("2", files), one);

  const fs::path dir = m_scratch.path();
  const fs::path plain = dir / "incident";
  fs::copy_file(w.incident, plain);
  ASSERT_EQ(test::run_command({"gzip", "-k", plain.string()}).exit_code, 0);
  ASSERT_EQ(test::run_command({"zstd", "-q", "-k", plain.string(), "-o", plain.string() + ".zst"}).exit_code, 0);
  // The same document except the file names (and the archive's own size).
  auto normalized = [&](const std::string& input) {
    json j = with("2", {input});
    for (json& f : j["files"]) f.erase("path");
    for (json& t : j["transactions"]) t.erase("file"), t.erase("id");
    return j;
  };
  const json base = normalized(plain.string());
  EXPECT_EQ(normalized(plain.string() + ".gz"), base);
  EXPECT_EQ(normalized(plain.string() + ".zst"), base);
}

TEST_F(ReportForensics, CsvAndOutputFiles) {
  const fs::path dir = m_scratch.path() / "csv";
  auto r = test::run_binwatch({"report", "--format", "csv", "--by", "table,column,statement,transaction,minute,type",
                               "-o", dir.string(), s_workload.incident.string()},
                              m_scratch.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* view : {"table", "column", "statement", "transaction", "minute", "type"}) {
    const std::string csv = test::slurp_file(dir / (std::string(view) + ".csv"));
    EXPECT_GT(std::count(csv.begin(), csv.end(), '\n'), 1) << view;
  }
  const std::string columns = test::slurp_file(dir / "column.csv");
  EXPECT_NE(columns.find("\r\napp,groups,3,description,binlog,"), std::string::npos) << columns.substr(0, 400);
  // Several views without -o is refused with the reason; one view goes to stdout.
  auto refused = test::run_binwatch({"report", "--format", "csv", "--by", "table,column", s_workload.incident.string()},
                                    m_scratch.path());
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("-o DIR"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace binwatch

namespace binwatch {
namespace {

TEST_F(ReportForensics, HtmlPageOfTheIncident) {
  const fs::path page = m_scratch.path() / "incident.html";
  auto r = test::run_binwatch({"report", "--format", "html", "-o", page.string(), s_workload.incident.string(),
                               "--baseline", s_workload.baseline.string()},
                              m_scratch.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = test::slurp_file(page);
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>")) << html.substr(0, 40);
  for (const char* expected : {"app.groups", "description", "update app.groups set updated_at = now(?) where id = ?",
                               "<svg", "0-1-"}) {
    EXPECT_NE(html.find(expected), std::string::npos) << expected;
  }
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  if (const char* keep = std::getenv("BINWATCH_HTML_DUMP_DIR")) fs::copy_file(page, fs::path(keep) / "incident.html",
                                                                              fs::copy_options::overwrite_existing);
}

}  // namespace
}  // namespace binwatch

namespace binwatch {
namespace {

// Without binlog_row_metadata=FULL the binlog has no column names: --socket/--dsn fetches them
// from information_schema, unless the table changed shape since (then @N stays, with a warning).
TEST(ReportColumnNames, FromInformationSchema) {
  BINWATCH_REQUIRE_MARIADB();
  MariadbServer db;  // binlog_row_metadata=NO_LOG, the server default
  db.exec("CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY, title VARCHAR(50), body TEXT);"
          "CREATE TABLE shop.tags (id INT PRIMARY KEY, tag VARCHAR(10));"
          "INSERT INTO shop.items VALUES (1, 'a', REPEAT('x', 3000)), (2, 'b', 'short');"
          "INSERT INTO shop.tags VALUES (1, 't');");
  db.flush_binary_logs();
  db.exec("ALTER TABLE shop.tags ADD COLUMN extra INT");
  const std::string file = db.binlog_files().at(db.binlog_files().size() - 2).string();
  test::ScratchDir scratch("binwatch-names");
  auto plain = test::run_binwatch({"report", "--format", "json", "--by", "column", file}, scratch.path());
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(json::parse(plain.out).at("columns").at(0).at("column"), "@3");
  auto named = test::run_binwatch({"report", "--format", "json", "--by", "column", "--socket", db.socket(), file},
                                  scratch.path());
  ASSERT_EQ(named.exit_code, 0) << named.err;
  std::map<std::string, std::vector<std::string>> by_table;
  const json doc = json::parse(named.out);
  for (const json& c : doc.at("columns")) {
    by_table[c.at("table").get<std::string>()].push_back(c.at("column").get<std::string>() + "/" + c.at("name_source").get<std::string>());
  }
  EXPECT_EQ(by_table["items"], (std::vector<std::string>{"body/information_schema", "id/information_schema",
                                                          "title/information_schema"}));
  EXPECT_EQ(by_table["tags"].size(), 2u);
  for (const auto& c : by_table["tags"]) EXPECT_TRUE(c.ends_with("/position")) << c;
  EXPECT_NE(named.err.find("shop.tags has 3 columns"), std::string::npos) << named.err;
  // A server that cannot be reached is an error naming it, not a silent fallback.
  auto down = test::run_binwatch({"report", "--socket", "/nonexistent/mysqld.sock", file}, scratch.path());
  EXPECT_EQ(down.exit_code, 2);
  EXPECT_NE(down.err.find("information_schema"), std::string::npos) << down.err;
}

}  // namespace
}  // namespace binwatch
