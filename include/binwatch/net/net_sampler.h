#pragma once
// One observation of the host: /proc counters from a procfs root, connection tracking evidence,
// and (for the live namespace only) listeners over sock_diag with their owners.
#include <filesystem>

#include "binwatch/net/net_watch.h"
#include "binwatch/net/procfs_reader.h"

namespace binwatch::net {

struct SamplerOptions {
  std::filesystem::path proc_root = "/proc";
  bool listeners = true;  // sock_diag in this process's network namespace
};

struct Sample {
  Observation observation;
  ProcSnapshot snapshot;
  std::string listener_error;  // why listeners are missing, if they are
};

// Throws ProcfsError (naming the file) when the procfs root is unusable. `now` is the caller's
// monotonic time in seconds.
Sample take_sample(const SamplerOptions& options, double now);

// Seconds on the steady clock (the real clock for the CLI; tests pass their own times).
double monotonic_seconds();

}  // namespace binwatch::net
