// report_html(): the HTML page rendered from report JSON documents written by hand after
// docs/report-json.md. Checks that the page is self-contained (nothing fetched), structurally sane,
// escapes hostile names everywhere (text, attributes, SVG), draws bars in proportion to bytes, and
// copes with absent views, empty reports and odd values.
// BINWATCH_HTML_DUMP_DIR=DIR also writes every checked page there as TESTNAME[-N].html, to look at
// (docs/report-html-example.png is the screenshot of SoundCloudPageIsSelfContainedAndNamesEveryTable.html).
#include "binwatch/report_html.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "report_html_sample.h"

namespace binwatch {
namespace {

using json = nlohmann::ordered_json;
using test::kMiB;
using test::soundcloud_report;

size_t occurrences(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

// Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool valid_utf8(const std::string& s) {
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (!len || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < kMin[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    i += len;
  }
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Every tag, "<name ...>" (no regex: libstdc++'s recurses per character and overflows the stack
// on a page under AddressSanitizer).
std::vector<std::string> tags(const std::string& html) {
  std::vector<std::string> out;
  for (size_t pos = html.find('<'); pos != std::string::npos; pos = html.find('<', pos + 1)) {
    const size_t end = html.find('>', pos);
    if (end == std::string::npos) break;
    out.push_back(html.substr(pos, end - pos + 1));
  }
  return out;
}

// A formatted NaN or infinity: the word "nan" or "inf" in any case.
bool has_non_finite(const std::string& html) {
  std::string word;
  for (size_t i = 0; i <= html.size(); ++i) {
    const char c = i < html.size() ? html[i] : ' ';
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      continue;
    }
    if (word == "nan" || word == "inf") return true;
    word.clear();
  }
  return false;
}

void dump(const std::string& html) {
  const char* dir = std::getenv("BINWATCH_HTML_DUMP_DIR");
  if (!dir || !*dir) return;
  static std::map<std::string, int> seen;
  const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const int n = seen[name]++;
  std::ofstream(std::string(dir) + "/" + name + (n ? "-" + std::to_string(n) : "") + ".html") << html;
}

// The checks every rendered page must pass, whatever the document.
void expect_self_contained(const std::string& html) {
  dump(html);
  EXPECT_EQ(occurrences(html, "<!DOCTYPE html>"), 1u);
  EXPECT_EQ(occurrences(html, "<html"), 1u);
  EXPECT_EQ(occurrences(html, "</html>"), 1u);
  EXPECT_EQ(occurrences(html, "<body>"), 1u);
  EXPECT_EQ(occurrences(html, "<title"), occurrences(html, "</title>"));
  EXPECT_EQ(occurrences(html, "<svg"), occurrences(html, "</svg>"));
  EXPECT_EQ(occurrences(html, "<table>"), occurrences(html, "</table>"));
  EXPECT_EQ(occurrences(html, "<section"), occurrences(html, "</section>"));
  EXPECT_EQ(occurrences(html, "<details>"), occurrences(html, "</details>"));
  // Nothing is fetched: no remote reference, script, stylesheet link, import or url().
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<iframe"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  for (const std::string& tag : tags(html)) {
    EXPECT_EQ(lower(tag).find(" src"), std::string::npos) << tag;
  }
  for (size_t pos = html.find("href=\""); pos != std::string::npos; pos = html.find("href=\"", pos + 1)) {
    EXPECT_EQ(html[pos + 6], '#') << "only in-page links: " << html.substr(pos, 40);
  }
  EXPECT_NE(html.find("Content-Security-Policy"), std::string::npos);
  EXPECT_TRUE(valid_utf8(html));
}

// The top-table bars: data-table (escaped name) -> width.
std::map<std::string, double> table_bars(const std::string& html) {
  std::map<std::string, double> out;
  static const std::string kOpen = "<rect class=\"tbar\" data-table=\"";
  for (const std::string& tag : tags(html)) {
    if (tag.compare(0, kOpen.size(), kOpen) != 0) continue;
    const size_t name_end = tag.find('"', kOpen.size());
    const size_t width = tag.find(" width=\"");
    if (name_end == std::string::npos || width == std::string::npos) continue;
    out[tag.substr(kOpen.size(), name_end - kOpen.size())] = std::stod(tag.substr(width + 8));
  }
  return out;
}

TEST(ReportHtml, SoundCloudPageIsSelfContainedAndNamesEveryTable) {
  const json doc = soundcloud_report();
  const std::string html = report_html(doc);
  expect_self_contained(html);
  for (const auto& t : doc["tables"]) {
    const std::string name = t["schema"].get<std::string>() + "." + t["table"].get<std::string>();
    EXPECT_NE(html.find(name), std::string::npos) << name;
  }
  // Four charts: top tables, per-minute areas, column breakdown (and svg count matches roles).
  EXPECT_EQ(occurrences(html, "<svg"), 3u);
  EXPECT_EQ(occurrences(html, "<svg"), occurrences(html, "role=\"img\""));
  EXPECT_NE(html.find("<title>binwatch report"), std::string::npos);
  // Header totals and human units.
  EXPECT_NE(html.find("820.0 MiB"), std::string::npos);
  EXPECT_NE(html.find("30.0 MiB"), std::string::npos);
  EXPECT_NE(html.find("29 min 55 s"), std::string::npos);  // covered time
  EXPECT_NE(html.find("<b>27.3x</b> the next table"), std::string::npos);
  // The column breakdown is of the largest table and names its fat column.
  EXPECT_NE(html.find("Columns of soundcloud.groups"), std::string::npos);
  EXPECT_NE(html.find(">description"), std::string::npos);
  EXPECT_NE(html.find("cbar-before"), std::string::npos);
  // Transactions, statements, types, files.
  EXPECT_NE(html.find("0-1-884211"), std::string::npos);
  EXPECT_NE(html.find("mariadb-bin.000041:1000000&ndash;"), std::string::npos);
  EXPECT_NE(html.find("update `soundcloud`.`groups` set updated_at=? where id=?"), std::string::npos);
  EXPECT_EQ(html.find("carries no statement text"), std::string::npos);
  EXPECT_NE(html.find("UPDATE_ROWS_EVENT_V1"), std::string::npos);
  EXPECT_NE(html.find("/var/lib/mysql/mariadb-bin.000042"), std::string::npos);
  EXPECT_EQ(html.find("id=\"errors\""), std::string::npos) << "no errors section without errors";
}

TEST(ReportHtml, TopTableBarsAreProportionalToBytes) {
  const std::string html = report_html(soundcloud_report());
  const auto bars = table_bars(html);
  ASSERT_EQ(bars.size(), 10u);
  ASSERT_TRUE(bars.count("soundcloud.groups"));
  ASSERT_TRUE(bars.count("soundcloud.comments"));
  const double groups = bars.at("soundcloud.groups"), comments = bars.at("soundcloud.comments");
  EXPECT_NEAR(groups / comments, 820.0 / 30.0, 0.05);
  for (const auto& [name, width] : bars) EXPECT_LE(width, groups) << name;
  EXPECT_NEAR(bars.at("soundcloud.tracks") / groups, 12.0 / 820.0, 0.001);
}

TEST(ReportHtml, BaselineFlagsTheTableInRedWithItsRatio) {
  const std::string html = report_html(soundcloud_report());
  // The alert banner at the top, the flagged row in the comparison table, the badge on the bar.
  const size_t alert = html.find("role=\"alert\"");
  ASSERT_NE(alert, std::string::npos);
  EXPECT_LT(alert, html.find("id=\"tables\""));
  EXPECT_NE(html.find("<b>soundcloud.groups</b> (27.3x)"), std::string::npos);
  std::vector<std::string> rows;
  const size_t base = html.find("id=\"baseline\"");
  ASSERT_NE(base, std::string::npos);
  const std::string section = html.substr(base, html.find("</section>", base) - base);
  for (size_t pos = section.find("<tr class=\"flag\">"); pos != std::string::npos;
       pos = section.find("<tr class=\"flag\">", pos + 1)) {
    rows.push_back(section.substr(pos, section.find("</tr>", pos) - pos));
  }
  ASSERT_EQ(rows.size(), 2u);  // the table and its description column
  EXPECT_NE(rows[0].find("soundcloud.groups"), std::string::npos);
  EXPECT_NE(rows[0].find("<b>27.3x</b>"), std::string::npos);
  EXPECT_NE(rows[0].find("ALERT"), std::string::npos);
  EXPECT_NE(rows[1].find("description"), std::string::npos);
  // A table absent from the baseline reads "new"; unflagged tables are not red.
  EXPECT_NE(section.find("<span class=\"badge new\">new</span>"), std::string::npos);
  EXPECT_EQ(occurrences(section, "<tr class=\"flag\">"), 2u);
  EXPECT_NE(html.find("&#9650; 27.3x baseline"), std::string::npos);
}

TEST(ReportHtml, PerMinuteChartStacksEverySeriesOverUtcTime) {
  const json doc = soundcloud_report();
  const std::string html = report_html(doc);
  // 8 tables + other tables + non-table, each with bytes.
  EXPECT_EQ(occurrences(html, "<polygon class=\"area\""), 10u);
  EXPECT_NE(html.find("Bytes per minute by table (UTC)"), std::string::npos);
  EXPECT_NE(html.find(">10:00<tspan"), std::string::npos);  // first tick with its date below
  EXPECT_NE(html.find(">2026-11-21</tspan>"), std::string::npos);
  EXPECT_NE(html.find(">10:05</text>"), std::string::npos);
  EXPECT_NE(html.find(" MiB</text>"), std::string::npos);  // byte axis in human units
  EXPECT_NE(html.find("class=\"legend\""), std::string::npos);
  // One colour per table across charts: the bar and the area of groups share it.
  const std::string colour = "#4e79a7";
  EXPECT_NE(html.find("data-table=\"soundcloud.groups\" x=\"300.0\" y=\"12.0\" width=\"440.00\" height=\"20\" "
                      "rx=\"2\" fill=\"" + colour + "\""),
            std::string::npos);
  EXPECT_NE(html.find("<polygon class=\"area\" fill=\"" + colour + "\""), std::string::npos);
}

TEST(ReportHtml, LongSpansAreBucketed) {
  json doc = soundcloud_report();
  // Two points three days apart: no 4000-point polygon, buckets of several minutes instead.
  doc["minutes"]["items"] = json::array({
      {{"minute", "2026-11-21T10:00:00Z"}, {"epoch", 1'795'255'200}, {"tables", json::array({kMiB})},
       {"other_tables", 0}, {"non_table", 0}, {"total", kMiB}},
      {{"minute", "2026-11-24T10:00:00Z"}, {"epoch", 1'795'255'200 + 3 * 86400}, {"tables", json::array({kMiB})},
       {"other_tables", 0}, {"non_table", 10}, {"total", kMiB + 10}},
  });
  const std::string html = report_html(doc);
  expect_self_contained(html);
  EXPECT_NE(html.find("bytes are summed per 30 minutes"), std::string::npos);
  EXPECT_NE(html.find("2026-11-22"), std::string::npos);
  EXPECT_LT(html.size(), 200'000u);
}

TEST(ReportHtml, HostileNamesAreEscapedEverywhere) {
  json doc = soundcloud_report();
  const std::string script = "<script>alert(1)</script>";
  const std::string quotes = "\"&'";
  const std::string broken = std::string("bad\xff\xfe") + "\xc0\xaf" + "\xed\xa0\x80" + "\x1b[31m\n";
  const std::string bidi = "evil\u202etxt.exe";
  doc["tables"][0]["table"] = script;
  doc["tables"][1]["schema"] = quotes;
  doc["tables"][2]["table"] = broken;
  doc["tables"][3]["table"] = bidi;
  doc["columns"][0]["table"] = script;
  doc["columns"][0]["column"] = "<img src=x onerror=alert(1)>";
  doc["minutes"]["tables"][0] = "soundcloud." + script;
  doc["minutes"]["tables"][1] = quotes + ".comments";
  doc["statements"]["items"][0]["fingerprint"] = "select '</code><script>x</script>'";
  doc["statements"]["items"][0]["sample"] = "SELECT '</pre><script>x</script>'\n-- \xff";
  doc["statements"]["items"][0]["tables"] = json::array({"a.<b>"});
  doc["transactions"][0]["file"] = "\"><svg onload=alert(1)>";
  doc["transactions"][0]["id"] = "<i>id</i>";
  doc["transactions"][0]["tables"] = json::array({"soundcloud." + script});
  doc["baseline"]["tables"][0]["table"] = script;
  doc["baseline"]["columns"][0]["column"] = "<u>c</u>";
  doc["files"][0]["path"] = "/tmp/<b>bin</b>";
  doc["files"][0]["first_event_time"] = "<time>";
  doc["errors"] = json::array({{{"file", "<f>"}, {"offset", 4}, {"kind", "<k>"}, {"detail", "<d>\xff"}}});
  doc["filters"]["tables"] = json::array({"<t>"});
  const std::string html = report_html(doc);
  expect_self_contained(html);
  EXPECT_EQ(html.find(script), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<svg onload"), std::string::npos);
  EXPECT_EQ(html.find("<i>id"), std::string::npos);
  EXPECT_EQ(html.find("<u>c"), std::string::npos);
  EXPECT_EQ(html.find("<b>bin"), std::string::npos);
  EXPECT_EQ(html.find("<time>"), std::string::npos);
  EXPECT_EQ(html.find("<f>"), std::string::npos);
  EXPECT_EQ(html.find("<t>"), std::string::npos);
  EXPECT_EQ(html.find("a.<b>"), std::string::npos);
  EXPECT_EQ(html.find(quotes), std::string::npos);
  EXPECT_EQ(html.find("\u202e"), std::string::npos);
  EXPECT_EQ(html.find('\x1b'), std::string::npos);
  // Escaped, and still there: in HTML text, in SVG text and in attributes.
  const std::string esc_script = "&lt;script&gt;alert(1)&lt;/script&gt;";
  EXPECT_NE(html.find("soundcloud." + esc_script), std::string::npos);
  EXPECT_NE(html.find("data-table=\"soundcloud." + esc_script + "\""), std::string::npos);
  EXPECT_NE(html.find("&quot;&amp;&#39;.comments"), std::string::npos);
  EXPECT_NE(html.find("data-table=\"&quot;&amp;&#39;.comments\""), std::string::npos);
  EXPECT_NE(html.find("bad\\xff\\xfe\\xc0\\xaf\\xed\\xa0\\x80\\x1b[31m\\x0a"), std::string::npos);
  EXPECT_NE(html.find("evil\\u202etxt.exe"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(html.find("SELECT &#39;&lt;/pre&gt;&lt;script&gt;x&lt;/script&gt;&#39;\n-- \\xff"), std::string::npos);
  EXPECT_NE(html.find("&quot;&gt;&lt;svg onload=alert(1)&gt;"), std::string::npos);
  // The bars are still found under their escaped names.
  const auto bars = table_bars(html);
  EXPECT_TRUE(bars.count("soundcloud." + esc_script));
}

TEST(ReportHtml, AbsentViewsSayNotComputed) {
  json doc = soundcloud_report();
  for (const char* view : {"columns", "statements", "transactions", "minutes", "baseline"}) doc.erase(view);
  // The per-table column totals stand in for the column view, names unknown.
  doc["tables"][0]["columns"] = json::array({
      {{"index", 1}, {"name", nullptr}, {"type", 3}, {"before_bytes", 10}, {"after_bytes", 10}, {"bytes", 20},
       {"null_images", 0}},
      {{"index", 2}, {"name", nullptr}, {"type", 252}, {"before_bytes", 500}, {"after_bytes", 700}, {"bytes", 1200},
       {"null_images", 0}},
  });
  const std::string html = report_html(doc);
  expect_self_contained(html);
  EXPECT_NE(html.find("The minute view was not computed"), std::string::npos);
  EXPECT_NE(html.find("The transaction view was not computed"), std::string::npos);
  EXPECT_NE(html.find("The statement view was not computed"), std::string::npos);
  EXPECT_NE(html.find("The column view was not computed"), std::string::npos);
  EXPECT_NE(html.find("No baseline given"), std::string::npos);
  EXPECT_NE(html.find(">@2"), std::string::npos);
  EXPECT_EQ(html.find("role=\"alert\""), std::string::npos);
  EXPECT_EQ(occurrences(html, "<svg"), 2u);  // top tables and columns
}

TEST(ReportHtml, StatementsWithoutTextSaySoClearly) {
  json doc = soundcloud_report();
  doc["statements"] = {{"has_text", false}, {"rows_bytes_without_text", 870 * kMiB}, {"items", json::array()}};
  const std::string html = report_html(doc);
  expect_self_contained(html);
  EXPECT_NE(html.find("carries no statement text"), std::string::npos);
  EXPECT_NE(html.find("binlog_annotate_row_events"), std::string::npos);
  EXPECT_NE(html.find("binlog_rows_query_log_events"), std::string::npos);
}

TEST(ReportHtml, EmptyReportsRender) {
  for (const json& doc : {json::object(), json(nullptr), json::array(), json("x"),
                          json{{"files", json::array()}, {"tables", json::array()}, {"total_bytes", 0},
                               {"covered_seconds", 0}, {"other", json::object()}, {"errors", json::array()},
                               {"columns", json::array()}, {"transactions", json::array()},
                               {"statements", {{"has_text", false}, {"items", json::array()}}},
                               {"minutes", {{"tables", json::array()}, {"items", json::array()}}},
                               {"baseline", {{"tables", json::array()}}}}}) {
    std::string html;
    ASSERT_NO_THROW(html = report_html(doc)) << doc.dump();
    expect_self_contained(html);
    EXPECT_NE(html.find("No row events"), std::string::npos);
    EXPECT_NE(html.find("<h2>Files</h2>"), std::string::npos);
  }
}

TEST(ReportHtml, OddValuesDoNotBreakThePage) {
  json doc = soundcloud_report();
  const uint64_t huge = std::numeric_limits<uint64_t>::max();
  doc["total_bytes"] = huge;
  doc["tables"][0]["bytes"] = huge;
  doc["tables"][1]["bytes"] = huge - 1;
  doc["tables"][2]["bytes"] = "12";        // wrong type: read as 0
  doc["tables"][3]["bytes"] = -5;          // negative: 0
  doc["tables"][4]["bytes"] = 1e300;       // float
  doc["tables"][5] = nullptr;              // not an object
  doc["other"]["torn"] = 1234;             // shows as a red card
  doc["covered_seconds"] = nullptr;
  doc["files"][0]["first_event_time"] = nullptr;
  doc["files"][1]["torn_tail"] = {{"offset", 4096}, {"bytes", 17}};
  doc["minutes"]["items"][0]["tables"] = json::array({huge, huge});  // shorter than the names
  doc["minutes"]["items"][1]["epoch"] = "soon";                       // skipped
  doc["minutes"]["items"][2]["epoch"] = -60;                          // clamped to the epoch
  doc["minutes"]["items"][3]["epoch"] = std::numeric_limits<int64_t>::max();  // clamped to 2106
  doc["minutes"]["items"][4]["epoch"] = 1e300;
  doc["transactions"][0]["start_time"] = nullptr;
  doc["transactions"][0]["end_epoch"] = 0;                            // before its start
  doc["transactions"][1]["start_epoch"] = std::numeric_limits<int64_t>::min();
  doc["transactions"][1]["end_epoch"] = std::numeric_limits<int64_t>::max();
  doc["baseline"]["tables"][1]["ratio"] = 1e308;
  doc["baseline"]["tables"][2]["flagged"] = "yes";
  doc["columns"][0]["share_of_table"] = nullptr;
  doc["statements"]["items"][0]["tables"] = "not a list";
  std::string html;
  ASSERT_NO_THROW(html = report_html(doc));
  expect_self_contained(html);
  EXPECT_FALSE(has_non_finite(html));
  EXPECT_NE(html.find("16384.0 PiB"), std::string::npos);
  EXPECT_NE(html.find("card bad"), std::string::npos);
  EXPECT_NE(html.find("<b>torn</b> at offset 4096 (17 bytes)"), std::string::npos);
  // Zero bytes everywhere: no division by zero, bars of width 0.
  json zero = soundcloud_report();
  zero["total_bytes"] = 0;
  for (auto& t : zero["tables"]) t["bytes"] = 0;
  for (auto& m : zero["minutes"]["items"]) {
    for (auto& v : m["tables"]) v = 0;
    m["other_tables"] = 0;
    m["non_table"] = 0;
  }
  ASSERT_NO_THROW(html = report_html(zero));
  expect_self_contained(html);
  EXPECT_FALSE(has_non_finite(html));
  EXPECT_NE(html.find("No bytes in any minute"), std::string::npos);
  for (const auto& [name, width] : table_bars(html)) EXPECT_EQ(width, 0.0) << name;
}

TEST(ReportHtml, ManyTablesAreFoldedInTheChart) {
  json doc = soundcloud_report();
  for (int i = 0; i < 40; ++i) {
    doc["tables"].push_back({{"schema", "db"}, {"table", "t" + std::to_string(i)}, {"bytes", 1000 - i}});
  }
  const std::string html = report_html(doc);
  expect_self_contained(html);
  EXPECT_EQ(table_bars(html).size(), 15u);
  EXPECT_NE(html.find("and 35 more tables"), std::string::npos);
  EXPECT_NE(html.find("db.t39"), std::string::npos);  // still in the full list
}

}  // namespace
}  // namespace binwatch
