#pragma once
// `binwatch watch`: wires the sidecar's threads (ARCHITECTURE.md "Threads in the daemon"):
//   data plane    Follower on a BinlogFeed (never waits on anything but its own reads)
//   checkpointer  writes the follower's latest boundary snapshot atomically, at most once per interval
//   sampler       once a second: rates; every sample interval: statvfs, projection (control plane)
//   sql poller    server variables and INNODB_TRX over its own connection; hands the latest
//                 observation over a one-slot mailbox (latest wins), so a hung server only ages it
//   http          /metrics, /api/v1/status on 127.0.0.1
// The main thread waits for signals: SIGHUP reloads the configuration, SIGTERM/SIGINT stop with a
// final checkpoint.
#include <string>

#include "binwatch/watch/watch_config.h"

namespace binwatch::watch {

// Runs until SIGTERM/SIGINT (0) or a fatal error (1, logged). Configuration problems throw
// ConfigError before anything starts.
int run_daemon(const std::string& config_path);

}  // namespace binwatch::watch
