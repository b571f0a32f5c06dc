// `binwatch report --format html`: a pure renderer from the report's JSON document
// (docs/report-json.md) to one self-contained page: inline CSS, charts as inline SVG, no script,
// and a Content-Security-Policy that forbids every fetch, so the page works offline and a hostile
// name cannot make it load anything.
//
// The document is read defensively: any view may be absent, any field missing or of another type
// (treated as zero/empty), numbers may be huge. Every string that came from a binlog (schema,
// table and column names, statement text, paths, error details) goes through text(): invalid
// UTF-8, control bytes and bidirectional overrides are shown as \xNN / \uNNNN, then HTML-escaped.
#include "binwatch/report_html.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "binwatch/report.h"

namespace binwatch {
namespace {

using json = nlohmann::ordered_json;

// ---------------------------------------------------------------------------------------------
// Defensive access to the document.

const json& null_json() {
  static const json kNull;
  return kNull;
}

const json& empty_array() {
  static const json kEmpty = json::array();
  return kEmpty;
}

const json& at(const json& j, const char* key) {
  if (!j.is_object()) return null_json();
  auto it = j.find(key);
  return it == j.end() ? null_json() : *it;
}

const json& arr(const json& j) { return j.is_array() ? j : empty_array(); }

uint64_t u64(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    const auto x = v.get<int64_t>();
    return x > 0 ? static_cast<uint64_t>(x) : 0;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!(d > 0)) return 0;  // also NaN
    if (d >= 1.8e19) return std::numeric_limits<uint64_t>::max();
    return static_cast<uint64_t>(d);
  }
  return 0;
}

int64_t i64(const json& v) {
  if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<int64_t>();
  const uint64_t u = u64(v);
  return u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
             ? std::numeric_limits<int64_t>::max()
             : static_cast<int64_t>(u);
}

// A finite number; anything else (null, absent, NaN) reads as 0 and has_num() says so.
bool has_num(const json& v) { return v.is_number() && std::isfinite(v.get<double>()); }
double num(const json& v) { return has_num(v) ? v.get<double>() : 0.0; }

std::string str(const json& v) { return v.is_string() ? v.get<std::string>() : std::string(); }

// "schema.table" as the views spell it (minutes.tables, statements.tables): raw bytes, for lookups.
std::string table_key(const json& t) { return str(at(t, "schema")) + "." + str(at(t, "table")); }

// ---------------------------------------------------------------------------------------------
// Text.

// Valid UTF-8 kept; invalid bytes and C0 controls shown as \xNN (as printable() does for the
// terminal), C1 controls and bidirectional overrides as \uNNNN so a name cannot reorder the text
// around it. With multiline, newlines and tabs are kept (statement samples).
std::string clean(std::string_view s, bool multiline = false) {
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) ok = false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (ok && (cp < kMin[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)) ok = false;
    if (!ok) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
      continue;
    }
    if (cp < 0x20 || cp == 0x7f) {
      if (multiline && (cp == '\n' || cp == '\t')) {
        out += static_cast<char>(cp);
      } else {
        out += fmt::format("\\x{:02x}", cp);
      }
    } else if ((cp >= 0x80 && cp < 0xa0) || (cp >= 0x202a && cp <= 0x202e) ||
               (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f) {
      out += fmt::format("\\u{:04x}", cp);
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// At most max_chars code points of an already clean() string, with an ellipsis when cut.
std::string shorten(const std::string& s, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) == 0x80) continue;
    if (chars == max_chars) return s.substr(0, i) + "\u2026";
    ++chars;
  }
  return s;
}

// Untrusted text for HTML text and attribute values alike.
std::string text(std::string_view s) { return escape(clean(s)); }
std::string text_short(std::string_view s, size_t max_chars) { return escape(shorten(clean(s), max_chars)); }

std::string bytes(uint64_t b) { return human_bytes(b); }
std::string bytes(double b) {
  if (!(b > 0)) return human_bytes(0);
  if (b >= 1.8e19) return human_bytes(std::numeric_limits<uint64_t>::max());
  return human_bytes(static_cast<uint64_t>(b + 0.5));
}

std::string count(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string percent(double share) {
  if (!(share > 0)) return "0%";
  if (share < 0.001) return "&lt;0.1%";
  return fmt::format("{:.1f}%", 100 * share);
}

double share_of(double part, double total) { return total > 0 ? part / total : 0.0; }

std::string ratio_text(double r) {
  if (r >= 1e6) return fmt::format("{:.2g}x", r);
  return r >= 100 ? fmt::format("{:.0f}x", r) : fmt::format("{:.1f}x", r);
}

std::string duration(uint64_t s) {
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return fmt::format("{} min {} s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{} h {:02} min", s / 3600, s / 60 % 60);
  return fmt::format("{} d {} h", s / 86400, s / 3600 % 24);
}

std::string utc(int64_t epoch) {
  const int64_t clamped = std::clamp<int64_t>(epoch, 0, std::numeric_limits<uint32_t>::max());
  return iso8601_utc(static_cast<uint32_t>(clamped));
}

// A time string from the document, "2026-11-21T10:05:00Z" shown as "2026-11-21 10:05:00" under a
// "(UTC)" heading, or a dash for null.
std::string time_or_dash(const json& v) {
  if (!v.is_string()) return "&ndash;";
  std::string t = v.get<std::string>();
  if (t.size() == 20 && t[10] == 'T' && t[19] == 'Z') {
    t[10] = ' ';
    t.pop_back();
  }
  return text(t);
}

// SVG coordinates.
std::string n1(double v) { return fmt::format("{:.1f}", std::isfinite(v) ? v : 0.0); }
std::string n2(double v) { return fmt::format("{:.2f}", std::isfinite(v) ? v : 0.0); }

// ---------------------------------------------------------------------------------------------
// Colours: one per table, the same in every chart and list; the largest tables get the palette in
// order (colour-blind friendly, no red: red means "flagged"), the rest grey.

constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2",
                                    "#edc948", "#9c755f", "#ff9da7", "#17becf", "#bcbd22"};
constexpr const char* kOtherTables = "#bab0ac";
constexpr const char* kNonTable = "#dedbd6";
constexpr const char* kFlag = "#b42318";

class Colours {
 public:
  const char* get(const std::string& key) const {
    auto it = m_map.find(key);
    return it == m_map.end() ? kOtherTables : it->second;
  }
  void assign(const std::string& key) {
    if (m_map.count(key) || m_next >= std::size(kPalette)) return;
    m_map.emplace(key, kPalette[m_next++]);
  }

 private:
  std::map<std::string, const char*> m_map;
  size_t m_next = 0;
};

