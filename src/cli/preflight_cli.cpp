// `binwatch preflight` options (CLI11); the work is in src/preflight/.
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "binwatch/mysql/connection.h"
#include "binwatch/policy/preflight_policy.h"
#include "binwatch/preflight/preflight.h"
#include "binwatch/preflight/render.h"
#include "commands.h"

namespace binwatch::cli {

namespace {

struct PreflightArgs {
  mysql::ConnectionOptions connection;
  std::string dsn;
  preflight::PreflightRequest request;
  std::optional<uint64_t> rows;
  std::string policy_file;
  std::optional<uint64_t> reserve_bytes;
  std::optional<double> reserve_percent;
  std::optional<double> warn_ttf;
  std::optional<uint64_t> max_tx;
  std::optional<double> rows_per_second;
  std::optional<uint64_t> free_bytes, total_bytes;
  std::optional<double> growth;
  bool json = false;
};

int run(PreflightArgs& a) {
  try {
    if (!a.dsn.empty()) mysql::apply_dsn(a.dsn, a.connection);
    policy::PreflightPolicy pol;
    if (!a.policy_file.empty()) {
      std::ifstream in(a.policy_file);
      if (!in) throw std::invalid_argument("cannot read policy file " + a.policy_file);
      std::stringstream ss;
      ss << in.rdbuf();
      pol = policy::parse_preflight_policy(ss.str(), pol);
    }
    if (a.reserve_bytes) pol.reserve_bytes = *a.reserve_bytes;
    if (a.reserve_percent) pol.reserve_percent = *a.reserve_percent;
    if (a.warn_ttf) pol.warn_time_to_full_seconds = *a.warn_ttf;
    if (a.max_tx) pol.max_transaction_bytes = *a.max_tx;
    if (a.rows_per_second) {
      pol.assumed_rows_per_second = *a.rows_per_second;
      pol.assumed_orm_rows_per_second = *a.rows_per_second;
    }
    auto& req = a.request;
    req.rows = a.rows;
    req.free_bytes = a.free_bytes;
    req.total_bytes = a.total_bytes;
    req.growth_bytes_per_second = a.growth;
    const auto& h = a.connection.host;
    req.local_server = h.empty() || h == "localhost" || h == "127.0.0.1" || h == "::1";
    mysql::Connection conn(a.connection);
    const auto result = preflight::run_preflight(conn, req, pol);
    if (a.json) {
      std::cout << result_json(result).dump(2) << "\n";
    } else {
      std::cout << result_table(result);
    }
    std::cout.flush();
    if (!result.verdict) {
      fmt::print(stderr, "binwatch preflight: no verdict: {}\n", result.partition.source);
      return 2;
    }
    return policy::exit_code(result.verdict->decision);
  } catch (const std::exception& e) {
    fmt::print(stderr, "binwatch preflight: error: {}\n", e.what());
    return 2;
  }
}

}  // namespace

Subcommand add_preflight_command(CLI::App& app) {
  auto a = std::make_shared<PreflightArgs>();
  CLI::App* p = app.add_subcommand(
      "preflight",
      "Estimate the binlog bytes a bulk DELETE/UPDATE job will write (with a low/high range) from "
      "the server's real settings and sampled rows, and decide whether it fits the binlog "
      "partition. Exit 0: go; 10: throttle (a batch size and sleep are suggested); 20: no-go "
      "(the missing bytes are shown); 2: error. The password comes only from --defaults-file or "
      "the environment (BINWATCH_MYSQL_PASSWORD, MYSQL_PWD).");
  auto& c = a->connection;
  auto& r = a->request;
  p->add_option("--dsn", a->dsn, "mysql://user@host:port/db (no password here)");
  p->add_option("--socket", c.socket, "Unix socket of the server");
  p->add_option("--defaults-file", c.defaults_file,
                "Option file read for [client] and [binwatch] (host, user, password, socket)");
  p->add_option("--sql", r.sql, "The job: \"DELETE FROM db.t WHERE ...\" or \"UPDATE db.t SET ... WHERE ...\"");
  p->add_option("--table", r.table, "The job deletes from db.t (with --where or --rows)");
  p->add_option("--where", r.where, "Condition of the DELETE (with --table)");
  p->add_option("--rows", a->rows, "Number of rows the job deletes (rows are sampled from the whole table)");
  p->add_option("--per-row", r.per_row,
                "Statement an ORM runs for every deleted row, :column binds the deleted row's "
                "value, e.g. \"UPDATE db.parent SET posts_count = posts_count - 1 WHERE id = "
                ":parent_id\" (repeatable; models counter caches and touch)");
  p->add_option("--batch-rows", r.batch_rows, "Rows per batch (statement with LIMIT, one transaction each); 0 = all at once")
      ->capture_default_str();
  p->add_option("--sleep-ms", r.sleep_ms, "Sleep between batches")->capture_default_str();
  p->add_flag("--exact", r.exact, "Count matching rows with COUNT(*) instead of EXPLAIN/sampling");
  p->add_option("--sample-rows", r.sample_rows, "Rows sampled for row-image sizes")->capture_default_str();
  p->add_option("--binlog-dir", r.binlog_dir,
                "Directory on the binlog partition (default: dirname of @@log_bin_basename, when "
                "the server runs on this host)");
  p->add_option("--free-bytes", a->free_bytes, "Free bytes on the binlog partition, instead of statvfs");
  p->add_option("--total-bytes", a->total_bytes, "Size of the binlog partition, with --free-bytes");
  p->add_option("--growth-bytes-per-sec", a->growth, "Current binlog growth, instead of measuring it");
  p->add_option("--growth-sample-ms", r.growth_sample_ms,
                "Measure current binlog growth over at least this long (SHOW MASTER STATUS)")
      ->capture_default_str();
  p->add_option("--policy", a->policy_file, "Policy file (TOML, see policies/preflight.toml)");
  p->add_option("--reserve-bytes", a->reserve_bytes, "Bytes that must stay free (policy reserve.bytes)");
  p->add_option("--reserve-percent", a->reserve_percent, "Percent of the partition that must stay free");
  p->add_option("--warn-time-to-full", a->warn_ttf, "Seconds the projected time to full must stay above");
  p->add_option("--max-transaction-bytes", a->max_tx, "Largest transaction (burst) allowed");
  p->add_option("--rows-per-second", a->rows_per_second, "Assumed apply speed of the job without sleeps");
  p->add_option("--sidecar", r.sidecar_url,
                "Base URL of a running `binwatch watch` (e.g. http://127.0.0.1:9874): its observed bytes "
                "per row of the table are shown beside the estimate, and used for the estimate and the "
                "verdict when the job is logged as rows in batches and it saw at least 1000 rows of "
                "the job's kind (deletes/updates), 90% or more of the table's rows; its binlog "
                "partition is used when none can be statvfs'ed here. Unreachable: a warning");
  p->add_flag("--json", a->json, "JSON output with every number");
  return {p, [a] { return run(*a); }};
}

}  // namespace binwatch::cli
