#pragma once
// Runs a command (no shell) and captures its standard output; standard error passes through.
#include <string>
#include <vector>

namespace binwatch::net {

struct CommandResult {
  bool started = false;
  int exit_code = -1;   // exit status when it exited
  int signal = 0;       // terminating signal, 0 if it exited
  std::string out;
  std::string error;    // why it could not start (errno text)
};

CommandResult run_command(const std::vector<std::string>& argv);

// "exited with status 3", "killed by signal 9 (Killed)", "could not start: No such file ...".
std::string describe_failure(const CommandResult& r);

}  // namespace binwatch::net