std::string swatch(const char* colour) {
  return fmt::format("<span class=\"sw\" style=\"background:{}\"></span>", colour);
}

// ---------------------------------------------------------------------------------------------

constexpr std::string_view kCss = R"css(
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#ffffff;--panel:#f6f8fa;--flag:#b42318;--flagbg:#fef3f2}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","DejaVu Sans",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:36px 0 6px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:18px 0 6px}
p{margin:6px 0}
.muted,.note{color:var(--muted)}
.note{font-size:13px}
code,.mono{font-family:ui-monospace,"SFMono-Regular","DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px;margin:16px 0}
.card{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 12px}
.card .k{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
.card .v{font-size:20px;font-weight:600;white-space:nowrap}
.card .s{font-size:12px;color:var(--muted)}
.card.bad{border-color:var(--flag);background:var(--flagbg)}
.card.bad .v{color:var(--flag)}
.alert{border:1px solid var(--flag);background:var(--flagbg);color:#7a271a;border-radius:6px;padding:10px 14px;margin:14px 0;font-size:15px}
.alert b{color:var(--flag)}
.headline{border-left:4px solid #4e79a7;background:var(--panel);padding:10px 14px;margin:14px 0;font-size:15px}
.notice{border:1px solid #e3b341;background:#fff8e1;border-radius:6px;padding:8px 12px;margin:8px 0}
figure{margin:8px 0}
svg.chart{display:block;width:100%;height:auto}
.chart text{font-size:12px;fill:#1f2328}
.chart .axis{fill:#59636e;font-size:11px}
.chart .grid{stroke:#e6eaef;stroke-width:1}
.chart .flagtxt{fill:#b42318;font-weight:700}
.legend{list-style:none;padding:0;margin:6px 0 0;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:13px}
.sw{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:-1px;border:1px solid rgba(0,0,0,.15)}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--panel);font-weight:600;white-space:nowrap}
td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.name{overflow-wrap:anywhere;min-width:8em}
td.t{white-space:nowrap}
td.tl{min-width:15em}
td.pos{min-width:14em}
tr.flag td{background:var(--flagbg);color:#7a271a}
tr.flag td.name{font-weight:600}
.badge{display:inline-block;padding:0 6px;border-radius:9px;font-size:11px;font-weight:700;line-height:18px;white-space:nowrap}
.badge.alert-b{background:var(--flag);color:#fff}
.badge.new{background:#e3b341;color:#3d2c00}
.badge.ok{background:#dafbe1;color:#1a7f37}
.mbar{display:inline-block;height:8px;background:#4e79a7;border-radius:2px;vertical-align:middle;margin-right:6px}
details{margin:6px 0}
summary{cursor:pointer;color:var(--muted)}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--panel);padding:6px 8px;border-radius:4px;margin:4px 0}
footer{margin-top:40px;color:var(--muted);font-size:12px}
@media print{main{max-width:none}h2{break-after:avoid}figure,tr{break-inside:avoid}}
)css";

class Renderer {
 public:
  explicit Renderer(const json& r) : m_r(r) {
    m_total = u64(at(r, "total_bytes"));
    // The largest tables first, then the ones the minute chart stacks (normally the same), then
    // the rest while colours last.
    const json& ts = arr(at(r, "tables"));
    for (size_t i = 0; i < ts.size() && i < 8; ++i) m_colours.assign(table_key(ts[i]));
    for (const auto& name : arr(at(at(r, "minutes"), "tables"))) m_colours.assign(str(name));
    for (const auto& t : ts) m_colours.assign(table_key(t));
    for (const auto& b : arr(at(at(r, "baseline"), "tables"))) m_baseline.emplace(table_key(b), &b);
  }

  std::string render() {
    head();
    summary();
    top_tables();
    minutes();
    columns();
    transactions();
    statements();
    baseline();
    types();
    errors();
    files();
    o += "<footer>Generated by binwatch. This page is self-contained: it loads nothing from the "
         "network. Sizes are on-disk binlog bytes; times are UTC.</footer>\n</main>\n</body>\n</html>\n";
    return std::move(o);
  }

 private:
  const json& m_r;
  std::string o;
  uint64_t m_total = 0;
  Colours m_colours;
  std::map<std::string, const json*> m_baseline;
  int m_svg_ids = 0;

  const json& tables() const { return arr(at(m_r, "tables")); }

  bool flagged(const std::string& key, double* ratio) const {
    auto it = m_baseline.find(key);
    if (it == m_baseline.end() || !at(*it->second, "flagged").is_boolean() ||
        !at(*it->second, "flagged").get<bool>()) {
      return false;
    }
    const json& r = at(*it->second, "ratio");
    *ratio = has_num(r) ? r.get<double>() : -1;  // -1: new table
    return true;
  }

  std::string flag_text(double ratio) const {
    return ratio < 0 ? std::string("new vs baseline") : ratio_text(ratio) + " baseline";
  }

  void not_computed(const char* view, const char* by) {
    o += fmt::format("<p class=\"note\">The {} view was not computed for this report (<code>--by {}</code>).</p>\n",
                     view, by);
  }

  // <svg> opening with an accessible name and description.
  void svg_open(double width, double height, const std::string& title, const std::string& desc) {
    const int id = ++m_svg_ids;
    o += fmt::format(
        "<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-labelledby=\"svg{}t svg{}d\">"
        "<title id=\"svg{}t\">{}</title><desc id=\"svg{}d\">{}</desc>\n",
        n1(width), n1(height), id, id, id, title, id, desc);
  }

  void head() {
    std::string title = "binwatch report";
    if (!tables().empty()) title += " \u2014 top table " + text_short(table_key(tables()[0]), 80);
    o += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'; img-src data:\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"generator\" content=\"binwatch\">\n";
    o += fmt::format("<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n", title, kCss);
  }

  void summary() {
    const json& files = arr(at(m_r, "files"));
    std::string first, last;
    for (const auto& f : files) {
      const std::string a = str(at(f, "first_event_time")), b = str(at(f, "last_event_time"));
      if (!a.empty() && (first.empty() || a < first)) first = a;
      if (!b.empty() && (last.empty() || b > last)) last = b;
    }
    o += "<h1>binwatch report</h1>\n<p class=\"muted\">";
    o += fmt::format("{} binlog file{}", count(files.size()), files.size() == 1 ? "" : "s");
    if (!first.empty()) {
      const std::string a = time_or_dash(json(first)), b = time_or_dash(json(last));
      // The end without its date when both are on the same day.
      const bool same_day = a.size() == 19 && b.size() == 19 && a.compare(0, 10, b, 0, 10) == 0;
      o += fmt::format(", events from {} to {} UTC", a, same_day ? b.substr(11) : b);
    }
    o += "</p>\n";

    // Baseline alert first: the question after an incident is "what is not normal?".
    std::vector<std::string> alerts;
    for (const auto& b : arr(at(at(m_r, "baseline"), "tables"))) {
      if (!at(b, "flagged").is_boolean() || !at(b, "flagged").get<bool>()) continue;
      const json& r = at(b, "ratio");
      alerts.push_back(fmt::format("<b>{}</b> ({})", text(table_key(b)),
                                   has_num(r) ? ratio_text(r.get<double>()) : std::string("new")));
    }
    if (!alerts.empty()) {
      const double alert = num(at(at(m_r, "baseline"), "ratio_alert"));
      std::string list;
      for (size_t i = 0; i < alerts.size() && i < 8; ++i) list += (i ? ", " : "") + alerts[i];
      if (alerts.size() > 8) list += fmt::format(" and {} more", alerts.size() - 8);
      o += fmt::format("<div class=\"alert\" role=\"alert\">&#9888; {} table{} above {} the baseline "
                       "rate: {}. <a href=\"#baseline\">Baseline comparison</a></div>\n",
                       alerts.size(), alerts.size() == 1 ? "" : "s",
                       alert > 0 ? fmt::format("{:g}x", alert) : std::string("the alert ratio of"), list);
    }

    const json& ts = tables();
    if (!ts.empty() && m_total > 0) {
      const uint64_t top = u64(at(ts[0], "bytes"));
      o += fmt::format("<div class=\"headline\">{}<b>{}</b> wrote <b>{}</b>, {} of all binlog bytes",
                       swatch(m_colours.get(table_key(ts[0]))), text(table_key(ts[0])), bytes(top),
                       percent(share_of(top, m_total)));
      if (ts.size() > 1) {
        const uint64_t next = u64(at(ts[1], "bytes"));
        if (next > 0 && top >= 2 * next) {
          o += fmt::format(", <b>{}</b> the next table ({}, {})", ratio_text(double(top) / double(next)),
                           text(table_key(ts[1])), bytes(next));
        }
      }
      o += ".</div>\n";
    }

    const json& other = at(m_r, "other");
    const json& errs = arr(at(m_r, "errors"));
    const uint64_t covered = u64(at(m_r, "covered_seconds"));
    auto card = [&](const char* k, const std::string& v, const std::string& s, bool bad) {
      o += fmt::format("<div class=\"card{}\"><div class=\"k\">{}</div><div class=\"v\">{}</div>"
                       "<div class=\"s\">{}</div></div>\n",
                       bad ? " bad" : "", k, v, s);
    };
    o += "<section class=\"cards\" aria-label=\"Totals\">\n";
    card("Total", bytes(m_total), count(m_total) + " bytes", false);
    card("Files", count(files.size()), "", false);
    card("Covered time", duration(covered), covered ? count(covered) + " s of events" : "", false);
    uint64_t table_bytes = 0;
    for (const auto& t : ts) table_bytes += std::min(u64(at(t, "bytes")), ~uint64_t{0} - table_bytes);
    card("Tables", count(ts.size()), bytes(table_bytes) + " " + percent(share_of(table_bytes, m_total)), false);
    const uint64_t statement = u64(at(other, "statement")), overhead = u64(at(other, "overhead"));
    card("Statement", bytes(statement), percent(share_of(statement, m_total)) + " QUERY events", false);
    card("Overhead", bytes(overhead), percent(share_of(overhead, m_total)) + " GTID, XID, &hellip;", false);
    const uint64_t torn = u64(at(other, "torn")), corrupt = u64(at(other, "corrupt"));
    card("Torn", bytes(torn), torn ? "incomplete last event" : "none", torn > 0);
    card("Corrupt", bytes(corrupt), corrupt ? "bad checksum or malformed" : "none", corrupt > 0);
    if (const uint64_t excluded = u64(at(other, "excluded")); excluded) {
      card("Excluded", bytes(excluded), "by the filters", false);
    }
    card("Errors", count(errs.size()), errs.empty() ? "none" : "<a href=\"#errors\">see the list</a>",
         !errs.empty());
    o += "</section>\n";
  }

  // 1. Horizontal bars, one per table, widths proportional to bytes.
  void top_tables() {
    o += "<section id=\"tables\">\n<h2>Top tables by bytes</h2>\n";
    const json& ts = tables();
    if (ts.empty()) {
      o += "<p class=\"note\">No row events: the binlogs hold no ROW-format changes.</p>\n</section>\n";
      return;
    }
    constexpr size_t kShown = 15;
    const size_t shown = std::min(ts.size(), kShown);
    uint64_t max = 0;
    for (size_t i = 0; i < shown; ++i) max = std::max(max, u64(at(ts[i], "bytes")));
    constexpr double W = 1000, label_w = 290, bar_x = 300, bar_w = 440, row_h = 30, top = 8;
    const double H = top + row_h * static_cast<double>(shown) + 8;
    std::string desc;
    for (size_t i = 0; i < shown && i < 5; ++i) {
      desc += fmt::format("{}{}: {} ({})", i ? "; " : "", text(table_key(ts[i])), bytes(u64(at(ts[i], "bytes"))),
                          percent(share_of(u64(at(ts[i], "bytes")), m_total)));
    }
    o += "<figure>\n";
    svg_open(W, H, "Top tables by bytes", desc);
    for (size_t i = 0; i < shown; ++i) {
      const json& t = ts[i];
      const std::string key = table_key(t);
      const uint64_t b = u64(at(t, "bytes"));
      double w = max ? bar_w * static_cast<double>(b) / static_cast<double>(max) : 0;
      if (b > 0 && w < 1) w = 1;
      const double y = top + row_h * static_cast<double>(i);
      double ratio = 0;
      const bool flag = flagged(key, &ratio);
      o += fmt::format("<g><title>{}: {} ({}), {} rows</title>", text(key), bytes(b),
                       percent(share_of(b, m_total)), count(u64(at(t, "rows"))));
      o += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\"{}>{}</text>", n1(label_w), n1(y + 19),
                       flag ? " class=\"flagtxt\"" : "", text_short(key, 38));
      o += fmt::format("<rect class=\"tbar\" data-table=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"20\" "
                       "rx=\"2\" fill=\"{}\"{}/>",
                       text(key), n1(bar_x), n1(y + 4), n2(w), m_colours.get(key),
                       flag ? fmt::format(" stroke=\"{}\" stroke-width=\"2\"", kFlag) : "");
      o += fmt::format("<text x=\"{}\" y=\"{}\">{} <tspan class=\"axis\">{}</tspan>", n1(bar_x + w + 6),
                       n1(y + 19), bytes(b), percent(share_of(b, m_total)));
      if (flag) o += fmt::format(" <tspan class=\"flagtxt\">&#9650; {}</tspan>", flag_text(ratio));
      o += "</text></g>\n";
    }
    o += "</svg>\n";
    if (ts.size() > shown) {
      uint64_t rest = 0;
      for (size_t i = shown; i < ts.size(); ++i) rest += std::min(u64(at(ts[i], "bytes")), ~uint64_t{0} - rest);
      o += fmt::format("<figcaption class=\"note\">and {} more table{} with {} in total.</figcaption>\n",
                       count(ts.size() - shown), ts.size() - shown == 1 ? "" : "s", bytes(rest));
    }
    o += "</figure>\n";

    o += fmt::format("<details><summary>All tables ({})</summary>\n<table>\n<thead><tr><th>Table</th>"
                     "<th class=\"n\">Bytes</th><th class=\"n\">Share</th><th class=\"n\">Events</th>"
                     "<th class=\"n\">Rows</th><th class=\"n\">Inserts</th><th class=\"n\">Updates</th>"
                     "<th class=\"n\">Deletes</th><th class=\"n\">Row-image overhead</th></tr></thead>\n<tbody>\n",
                     count(ts.size()));
    size_t n = 0;
    for (const auto& t : ts) {
      if (++n > 1000) {
        o += fmt::format("<tr><td colspan=\"9\">and {} more (see --format json)</td></tr>\n", count(ts.size() - 1000));
        break;
      }
      const std::string key = table_key(t);
      o += fmt::format("<tr><td class=\"name\">{}{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                       "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                       "<td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
                       swatch(m_colours.get(key)), text(key), bytes(u64(at(t, "bytes"))),
                       percent(share_of(u64(at(t, "bytes")), m_total)), count(u64(at(t, "events"))),
                       count(u64(at(t, "rows"))), count(u64(at(t, "inserts"))), count(u64(at(t, "updates"))),
                       count(u64(at(t, "deletes"))), bytes(u64(at(t, "row_image_overhead_bytes"))));
    }
    o += "</tbody>\n</table>\n</details>\n</section>\n";
  }

  // 2. Stacked step-area chart of bytes per minute (or per N minutes when the span is long).
  void minutes() {
    o += "<section id=\"minutes\">\n";
    const json& m = at(m_r, "minutes");
    if (!m.is_object()) {
      o += "<h2>Bytes per minute</h2>\n";
      not_computed("minute", "minute");
      o += "</section>\n";
      return;
    }
    std::vector<std::string> names;
    for (const auto& n : arr(at(m, "tables"))) names.push_back(str(n));
    const size_t K = names.size(), S = K + 2;  // series: tables, other tables, non-table
    struct Point {
      int64_t epoch;
      std::vector<double> v;
    };
    std::vector<Point> pts;
    for (const auto& it : arr(at(m, "items"))) {
      if (!at(it, "epoch").is_number()) continue;
      // Binlog timestamps are 32-bit seconds; clamping keeps all the arithmetic below in range.
      const int64_t epoch = std::clamp<int64_t>(i64(at(it, "epoch")), 0, std::numeric_limits<uint32_t>::max());
      Point p{epoch, std::vector<double>(S, 0.0)};
      const json& tv = arr(at(it, "tables"));
      for (size_t k = 0; k < K && k < tv.size(); ++k) p.v[k] = static_cast<double>(u64(tv[k]));
      p.v[K] = static_cast<double>(u64(at(it, "other_tables")));
      p.v[K + 1] = static_cast<double>(u64(at(it, "non_table")));
      pts.push_back(std::move(p));
    }
    if (pts.empty()) {
      o += "<h2>Bytes per minute</h2>\n<p class=\"note\">No event carried bytes with a timestamp.</p>\n</section>\n";
      return;
    }
    int64_t t_min = std::numeric_limits<int64_t>::max(), t_max = 0;
    for (const auto& p : pts) {
      t_min = std::min(t_min, p.epoch - p.epoch % 60);
      t_max = std::max(t_max, p.epoch - p.epoch % 60);
    }
    // Bucket width: at most ~240 buckets across the chart.
    static const int64_t kSteps[] = {1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 43200, 525600};
    const int64_t span_min = (t_max - t_min) / 60 + 1;
    int64_t bucket = 0;
    for (int64_t s : kSteps) {
      if (span_min <= 240 * s) {
        bucket = s;
        break;
      }
    }
    if (!bucket) bucket = (span_min + 239) / 240;
    const int64_t bucket_s = bucket * 60;
    const int64_t b0 = t_min / bucket_s * bucket_s;
    const size_t nb = static_cast<size_t>((t_max - b0) / bucket_s + 1);
    std::vector<std::vector<double>> val(nb, std::vector<double>(S, 0.0));
    std::vector<double> series_total(S, 0.0);
    for (const auto& p : pts) {
      const size_t b = static_cast<size_t>((p.epoch - b0) / bucket_s);
      for (size_t s = 0; s < S; ++s) {
        val[b][s] += p.v[s];
        series_total[s] += p.v[s];
      }
    }
    double ymax = 0;
    for (const auto& row : val) {
      double sum = 0;
      for (double v : row) sum += v;
      ymax = std::max(ymax, sum);
    }
    const std::string per = bucket == 1      ? std::string("minute")
                            : bucket < 60    ? fmt::format("{} minutes", bucket)
                            : bucket == 60   ? std::string("hour")
                            : bucket < 1440  ? fmt::format("{} hours", bucket / 60)
                            : bucket == 1440 ? std::string("day")
                                             : fmt::format("{} days", bucket / 1440);
    o += "<h2>Bytes per " + per + "</h2>\n";
    if (bucket != 1) {
      o += fmt::format("<p class=\"note\">The events span {}: bytes are summed per {}.</p>\n",
                       duration(static_cast<uint64_t>(span_min) * 60), per);
    }
    if (!(ymax > 0)) {
      o += "<p class=\"note\">No bytes in any minute.</p>\n</section>\n";
      return;
    }
    // Byte axis: nice steps in the unit of the maximum.
    static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    size_t unit = 0;
    double scale = 1;
    while (ymax / scale >= 1024 && unit + 1 < std::size(kUnits)) {
      scale *= 1024;
      ++unit;
    }
    const double scaled = ymax / scale;
    const double raw = scaled / 5;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = 10 * mag;
    for (double f : {1.0, 2.0, 2.5, 5.0, 10.0}) {
      if (f * mag >= raw) {
        step = f * mag;
        break;
      }
    }
    if (unit == 0) step = std::max(step, 1.0);
    const double ytop = std::ceil(scaled / step - 1e-9) * step * scale;

    constexpr double W = 1000, H = 320, x0 = 78, x1 = 985, y0 = 12, y1 = 272;
    const double tspan = static_cast<double>(nb) * static_cast<double>(bucket_s);
    auto X = [&](double t) { return x0 + (t - static_cast<double>(b0)) / tspan * (x1 - x0); };
    auto Y = [&](double v) { return y1 - v / ytop * (y1 - y0); };

    std::string desc = fmt::format("Stacked bytes per {} from {} to {} UTC; peak {}.", per, utc(b0),
                                   utc(b0 + static_cast<int64_t>(nb) * bucket_s), bytes(ymax));
    o += "<figure>\n";
    svg_open(W, H, fmt::format("Bytes per {} by table (UTC)", per), desc);
    // Grid and byte axis.
    for (double v = 0; v <= ytop * (1 + 1e-9); v += step * scale) {
      o += fmt::format("<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", n1(x0), n1(x1), n1(Y(v)),
                       n1(Y(v)));
      o += fmt::format("<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{:g} {}</text>\n", n1(x0 - 6),
                       n1(Y(v) + 4), std::round(v / scale * 100) / 100, kUnits[unit]);
    }
    // Stacked series, bottom to top: largest table first, then other tables, then non-table bytes.
    std::vector<double> base(nb, 0.0);
    for (size_t s = 0; s < S; ++s) {
      if (!(series_total[s] > 0)) continue;
      std::string upper, lower;
      for (size_t b = 0; b < nb; ++b) {
        const double xa = X(static_cast<double>(b0 + static_cast<int64_t>(b) * bucket_s));
        const double xb = X(static_cast<double>(b0 + static_cast<int64_t>(b + 1) * bucket_s));
        const double yu = Y(base[b] + val[b][s]);
        upper += fmt::format("{},{} {},{} ", n1(xa), n1(yu), n1(xb), n1(yu));
      }
      for (size_t b = nb; b-- > 0;) {
        const double xa = X(static_cast<double>(b0 + static_cast<int64_t>(b) * bucket_s));
        const double xb = X(static_cast<double>(b0 + static_cast<int64_t>(b + 1) * bucket_s));
        const double yl = Y(base[b]);
        lower += fmt::format("{},{} {},{} ", n1(xb), n1(yl), n1(xa), n1(yl));
      }
      for (size_t b = 0; b < nb; ++b) base[b] += val[b][s];
      const char* colour = s < K ? m_colours.get(names[s]) : s == K ? kOtherTables : kNonTable;
      const std::string label = s < K ? text(names[s]) : s == K ? "other tables" : "non-table (QUERY, overhead)";
      o += fmt::format("<polygon class=\"area\" fill=\"{}\" points=\"{}{}\"><title>{}: {}</title></polygon>\n",
                       colour, upper, lower, label, bytes(series_total[s]));
    }
    // Time axis: UTC ticks at round intervals, the date under the first tick and at day changes.
    static const int64_t kTicks[] = {1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 43200, 525600};
    const int64_t span_all = static_cast<int64_t>(nb) * bucket;
    int64_t tick = 0;
    for (int64_t t : kTicks) {
      if (t >= bucket && span_all / t <= 8) {
        tick = t;
        break;
      }
    }
    if (!tick) tick = std::max<int64_t>(1, span_all / 8);
    const int64_t tick_s = tick * 60;
    std::string last_date;
    o += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#59636e\"/>\n", n1(x0), n1(x1), n1(y1),
                     n1(y1));
    for (int64_t t = (b0 + tick_s - 1) / tick_s * tick_s; t <= b0 + span_all * 60; t += tick_s) {
      const double x = X(static_cast<double>(t));
      const std::string iso = utc(t);
      const std::string date = iso.substr(0, 10), hm = iso.substr(11, 5);
      o += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#59636e\"/>", n1(x), n1(y1),
                       n1(y1 + 5));
      const char* anchor = x < x0 + 30 ? "start" : x > x1 - 30 ? "end" : "middle";
      o += fmt::format("<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"{}\">{}", n1(x), n1(y1 + 18), anchor,
                       tick >= 1440 ? date : hm);
      if (tick < 1440 && date != last_date) {
        o += fmt::format("<tspan x=\"{}\" dy=\"14\">{}</tspan>", n1(x), date);
      }
      last_date = date;
      o += "</text>\n";
    }
    o += fmt::format("<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">UTC</text>\n", n1(x1),
                     n1(H - 4));
    // Hover details per bucket (native tooltips, no script).
    if (nb <= 400) {
      for (size_t b = 0; b < nb; ++b) {
        double sum = 0;
        for (double v : val[b]) sum += v;
        if (!(sum > 0)) continue;
        const int64_t t = b0 + static_cast<int64_t>(b) * bucket_s;
        std::string tip = fmt::format("{} UTC: {}", utc(t).substr(0, 16), bytes(sum));
        for (size_t s = 0; s < S; ++s) {
          if (!(val[b][s] > 0)) continue;
          tip += fmt::format("&#10;{}: {}", s < K ? text_short(names[s], 60) : s == K ? "other tables" : "non-table",
                             bytes(val[b][s]));
        }
        o += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"transparent\"><title>{}</title></rect>\n",
                         n1(X(static_cast<double>(t))), n1(y0), n2((x1 - x0) / static_cast<double>(nb)), n1(y1 - y0),
                         tip);
      }
    }
    o += "</svg>\n<ul class=\"legend\">\n";
    for (size_t s = 0; s < S; ++s) {
      if (s >= K && !(series_total[s] > 0)) continue;
      const char* colour = s < K ? m_colours.get(names[s]) : s == K ? kOtherTables : kNonTable;
      o += fmt::format("<li>{}{} <span class=\"muted\">{}</span></li>\n", swatch(colour),
                       s < K ? text_short(names[s], 60) : s == K ? "other tables" : "non-table (QUERY, overhead)",
                       bytes(series_total[s]));
    }
    o += "</ul>\n</figure>\n</section>\n";
  }

  // 3. Columns of the largest table: before/after image bytes, share of the table.
  void columns() {
    const json& ts = tables();
    if (ts.empty()) return;
    const json& top = ts[0];
    const std::string key = table_key(top), schema = str(at(top, "schema")), table = str(at(top, "table"));
    o += fmt::format("<section id=\"columns\">\n<h2>Columns of {}</h2>\n", text(key));
    struct Col {
      std::string name, type, source;
      uint64_t before, after, bytes, nulls;
      double share;
      bool has_share;
    };
    std::vector<Col> cols;
    const json& view = at(m_r, "columns");
    if (view.is_array()) {
      for (const auto& c : view) {
        if (str(at(c, "schema")) != schema || str(at(c, "table")) != table) continue;
        std::string name = str(at(c, "column"));
        if (name.empty()) name = "@" + std::to_string(u64(at(c, "index")));
        std::string type = str(at(c, "type_name"));
        if (type.empty() && at(c, "type").is_number()) type = fmt::format("type {}", u64(at(c, "type")));
        cols.push_back({name, type, str(at(c, "name_source")), u64(at(c, "before_bytes")), u64(at(c, "after_bytes")),
                        u64(at(c, "bytes")), u64(at(c, "null_images")), num(at(c, "share_of_table")),
                        has_num(at(c, "share_of_table"))});
      }
    } else {
      o += "<p class=\"note\">The column view was not computed for this report (<code>--by column</code>); "
           "shown from the table's own column totals.</p>\n";
      for (const auto& c : arr(at(top, "columns"))) {
        std::string name = str(at(c, "name"));
        const bool positional = name.empty();
        if (positional) name = "@" + std::to_string(u64(at(c, "index")));
        cols.push_back({name, at(c, "type").is_number() ? fmt::format("type {}", u64(at(c, "type"))) : "",
                        positional ? "position" : "binlog", u64(at(c, "before_bytes")), u64(at(c, "after_bytes")),
                        u64(at(c, "bytes")), u64(at(c, "null_images")), 0.0, false});
      }
    }
    if (cols.empty()) {
      o += "<p class=\"note\">No column bytes recorded for this table.</p>\n</section>\n";
      return;
    }
    std::stable_sort(cols.begin(), cols.end(), [](const Col& a, const Col& b) { return a.bytes > b.bytes; });
    double table_sum = 0;
    for (const auto& c : cols) table_sum += static_cast<double>(c.bytes);
    for (auto& c : cols) {
      if (!c.has_share) c.share = share_of(static_cast<double>(c.bytes), table_sum);
    }
    if (std::any_of(cols.begin(), cols.end(), [](const Col& c) { return c.source == "position"; })) {
      o += "<p class=\"note\">Some column names are unknown (the binlog has no <code>binlog_row_metadata=FULL</code> "
           "metadata): they are shown by position as <code>@N</code>; give <code>--dsn</code> to name them from "
           "<code>information_schema</code>.</p>\n";
    }
    constexpr size_t kShown = 20;
    const size_t shown = std::min(cols.size(), kShown);
    uint64_t max = 0;
    for (size_t i = 0; i < shown; ++i) max = std::max(max, cols[i].bytes);
    const char* colour = m_colours.get(key);
    constexpr double W = 1000, label_w = 250, bar_x = 260, bar_w = 480, row_h = 26, top_y = 6;
    const double H = top_y + row_h * static_cast<double>(shown) + 6;
    std::string desc;
    for (size_t i = 0; i < shown && i < 5; ++i) {
      desc += fmt::format("{}{}: {} ({} of the table)", i ? "; " : "", text(cols[i].name), bytes(cols[i].bytes),
                          percent(cols[i].share));
    }
    o += "<figure>\n";
    svg_open(W, H, fmt::format("Column bytes of {}", text(key)), desc);
    for (size_t i = 0; i < shown; ++i) {
      const Col& c = cols[i];
      const double y = top_y + row_h * static_cast<double>(i);
      const double scale = max ? bar_w / static_cast<double>(max) : 0;
      const double wb = static_cast<double>(c.before) * scale, wa = static_cast<double>(c.after) * scale;
      const double w = static_cast<double>(c.bytes) * scale;
      o += fmt::format("<g><title>{}: {} (before images {}, after images {}), {} of the table</title>", text(c.name),
                       bytes(c.bytes), bytes(c.before), bytes(c.after), percent(c.share));
      o += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}{}</text>", n1(label_w), n1(y + 17),
                       text_short(c.name, 28),
                       c.type.empty() ? "" : " <tspan class=\"axis\">" + text_short(c.type, 12) + "</tspan>");
      // Before and after images stacked; when they do not add up to bytes, the bar is bytes wide.
      if (c.before + c.after > 0) {
        o += fmt::format("<rect class=\"cbar-before\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"16\" fill=\"{}\" "
                         "fill-opacity=\"0.45\"/>",
                         n1(bar_x), n1(y + 5), n2(wb), colour);
        o += fmt::format("<rect class=\"cbar-after\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"16\" fill=\"{}\"/>",
                         n2(bar_x + wb), n1(y + 5), n2(wa), colour);
      } else {
        o += fmt::format("<rect class=\"cbar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"16\" fill=\"{}\"/>", n1(bar_x),
                         n1(y + 5), n2(w), colour);
      }
      o += fmt::format("<text x=\"{}\" y=\"{}\">{} <tspan class=\"axis\">{} of the table</tspan></text></g>\n",
                       n1(bar_x + std::max(w, wb + wa) + 6), n1(y + 17), bytes(c.bytes), percent(c.share));
    }
    o += "</svg>\n<ul class=\"legend\">";
    o += fmt::format("<li><span class=\"sw\" style=\"background:{};opacity:.45\"></span>before images "
                     "(UPDATE, DELETE)</li><li>{}after images (INSERT, UPDATE)</li></ul>\n",
                     colour, swatch(colour));
    if (cols.size() > shown) {
      o += fmt::format("<figcaption class=\"note\">and {} more column{}.</figcaption>\n", count(cols.size() - shown),
                       cols.size() - shown == 1 ? "" : "s");
    }
    o += "</figure>\n</section>\n";
  }

  // 4. Largest transactions.
  void transactions() {
    o += "<section id=\"transactions\">\n<h2>Largest transactions</h2>\n";
    const json& view = at(m_r, "transactions");
    if (!view.is_array()) {
      not_computed("transaction", "transaction");
      o += "</section>\n";
      return;
    }
    if (view.empty()) {
      o += "<p class=\"note\">No transactions.</p>\n</section>\n";
      return;
    }
    uint64_t max = 0;
    for (const auto& t : view) max = std::max(max, u64(at(t, "bytes")));
    o += "<table>\n<thead><tr><th class=\"n\">#</th><th>Transaction</th><th>Position</th><th>Start (UTC)</th>"
         "<th class=\"n\">Duration</th><th class=\"n\">Bytes</th><th class=\"n\">Rows</th><th class=\"n\">Events</th>"
         "<th>Tables</th></tr></thead>\n<tbody>\n";
    size_t rank = 0;
    for (const auto& t : view) {
      ++rank;
      const std::string id = str(at(t, "id")), gtid = str(at(t, "gtid"));
      std::string ident = "<code>" + text(id.empty() ? gtid : id) + "</code>";
      if (!gtid.empty() && gtid != id) ident += "<br><span class=\"note\">GTID <code>" + text(gtid) + "</code></span>";
      std::string pos = fmt::format("<code>{}:{}&ndash;{}</code>", text(str(at(t, "file"))),
                                    u64(at(t, "start_position")), u64(at(t, "end_position")));
      std::string dur = "&ndash;";
      if (at(t, "start_epoch").is_number() && at(t, "end_epoch").is_number()) {
        const int64_t a = i64(at(t, "start_epoch")), b = i64(at(t, "end_epoch"));
        dur = b >= a ? duration(static_cast<uint64_t>(b) - static_cast<uint64_t>(a)) : "&ndash;";
      }
      std::string tables_cell;
      const json& tt = arr(at(t, "tables"));
      for (size_t i = 0; i < tt.size() && i < 6; ++i) {
        const std::string k = str(tt[i]);
        tables_cell += (i ? "<br>" : "") + swatch(m_colours.get(k)) + text_short(k, 80);
      }
      if (tt.size() > 6) tables_cell += fmt::format("<br><span class=\"note\">and {} more</span>", tt.size() - 6);
      const uint64_t b = u64(at(t, "bytes"));
      o += fmt::format("<tr><td class=\"n\">{}</td><td class=\"name\">{}</td><td class=\"name pos\">{}</td><td class=\"t\">{}</td>"
                       "<td class=\"n\">{}</td><td class=\"n\"><span class=\"mbar\" style=\"width:{}px\"></span>{}</td>"
                       "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"name tl\">{}</td></tr>\n",
                       rank, ident, pos, time_or_dash(at(t, "start_time")), dur,
                       n1(max ? 60.0 * static_cast<double>(b) / static_cast<double>(max) : 0), bytes(b),
                       count(u64(at(t, "rows"))), count(u64(at(t, "events"))), tables_cell);
    }
    o += "</tbody>\n</table>\n</section>\n";
  }

  void statements() {
    o += "<section id=\"statements\">\n<h2>Statements</h2>\n";
    const json& view = at(m_r, "statements");
    if (!view.is_object()) {
      not_computed("statement", "statement");
      o += "</section>\n";
      return;
    }
    const bool has_text = at(view, "has_text").is_boolean() && at(view, "has_text").get<bool>();
    const uint64_t without = u64(at(view, "rows_bytes_without_text"));
    if (!has_text) {
      o += "<div class=\"notice\">The binlog carries no statement text for its row events (enable "
           "<code>binlog_annotate_row_events</code> on MariaDB or <code>binlog_rows_query_log_events</code> on MySQL)"
           ": row bytes cannot be grouped by statement.</div>\n";
    } else if (without > 0) {
      o += fmt::format("<p class=\"note\">{} of row-event bytes are not preceded by statement text.</p>\n",
                       bytes(without));
    }
    const json& items = arr(at(view, "items"));
    if (items.empty()) {
      o += "<p class=\"note\">No statements.</p>\n</section>\n";
      return;
    }
    o += "<table>\n<thead><tr><th>Statement fingerprint</th><th class=\"n\">Bytes</th><th class=\"n\">Share</th>"
         "<th class=\"n\">Rows</th><th class=\"n\">Events</th><th>Tables</th></tr></thead>\n<tbody>\n";
    size_t n = 0;
    for (const auto& s : items) {
      if (++n > 50) {
        o += fmt::format("<tr><td colspan=\"6\">and {} more (see --format json)</td></tr>\n", count(items.size() - 50));
        break;
      }
      const uint64_t b = u64(at(s, "bytes"));
      std::string fp = "<code>" + text_short(str(at(s, "fingerprint")), 600) + "</code>";
      const std::string source = str(at(s, "source"));
      if (!source.empty()) fp += " <span class=\"note\">(" + text(source) + ")</span>";
      const std::string sample = str(at(s, "sample"));
      if (!sample.empty()) {
        fp += "<details><summary>sample</summary><pre>" + escape(shorten(clean(sample, true), 2000)) +
              "</pre></details>";
      }
      std::string tables_cell;
      const json& tt = arr(at(s, "tables"));
      for (size_t i = 0; i < tt.size() && i < 6; ++i) {
        const std::string k = str(tt[i]);
        tables_cell += (i ? "<br>" : "") + swatch(m_colours.get(k)) + text_short(k, 80);
      }
      if (tt.size() > 6) tables_cell += fmt::format("<br><span class=\"note\">and {} more</span>", tt.size() - 6);
      o += fmt::format("<tr><td class=\"name\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                       "<td class=\"n\">{}</td><td class=\"name tl\">{}</td></tr>\n",
                       fp, bytes(b), percent(share_of(b, m_total)), count(u64(at(s, "rows"))),
                       count(u64(at(s, "rows_events")) + u64(at(s, "query_events"))), tables_cell);
    }
    o += "</tbody>\n</table>\n</section>\n";
  }

  void baseline() {
    const json& view = at(m_r, "baseline");
    o += "<section id=\"baseline\">\n<h2>Baseline comparison</h2>\n";
    if (!view.is_object()) {
      o += "<p class=\"note\">No baseline given (<code>--baseline FILE...</code> compares each table's rate "
           "with a normal period).</p>\n</section>\n";
      return;
    }
    const double alert = num(at(view, "ratio_alert"));
    const json& bfiles = arr(at(view, "files"));
    o += fmt::format("<p class=\"muted\">Rates per hour of covered time: this report {} vs the baseline {} "
                     "({} file{}); tables above {} are flagged.</p>\n",
                     duration(u64(at(view, "incident_covered_seconds"))), duration(u64(at(view, "covered_seconds"))),
                     count(bfiles.size()), bfiles.size() == 1 ? "" : "s",
                     alert > 0 ? fmt::format("{:g}x", alert) : std::string("the alert ratio"));
    auto rows = [&](const json& list, bool with_column, size_t limit) {
      o += "<table>\n<thead><tr><th>Table</th>";
      if (with_column) o += "<th>Column</th>";
      o += "<th class=\"n\">Bytes</th><th class=\"n\">Rate / h</th><th class=\"n\">Baseline / h</th>"
           "<th class=\"n\">Ratio</th><th></th></tr></thead>\n<tbody>\n";
      size_t n = 0;
      for (const auto& b : list) {
        if (++n > limit) {
          o += fmt::format("<tr><td colspan=\"7\">and {} more (see --format json)</td></tr>\n", count(list.size() - limit));
          break;
        }
        const bool flag = at(b, "flagged").is_boolean() && at(b, "flagged").get<bool>();
        const json& r = at(b, "ratio");
        const std::string key = table_key(b);
        std::string ratio = has_num(r) ? ratio_text(r.get<double>()) : "<span class=\"badge new\">new</span>";
        std::string badge = flag ? "<span class=\"badge alert-b\">ALERT</span>" : "";
        o += fmt::format("<tr{}><td class=\"name\">{}{}</td>", flag ? " class=\"flag\"" : "", swatch(m_colours.get(key)),
                         text(key));
        if (with_column) o += "<td class=\"name\">" + text(str(at(b, "column"))) + "</td>";
        o += fmt::format("<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                         "<td>{}</td></tr>\n",
                         bytes(u64(at(b, "bytes"))), bytes(num(at(b, "rate_per_hour"))),
                         bytes(num(at(b, "baseline_rate_per_hour"))), flag ? "<b>" + ratio + "</b>" : ratio, badge);
      }
      o += "</tbody>\n</table>\n";
    };
    const json& bt = arr(at(view, "tables"));
    if (bt.empty()) {
      o += "<p class=\"note\">No tables to compare.</p>\n";
    } else {
      rows(bt, false, 100);
    }
    const json& bc = arr(at(view, "columns"));
    if (!bc.empty()) {
      o += "<h3>Columns</h3>\n";
      rows(bc, true, 30);
    }
    o += "</section>\n";
  }

  void types() {
    const json& view = arr(at(m_r, "types"));
    if (view.empty()) return;
    o += "<section id=\"types\">\n<details><summary>Event types</summary>\n<table>\n<thead><tr><th>Event type</th>"
         "<th class=\"n\">Code</th><th class=\"n\">Events</th><th class=\"n\">Bytes</th><th class=\"n\">Share</th></tr>"
         "</thead>\n<tbody>\n";
    for (const auto& t : view) {
      const uint64_t b = u64(at(t, "bytes"));
      o += fmt::format("<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                       "<td class=\"n\">{}</td></tr>\n",
                       text(str(at(t, "name"))), u64(at(t, "type")), count(u64(at(t, "events"))), bytes(b),
                       percent(share_of(b, m_total)));
    }
    o += "</tbody>\n</table>\n</details>\n</section>\n";
  }

  void errors() {
    const json& errs = arr(at(m_r, "errors"));
    if (errs.empty()) return;
    o += fmt::format("<section id=\"errors\">\n<h2>Errors ({})</h2>\n<table>\n<thead><tr><th>File</th>"
                     "<th class=\"n\">Offset</th><th>Kind</th><th>Detail</th></tr></thead>\n<tbody>\n",
                     count(errs.size()));
    size_t n = 0;
    for (const auto& e : errs) {
      if (++n > 200) {
        o += fmt::format("<tr><td colspan=\"4\">and {} more (see --format json)</td></tr>\n", count(errs.size() - 200));
        break;
      }
      o += fmt::format("<tr><td class=\"name\"><code>{}</code></td><td class=\"n\">{}</td><td>{}</td>"
                       "<td class=\"name\">{}</td></tr>\n",
                       text(str(at(e, "file"))), u64(at(e, "offset")), text(str(at(e, "kind"))),
                       text_short(str(at(e, "detail")), 500));
    }
    o += "</tbody>\n</table>\n</section>\n";
  }

  void files() {
    const json& fs = arr(at(m_r, "files"));
    o += "<section id=\"files\">\n<h2>Files</h2>\n";
    if (fs.empty()) {
      o += "<p class=\"note\">No files.</p>\n";
    } else {
      o += "<table>\n<thead><tr><th>File</th><th class=\"n\">Size</th><th>Server</th><th>Checksum</th>"
           "<th class=\"n\">Events</th><th>First event (UTC)</th><th>Last event (UTC)</th><th>State</th></tr></thead>\n"
           "<tbody>\n";
      for (const auto& f : fs) {
        const bool closed = at(f, "closed_cleanly").is_boolean() && at(f, "closed_cleanly").get<bool>();
        std::string state = closed ? "closed" : "in use / not closed";
        bool bad = false;
        if (const json& torn = at(f, "torn_tail"); torn.is_object()) {
          state += fmt::format(", <b>torn</b> at offset {} ({} bytes)", u64(at(torn, "offset")), u64(at(torn, "bytes")));
          bad = true;
        }
        if (const uint64_t unknown = u64(at(f, "unknown_events")); unknown) {
          state += fmt::format(", {} unknown event{}", count(unknown), unknown == 1 ? "" : "s");
        }
        std::string server = text(str(at(f, "server_version")));
        o += fmt::format("<tr{}><td class=\"name\"><code>{}</code></td><td class=\"n\">{}</td><td>{}</td><td>{}</td>"
                         "<td class=\"n\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td><td>{}</td></tr>\n",
                         bad ? " class=\"flag\"" : "", text(str(at(f, "path"))), bytes(u64(at(f, "size"))),
                         server.empty() ? "?" : server, text(str(at(f, "checksum"))), count(u64(at(f, "events"))),
                         time_or_dash(at(f, "first_event_time")), time_or_dash(at(f, "last_event_time")), state);
      }
      o += "</tbody>\n</table>\n";
    }
    // Filters, when any was given.
    const json& fl = at(m_r, "filters");
    std::string list;
    for (const char* k : {"start_datetime", "stop_datetime", "start_position", "stop_position"}) {
      const json& v = at(fl, k);
      std::string option = k;
      std::replace(option.begin(), option.end(), '_', '-');
      if (v.is_string()) list += fmt::format("<li><code>--{}</code> {}</li>", option, text(v.get<std::string>()));
      if (v.is_number()) list += fmt::format("<li><code>--{}</code> {}</li>", option, u64(v));
    }
    for (const char* k : {"databases", "tables"}) {
      const json& v = arr(at(fl, k));
      if (v.empty()) continue;
      std::string names;
      for (const auto& n : v) names += (names.empty() ? "" : ", ") + text(str(n));
      list += fmt::format("<li><code>--{}</code> {}</li>", k == std::string_view("databases") ? "database" : "table",
                          names);
    }
    if (!list.empty()) {
      o += "<h3>Filters</h3>\n<ul>" + list + "</ul>\n";
    }
    o += "</section>\n";
  }
};

}  // namespace

std::string report_html(const nlohmann::ordered_json& report) { return Renderer(report).render(); }

}  // namespace binwatch
