#include "binwatch/watch/replication_health.h"

#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

namespace binwatch::watch {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json nullable(const std::optional<uint64_t>& v) { return v ? json(*v) : json(nullptr); }
json nullable(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json nullable(const std::optional<uint32_t>& v) { return v ? json(*v) : json(nullptr); }
json nullable(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }
json text_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

json finding_json(const IntegrityFinding& f, const char* source) {
  return {{"file", f.file},
          {"offset", f.offset},
          {"bytes", f.bytes},
          {"kind", std::string(integrity_kind_name(f.kind))},
          {"last_good_position", f.last_good},
          {"cause", f.cause},
          {"detail", f.detail},
          {"source", source},
          {"active_file", f.active_file},
          {"resolved", f.resolved},
          {"served", f.served},
          {"detected_at", f.detected_at}};
}

json thread_json(replica::ThreadState state, const std::string& state_text, unsigned errno_, const std::string& error,
                 const std::string& explained) {
  return {{"state", std::string(replica::thread_state_name(state))},
          {"running", state == replica::ThreadState::Running},
          {"activity", text_or_null(state_text)},
          {"last_errno", errno_},
          {"last_error", text_or_null(error)},
          {"explanation", text_or_null(explained)}};
}

}  // namespace

bool at_or_before(const std::string& file, uint64_t offset, const std::string& ref_file, uint64_t ref_offset) {
  if (file == ref_file) return offset <= ref_offset;
  const auto a = binlog_sequence(file), b = binlog_sequence(ref_file);
  return a && b ? *a < *b : file < ref_file;
}

ReplicationHealth::ReplicationHealth(const WatchConfig& cfg, const Follower& follower, fs::path index,
                                     std::optional<mysql::ConnectionOptions> primary)
    : m_follower(follower), m_heartbeat(cfg.heartbeat) {
  if (!index.empty() && cfg.integrity.check_folder) {
    IntegrityCheckerOptions o;
    o.index = std::move(index);
    o.interval_ms = cfg.integrity.interval_ms;
    o.max_read_bytes_per_second = cfg.integrity.max_read_bytes_per_second;
    o.follower_start = [&follower] { return follower.snapshot()->start; };
    m_checker = std::make_shared<IntegrityChecker>(std::move(o));
  }
  if (primary) {
    PrimaryMonitor::Options o;
    o.connection = *primary;
    o.heartbeat = cfg.heartbeat;
    o.discovery_interval_ms = cfg.mysql_poll_interval_ms;
    m_primary = std::make_shared<PrimaryMonitor>(std::move(o));
  }
  for (const auto& t : cfg.replicas) {
    ReplicaMonitor::Options o;
    o.target = t;
    o.heartbeat = cfg.heartbeat;
    if (m_primary) o.primary_server_id = [p = m_primary] { return p->server_id(); };
    m_replicas.push_back(std::make_shared<ReplicaMonitor>(std::move(o)));
  }
}

ReplicationHealth::~ReplicationHealth() { stop(); }

void ReplicationHealth::start() {
  if (m_checker) m_checker_thread = std::thread([c = m_checker] { c->run(); });
  if (m_primary) m_workers.push_back({m_primary, std::thread([p = m_primary] { p->run(); }), "primary monitor"});
  for (const auto& r : m_replicas)
    m_workers.push_back({r, std::thread([r] { r->run(); }), "replica " + r->name()});
}

void ReplicationHealth::stop() {
  if (m_checker) m_checker->stop();
  for (auto& w : m_workers) w.loop->stop();
  if (m_checker_thread.joinable()) m_checker_thread.join();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (auto& w : m_workers) {
    while (!w.loop->done() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!w.thread.joinable()) continue;
    if (w.loop->done()) {
      w.thread.join();
    } else {
      spdlog::warn("{}: the server does not answer; leaving its thread behind", w.name);
      w.thread.detach();  // it holds its own shared_ptr: nothing it touches is freed
    }
  }
  m_workers.clear();
}

void ReplicationHealth::metrics(MetricsWriter& w) const {
  // Integrity: the follower's findings and the checker's.
  const auto log = m_follower.integrity();
  const auto checked = m_checker ? m_checker->snapshot() : nullptr;
  w.family("binwatch_binlog_integrity_errors_total", "counter",
           "Binlog integrity findings raised (torn, corrupt or truncated-in-middle events), follower and folder checker");
  w.family("binwatch_binlog_integrity_findings", "gauge",
           "Integrity findings in the status list, not resolved (files still present)");
  uint64_t open[3] = {};
  for (const auto& f : log->findings)
    if (!f.resolved) ++open[static_cast<size_t>(f.kind)];
  if (checked)
    for (const auto& file : checked->files)
      for (const auto& f : file.findings) ++open[static_cast<size_t>(f.kind)];
  for (auto kind : kIntegrityKinds) {
    const auto k = static_cast<size_t>(kind);
    const uint64_t total = log->counts[k] + (checked ? checked->counts[k] : 0);
    w.sample("binwatch_binlog_integrity_errors_total", {{"kind", std::string(integrity_kind_name(kind))}},
             static_cast<double>(total));
  }
  for (auto kind : kIntegrityKinds)
    w.sample("binwatch_binlog_integrity_findings", {{"kind", std::string(integrity_kind_name(kind))}},
             static_cast<double>(open[static_cast<size_t>(kind)]));
  w.family("binwatch_binlog_integrity_pending_tail_seconds", "gauge",
           "How long the last event of the file being written has been incomplete (0: it is whole)");
  const auto tail = m_follower.pending_tail();
  w.sample("binwatch_binlog_integrity_pending_tail_seconds",
           tail ? std::chrono::duration<double>(std::chrono::steady_clock::now() - tail->since).count() : 0.0);
  if (checked) {
    w.family("binwatch_integrity_checked_files_total", "counter", "Binlog files verified by the folder checker");
    w.sample("binwatch_integrity_checked_files_total", static_cast<double>(checked->files_checked));
    w.family("binwatch_integrity_checked_bytes_total", "counter", "Bytes verified by the folder checker");
    w.sample("binwatch_integrity_checked_bytes_total", static_cast<double>(checked->bytes_checked));
  }

  if (m_primary) {
    const auto p = m_primary->snapshot();
    if (p->discovered) {
      w.family("binwatch_replicas_connected", "gauge", "Binlog Dump threads on the primary (connected replicas)");
      w.sample("binwatch_replicas_connected", static_cast<double>(p->dumps.size()));
      w.family("binwatch_replicas_registered", "gauge", "Replicas registered with the primary (SHOW SLAVE HOSTS)");
      w.sample("binwatch_replicas_registered", static_cast<double>(p->hosts.size()));
    }
    if (m_heartbeat.enabled() && m_heartbeat.write) {
      w.family("binwatch_heartbeat_writes_total", "counter", "Heartbeat rows written on the primary");
      w.sample("binwatch_heartbeat_writes_total", static_cast<double>(p->heartbeat_writes));
      w.family("binwatch_heartbeat_write_errors_total", "counter", "Heartbeat writes that failed");
      w.sample("binwatch_heartbeat_write_errors_total", static_cast<double>(p->heartbeat_errors));
      w.family("binwatch_heartbeat_age_seconds", "gauge", "Seconds since the last heartbeat write succeeded (-1: none)");
      w.sample("binwatch_heartbeat_age_seconds",
               p->heartbeat_written_at > 0 ? unix_time_now() - p->heartbeat_written_at : -1.0);
    }
  }

  if (m_replicas.empty()) return;
  std::vector<std::shared_ptr<const ReplicaObservation>> obs;
  for (const auto& r : m_replicas) obs.push_back(r->snapshot());
  w.family("binwatch_replica_up", "gauge", "1 when the replica answered its last poll");
  for (const auto& o : obs) w.sample("binwatch_replica_up", {{"replica", o->name}}, o->up ? 1 : 0);
  w.family("binwatch_replica_observation_age_seconds", "gauge", "Seconds since the replica last answered (-1: never)");
  for (const auto& o : obs)
    w.sample("binwatch_replica_observation_age_seconds", {{"replica", o->name}},
             o->observed_at ? static_cast<double>(unix_seconds_now() - o->observed_at) : -1.0);
  // Values of a replica that does not answer are not current: only binwatch_replica_up says so.
  w.family("binwatch_replica_running", "gauge", "1 when the replication thread runs (IO: connected to the primary)");
  for (const auto& o : obs) {
    if (!o->up || !o->status.is_replica) continue;
    w.sample("binwatch_replica_running", {{"replica", o->name}, {"thread", "io"}},
             o->status.io == replica::ThreadState::Running ? 1 : 0);
    w.sample("binwatch_replica_running", {{"replica", o->name}, {"thread", "sql"}},
             o->status.sql == replica::ThreadState::Running ? 1 : 0);
  }
  w.family("binwatch_replica_lag_seconds", "gauge",
           "Replication lag: the replica's Seconds_Behind_Master (absent while NULL) and now minus the primary's "
           "heartbeat ts as applied on the replica");
  for (const auto& o : obs) {
    if (!o->up) continue;
    if (o->status.seconds_behind)
      w.sample("binwatch_replica_lag_seconds", {{"replica", o->name}, {"source", "seconds_behind"}},
               static_cast<double>(*o->status.seconds_behind));
    if (o->heartbeat_lag)
      w.sample("binwatch_replica_lag_seconds", {{"replica", o->name}, {"source", "heartbeat"}}, *o->heartbeat_lag);
  }
  w.family("binwatch_replica_last_error_number", "gauge", "Last_IO_Errno / Last_SQL_Errno (0: none; 1236: binlog unreadable)");
  for (const auto& o : obs) {
    if (!o->up || !o->status.is_replica) continue;
    w.sample("binwatch_replica_last_error_number", {{"replica", o->name}, {"thread", "io"}}, o->status.last_io_errno);
    w.sample("binwatch_replica_last_error_number", {{"replica", o->name}, {"thread", "sql"}}, o->status.last_sql_errno);
  }
  w.family("binwatch_replica_relay_log_space_bytes", "gauge", "Relay_Log_Space: bytes of relay logs on the replica");
  for (const auto& o : obs)
    if (o->up && o->status.relay_log_space)
      w.sample("binwatch_replica_relay_log_space_bytes", {{"replica", o->name}},
               static_cast<double>(*o->status.relay_log_space));
}

std::optional<double> ReplicationHealth::worst_lag_seconds() const {
  std::optional<double> worst;
  for (const auto& r : m_replicas) {
    const auto o = r->snapshot();
    if (!o->up) continue;
    std::optional<double> behind;
    if (o->status.seconds_behind) behind = static_cast<double>(*o->status.seconds_behind);
    for (const auto& lag : {behind, o->heartbeat_lag})
      if (lag && std::isfinite(*lag) && (!worst || *lag > *worst)) worst = lag;
  }
  return worst;
}

void ReplicationHealth::status(json& j) const {
  std::vector<std::shared_ptr<const ReplicaObservation>> obs;
  for (const auto& r : m_replicas) obs.push_back(r->snapshot());

  // Where each replica stands against a finding's last good position (files the server serves).
  auto positions = [&](const IntegrityFinding& f) -> json {
    if (!f.served) return nullptr;
    json out = json::array();
    for (const auto& o : obs) {
      const auto& s = o->status;
      if (!o->up || !s.is_replica || s.read_file.empty() || !s.read_pos) continue;
      json r = {{"replica", o->name},
                {"read", {{"file", s.read_file}, {"position", *s.read_pos}}},
                {"read_at_or_before_last_good", at_or_before(s.read_file, *s.read_pos, f.file, f.last_good)}};
      if (!s.exec_file.empty() && s.exec_pos) {
        r["exec"] = {{"file", s.exec_file}, {"position", *s.exec_pos}};
        r["exec_at_or_before_last_good"] = at_or_before(s.exec_file, *s.exec_pos, f.file, f.last_good);
      }
      out.push_back(std::move(r));
    }
    return out;
  };

  json integrity = json::array();
  for (const auto& f : m_follower.integrity()->findings) {
    json x = finding_json(f, "follower");
    x["replicas"] = positions(f);
    integrity.push_back(std::move(x));
  }
  if (m_checker) {
    const auto c = m_checker->snapshot();
    json files = json::array();
    for (const auto& file : c->files) {
      for (const auto& f : file.findings) {
        json x = finding_json(f, "checker");
        x["replicas"] = positions(f);
        integrity.push_back(std::move(x));
      }
      files.push_back({{"file", file.name},
                       {"size", file.size},
                       {"checked_bytes", file.limit ? json(*file.limit) : json(file.size)},
                       {"served", file.served},
                       {"findings", file.findings.size()},
                       {"error", text_or_null(file.error)},
                       {"checked_at", file.checked_at}});
    }
    j["integrity_checker"] = {{"files", files},
                              {"files_checked", c->files_checked},
                              {"bytes_checked", c->bytes_checked},
                              {"last_pass", c->last_pass}};
  }
  j["integrity"] = integrity;
  if (const auto tail = m_follower.pending_tail()) {
    j["pending_tail"] = {{"file", tail->file},
                         {"offset", tail->offset},
                         {"bytes", tail->bytes},
                         {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - tail->since).count()}};
  } else {
    j["pending_tail"] = nullptr;
  }

