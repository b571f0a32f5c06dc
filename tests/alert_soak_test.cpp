// Issue 5's crash check: `binwatch watch` is killed with SIGKILL at random moments while alerts
// fire, change severity and resolve, and while acknowledgements are being made (some kills land
// while an acknowledgement request is in flight), many times over. Real daemon, real MariaDB, three
// 16 MiB tmpfs mounts whose free space the test moves between the bands of a threshold rule, and a
// local webhook receiver that refuses a share of the deliveries with 503 (so retries happen).
//
// After every restart and at the end:
//  * no acknowledgement lost: every acknowledgement the daemon answered 200 to is still there, by
//    the same person, while its alert's condition is unchanged;
//  * every page delivered at least once: every alert the API ever showed as active has reached the
//    receiver as a trigger, every acknowledgement as an acknowledge notice, and every alert as a
//    resolve once the mounts are emptied; nothing is dead-lettered, nothing stays pending;
//  * none duplicated without the same dedup key: copies of one message carry the same dedup key,
//    and every trigger of one alert carries that alert's one dedup key.
// BINWATCH_SOAK_SEED=N replays a run (the seed is printed); BINWATCH_SOAK_CYCLES=N (default 30)
// runs longer.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/binwatch_process.h"
#include "support/loopback.h"
#include "support/mariadb_server.h"
#include "support/tmpfs.h"
#include "support/watch_daemon.h"

namespace {

using binwatch::test::free_port;
using binwatch::test::Http;
using binwatch::test::MariadbServer;
using binwatch::test::ScratchDir;
using binwatch::test::Tmpfs;
using binwatch::test::wait_for;
using binwatch::test::WatchDaemon;
namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr size_t kMiB = size_t{1} << 20;
constexpr int kMounts = 3;
// Ballast per mount (MiB of a 16 MiB tmpfs) and the severity the policy below gives it.
constexpr int kLevels[] = {0, 6, 10, 14};
const char* const kSeverity[] = {"", "warning", "critical", "emergency"};

unsigned env_or(const char* name, unsigned fallback) {
  const char* v = std::getenv(name);
  return v && *v ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : fallback;
}

// Records every notification POSTed to /hook (digests are flattened into their notifications);
// answers 503 to `fail_share` of the requests without recording them.
class Receiver {
 public:
  Receiver(unsigned seed, double fail_share) : m_port(free_port()), m_rng(seed), m_fail_share(fail_share) {
    m_server.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(m_mutex);
      if (std::uniform_real_distribution<double>(0, 1)(m_rng) < m_fail_share) {
        ++m_refused;
        res.status = 503;
        return;
      }
      const json j = json::parse(req.body, nullptr, false);
      if (j.is_discarded()) {
        res.status = 400;
        return;
      }
      if (j.value("digest", false)) {
        for (const auto& n : j["notifications"]) m_messages.push_back(n);
      } else {
        m_messages.push_back(j);
      }
      ++m_requests;
      res.status = 202;
    });
    if (!m_server.bind_to_port("127.0.0.1", m_port)) throw std::runtime_error("cannot bind the webhook receiver");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
  }
  ~Receiver() {
    m_server.stop();
    m_thread.join();
  }
  [[nodiscard]] int port() const { return m_port; }
  [[nodiscard]] std::vector<json> messages() const {
    std::lock_guard lock(m_mutex);
    return m_messages;
  }
  [[nodiscard]] size_t refused() const {
    std::lock_guard lock(m_mutex);
    return m_refused;
  }
  [[nodiscard]] size_t requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }
  [[nodiscard]] bool has(const std::string& kind, const std::string& alert_id) const {
    std::lock_guard lock(m_mutex);
    for (const auto& m : m_messages)
      if (m.value("kind", "") == kind && m.value("alert_id", "") == alert_id) return true;
    return false;
  }

 private:
  int m_port;
  std::mt19937 m_rng;
  double m_fail_share;
  httplib::Server m_server;
  std::thread m_thread;
  mutable std::mutex m_mutex;
  std::vector<json> m_messages;
  size_t m_refused = 0, m_requests = 0;
};

