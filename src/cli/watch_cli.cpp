// `binwatch watch`, `binwatch status`, `binwatch check-config` options (CLI11); the work is in
// src/watch/ (binwatch::watch::run_daemon).
#include <cstdlib>
#include <iostream>
#include <memory>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "binwatch/watch/daemon.h"
#include "binwatch/watch/watch_config.h"
#include "commands.h"

namespace binwatch::cli {

namespace {

void log_to_stderr() {
  auto logger = spdlog::stderr_logger_mt("binwatch");
  // Under systemd the journal adds time and unit: keep lines short there.
  if (std::getenv("JOURNAL_STREAM")) logger->set_pattern("%l: %v");
  else logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  spdlog::set_default_logger(logger);
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (std::abs(b) >= 1024 && u < 5) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", b, units[u]);
  return buf;
}

std::string human_seconds(const nlohmann::json& v) {
  if (v.is_null()) return "never";
  double s = v.get<double>();
  char buf[32];
  if (s < 120) std::snprintf(buf, sizeof buf, "%.0f s", s);
  else if (s < 7200) std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  else if (s < 172800) std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  else std::snprintf(buf, sizeof buf, "%.1f d", s / 86400);
  return buf;
}

int print_status(const std::string& url, bool as_json) {
  std::string base = url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  httplib::Client client(base);
  client.set_connection_timeout(3);
  client.set_read_timeout(10);
  auto res = client.Get("/api/v1/status");
  if (!res) {
    std::cerr << "binwatch status: cannot reach " << base << " (" << httplib::to_string(res.error())
              << "); is `binwatch watch` running?\n";
    return 2;
  }
  if (res->status != 200) {
    std::cerr << "binwatch status: " << base << " answered HTTP " << res->status << "\n";
    return 2;
  }
  if (as_json) {
    std::cout << res->body;
    return 0;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(res->body);
  } catch (const std::exception& e) {
    std::cerr << "binwatch status: not a status document: " << e.what() << "\n";
    return 2;
  }
  std::cout << "source    " << j["source"]["mode"].get<std::string>() << " (" << j["source"]["index"].get<std::string>()
            << ")\n";
  std::cout << "position  " << j["position"]["file"].get<std::string>() << ":" << j["position"]["offset"]
            << "   lag " << human_bytes(j["lag_bytes"].get<double>()) << "\n";
  std::cout << "counted   " << human_bytes(j["total_bytes"].get<double>()) << " since "
            << j["start"]["file"].get<std::string>() << ":" << j["start"]["offset"] << "\n";
  for (const auto& r : j["rates"]) {
    std::cout << "rate " << r["window"].get<std::string>() << "   " << human_bytes(r["bytes_per_second"].get<double>())
              << "/s";
    int n = 0;
    for (const auto& t : r["top_tables"]) {
      if (n++ == 3) break;
      std::cout << (n == 1 ? "   top: " : ", ") << t["schema"].get<std::string>() << "." << t["table"].get<std::string>()
                << " " << human_bytes(t["bytes_per_second"].get<double>()) << "/s";
    }
    std::cout << "\n";
  }
  for (const auto& p : j["partitions"]) {
    std::string roles;
    for (const auto& r : p["roles"]) roles += (roles.empty() ? "" : ",") + r.get<std::string>();
    std::cout << "partition " << p["mount"].get<std::string>() << " (" << roles << "): "
              << human_bytes(p["avail"].get<double>()) << " free of " << human_bytes(p["size"].get<double>())
              << ", growth " << human_bytes(p["growth_bytes_per_second"]["used"].get<double>()) << "/s, full in "
              << human_seconds(p["time_to_full_seconds"]) << " (with open transactions: "
              << human_seconds(p["time_to_full_with_burst_seconds"]) << ")\n";
  }
  if (j["server"]["configured"].get<bool>() && !j["server"]["connected"].get<bool>())
    std::cout << "server    not answering: " << j["server"]["error"].get<std::string>() << "\n";
  if (j.contains("error")) std::cout << "error     " << j["error"].get<std::string>() << "\n";
  return 0;
}

}  // namespace

Subcommand add_watch_command(CLI::App& app) {
  auto config = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "watch",
      "Sidecar daemon: follows the binlog live, attributes every byte to tables, projects when each "
      "partition the server writes to will be full, serves /metrics and /api/v1/status. Runs in the "
      "foreground (systemd Type=notify); SIGHUP reloads the configuration, SIGTERM stops with a final "
      "checkpoint.\nExit 0: stopped by a signal; 1: the follower failed; 2: bad configuration.");
  cmd->add_option("--config", *config, "binwatch.toml (see systemd/binwatch.toml)")->required();
  return {cmd, [config] {
            log_to_stderr();
            try {
              return watch::run_daemon(*config);
            } catch (const watch::ConfigError& e) {
              spdlog::error("{}", e.what());
              return 2;
            } catch (const std::exception& e) {
              spdlog::error("{}", e.what());
              return 1;
            }
          }};
}

Subcommand add_status_command(CLI::App& app) {
  struct Args {
    std::string url = "http://127.0.0.1:9874";
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("status", "Shows what a running `binwatch watch` reports (/api/v1/status).\n"
                                               "Exit 0: shown; 2: the daemon cannot be reached.");
  cmd->add_option("--url", a->url, "The daemon's HTTP address")->capture_default_str();
  cmd->add_flag("--json", a->json, "Print the status document as it is");
  return {cmd, [a] { return print_status(a->url, a->json); }};
}

Subcommand add_check_config_command(CLI::App& app) {
  auto file = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("check-config", "Validates a binwatch.toml (FILE:LINE: key: problem).\n"
                                                     "Exit 0: valid; 2: not valid.");
  cmd->add_option("file", *file, "The configuration file")->required();
  return {cmd, [file] {
            try {
              const auto c = watch::load_watch_config(*file);
              std::cout << *file << ": OK (source " << (c.mode == watch::SourceMode::Local ? "local" : "replication")
                        << ", state " << c.state_dir << ", http " << c.listen_host << ":" << c.listen_port
                        << ", " << c.mounts.size() << " mount override(s)"
                        << (c.has_mysql() ? ", control plane SQL on" : ", no SQL connection") << ")\n";
              if (c.mode == watch::SourceMode::Replication)
                std::cout << "replication: server_id " << c.server_id << ", heartbeat " << c.heartbeat_ms
                          << " ms, reconnect back-off " << c.reconnect_min_ms << ".." << c.reconnect_max_ms << " ms"
                          << (c.binlog_index.empty() && c.binlog_dir.empty()
                                  ? "; no local binlog folder: lag from SHOW BINARY LOGS, no expiry projection"
                                  : "")
                          << "\n";
              return 0;
            } catch (const std::exception& e) {
              std::cerr << e.what() << "\n";
              return 2;
            }
          }};
}

}  // namespace binwatch::cli