  json replicas = json::array();
  const auto primary = m_primary ? m_primary->snapshot() : nullptr;
  for (const auto& o : obs) {
    const auto& s = o->status;
    json r = {{"name", o->name},
              {"endpoint", text_or_null(o->endpoint)},
              {"up", o->up},
              {"error", text_or_null(o->error)},
              {"observed_at", o->observed_at},
              {"server_id", nullable(o->server_id)},
              {"version", text_or_null(o->version)},
              {"replicating", s.is_replica},
              {"naming", s.replica_naming ? "replica" : "slave"},
              {"io", thread_json(s.io, s.io_state, s.last_io_errno, s.last_io_error, o->io_error_explained)},
              {"sql", thread_json(s.sql, s.sql_state, s.last_sql_errno, s.last_sql_error, o->sql_error_explained)},
              {"seconds_behind_master", nullable(s.seconds_behind)},
              {"heartbeat",
               {{"lag_seconds", nullable(o->heartbeat_lag)},
                {"ts", text_or_null(o->heartbeat_ts)},
                {"server_id", nullable(o->heartbeat_server_id)},
                {"error", text_or_null(o->heartbeat_error)}}},
              {"relay_log_space", nullable(s.relay_log_space)},
              {"source", {{"host", text_or_null(s.source_host)}, {"port", nullable(s.source_port)}, {"server_id", nullable(s.source_server_id)}}},
              {"read", {{"file", text_or_null(s.read_file)}, {"position", nullable(s.read_pos)}}},
              {"exec", {{"file", text_or_null(s.exec_file)}, {"position", nullable(s.exec_pos)}}},
              {"gtid",
               {{"using_gtid", text_or_null(s.using_gtid)},
                {"io_pos", text_or_null(s.gtid_io_pos)},
                {"slave_pos", text_or_null(s.gtid_slave_pos)},
                {"retrieved_set", text_or_null(s.retrieved_gtid_set)},
                {"executed_set", text_or_null(s.executed_gtid_set)}}},
              {"polls", o->polls},
              {"failures", o->failures}};
    // Registered with the primary (SHOW SLAVE HOSTS lists its server_id)?
    if (primary && primary->discovered && o->server_id) {
      bool registered = false;
      for (const auto& h : primary->hosts) registered = registered || h.server_id == *o->server_id;
      r["registered_with_primary"] = registered;
    } else {
      r["registered_with_primary"] = nullptr;
    }
    replicas.push_back(std::move(r));
  }
  j["replicas"] = replicas;

