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

class ThrottleEngine;

class SessionControl : public ControlLoop {
 public:
  struct Options {
    mysql::ConnectionOptions connection;
    uint32_t interval_ms = 1000;
    uint32_t reconnect_min_ms = 500, reconnect_max_ms = 30000;
    std::function<int64_t()> now_ms;        // unix ms (audit time, cooldown)
  };
  SessionControl(Options options, std::shared_ptr<ThrottleEngine> engine);

  void run();  // the thread body; returns after stop()

 private:
  struct Known {
    policy::Classification cls;
    std::string user, host;
  };
  std::vector<policy::Session> read_sessions(mysql::Connection& conn);
  void act(mysql::Connection& conn, const policy::SessionPlanItem& item, int level);

  Options m_options;
  std::shared_ptr<ThrottleEngine> m_engine_owner;
  ThrottleEngine& m_engine;
  std::map<uint64_t, Known> m_known;  // sticky classification by processlist id
  std::optional<int64_t> m_last_action_ms;
  bool m_attrs_available = true;
  bool m_is_mysql8 = false;
};

}  // namespace binwatch::watch
