#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "binwatch/byte_source.h"
#include "binwatch/cli.h"
#include "binwatch/mysql/connection.h"
#include "binwatch/report.h"
#include "binwatch/report_html.h"

namespace binwatch::cli {

namespace {

// A progress line on standard error: bytes read, rate and ETA, redrawn a few times a second.
class ProgressBar {
 public:
  ProgressBar(std::atomic<uint64_t>& done, std::optional<uint64_t> total) : m_done(done), m_total(total) {
    m_thread = std::thread([this] { loop(); });
  }
  ~ProgressBar() {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_wake.notify_all();
    m_thread.join();
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
  }

 private:
  void loop() {
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock lock(m_mutex);
    // Drawn at once, then every 200 ms until the work is done.
    for (bool first = true; first || !m_wake.wait_for(lock, std::chrono::milliseconds(200), [this] { return m_stop; });
         first = false) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const uint64_t done = m_done.load(std::memory_order_relaxed);
      const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
      std::string line;
      if (m_total && *m_total > 0) {
        const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(*m_total));
        const int width = 30;
        const int filled = static_cast<int>(frac * width);
        const double eta = rate > 0 ? static_cast<double>(*m_total - std::min(done, *m_total)) / rate : 0;
        line = fmt::format("[{}{}] {:5.1f}%  {} / {}  {}/s  ETA {:.0f} s", std::string(filled, '#'),
                           std::string(width - filled, '.'), 100 * frac, human_bytes(done),
                           human_bytes(*m_total), human_bytes(static_cast<uint64_t>(rate)), eta);
      } else {
        line = fmt::format("{} read  {}/s", human_bytes(done), human_bytes(static_cast<uint64_t>(rate)));
      }
      fmt::print(stderr, "\r\033[Kbinwatch report: {}", line);
      std::fflush(stderr);
    }
  }

  std::atomic<uint64_t>& m_done;
  std::optional<uint64_t> m_total;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stop = false;
  std::thread m_thread;
};

std::optional<uint64_t> total_input_size(const std::vector<std::string>& paths) {
  uint64_t total = 0;
  for (const auto& p : paths) {
    struct stat st {};
    if (p == "-" || ::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    total += static_cast<uint64_t>(st.st_size);
  }
  return total;
}

// Writes `text` to `path` atomically (temporary file, fsync, rename): a report is whole or absent.
void write_file(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw std::runtime_error(tmp.string() + ": cannot create: " + std::strerror(errno));
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0 &&
                  ::fsync(::fileno(f)) == 0;
  const int err = errno;
  std::fclose(f);
  if (!ok) {
    std::filesystem::remove(tmp);
    throw std::runtime_error(path.string() + ": write failed: " + std::strerror(err));
  }
  std::filesystem::rename(tmp, path);
}

ReportViewSet view_set(const ReportArgs& args) {
  ReportViewSet v;
  if (args.format == "html") {
    v.column = v.statement = v.transaction = v.minute = v.type = true;
    return v;
  }
  if (args.by.empty()) {
    // JSON carries every view: it is for programs, and one pass computes them all.
    if (args.format == "json") v.column = v.statement = v.transaction = v.minute = v.type = true;
    return v;
  }
  v.table = false;
  for (const auto& b : args.by) {
    if (b == "table") v.table = true;
    if (b == "column") v.column = true;
    if (b == "statement") v.statement = true;
    if (b == "transaction") v.transaction = true;
    if (b == "minute") v.minute = true;
    if (b == "type") v.type = true;
  }
  return v;
}

// Fills Report::schema_column_names from information_schema for tables whose binlog events carry
// no column names. A table whose current column count differs from the binlog's is left with @N
// (its definition changed since): a wrong name is worse than none.
void names_from_server(const ReportArgs& args, Report& report) {
  mysql::ConnectionOptions options;
  options.socket = args.socket;
  options.defaults_file = args.defaults_file;
  if (!args.dsn.empty()) mysql::apply_dsn(args.dsn, options);
  mysql::Connection conn(options);
  for (const TableStats& t : report.attribution.tables()) {
    if (!t.column_names.empty() || t.columns.before.empty()) continue;
    auto rows = conn.query(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = " + conn.quote(t.key.schema) +
        " AND TABLE_NAME = " + conn.quote(t.key.table) + " ORDER BY ORDINAL_POSITION");
    std::vector<std::string> names;
    for (const auto& row : rows.rows) names.push_back(row.at(0).value_or(""));
    if (names.empty()) continue;
    if (names.size() != t.columns.before.size()) {
      fmt::print(stderr,
                 "binwatch report: warning: {}.{} has {} columns on {} but {} in the binlog (altered since?); "
                 "its columns stay @N\n",
                 printable(t.key.schema), printable(t.key.table), names.size(), conn.endpoint(),
                 t.columns.before.size());
      continue;
    }
    report.schema_column_names[t.key.schema + "." + t.key.table] = std::move(names);
  }
}

}  // namespace