  if (primary) {
    json hosts = json::array(), dumps = json::array();
    for (const auto& h : primary->hosts)
      hosts.push_back({{"server_id", h.server_id}, {"host", h.host}, {"port", h.port}, {"source_id", h.source_id}});
    for (const auto& d : primary->dumps)
      dumps.push_back({{"id", d.id}, {"user", d.user}, {"host", d.host}, {"command", d.command},
                       {"seconds", d.seconds}, {"state", d.state}});
    json hb = nullptr;
    if (m_heartbeat.enabled())
      hb = {{"table", m_heartbeat.table},
            {"interval_ms", m_heartbeat.interval_ms},
            {"write", m_heartbeat.write},
            {"utc", m_heartbeat.utc},
            {"writes", primary->heartbeat_writes},
            {"errors", primary->heartbeat_errors},
            {"error", text_or_null(primary->heartbeat_error)},
            {"last_ts", text_or_null(primary->heartbeat_ts)}};
    j["replication"] = {{"primary_connected", primary->connected},
                        {"error", text_or_null(primary->error)},
                        {"server_id", nullable(primary->server_id)},
                        {"discovery_error", text_or_null(primary->discovery_error)},
                        {"registered", hosts},
                        {"dump_threads", dumps},
                        {"heartbeat", hb}};
  }
}

}  // namespace binwatch::watch
