#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "binwatch/cli.h"
#include "binwatch/byte_source.h"
#include "binwatch/report.h"

namespace binwatch::cli {

int run_report(const ReportArgs& args) {
  ReportOptions options;
  options.threads = args.threads;
  options.scan.verify_checksums = args.verify_checksums;
  Report report;
  try {
    report = build_report(expand_inputs(args.files), options);
  } catch (const std::exception& e) {
    fmt::print(stderr, "binwatch report: error: {}\n", e.what());
    return 2;
  }
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
  if (args.format == "json") {
    std::cout << dump_json(report_json(report)) << "\n";
  } else {
    std::cout << report_table(report);
  }
  std::cout.flush();
  if (!std::cout) {
    fmt::print(stderr, "binwatch report: error: writing the report failed\n");
    return 2;
  }
  return report.attribution.errors.empty() ? 0 : 1;
}

}  // namespace binwatch::cli