std::optional<uint32_t> parse_datetime(const std::string& text) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, n = 0;
  char sep = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &s, &n) == 7) {
  } else if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &n) == 6) {
    s = 0;
  } else if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && static_cast<size_t>(n) == text.size()) {
    sep = ' ';
  } else {
    return std::nullopt;
  }
  if (sep != ' ' && sep != 'T') return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  const std::string rest = text.substr(static_cast<size_t>(n));
  int64_t t = 0;
  if (rest.empty()) {
    tm.tm_isdst = -1;
    t = std::mktime(&tm);  // local time, as mysqlbinlog
  } else if (rest == "Z" || rest == "z") {
    t = timegm(&tm);
  } else {
    int oh = 0, om = 0;
    char sign = 0;
    if (std::sscanf(rest.c_str(), "%c%2d:%2d", &sign, &oh, &om) != 3 || (sign != '+' && sign != '-') || rest.size() != 6) {
      return std::nullopt;
    }
    t = timegm(&tm) - (sign == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  }
  if (t < 0 || t > int64_t{UINT32_MAX}) return std::nullopt;
  return static_cast<uint32_t>(t);
}

int run_report(const ReportArgs& args) {
  auto fail = [](const std::string& what) {
    fmt::print(stderr, "binwatch report: error: {}\n", what);
    return 2;
  };
  ReportOptions options;
  options.threads = args.threads;
  options.scan.verify_checksums = args.verify_checksums;
  options.start_position = args.start_position;
  options.stop_position = args.stop_position;
  options.scan.filter.databases = args.databases;
  options.scan.filter.tables = args.tables;
  if (!args.start_datetime.empty()) {
    options.scan.filter.start_time = parse_datetime(args.start_datetime);
    if (!options.scan.filter.start_time) return fail("--start-datetime '" + args.start_datetime + "' is not 'YYYY-MM-DD HH:MM:SS'");
  }
  if (!args.stop_datetime.empty()) {
    options.scan.filter.stop_time = parse_datetime(args.stop_datetime);
    if (!options.scan.filter.stop_time) return fail("--stop-datetime '" + args.stop_datetime + "' is not 'YYYY-MM-DD HH:MM:SS'");
  }
  const ReportViewSet show = view_set(args);
  options.views.statements = show.statement;
  options.views.transactions = show.transaction;
  options.views.minutes = show.minute;
  options.views.top_transactions = args.top;
  std::vector<std::string> csv_views;
  if (args.format == "csv") {
    for (const auto& b : args.by) {
      if (std::find(csv_views.begin(), csv_views.end(), b) == csv_views.end()) csv_views.push_back(b);
    }
    if (csv_views.empty()) csv_views.push_back("table");
    if (!args.baseline.empty()) csv_views.push_back("baseline");
    if (csv_views.size() > 1 && args.output.empty()) {
      return fail("--format csv writes one view to standard output; for several (--by " +
                  fmt::format("{}", fmt::join(csv_views, ",")) + ") give -o DIR to get one VIEW.csv each");
    }
  }

  Report report;
  std::atomic<uint64_t> progress{0};
  const bool show_progress = args.progress == "always" ||
                             (args.progress == "auto" && args.format != "json" && ::isatty(2) == 1);
  try {
    const std::vector<std::string> inputs = expand_inputs(args.files);
    options.progress = &progress;
    {
      std::optional<ProgressBar> bar;
      if (show_progress) bar.emplace(progress, total_input_size(inputs));
      report = build_report(inputs, options);
      if (!args.dsn.empty() || !args.socket.empty() || !args.defaults_file.empty()) {
        try {
          names_from_server(args, report);
        } catch (const std::exception& e) {
          throw std::runtime_error(std::string("column names from information_schema: ") + e.what());
        }
      }
      if (!args.baseline.empty()) {
        ReportOptions base_options;
        base_options.threads = args.threads;
        base_options.scan.verify_checksums = args.verify_checksums;
        base_options.progress = &progress;
        const std::vector<std::string> base_inputs = expand_inputs(args.baseline);
        const Report base = build_report(base_inputs, base_options);
        report.baseline = compare_baseline(report, base, base_inputs, args.ratio_alert);
        for (const auto& e : base.attribution.errors) {
          fmt::print(stderr, "binwatch report: baseline {}: offset {}: {}: {}\n", e.file, e.offset,
                     binlog::error_kind_name(e.kind), printable(e.detail));
        }
      }
    }
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  report.show = show;
  report.top_tables = args.top_tables;

  for (const auto& f : report.files) {
    if (f.torn_tail) {
      fmt::print(stderr,
                 "binwatch report: warning: {}: binlog truncated in the middle of an event at offset "
                 "{} ({} bytes of an incomplete event at the end; disk full or crash while "
                 "writing?)\n",
                 f.path, f.torn_tail->offset, f.torn_tail->bytes);
    }
  }
  for (const auto& e : report.attribution.errors) {
    fmt::print(stderr, "binwatch report: {}: offset {}: {}: {}\n", e.file, e.offset,
               binlog::error_kind_name(e.kind), printable(e.detail));
  }

  try {
    if (args.format == "csv" && csv_views.size() > 1) {
      std::filesystem::create_directories(args.output);
      for (const auto& v : csv_views) {
        write_file(std::filesystem::path(args.output) / (v + ".csv"), report_csv(report, v));
      }
    } else {
      std::string text;
      if (args.format == "json") {
        text = dump_json(report_json(report)) + "\n";
      } else if (args.format == "csv") {
        text = report_csv(report, csv_views.front());
      } else if (args.format == "html") {
        text = report_html(report_json(report));
      } else {
        text = report_table(report);
      }
      if (args.output.empty()) {
        std::cout << text;
        std::cout.flush();
        if (!std::cout) return fail("writing the report to standard output failed");
      } else {
        write_file(args.output, text);
      }
    }
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return report.attribution.errors.empty() ? 0 : 1;
}

}  // namespace binwatch::cli
