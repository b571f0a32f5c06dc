// `binwatch watch`, `binwatch status`, `binwatch check-config` options (CLI11); the work is in
// src/watch/ (binwatch::watch::run_daemon).
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

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

// GET /api/v1/status of a running daemon: the body, or nullopt after saying why on stderr.
std::optional<std::string> fetch_status(const std::string& url, const char* command) {
  std::string base = url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  httplib::Client client(base);
  client.set_connection_timeout(3);
  client.set_read_timeout(10);
  auto res = client.Get("/api/v1/status");
  if (!res) {
    std::cerr << "binwatch " << command << ": cannot reach " << base << " (" << httplib::to_string(res.error())
              << "); is `binwatch watch` running?\n";
    return std::nullopt;
  }
  if (res->status != 200) {
    std::cerr << "binwatch " << command << ": " << base << " answered HTTP " << res->status << "\n";
    return std::nullopt;
  }
  return res->body;
}

std::optional<nlohmann::json> parse_status(const std::string& body, const char* command) {
  try {
    return nlohmann::json::parse(body);
  } catch (const std::exception& e) {
    std::cerr << "binwatch " << command << ": not a status document: " << e.what() << "\n";
    return std::nullopt;
  }
}

int print_status(const std::string& url, bool as_json) {
  const auto body = fetch_status(url, "status");
  if (!body) return 2;
  if (as_json) {
    std::cout << *body;
    return 0;
  }
  const auto parsed = parse_status(*body, "status");
  if (!parsed) return 2;
  nlohmann::json j = *parsed;
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
  if (j.contains("throttle") && j["throttle"].is_object()) {
    const auto& t = j["throttle"];
    std::cout << "throttle  " << t.value("level", std::string("?")) << ": " << t.value("reason", std::string()) << "\n";
    const auto bulk = t.value("bulk_sessions", nlohmann::json::array());
    if (!bulk.empty()) std::cout << "          " << bulk.size() << " bulk session(s) on the server\n";
  }
  if (j.contains("error")) std::cout << "error     " << j["error"].get<std::string>() << "\n";
  return 0;
}

