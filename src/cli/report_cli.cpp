// `binwatch report` options (CLI11); the work is in report_command.cpp.
#include <memory>

#include "binwatch/cli.h"
#include "commands.h"

namespace binwatch::cli {

Subcommand add_report_command(CLI::App& app) {
  auto r = std::make_shared<ReportArgs>();
  CLI::App* rep = app.add_subcommand(
      "report",
      "Forensic report of binlog files: which tables, columns, statements, transactions and "
      "minutes wrote the bytes. Every byte is attributed to a table (TABLE_MAP + ROWS events), "
      "statements (QUERY events), overhead, torn tails, corrupt events or the filtered-out part.\n"
      "Exit 0: report written; 1: report written but some events failed their checksum or could "
      "not be decoded; 2: no report.");
  rep->add_option("files", r->files,
                  "Binlog files in order (relay logs too); *.gz and *.zst archives are decompressed "
                  "on the fly; a binlog index (*.index, e.g. mysql-bin.index) expands to the files "
                  "it lists; - reads standard input")
      ->required();
  rep->add_option("--by", r->by,
                  "Views, comma-separated or repeated: table, column, statement, transaction, "
                  "minute, type (default: table; --format html shows all)")
      ->allow_extra_args(false)
      ->delimiter(',')
      ->check(CLI::IsMember({"table", "column", "statement", "transaction", "minute", "type"}));
  rep->add_option("--format", r->format,
                  "table (terminal), json (everything), csv (one view: --by X; several views need "
                  "-o DIR, one VIEW.csv each), html (one self-contained page with charts)")
      ->check(CLI::IsMember({"table", "json", "csv", "html"}))
      ->capture_default_str();
  rep->add_option("-o,--output", r->output,
                  "Write to this file instead of standard output (a directory for several CSV views)");
  rep->add_option("--top", r->top, "Transactions listed in the transaction view")->capture_default_str();
  rep->add_option("--top-tables", r->top_tables, "Tables shown separately in the minute view (the rest folded)")
      ->capture_default_str();
  rep->add_option("--start-datetime", r->start_datetime,
                  "Only events at or after this time: 'YYYY-MM-DD HH:MM:SS' in local time as "
                  "mysqlbinlog reads it, or ISO 8601 with Z or an offset");
  rep->add_option("--stop-datetime", r->stop_datetime, "Only events before this time (same forms)");
  rep->add_option("--start-position", r->start_position,
                  "Skip to this byte offset in the first file (the format description is still read)");
  rep->add_option("--stop-position", r->stop_position,
                  "Ignore events starting at or after this offset in the last file");
  rep->add_option("-d,--database", r->databases,
                  "Only tables of this database (repeatable); QUERY events count when it is their "
                  "default database")
      ->allow_extra_args(false);
  rep->add_option("--table", r->tables, "Only this table, as db.table or table (repeatable)")->allow_extra_args(false);
  rep->add_option("--baseline", r->baseline,
                  "Binlogs of normal traffic to compare with: per table and column, both rates per "
                  "hour of covered time and their ratio (takes every following argument: put it last)")
      ->expected(1, -1);
  rep->add_option("--ratio-alert", r->ratio_alert, "Flag tables and columns at or above this ratio over the baseline")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  rep->add_option("--threads", r->threads, "Files decoded in parallel (0 = one per core)")->capture_default_str();
  rep->add_option("--progress", r->progress,
                  "Progress bar on standard error: auto (when it is a terminal and the format is not json), "
                  "always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  rep->add_option("--dsn", r->dsn,
                  "mysql://user@host:port/db of the server that wrote the binlogs: column names from "
                  "information_schema where the binlog has none (no password here: it comes from "
                  "--defaults-file or BINWATCH_MYSQL_PASSWORD/MYSQL_PWD)");
  rep->add_option("--socket", r->socket, "Unix socket of that server (instead of --dsn)");
  rep->add_option("--defaults-file", r->defaults_file,
                  "Option file read for [client] and [binwatch] (host, user, password, socket)");
  rep->add_flag("!--no-verify-checksums", r->verify_checksums,
                "Skip CRC32 verification (faster; corrupt events then go undetected)");
  return {rep, [r] { return run_report(*r); }};
}

}  // namespace binwatch::cli
