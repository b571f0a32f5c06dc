#include "binwatch/watch/session_control.h"

#include <unistd.h>

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "binwatch/procfs/process.h"
#include "binwatch/watch/json_number.h"
#include "binwatch/watch/process_table.h"
#include "binwatch/watch/throttle_engine.h"

namespace binwatch::watch {

using nlohmann::json;

namespace {

using mysql::to_double;
using mysql::to_u64;

json session_json(const policy::Session& s) {
  json j = {{"id", s.id},       {"user", s.user}, {"host", s.host},
            {"db", s.db},       {"command", s.command}, {"time_seconds", s.time_s},
            {"state", s.state}, {"info", s.info.substr(0, 300)}, {"program_name", s.program_name},
            {"rows_modified", s.rows_modified}, {"transaction_seconds", s.transaction_s}, {"app", s.app}};
  if (!s.rule.empty()) j["rule"] = s.rule;
  if (s.client_pid > 0) {
    j["client_pid"] = s.client_pid;
    j["client_pgid"] = s.client_pgid;
    j["client_via"] = s.client_via;
  }
  return j;
}

// A session from this host: its `_pid` attribute names a process here.
bool local_host(std::string_view host) {
  if (host == "localhost") return true;  // unix socket (or a resolved loopback address)
  const auto e = procfs::parse_session_host(host);
  if (!e) return false;
  return e->address == "localhost" || e->address == "::1" || e->address.rfind("127.", 0) == 0 ||
         e->address.rfind("::ffff:127.", 0) == 0;
}

}  // namespace

SessionControl::SessionControl(Options options, std::shared_ptr<ThrottleEngine> engine)
    : m_options(std::move(options)), m_engine_owner(std::move(engine)), m_engine(*m_engine_owner) {}

std::vector<policy::Session> SessionControl::read_sessions(mysql::Connection& conn) {
  std::vector<policy::Session> out;
  const auto rs = conn.query(
      "SELECT p.ID, p.USER, p.HOST, IFNULL(p.DB, ''), p.COMMAND, p.TIME, IFNULL(p.STATE, ''), IFNULL(p.INFO, ''), "
      "IFNULL(t.trx_rows_modified, 0), IFNULL(TIMESTAMPDIFF(SECOND, t.trx_started, NOW()), 0) "
      "FROM information_schema.PROCESSLIST p LEFT JOIN information_schema.INNODB_TRX t "
      "ON t.trx_mysql_thread_id = p.ID");
  for (const auto& row : rs.rows) {
    if (row.size() < 10) continue;
    policy::Session s;
    s.id = to_u64(row[0]);
    s.user = row[1].value_or("");
    s.host = row[2].value_or("");
    s.db = row[3].value_or("");
    s.command = row[4].value_or("");
    s.time_s = to_double(row[5]);
    s.state = row[6].value_or("");
    s.info = row[7].value_or("");
    s.rows_modified = to_u64(row[8]);
    s.transaction_s = to_double(row[9]);
    out.push_back(std::move(s));
  }
  if (m_attrs_available) {
    try {
      const auto attrs = conn.query(
          "SELECT PROCESSLIST_ID, ATTR_NAME, ATTR_VALUE FROM performance_schema.session_connect_attrs "
          "WHERE ATTR_NAME IN ('program_name', '_pid')");
      std::map<uint64_t, std::string> names;
      m_attr_pids.clear();
      for (const auto& row : attrs.rows) {
        if (row.size() < 3) continue;
        if (row[1].value_or("") == "_pid") {
          const uint64_t pid = to_u64(row[2]);
          if (pid > 0 && pid < (uint64_t{1} << 22)) m_attr_pids[to_u64(row[0])] = static_cast<int64_t>(pid);
        } else {
          names[to_u64(row[0])] = row[2].value_or("");
        }
      }
      for (auto& s : out)
        if (auto it = names.find(s.id); it != names.end()) s.program_name = it->second;
    } catch (const std::exception& e) {
      m_attrs_available = false;
      spdlog::info("session control: no connection attributes (program_name rules cannot match): {}", e.what());
    }
  }
  return out;
}

SessionControl::Client SessionControl::attr_client(const policy::Session& s, const ProcessTable& procs) const {
  Client c{s.user, s.host, 0, 0, ""};
  auto a = m_attr_pids.find(s.id);
  if (a == m_attr_pids.end() || !local_host(s.host)) return c;  // a unix socket without it, or another host
  // The client says its pid; a process that started after the session's current command began
  // (TIME seconds ago, and the connection is older still) cannot have sent it.
  const auto st = procs.stat(a->second);
  const auto boot = procs.boot_time();
  if (!st || !boot) return c;
  const double command_began_s = static_cast<double>(m_options.now_ms()) / 1000.0 - std::max(0.0, s.time_s);
  if (!procfs::started_by(*st, *boot, ::sysconf(_SC_CLK_TCK), command_began_s)) return c;
  c.pid = a->second;
  c.start = st->start_time;
  c.via = "_pid";
  return c;
}

void SessionControl::resolve_clients(std::vector<policy::Session>& sessions, const std::vector<uint64_t>& own) {
  const ProcessTable procs(m_options.proc_root);
  // New connections first: their client process, once.
  std::vector<policy::Session*> tcp;
  for (auto& s : sessions) {
    if (std::find(own.begin(), own.end(), s.id) != own.end()) continue;
    auto it = m_clients.find(s.id);
    if (it != m_clients.end() && (it->second.user != s.user || it->second.host != s.host)) {
      m_clients.erase(it);
      it = m_clients.end();
    }
    if (it != m_clients.end()) continue;
    // TCP first: the kernel's socket table says who holds the connection; `_pid` is what the
    // client says about itself.
    if (procfs::parse_session_host(s.host) && m_server_port != 0) {
      tcp.push_back(&s);
    } else {
      m_clients[s.id] = attr_client(s, procs);
    }
  }
  if (!tcp.empty()) {
    const auto sockets = procs.tcp_sockets();
    std::map<uint64_t, uint64_t> inode_of;  // session id -> socket inode
    std::set<uint64_t> inodes;
    for (const auto* s : tcp) {
      const uint64_t inode = procfs::client_socket_inode(sockets, *procfs::parse_session_host(s->host), m_server_port);
      if (inode) {
        inode_of[s->id] = inode;
        inodes.insert(inode);
      }
    }
    const auto owners = procs.socket_owners(inodes);
    for (const auto* s : tcp) {
      Client c{s->user, s->host, 0, 0, ""};
      if (auto i = inode_of.find(s->id); i != inode_of.end()) {
        if (auto o = owners.find(i->second); o != owners.end()) {
          if (const auto st = procs.stat(o->second)) {
            c.pid = o->second;
            c.start = st->start_time;
            c.via = "tcp";
          }
        }
      }
      if (c.pid <= 0) c = attr_client(*s, procs);  // not found by its socket (another network namespace): `_pid`
      m_clients[s->id] = c;
    }
  }
  // Every poll: the client's process group now, and who leads it (a pid reused meanwhile).
  for (auto& s : sessions) {
    auto it = m_clients.find(s.id);
    if (it == m_clients.end() || it->second.pid <= 0) continue;
    const auto st = procs.stat(it->second.pid);
    if (!st) continue;  // the client is gone (the session ends soon)
    if (st->start_time != it->second.start) {
      // The pid names another process now: not the client. Found afresh next poll (by its socket,
      // or a `_pid` that must predate the session's command).
      m_clients.erase(it);
      continue;
    }
    s.client_pid = it->second.pid;
    s.client_via = it->second.via;
    s.client_pgid = st->pgrp;
    const auto leader = st->pgrp == st->pid ? st : procs.stat(st->pgrp);
    s.client_group_leader_start = leader ? leader->start_time : 0;
  }
}

void SessionControl::act(mysql::Connection& conn, const policy::SessionPlanItem& item, int level) {
  const auto& pol = m_engine.policy();
  const int64_t now = m_options.now_ms();
  const auto decision = m_engine.current();
  json rec = {{"session", session_json(item.session)},
              {"action", policy::to_string(item.action)},
              {"mode", pol.enforce ? "enforced" : "dry_run"},
              {"level", pol.level_name(level)},
              {"why", decision.reason},
              {"reason", item.reason},
              {"metric", decision.metric},
              {"value", finite_or_null(decision.value)},
              {"threshold", finite_or_null(decision.threshold)},
              {"expected_binlog_bytes", item.expected_bytes},
              {"by", "binwatch session control"}};
  m_last_action_ms = now;
  if (!pol.enforce) {
    spdlog::warn("session control (dry run, sessions.enforce = false): would {} session {} ({}@{}): {}",
                 policy::to_string(item.action), item.session.id, item.session.user, item.session.host, item.reason);
    m_engine.count_session_action(item.action, false);
    m_engine.audit("session_action", rec, now);
    return;
  }
  std::string sql;
  switch (item.action) {
    case policy::SessionAction::KillQuery: sql = "KILL QUERY " + std::to_string(item.session.id); break;
    case policy::SessionAction::KillConnection: sql = "KILL CONNECTION " + std::to_string(item.session.id); break;
    case policy::SessionAction::ResourceGroup: {
      if (!m_is_mysql8) {
        rec["error"] = "resource groups need MySQL 8.0; this server is " + conn.server_version();
        m_engine.audit("session_action_error", rec, now);
        return;
      }
      const auto tid = conn.scalar("SELECT THREAD_ID FROM performance_schema.threads WHERE PROCESSLIST_ID = " +
                                   std::to_string(item.session.id));
      if (!tid) {
        rec["error"] = "no performance_schema thread for processlist id " + std::to_string(item.session.id);
        m_engine.audit("session_action_error", rec, now);
        return;
      }
      const auto& L = pol.levels[static_cast<size_t>(level - 1)];
      sql = "SET RESOURCE GROUP " + mysql::quote_identifier(L.resource_group) + " FOR " + *tid;
      break;
    }
    case policy::SessionAction::None: return;
  }
  rec["sql"] = sql;
  try {
    conn.exec(sql);
    spdlog::warn("session control: {} ({})", sql, item.reason);
    m_engine.count_session_action(item.action, true);
    m_engine.audit("session_action", rec, now);
  } catch (const std::exception& e) {
    // 1094: unknown thread id (it ended on its own meanwhile).
    rec["error"] = e.what();
    spdlog::error("session control: {}: {}", sql, e.what());
    m_engine.audit("session_action_error", rec, now);
  }
}

void SessionControl::run() {
  std::unique_ptr<mysql::Connection> conn;
  unsigned attempt = 0;
  while (!stopping()) {
    try {
      if (!conn) {
        conn = std::make_unique<mysql::Connection>(m_options.connection);
        const std::string v = conn->server_version();
        m_is_mysql8 = !conn->is_mariadb() && !v.empty() && v[0] >= '8';
        m_server_port = static_cast<uint16_t>(to_u64(conn->scalar("SELECT @@port")));
        spdlog::info("session control: connected to {} (own session {})", conn->endpoint(), conn->thread_id());
      }
      auto sessions = read_sessions(*conn);
      const auto own = mysql::own_thread_ids();
      const auto& pol = m_engine.policy();
      const int64_t now = m_options.now_ms();
      // Client processes are looked up only while some `binwatch run` is registered.
      const auto runs = m_engine.runs(now);
      const bool run_rules = std::any_of(pol.bulk.begin(), pol.bulk.end(), [](const auto& r) { return r.binwatch_run; });
      if (!runs.empty() && run_rules) resolve_clients(sessions, own);
      std::set<uint64_t> present;
      std::vector<policy::Session> bulk;
      json listed = json::array();
      for (auto s : sessions) {
        present.insert(s.id);
        auto it = m_known.find(s.id);
        // A reused id with another user/host is another connection.
        if (it != m_known.end() && (it->second.user != s.user || it->second.host != s.host)) {
          m_known.erase(it);
          it = m_known.end();
        }
        policy::Classification c = policy::classify(pol, s, own, runs, now);
        if (it != m_known.end() && it->second.cls.bulk && !c.bulk && !policy::is_protected(pol, s, own)) c = it->second.cls;
        if (c.bulk) {
          if (it == m_known.end() || !it->second.cls.bulk) {
            if (s.client_pid > 0)
              spdlog::info("session control: session {} ({}@{}) is bulk maintenance (rule {}, app {}; client pid {} "
                           "in process group {}, found by {})",
                           s.id, s.user, s.host, c.rule, c.app, s.client_pid, s.client_pgid, s.client_via);
            else
              spdlog::info("session control: session {} ({}@{}) is bulk maintenance (rule {}, app {})", s.id, s.user,
                           s.host, c.rule, c.app);
          }
          m_known[s.id] = Known{c, s.user, s.host};
          s.app = c.app;
          s.rule = c.rule;
          json j = session_json(s);
          j["rule"] = c.rule;
          listed.push_back(std::move(j));
          bulk.push_back(std::move(s));
        }
      }
      std::erase_if(m_known, [&](const auto& kv) { return !present.count(kv.first); });
      std::erase_if(m_clients, [&](const auto& kv) { return !present.count(kv.first); });
      m_engine.set_bulk_sessions(bulk.size(), std::move(listed));

      const int level = m_engine.current().next.level;
      const double bpr = m_engine.bytes_per_row();
      const auto plan = policy::plan_sessions(pol, level, std::move(bulk), bpr, m_last_action_ms, m_options.now_ms());
      for (const auto& item : plan) act(*conn, item, level);
      attempt = 0;
      if (!sleep_ms(m_options.interval_ms)) break;
    } catch (const std::exception& e) {
      spdlog::warn("session control: {}", e.what());
      conn.reset();
      back_off(attempt, m_options.reconnect_min_ms, m_options.reconnect_max_ms);
    }
  }
  finished();
}

}  // namespace binwatch::watch
