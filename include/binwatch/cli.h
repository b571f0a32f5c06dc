#pragma once
// Subcommand entry points; src/main.cpp only parses arguments and calls these.
#include <string>
#include <vector>

namespace binwatch::cli {

struct ReportArgs {
  std::vector<std::string> files;
  std::string format = "table";
  unsigned threads = 0;
  bool verify_checksums = true;
};

// Exit codes: 0 report written (a torn last event is a warning), 1 report written but the input
// had corrupt or undecodable events (listed in errors[]), 2 no report (not a binlog, unreadable,
// encrypted, bad arguments).
int run_report(const ReportArgs& args);

}  // namespace binwatch::cli