std::string text_of(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// Exit 0: every replica replicates without error and no integrity finding is open; 1 otherwise.
int print_replicas(const std::string& url, bool as_json) {
  const auto body = fetch_status(url, "replicas");
  if (!body) return 2;
  const auto parsed = parse_status(*body, "replicas");
  if (!parsed) return 2;
  nlohmann::json j = *parsed;
  nlohmann::json replicas = j.value("replicas", nlohmann::json::array());
  nlohmann::json integrity = j.value("integrity", nlohmann::json::array());
  bool healthy = true;
  for (const auto& r : replicas)
    healthy = healthy && r["up"].get<bool>() && r["io"]["running"].get<bool>() && r["sql"]["running"].get<bool>() &&
              r["io"]["last_errno"] == 0 && r["sql"]["last_errno"] == 0;
  for (const auto& f : integrity) healthy = healthy && f["resolved"].get<bool>();
  if (as_json) {
    nlohmann::json out = {{"replicas", replicas},
                          {"integrity", integrity},
                          {"replication", j.value("replication", nlohmann::json())},
                          {"healthy", healthy}};
    std::cout << out.dump(2) << "\n";
    return healthy ? 0 : 1;
  }
  if (replicas.empty()) std::cout << "no [[replicas]] configured\n";
  for (const auto& r : replicas) {
    std::cout << "replica " << r["name"].get<std::string>() << " (" << text_of(r["endpoint"]) << ", server_id "
              << text_of(r["server_id"]) << "): " << (r["up"].get<bool>() ? "answering" : "NOT ANSWERING: " + text_of(r["error"]))
              << "\n";
    if (!r["up"].get<bool>()) continue;
    if (!r["replicating"].get<bool>()) {
      std::cout << "  not a replica (SHOW SLAVE STATUS is empty)\n";
      continue;
    }
    for (const char* t : {"io", "sql"}) {
      const auto& th = r[t];
      std::cout << "  " << (std::string(t) == "io" ? "io " : "sql") << " " << th["state"].get<std::string>();
      if (!th["activity"].is_null()) std::cout << " (" << th["activity"].get<std::string>() << ")";
      if (std::string(t) == "io")
        std::cout << "   read " << text_of(r["read"]["file"]) << ":" << text_of(r["read"]["position"]);
      else
        std::cout << "   exec " << text_of(r["exec"]["file"]) << ":" << text_of(r["exec"]["position"]);
      std::cout << "\n";
      if (th["last_errno"] != 0) {
        std::cout << "      error " << th["last_errno"] << ": " << text_of(th["last_error"]) << "\n";
        if (!th["explanation"].is_null()) std::cout << "      meaning: " << th["explanation"].get<std::string>() << "\n";
      }
    }
    const auto& hb = r["heartbeat"];
    std::cout << "  lag     heartbeat "
              << (hb["lag_seconds"].is_null() ? "-" : std::to_string(hb["lag_seconds"].get<double>()).substr(0, 6) + " s")
              << ", Seconds_Behind_Master " << text_of(r["seconds_behind_master"])
              << ", relay logs " << (r["relay_log_space"].is_null() ? "-" : human_bytes(r["relay_log_space"].get<double>()))
              << "\n";
    if (!hb["error"].is_null()) std::cout << "  heartbeat: " << hb["error"].get<std::string>() << "\n";
  }
  if (j.contains("replication")) {
    const auto& p = j["replication"];
    std::cout << "primary server_id " << text_of(p["server_id"]) << ": " << p["dump_threads"].size()
              << " binlog dump thread(s), " << p["registered"].size() << " registered replica(s)";
    if (!p["heartbeat"].is_null())
      std::cout << "; heartbeat " << p["heartbeat"]["table"].get<std::string>() << ": " << p["heartbeat"]["writes"]
                << " writes, last " << text_of(p["heartbeat"]["last_ts"])
                << (p["heartbeat"]["error"].is_null() ? "" : ", error: " + text_of(p["heartbeat"]["error"]));
    std::cout << "\n";
    if (!p["discovery_error"].is_null()) std::cout << "  discovery: " << p["discovery_error"].get<std::string>() << "\n";
  }
  std::cout << "integrity: " << (integrity.empty() ? "no finding" : std::to_string(integrity.size()) + " finding(s)")
            << "\n";
  for (const auto& f : integrity) {
    std::cout << "  " << f["file"].get<std::string>() << " " << f["kind"].get<std::string>() << " at " << f["offset"]
              << " (" << f["bytes"] << " bytes), last good position " << f["last_good_position"]
              << (f["resolved"].get<bool>() ? " [resolved]" : "") << (f["served"].get<bool>() ? "" : " [not in the index]")
              << "\n      " << f["cause"].get<std::string>() << "\n";
    if (f["replicas"].is_array())
      for (const auto& r : f["replicas"])
        std::cout << "      replica " << r["replica"].get<std::string>() << " read "
                  << (r["read_at_or_before_last_good"].get<bool>() ? "at or before" : "past") << " it ("
                  << r["read"]["file"].get<std::string>() << ":" << r["read"]["position"] << ")\n";
  }
  return healthy ? 0 : 1;
}

}  // namespace

Subcommand add_replicas_command(CLI::App& app) {
  struct Args {
    std::string url = "http://127.0.0.1:9874";
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "replicas",
      "Shows the replicas and binlog integrity findings a running `binwatch watch` reports.\n"
      "Exit 0: replicas replicate without error and no finding is open; 1: something is wrong; 2: the daemon "
      "cannot be reached.");
  cmd->add_option("--url", a->url, "The daemon's HTTP address")->capture_default_str();
  cmd->add_flag("--json", a->json, "Print replicas[], integrity[] and replication as JSON");
  return {cmd, [a] { return print_replicas(a->url, a->json); }};
}

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
              if (!c.replicas.empty() || c.heartbeat.enabled())
                std::cout << "replication health: " << c.replicas.size() << " replica(s)"
                          << (c.heartbeat.enabled() ? ", heartbeat " + c.heartbeat.table +
                                                          (c.heartbeat.write ? " (written every " +
                                                                                   std::to_string(c.heartbeat.interval_ms) + " ms)"
                                                                             : " (read only)")
                                                    : std::string(", no heartbeat"))
                          << "\n";
              return 0;
            } catch (const std::exception& e) {
              std::cerr << e.what() << "\n";
              return 2;
            }
          }};
}

}  // namespace binwatch::cli