// Resizes the mount's ballast file in place (grown with fallocate, shrunk with ftruncate), so the
// daemon never samples an in-between state such as an empty mount.
void set_ballast(const fs::path& mount, int mib) {
  const fs::path file = mount / "ballast";
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << file << ": " << std::strerror(errno);
  struct stat st {};
  ::fstat(fd, &st);
  const off_t size = static_cast<off_t>(mib) * static_cast<off_t>(kMiB);
  const int rc = size > st.st_size ? ::posix_fallocate(fd, 0, size) : ::ftruncate(fd, size);
  ::close(fd);
  ASSERT_EQ(rc, 0) << file << ": resize to " << mib << " MiB failed";
}

// An acknowledgement the daemon answered 200 to.
struct Ack {
  std::string alert_id, by;
  std::string or_by;  // an unanswered later acknowledgement of the same alert may have replaced it
  int mount = 0;
  unsigned mount_version = 0;  // the mount's ballast changes when the acknowledgement was made
  bool in_band = false;        // the alert's severity was the one the mount's ballast gives
  bool killed_in_flight = false;
  bool paged = false;  // the answer showed the alert paged (so everyone paged hears of the ack)
};

}  // namespace

TEST(AlertSoak, KillNineAtRandomLosesNoAcknowledgementAndNoPage) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting the tmpfs folders needs root";
  const unsigned seed = env_or("BINWATCH_SOAK_SEED", std::random_device{}());
  const unsigned cycles = env_or("BINWATCH_SOAK_CYCLES", 30);
  std::cout << "[ seed     ] BINWATCH_SOAK_SEED=" << seed << " BINWATCH_SOAK_CYCLES=" << cycles << "\n";
  SCOPED_TRACE("BINWATCH_SOAK_SEED=" + std::to_string(seed));
  std::mt19937 rng(seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  ScratchDir scratch("binwatch-soak");
  std::vector<std::unique_ptr<Tmpfs>> mounts;
  for (int i = 0; i < kMounts; ++i) {
    mounts.push_back(std::make_unique<Tmpfs>(scratch.path() / ("m" + std::to_string(i)), "16m"));
    if (!mounts.back()->mounted) GTEST_SKIP() << "cannot mount a tmpfs here";
  }
  MariadbServer db;
  Receiver hook(seed, 0.1);

  const fs::path policy = scratch.path() / "alerts.toml";
  {
    std::ofstream p(policy);
    p << "[ack]\ndefault_ttl = \"1h\"\nmax_ttl = \"2h\"\n"
         "[[ladder]]\nname = \"default\"\nrepeat = \"0s\"\n"
         "  [[ladder.tier]]\n  after = \"0s\"\n  receivers = [\"hook\"]\n"
         "[[rule]]\nname = \"soak-free\"\nkind = \"threshold\"\nmetric = \"binwatch_partition_avail_bytes\"\n"
         "subjects = [";
    for (int i = 0; i < kMounts; ++i) p << (i ? ", " : "") << '"' << mounts[i]->mnt.string() << '"';
    p << "]\nsummary = \"{subject}: {value} bytes free ({band})\"\n"
         "  [[rule.band]]\n  severity = \"warning\"\n  below = " << 12 * kMiB << "\n"
         "  [[rule.band]]\n  severity = \"critical\"\n  below = " << 8 * kMiB << "\n"
         "  [[rule.band]]\n  severity = \"emergency\"\n  below = " << 4 * kMiB << "\n";
  }
  const fs::path token_file = scratch.path() / "token";
  const std::string token = "soak-token-0123456789abcdef";
  std::ofstream(token_file) << token << "\n";
  fs::permissions(token_file, fs::perms::owner_read | fs::perms::owner_write);
  const int port = free_port();
  const fs::path config = scratch.path() / "binwatch.toml";
  {
    std::ofstream c(config);
    c << "[source]\nbinlog_dir = \"" << db.binlog_dir().string() << "\"\nstart = \"saved\"\npoll_interval_ms = 100\n"
      << "[state]\ndir = \"" << (scratch.path() / "state").string() << "\"\ncheckpoint_interval_ms = 200\n"
      << "[http]\nlisten = \"127.0.0.1:" << port << "\"\n"
      << "[mysql]\nsocket = \"" << db.socket() << "\"\npoll_interval_ms = 300\ntimeout_s = 2\n"
      << "[partitions]\nsample_interval_ms = 150\n";
    for (const auto& m : mounts) c << "[[partitions.mount]]\npath = \"" << m->mnt.string() << "\"\nrole = \"data\"\n";
    c << "[alerts]\npolicy = \"" << policy.string() << "\"\ntoken_file = \"" << token_file.string()
      << "\"\ninterval_ms = 150\n"
      << "[[alerts.receiver]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:" << hook.port()
      << "/hook\"\nrate_limit = 10000\ntimeout_ms = 2000\n";
  }
  const fs::path log = scratch.path() / "daemon.log";
  Http http{port};

  std::vector<int> level(kMounts, 0);
  std::vector<unsigned> version(kMounts, 0);
  std::vector<unsigned> doc_version(kMounts, 0);  // version[] when `doc` was fetched
  std::vector<Clock::time_point> changed_at(kMounts, Clock::now());
  // The daemon samples every 150 ms and decides every 150 ms: a ballast change older than this
  // is what the daemon's alerts show.
  constexpr auto kSettled = std::chrono::milliseconds(800);
  std::set<std::string> seen_active;                 // alert ids the API showed firing or acknowledged
  std::set<std::string> seen_paged;                  // ... with a page made (paged non-empty)
  std::map<std::string, std::string> subject_of;     // alert id -> mount
  std::map<std::string, json> last_view;             // alert id -> as the API last showed it
  std::vector<Ack> acks;
  unsigned kills_in_flight = 0, acks_checked = 0, ballast_changes = 0, acks_ok = 0;

  auto alerts_now = [&]() -> std::optional<json> {
    auto body = http.get("/api/v1/alerts", 3);
    if (!body) return std::nullopt;
    json j = json::parse(*body, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    for (const auto& a : j["alerts"]) {
      const std::string state = a.value("state", "");
      if (state == "firing" || state == "acknowledged") {
        seen_active.insert(a["id"].get<std::string>());
        subject_of[a["id"].get<std::string>()] = a["subject"].get<std::string>();
        last_view[a["id"].get<std::string>()] = a;
        if (!a["paged"].empty()) seen_paged.insert(a["id"].get<std::string>());
        // Firing, not acknowledged and not shadowed by a higher severity means paged: the page is
        // made in the same decision that shows the alert firing.
        if (state == "firing" && !a.value("shadowed", false)) {
          EXPECT_FALSE(a["paged"].empty()) << "firing, unshadowed, unacknowledged, yet nobody paged: " << a.dump();
        }
      }
    }
    return j;
  };
  auto mount_of = [&](const std::string& subject) {
    for (int i = 0; i < kMounts; ++i)
      if (mounts[i]->mnt.string() == subject) return i;
    return -1;
  };
  // Every acknowledgement answered 200 whose alert is still in the band the mount's ballast gives
  // (ballast unchanged since) must have survived, by the same person.
  auto check_acks = [&](const json& doc, const std::string& when) {
    for (const auto& ack : acks) {
      if (!ack.in_band || version[ack.mount] != ack.mount_version) continue;
      ++acks_checked;
      bool found = false;
      for (const auto& a : doc["alerts"])
        if (a["id"] == ack.alert_id) {
          found = true;
          EXPECT_EQ(a.value("state", ""), "acknowledged") << when << ": " << a.dump();
          const std::string by = a.contains("ack") ? a["ack"].value("by", "") : "";
          EXPECT_TRUE(by == ack.by || (!ack.or_by.empty() && by == ack.or_by))
              << when << ": acknowledged by \"" << by << "\", expected " << ack.by << ": " << a.dump();
        }
      EXPECT_TRUE(found) << when << ": acknowledgement " << ack.by << " of " << ack.alert_id
                         << (ack.killed_in_flight ? " (answered just before the kill)" : "") << " is gone: "
                         << doc.dump();
    }
  };
  // A later acknowledgement of the same alert replaces the earlier one (the API allows re-acking).
  auto record_ack = [&](const Ack& ack) {
    std::erase_if(acks, [&](const Ack& a) { return a.alert_id == ack.alert_id; });
    acks.push_back(ack);
    ++acks_ok;
  };
  auto post_ack = [port, token](std::string id, std::string by) {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(3);
    c.set_read_timeout(3);
    const json body{{"ttl", "1h"}, {"reason", "soak"}, {"by", by}};
    auto r = c.Post(("/api/v1/alerts/" + id + "/ack").c_str(), {{"Authorization", "Bearer " + token}}, body.dump(),
                    "application/json");
    if (!r) return std::make_pair(-1, json());
    return std::make_pair(r->status, json::parse(r->body, nullptr, false));
  };
  auto answered = [&](Ack ack, const std::pair<int, json>& answer) {
    if (answer.first != 200) return false;
    ack.paged = answer.second.is_object() && !answer.second.value("paged", json::array()).empty();
    record_ack(ack);
    return true;
  };

  unsigned kills_at_start = 0;
  for (unsigned cycle = 0; cycle < cycles && !::testing::Test::HasFailure(); ++cycle) {
    if (uniform(0, 5) == 0) {
      // Now and then the kill lands while the daemon starts (restoring its state, replaying the
      // outbox journal, sending what it held).
      WatchDaemon early(config, log);
      std::this_thread::sleep_for(std::chrono::milliseconds(uniform(0, 400)));
      EXPECT_EQ(early.stop(SIGKILL), 128 + SIGKILL);
      ++kills_at_start;
    }
    WatchDaemon d(config, log);
    std::optional<json> doc;
    ASSERT_TRUE(wait_for([&] { return (doc = alerts_now()).has_value(); }, 15000))
        << "cycle " << cycle << ": the API does not answer\n" << d.log();
    doc_version = version;
    check_acks(*doc, "after restart " + std::to_string(cycle));

    const auto kill_at = Clock::now() + std::chrono::milliseconds(uniform(200, 2500));
    std::future<std::pair<int, json>> in_flight;
    Ack pending;
    unsigned actions = 0;
    while (Clock::now() < kill_at) {
      const int action = uniform(0, 2);
      if (action == 0) {
        const int m = uniform(0, kMounts - 1);
        const int l = uniform(0, 3);
        if (l != level[m]) {
          set_ballast(mounts[m]->mnt, kLevels[l]);
          level[m] = l;
          ++version[m];
          changed_at[m] = Clock::now();
          ++ballast_changes;
        }
      } else if (action == 1) {
        if (auto j = alerts_now()) {
          doc = std::move(j);
          doc_version = version;
        }
      } else {
        std::vector<json> firing;
        for (const auto& a : (*doc)["alerts"])
          if (a.value("state", "") == "firing") firing.push_back(a);
        if (!firing.empty()) {
          const json& a = firing[static_cast<size_t>(uniform(0, static_cast<int>(firing.size()) - 1))];
          pending = Ack{a["id"].get<std::string>(), "soak-" + std::to_string(cycle) + "-" + std::to_string(actions), "",
                        mount_of(a["subject"].get<std::string>()), 0, false, false};
          ASSERT_GE(pending.mount, 0) << a.dump();
          pending.mount_version = version[pending.mount];
          // Checked later only when the view this ack was chosen from was current: the mount has
          // not changed since `doc` was fetched, and its last change had settled by then.
          pending.in_band = a.value("severity", "") == kSeverity[level[pending.mount]] &&
                            doc_version[pending.mount] == version[pending.mount] &&
                            Clock::now() - changed_at[pending.mount] >= kSettled;
          in_flight = std::async(std::launch::async, post_ack, pending.alert_id, pending.by);
          if (uniform(0, 2) == 0) {
            // Kill while the request is (probably) being handled.
            std::this_thread::sleep_for(std::chrono::milliseconds(uniform(0, 15)));
            pending.killed_in_flight = true;
            ++kills_in_flight;
            break;
          }
          answered(pending, in_flight.get());
        }
      }
      ++actions;
      std::this_thread::sleep_for(std::chrono::milliseconds(uniform(10, 150)));
    }
    EXPECT_EQ(d.stop(SIGKILL), 128 + SIGKILL);
    if (in_flight.valid()) {
      if (!answered(pending, in_flight.get())) {
        // No answer: the daemon may have saved it just before the kill (then it replaced an
        // earlier acknowledgement of the same alert) or not.
        for (auto& a : acks)
          if (a.alert_id == pending.alert_id) a.or_by = pending.by;
      }
    }
  }
  ASSERT_FALSE(::testing::Test::HasFailure());

  // The last start: acknowledgements still there; then every mount is emptied, so every alert
  // resolves, and the outbox drains.
  WatchDaemon d(config, log);
  std::optional<json> doc;
  ASSERT_TRUE(wait_for([&] { return (doc = alerts_now()).has_value(); }, 15000)) << d.log();
  check_acks(*doc, "final start");
  for (int i = 0; i < kMounts; ++i) set_ballast(mounts[i]->mnt, 0);
  bool drained = wait_for([&] {
    auto j = alerts_now();
    if (!j || !(*j)["alerts"].empty()) return false;
    for (const auto& r : (*j)["outbox"]["receivers"])
      if (r.value("pending", 1) != 0) return false;
    doc = std::move(j);
    return true;
  }, std::chrono::seconds(60));
  ASSERT_TRUE(drained) << (alerts_now() ? alerts_now()->dump() : std::string("no answer")) << "\n" << d.log();
  EXPECT_TRUE((*doc)["outbox"]["dead_letters"].empty()) << (*doc)["outbox"].dump();

  const auto messages = hook.messages();
  // Every page at least once.
  const std::string daemon_log = d.log();
  auto log_of = [&](const std::string& id) {
    std::istringstream in(daemon_log);
    std::string out, line;
    while (std::getline(in, line))
      if (line.find(id) != std::string::npos || line.find("killed") != std::string::npos ||
          line.find("outbox") != std::string::npos || line.find("restored") != std::string::npos)
        out += line + "\n";
    return out;
  };
  // An alert that was only ever shadowed (a higher severity of its mount firing) and was
  // acknowledged meanwhile pages nobody, by design; every other one was paged.
  for (const auto& id : seen_paged) {
    EXPECT_TRUE(hook.has("trigger", id)) << "no trigger for " << id << " (" << subject_of[id] << "), last seen as "
                                         << last_view[id].dump() << "\n" << log_of(id);
    EXPECT_TRUE(hook.has("resolve", id)) << "no resolve for " << id << " (" << subject_of[id] << ")";
  }
  for (const auto& ack : acks) {
    if (ack.paged) {
      EXPECT_TRUE(hook.has("acknowledge", ack.alert_id))
          << "no acknowledge notice for " << ack.by << " of " << ack.alert_id;
    }
  }
  // Repeats only with the same dedup key.
  std::map<std::string, json> by_message;
  std::map<std::string, std::string> trigger_key;
  size_t repeats = 0;
  for (const auto& m : messages) {
    const std::string id = m.value("id", "");
    ASSERT_FALSE(id.empty()) << m.dump();
    auto [it, fresh] = by_message.emplace(id, m);
    if (!fresh) {
      ++repeats;
      EXPECT_EQ(it->second.value("dedup_key", ""), m.value("dedup_key", "")) << "message " << id << " repeated";
      EXPECT_EQ(it->second.value("kind", ""), m.value("kind", "")) << "message " << id << " repeated";
      EXPECT_EQ(it->second.value("alert_id", ""), m.value("alert_id", "")) << "message " << id << " repeated";
    }
    if (m.value("kind", "") == "trigger") {
      auto [k, first] = trigger_key.emplace(m.value("alert_id", ""), m.value("dedup_key", ""));
      EXPECT_EQ(k->second, m.value("dedup_key", "")) << "two dedup keys for alert " << k->first;
    }
  }
  size_t triggers = 0;
  for (const auto& [id, m] : by_message) triggers += m.value("kind", "") == "trigger";
  std::cout << "[ measured ] " << cycles << " kill -9 cycles (" << kills_in_flight
            << " with an acknowledgement in flight) and " << kills_at_start << " more during start-up, " << ballast_changes << " ballast changes, "
            << seen_active.size() << " alerts seen active (" << seen_paged.size() << " paged), " << acks_ok << " acknowledgements answered 200 ("
            << acks_checked << " survival checks after restarts), " << hook.requests() << " deliveries accepted and "
            << hook.refused() << " refused with 503; " << by_message.size() << " distinct messages (" << triggers
            << " triggers), " << repeats << " repeated copies, all with the same dedup key\n";
  EXPECT_GT(seen_paged.size(), 3u);
  EXPECT_GT(acks.size(), 0u);
  EXPECT_EQ(d.stop(SIGTERM), 0) << d.log();
}
