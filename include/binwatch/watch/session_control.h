#pragma once
// Server-side control of bulk sessions that do not cooperate (issue 6): its own control-plane
// thread and connection. Every interval it reads the processlist with each session's open
// transaction (information_schema.PROCESSLIST + INNODB_TRX) and, when performance_schema has
// them, the program_name connection attributes; classifies sessions with the throttle policy
// (sticky for the life of a connection: a /* binwatch:app=... */ tag is only visible while its
// statement runs) and, at a level whose `sessions` action is set, acts on the victims the policy
// picks: KILL QUERY, KILL CONNECTION, or (MySQL 8) SET RESOURCE GROUP. Dry run (log and audit
// only) until the policy says enforce = true. Replication threads, system users, protected users
// and binwatch's own connections are never touched (policy::is_protected).
//
// Sessions launched through `binwatch run` (rules with binwatch_run = true): while the engine has
// live run registrations, each session's local client process is looked up once per connection:
// the `_pid` connection attribute of a session from this host (performance_schema on; libmariadb
// clients such as the mariadb CLI and DBD::mysql send it), or, for a TCP session, the socket
// whose local end is the session's host:port and whose peer is the server's port (PROC/net/tcp,
// tcp6) and the process holding it (PROC/*/fd) -- tried first for TCP sessions, since the kernel
// says it rather than the client. Its process group (PROC/PID/stat) is then matched against the
// registrations. Only clients on this host, in this PID (and, for the TCP
// path, network) namespace can be found.
//
// Grants: PROCESS (see every session), CONNECTION ADMIN (MariaDB >= 10.5, MySQL 8; SUPER before)
// to kill sessions of other users, RESOURCE_GROUP_ADMIN for resource groups.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "binwatch/policy/throttle_policy.h"
#include "binwatch/watch/control_loop.h"

namespace binwatch::watch {

class ProcessTable;
class ThrottleEngine;

class SessionControl : public ControlLoop {
 public:
  struct Options {
    mysql::ConnectionOptions connection;
    uint32_t interval_ms = 1000;
    uint32_t reconnect_min_ms = 500, reconnect_max_ms = 30000;
    std::function<int64_t()> now_ms;        // unix ms (audit time, cooldown)
    std::string proc_root = "/proc";        // where client processes and sockets are looked up
  };
  SessionControl(Options options, std::shared_ptr<ThrottleEngine> engine);

  void run();  // the thread body; returns after stop()

 private:
  struct Known {
    policy::Classification cls;
    std::string user, host;
  };
  // The local client process of a connection (pid 0: not found), found once per connection and
  // followed while that pid names the same process (same start time).
  struct Client {
    std::string user, host;
    int64_t pid = 0;
    uint64_t start = 0;  // the process's starttime (/proc/PID/stat) when it was found
    std::string via;
  };
  std::vector<policy::Session> read_sessions(mysql::Connection& conn);
  // From the `_pid` attribute of a local session, when that process started before the session's
  // current command did (processlist TIME; a pid reused since is not the client).
  [[nodiscard]] Client attr_client(const policy::Session& s, const ProcessTable& procs) const;
  // Fills client_pid, client_pgid, client_group_leader_start and client_via where it can.
  void resolve_clients(std::vector<policy::Session>& sessions, const std::vector<uint64_t>& own);
  void act(mysql::Connection& conn, const policy::SessionPlanItem& item, int level);

  Options m_options;
  std::shared_ptr<ThrottleEngine> m_engine_owner;
  ThrottleEngine& m_engine;
  std::map<uint64_t, Known> m_known;  // sticky classification by processlist id
  std::map<uint64_t, Client> m_clients;   // by processlist id, for the connection's life
  std::map<uint64_t, int64_t> m_attr_pids;  // `_pid` attributes of the last poll
  uint16_t m_server_port = 0;             // @@port: the remote end of a TCP client's socket
  std::optional<int64_t> m_last_action_ms;
  bool m_attrs_available = true;
  bool m_is_mysql8 = false;
};

}  // namespace binwatch::watch
