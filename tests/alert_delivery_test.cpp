// Alert delivery (issue 5): receiver configuration, the pure storm-control and classification
// parts, the notifiers against local fake endpoints on 127.0.0.1, the persisted outbox (retries,
// Retry-After, dead letters, digests, kill -9, torn and damaged journals) and a real Alertmanager
// 0.25 (Debian prometheus-alertmanager; skipped when /usr/bin/prometheus-alertmanager is absent).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "binwatch/alerts/delivery.h"
#include "binwatch/alerts/notification_json.h"
#include "binwatch/alerts/notifier.h"
#include "binwatch/alerts/outbox.h"
#include "binwatch/alerts/receiver_config.h"
#include "binwatch/watch/watch_config.h"
#include "support/binwatch_process.h"
#include "support/loopback.h"

namespace binwatch::alerts {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr int64_t kT0 = 1700000000000;  // a fixed "now" for the fake clock (unix ms)

using test::free_port;
using test::slurp_file;

using test::ScratchDir;
void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

Notification make_notification(const std::string& id, const std::string& receiver,
                               NotificationKind kind = NotificationKind::Trigger,
                               Severity severity = Severity::Warning, const std::string& band = "<4h",
                               const std::string& subject = "/var/lib/mysql") {
  Notification n;
  n.id = id;
  n.receiver = receiver;
  n.kind = kind;
  n.alert_id = "a1b2";
  n.rule = "binlog_time_to_full";
  n.subject = subject;
  n.severity = severity;
  n.band = band;
  n.summary = "binlog partition " + subject + " full in " + band;
  n.labels = {{"mount", subject}, {"host", "db1"}};
  n.annotations = {{"runbook", "https://wiki/runbook"}};
  n.starts_at = kT0 / 1000 - 600;
  n.created_at = kT0 / 1000;
  if (kind == NotificationKind::Resolve) n.ends_at = kT0 / 1000;
  return n;
}

ReceiverConfig receiver(const std::string& name, ReceiverType type, const std::string& url = "") {
  ReceiverConfig c;
  c.name = name;
  c.type = type;
  c.url = url;
  c.timeout_ms = 2000;
  return c;
}

// A local HTTP receiver: answers POSTs from a script (then `fallback`), records every request.
class LocalReceiver {
 public:
  struct Reply {
    int status = 200;
    std::string body;
    std::string retry_after;
  };
  struct Seen {
    std::string path;
    json body;
  };

  LocalReceiver() {
    m_server.Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(m_mutex);
      m_seen.push_back({req.path, json::parse(req.body, nullptr, false)});
      Reply r = m_fallback;
      if (!m_script.empty()) {
        r = m_script.front();
        m_script.pop_front();
      }
      res.status = r.status;
      if (!r.retry_after.empty()) res.set_header("Retry-After", r.retry_after);
      res.set_content(r.body, "application/json");
    });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
  }
  ~LocalReceiver() {
    for (int i = 0; i < 200 && !m_server.is_running(); ++i) std::this_thread::sleep_for(milliseconds(10));
    m_server.stop();
    m_thread.join();
  }
  [[nodiscard]] std::string url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(m_port) + path;
  }
  void script(std::initializer_list<Reply> replies) {
    std::lock_guard lock(m_mutex);
    m_script.insert(m_script.end(), replies.begin(), replies.end());
  }
  void fallback(Reply r) {
    std::lock_guard lock(m_mutex);
    m_fallback = std::move(r);
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(m_mutex);
    return m_seen;
  }

 private:
  httplib::Server m_server;
  std::thread m_thread;
  int m_port = 0;
  std::mutex m_mutex;
  std::deque<Reply> m_script;
  Reply m_fallback;
  std::vector<Seen> m_seen;
};

// A notifier with scripted results (outbox tests that are not about HTTP).
class FakeNotifier : public Notifier {
 public:
  FakeNotifier(ReceiverConfig c, std::vector<SendResult>* script, std::vector<Delivery>* log)
      : Notifier(std::move(c)), m_script(script), m_log(log) {}

 protected:
  SendResult do_send(const Delivery& d) override {
    m_log->push_back(d);
    if (m_script->empty()) return {};
    SendResult r = m_script->front();
    m_script->erase(m_script->begin());
    return r;
  }

 private:
  std::vector<SendResult>* m_script;
  std::vector<Delivery>* m_log;
};

struct FakeClock {
  int64_t ms = kT0;
  OutboxOptions options() {
    OutboxOptions o;
    o.clock = [this] { return ms; };
    o.random01 = [] { return 0.5; };
    return o;
  }
};

std::vector<std::unique_ptr<Notifier>> one(const ReceiverConfig& c) {
  std::vector<std::unique_ptr<Notifier>> v;
  v.push_back(make_notifier(c));
  return v;
}

std::set<std::string> ids_of(const std::vector<Notification>& ns) {
  std::set<std::string> out;
  for (const auto& n : ns) out.insert(n.id);
  return out;
}

// Message ids carried by a webhook body: one notification, or a digest's list.
std::vector<std::string> body_ids(const json& body) {
  std::vector<std::string> out;
  if (body.value("digest", false)) {
    for (const auto& n : body.at("notifications")) out.push_back(n.at("id"));
  } else {
    out.push_back(body.at("id"));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Configuration

std::vector<ReceiverConfig> parse(const std::string& text) {
  const toml::table root = toml::parse(std::string_view(text), std::string_view("binwatch.toml"));
  const toml::array* a = root["alerts"]["receiver"].as_array();
  if (!a) throw std::runtime_error("no [[alerts.receiver]]");
  return parse_receivers(*a, "binwatch.toml");
}

std::string parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const watch::ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ReceiverConfig, EveryTypeWithItsKeys) {
  const auto rs = parse(R"(
[[alerts.receiver]]
name = "journal"
type = "log"

[[alerts.receiver]]
name = "chat"
type = "webhook"
url = "https://chat.example/hook"
timeout_ms = 3000
rate_limit = 5
window_s = 120
group_wait_s = 10

[[alerts.receiver]]
name = "am"
type = "alertmanager"
url = "http://127.0.0.1:9093"
generator_url = "http://db1:9874/api/v1/alerts"
active_for_s = 7200

[[alerts.receiver]]
name = "oncall"
type = "pagerduty"
routing_key_file = "/etc/binwatch/pd.key"

[[alerts.receiver]]
name = "script"
type = "exec"
command = "/usr/local/bin/page"
args = ["--team", "dba"]
)");
  ASSERT_EQ(rs.size(), 5u);
  EXPECT_EQ(rs[0].type, ReceiverType::Log);
  EXPECT_EQ(rs[0].rate_limit, 10u);  // defaults
  EXPECT_EQ(rs[0].window_s, 60u);
  EXPECT_EQ(rs[1].type, ReceiverType::Webhook);
  EXPECT_EQ(rs[1].url, "https://chat.example/hook");
  EXPECT_EQ(rs[1].timeout_ms, 3000u);
  EXPECT_EQ(rs[1].rate_limit, 5u);
  EXPECT_EQ(rs[1].window_s, 120u);
  EXPECT_EQ(rs[1].group_wait_s, 10u);
  EXPECT_EQ(rs[2].generator_url, "http://db1:9874/api/v1/alerts");
  EXPECT_EQ(rs[2].active_for_s, 7200u);
  EXPECT_EQ(rs[1].active_for_s, 86400u);  // a default; set on a webhook it would be refused
  EXPECT_EQ(rs[3].type, ReceiverType::PagerDuty);
  EXPECT_EQ(rs[3].url, kPagerDutyDefaultUrl);
  EXPECT_EQ(rs[3].routing_key_file, "/etc/binwatch/pd.key");
  EXPECT_EQ(rs[4].command, "/usr/local/bin/page");
  EXPECT_EQ(rs[4].args, (std::vector<std::string>{"--team", "dba"}));
}

TEST(ReceiverConfig, ErrorsNameFileLineAndKey) {
  // A valid first receiver, then the second one's keys (its table starts on line 5).
  const std::string head = "[[alerts.receiver]]\nname = \"a\"\ntype = \"log\"\n\n[[alerts.receiver]]\n";
  const std::pair<std::string, std::string> cases[] = {
      {"name = \"b\"\ntype = \"log\"\nratelimit = 3\n",
       "8: alerts.receiver[1].ratelimit: unknown key (allowed here: active_for_s, args, command, generator_url, "
       "group_wait_s, name, rate_limit, routing_key_file, timeout_ms, type, url, window_s)"},
      {"name = \"b\"\ntype = \"log\"\nurl = \"http://x\"\n", "8: alerts.receiver[1].url: does not apply to type \"log\""},
      {"name = \"b\"\ntype = \"webhook\"\nrate_limit = 0\nurl = \"http://x\"\n",
       "8: alerts.receiver[1].rate_limit: must be between 1 and 10000 (got 0)"},
      {"name = \"a\"\ntype = \"log\"\n", "6: alerts.receiver[1].name: duplicate receiver \"a\""},
      {"name = \"b\"\ntype = \"sms\"\n",
       "7: alerts.receiver[1].type: must be \"log\", \"webhook\", \"alertmanager\", \"pagerduty\" or \"exec\" "
       "(got \"sms\")"},
      {"name = \"b\"\ntype = \"webhook\"\n", "5: alerts.receiver[1].url: is required for type \"webhook\""},
      {"name = \"b\"\ntype = \"webhook\"\nurl = \"ftp://x\"\n",
       "8: alerts.receiver[1].url: must start with http:// or https:// (got \"ftp://x\")"},
      {"name = \"b\"\ntype = \"pagerduty\"\n",
       "5: alerts.receiver[1].routing_key_file: is required for type \"pagerduty\" (a file holding the routing key)"},
      {"name = \"b\"\ntype = \"exec\"\ncommand = \"x\"\nargs = [1]\n",
       "9: alerts.receiver[1].args: must be an array of strings"},
      {"name = \"b c\"\ntype = \"log\"\n",
       "6: alerts.receiver[1].name: use letters, digits, '_', '.', '-' (at most 64)"},
      {"type = \"log\"\n", "5: alerts.receiver[1].name: is required"},
  };
  for (const auto& [tail, expected] : cases) EXPECT_EQ(parse_error(head + tail), "binwatch.toml:" + expected);
}

// ---------------------------------------------------------------------------------------------
// Pure parts

TEST(StormControl, PlanSendsFoldsWhatTheWindowCannotTake) {
  using Plan = std::vector<std::pair<size_t, size_t>>;
  EXPECT_EQ(plan_sends(3, 5, false), (Plan{{0, 1}, {1, 1}, {2, 1}}));  // room: one each
  EXPECT_EQ(plan_sends(5, 5, false), (Plan{{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}}));
  EXPECT_EQ(plan_sends(6, 5, false), (Plan{{0, 6}}));    // no room: one digest of all
  EXPECT_EQ(plan_sends(500, 1, false), (Plan{{0, 500}}));
  EXPECT_EQ(plan_sends(2500, 2, false), (Plan{{0, 1000}, {1000, 1000}}));  // capped per send and by budget
  EXPECT_EQ(plan_sends(3, 0, false), Plan{});
  EXPECT_EQ(plan_sends(0, 5, false), Plan{});
  EXPECT_EQ(plan_sends(3, 5, true), (Plan{{0, 3}}));  // Alertmanager: one batched POST
}

TEST(StormControl, RateWindowSlides) {
  RateWindow w(3, 10000);
  EXPECT_EQ(w.available(0), 3u);
  w.record(0);
  w.record(1000);
  w.record(2000);
  EXPECT_EQ(w.available(2000), 0u);
  EXPECT_EQ(w.next_free_ms(2000), 10000);  // the first send leaves the window
  EXPECT_EQ(w.available(9999), 0u);
  EXPECT_EQ(w.available(10000), 1u);
  EXPECT_EQ(w.available(12000), 3u);
  EXPECT_EQ(w.next_free_ms(12000), 12000);
}

TEST(StormControl, DigestSummaryCountsKindsAndShowsTheWorstFirst) {
  std::vector<Notification> ns;
  for (int i = 0; i < 30; ++i) ns.push_back(make_notification("t" + std::to_string(i), "r"));
  for (int i = 0; i < 7; ++i) ns.push_back(make_notification("r" + std::to_string(i), "r", NotificationKind::Resolve));
  ns[12].severity = Severity::Emergency;
  ns[12].subject = "/binlog";
  ns[12].band = "<10m";
  ns[12].summary = "full in 8 minutes";
  EXPECT_TRUE(digest_summary(ns).starts_with(
      "37 alerts: 30 trigger, 7 resolve; top: [emergency] binlog_time_to_full /binlog (<10m): full in 8 minutes; "
      "[warning] binlog_time_to_full /var/lib/mysql (<4h): "))
      << digest_summary(ns);
  EXPECT_TRUE(digest_summary(ns).ends_with("; +34 more")) << digest_summary(ns);
  EXPECT_EQ(max_severity(ns), Severity::Emergency);
}

TEST(Classify, HttpStatusesAndRetryAfter) {
  EXPECT_EQ(classify_http_status(202, "", std::nullopt, 0).outcome, SendOutcome::Delivered);
  for (int s : {408, 429, 500, 502, 503}) EXPECT_EQ(classify_http_status(s, "", std::nullopt, 0).outcome, SendOutcome::Retry) << s;
  for (int s : {400, 401, 403, 404, 413, 301}) EXPECT_EQ(classify_http_status(s, "", std::nullopt, 0).outcome, SendOutcome::Permanent) << s;
  const auto r = classify_http_status(429, "slow down\n", "7", 0);
  EXPECT_EQ(r.reason, "HTTP 429: slow down ");
  EXPECT_EQ(r.retry_after, milliseconds(7000));
  EXPECT_EQ(parse_retry_after("120", 0), milliseconds(120000));
  // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490), milliseconds(0));  // past
  EXPECT_EQ(parse_retry_after("soon", 0), std::nullopt);
  EXPECT_EQ(parse_retry_after("", 0), std::nullopt);
  EXPECT_EQ(parse_retry_after("-5", 0), std::nullopt);
}

TEST(NotificationJson, RoundTrips) {
  Notification n = make_notification("m1", "r", NotificationKind::Escalation, Severity::Critical, "<1h");
  n.tier = 2;
  n.dedup_key = "dk";
  const Notification back = notification_from_json(json::parse(notification_to_json(n).dump()));
  EXPECT_EQ(notification_to_json(back), notification_to_json(n));
  EXPECT_EQ(back.kind, NotificationKind::Escalation);
  EXPECT_EQ(back.severity, Severity::Critical);
  EXPECT_THROW(notification_from_json(json{{"id", "x"}}), std::runtime_error);
  EXPECT_EQ(format_rfc3339(1700000000), "2023-11-14T22:13:20Z");
}

// ---------------------------------------------------------------------------------------------
// Outbox against a local webhook receiver

// A local receiver behind an outbox on a fake clock. `tune` adjusts the receiver (named "hook",
// posting to the receiver's /hook) and `options` the outbox before it opens.
struct Rig {
  explicit Rig(ReceiverType type = ReceiverType::Webhook, const std::function<void(ReceiverConfig&)>& tune = {},
               const std::function<void(OutboxOptions&)>& options = {})
      : box(dir.path() / "outbox.journal", one(config(type, tune)), tuned(options)) {}
  ReceiverConfig config(ReceiverType type, const std::function<void(ReceiverConfig&)>& tune) {
    ReceiverConfig c = receiver("hook", type, http.url(type == ReceiverType::Webhook ? "/hook" : ""));
    if (tune) tune(c);
    return c;
  }
  OutboxOptions tuned(const std::function<void(OutboxOptions&)>& options) {
    OutboxOptions o = clock.options();
    if (options) options(o);
    return o;
  }
  ScratchDir dir{"binwatch-alerts"};
  LocalReceiver http;
  FakeClock clock;
  Outbox box;
};

void five_a_minute(ReceiverConfig& c) {
  c.rate_limit = 5;
  c.window_s = 60;
}

TEST(OutboxWebhook, TooManyRequestsThenAcceptedIsRetriedOnceThenStops) {
  Rig rig;
  auto& [dir, http, clock, box] = rig;
  http.script({{429, "slow down", "2"}, {202, "", ""}});
  box.enqueue(make_notification("m1", "hook"));
  EXPECT_EQ(box.deliver_due(), 1u);
  ASSERT_EQ(http.seen().size(), 1u);
  EXPECT_EQ(box.pending().size(), 1u);
  EXPECT_EQ(box.next_due_ms(), kT0 + 2000);  // Retry-After: 2, not the back-off
  EXPECT_EQ(box.status().receivers.at(0).retries, 1u);
  EXPECT_EQ(box.status().receivers.at(0).last_error, "HTTP 429: slow down");

  clock.ms = kT0 + 1999;
  EXPECT_EQ(box.deliver_due(), 0u);
  EXPECT_EQ(http.seen().size(), 1u);
  clock.ms = kT0 + 2000;
  EXPECT_EQ(box.deliver_due(), 1u);
  EXPECT_TRUE(box.pending().empty());
  EXPECT_EQ(box.status().receivers.at(0).delivered, 1u);

  clock.ms = kT0 + 600000;
  EXPECT_EQ(box.deliver_due(), 0u);  // delivered once: nothing more goes out
  const auto seen = http.seen();
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& s : seen) {
    EXPECT_EQ(s.path, "/hook");
    EXPECT_EQ(s.body.at("id"), "m1");  // the same message both times (idempotency key)
    EXPECT_EQ(s.body.at("rule"), "binlog_time_to_full");
    EXPECT_EQ(s.body.at("severity"), "warning");
    EXPECT_EQ(s.body.at("kind"), "trigger");
  }
  EXPECT_EQ(box.next_due_ms(), std::nullopt);
}

TEST(OutboxWebhook, ServerErrorsBackOffWithJitterAndGiveUpEventually) {
  Rig rig(ReceiverType::Webhook, {}, [](OutboxOptions& o) {  // random01 = 0.5
    o.backoff_min = milliseconds(1000);
    o.backoff_max = milliseconds(8000);
    o.give_up_after = milliseconds(30000);
  });
  auto& [dir, http, clock, box] = rig;
  http.fallback({503, "", ""});
  box.enqueue(make_notification("m1", "hook"));
  // attempt k waits min + 0.5 * (min(max, min * 2^k) - min): 1500, 2500, 4500, 4500 (capped) ...
  const int64_t expected[] = {1500, 2500, 4500, 4500};
  for (int64_t delay : expected) {
    ASSERT_EQ(box.deliver_due(), 1u);
    ASSERT_EQ(box.next_due_ms(), clock.ms + delay);
    clock.ms += delay;
  }
  while (!box.pending().empty() && clock.ms < kT0 + 60000) {
    box.deliver_due();
    if (auto next = box.next_due_ms()) clock.ms = *next;
  }
  ASSERT_EQ(box.dead_letters().size(), 1u);
  EXPECT_TRUE(box.dead_letters()[0].reason.starts_with("gave up after ")) << box.dead_letters()[0].reason;
  EXPECT_TRUE(box.dead_letters()[0].reason.ends_with(": HTTP 503")) << box.dead_letters()[0].reason;
  EXPECT_GE(clock.ms - kT0, 30000);
}

TEST(OutboxWebhook, BadRequestIsNotRetriedAndIsDeadLettered) {
  ScratchDir dir("binwatch-alerts");
  LocalReceiver http;
  http.script({{400, "{\"error\":\"bad payload\"}", ""}});
  FakeClock clock;
  const fs::path file = dir.path() / "outbox.journal";
  {
    Outbox box(file, one(receiver("hook", ReceiverType::Webhook, http.url())), clock.options());
    box.enqueue(make_notification("m1", "hook"));
    EXPECT_EQ(box.deliver_due(), 1u);
    EXPECT_TRUE(box.pending().empty());
    ASSERT_EQ(box.dead_letters().size(), 1u);
    EXPECT_EQ(box.dead_letters()[0].reason, "HTTP 400: {\"error\":\"bad payload\"}");
    EXPECT_EQ(box.dead_letters()[0].notification.id, "m1");
    clock.ms += 3600000;
    EXPECT_EQ(box.deliver_due(), 0u);
    EXPECT_EQ(box.status().receivers.at(0).dead, 1u);
    const json status = to_json(box.status());
    EXPECT_EQ(status.at("dead_letters").at(0).at("reason"), "HTTP 400: {\"error\":\"bad payload\"}");
  }
  EXPECT_EQ(http.seen().size(), 1u);
  // Dead letters survive a restart (visible for status).
  Outbox reopened(file, one(receiver("hook", ReceiverType::Webhook, http.url())), clock.options());
  ASSERT_EQ(reopened.dead_letters().size(), 1u);
  EXPECT_EQ(reopened.dead_letters()[0].notification.id, "m1");
  EXPECT_TRUE(reopened.pending().empty());
}

TEST(OutboxWebhook, ConnectionRefusedIsRetried) {
  ScratchDir dir("binwatch-alerts");
  FakeClock clock;
  Outbox box(dir.path() / "outbox.journal",
             one(receiver("hook", ReceiverType::Webhook, "http://127.0.0.1:" + std::to_string(free_port()))),
             clock.options());
  box.enqueue(make_notification("m1", "hook"));
  EXPECT_EQ(box.deliver_due(), 1u);
  EXPECT_EQ(box.pending().size(), 1u);
  EXPECT_TRUE(box.dead_letters().empty());
  EXPECT_EQ(box.status().receivers.at(0).last_error, "cannot connect (refused or unreachable)");
}

// 500 conditions at once to a receiver allowed 5 messages a minute: one digest carries all 500.
TEST(OutboxStorm, FiveHundredAtOnceBecomeOneDigest) {
  Rig rig(ReceiverType::Webhook, five_a_minute);
  auto& [dir, http, clock, box] = rig;
  std::vector<Notification> storm;
  for (int i = 0; i < 500; ++i) {
    storm.push_back(make_notification("m" + std::to_string(i), "hook",
                                      i % 10 == 9 ? NotificationKind::Resolve : NotificationKind::Trigger,
                                      Severity::Warning, "<4h", "/mnt/" + std::to_string(i)));
  }
  box.enqueue(storm);
  while (box.deliver_due() > 0) {
  }
  const auto seen = http.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].body.at("digest").get<bool>());
  EXPECT_EQ(seen[0].body.at("count"), 500);
  EXPECT_EQ(seen[0].body.at("counts"), (json{{"trigger", 450}, {"resolve", 50}}));
  EXPECT_TRUE(seen[0].body.at("summary").get<std::string>().starts_with("500 alerts: 450 trigger, 50 resolve; top: "));
  const auto ids = body_ids(seen[0].body);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), ids_of(storm));
  EXPECT_TRUE(box.pending().empty());
  EXPECT_EQ(box.status().receivers.at(0).digests, 1u);
  EXPECT_EQ(box.status().receivers.at(0).delivered, 500u);
}

// The same storm arriving one message at a time while the worker keeps up: the first five go out
// alone, the rest wait for the window and then go as one digest. No 60 s window ever sees more
// than five messages, and together they carry every message exactly once.
TEST(OutboxStorm, TrickleStaysWithinTheLimitPerWindow) {
  Rig rig(ReceiverType::Webhook, five_a_minute);
  auto& [dir, http, clock, box] = rig;
  std::vector<int64_t> send_times;
  std::set<std::string> enqueued;
  auto pump = [&] {
    const size_t before = http.seen().size();
    box.deliver_due();
    for (size_t i = before; i < http.seen().size(); ++i) send_times.push_back(clock.ms);
  };
  for (int i = 0; i < 120; ++i) {
    const auto n = make_notification("m" + std::to_string(i), "hook");
    box.enqueue(n);
    enqueued.insert(n.id);
    pump();
    clock.ms += 1000;  // one condition a second for two minutes
  }
  for (int i = 0; i < 5 && !box.pending().empty(); ++i) {
    clock.ms = box.next_due_ms().value_or(clock.ms);
    pump();
  }
  EXPECT_TRUE(box.pending().empty());
  std::multiset<std::string> delivered;
  for (const auto& s : http.seen()) {
    for (const auto& id : body_ids(s.body)) delivered.insert(id);
  }
  EXPECT_EQ(std::set<std::string>(delivered.begin(), delivered.end()), enqueued);
  EXPECT_EQ(delivered.size(), enqueued.size());  // none twice
  for (size_t i = 0; i < send_times.size(); ++i) {
    const auto in_window = std::count_if(send_times.begin(), send_times.end(), [&](int64_t t) {
      return t >= send_times[i] && t < send_times[i] + 60000;
    });
    EXPECT_LE(in_window, 5) << "window starting at send " << i;
  }
  EXPECT_EQ(http.seen().size(), 5u + 2u);  // 5 alone, a digest at 60 s and one at 120 s
}

TEST(OutboxStorm, GroupWaitFoldsCompanionsIntoTheFirstSend) {
  Rig rig(ReceiverType::Webhook, [](ReceiverConfig& c) {
    c.rate_limit = 2;
    c.group_wait_s = 10;
  });
  auto& [dir, http, clock, box] = rig;
  box.enqueue(make_notification("m0", "hook"));
  EXPECT_EQ(box.deliver_due(), 0u);  // held for the group wait
  EXPECT_EQ(box.next_due_ms(), kT0 + 10000);
  for (int i = 1; i < 4; ++i) {
    clock.ms += 2000;
    box.enqueue(make_notification("m" + std::to_string(i), "hook"));
  }
  clock.ms = kT0 + 10000;
  EXPECT_EQ(box.deliver_due(), 1u);  // four ready, two allowed: one digest of the four
  const auto seen = http.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(body_ids(seen[0].body), (std::vector<std::string>{"m0", "m1", "m2", "m3"}));
}

TEST(OutboxAlertmanager, ReadyMessagesGoAsOneBatchedPost) {
  Rig rig(ReceiverType::Alertmanager, [](ReceiverConfig& c) {
    c.rate_limit = 1;
    c.generator_url = "http://db1:9874/api/v1/alerts";
  });
  auto& [dir, http, clock, box] = rig;
  std::vector<Notification> ns;
  for (int i = 0; i < 20; ++i) ns.push_back(make_notification("m" + std::to_string(i), "hook"));
  ns.push_back(make_notification("r", "hook", NotificationKind::Resolve));
  ns.back().labels["bad-name.x"] = "v";
  box.enqueue(ns);
  EXPECT_EQ(box.deliver_due(), 1u);
  const auto seen = http.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].path, "/api/v2/alerts");
  ASSERT_TRUE(seen[0].body.is_array());
  ASSERT_EQ(seen[0].body.size(), 21u);
  const json& first = seen[0].body[0];
  EXPECT_EQ(first.at("labels"), (json{{"alertname", "binlog_time_to_full"}, {"rule", "binlog_time_to_full"},
                                      {"subject", "/var/lib/mysql"}, {"severity", "warning"}, {"band", "<4h"},
                                      {"alert_id", "a1b2"}, {"mount", "/var/lib/mysql"}, {"host", "db1"}}));
  EXPECT_EQ(first.at("annotations").at("summary"), "binlog partition /var/lib/mysql full in <4h");
  EXPECT_EQ(first.at("annotations").at("runbook"), "https://wiki/runbook");
  EXPECT_EQ(first.at("startsAt"), format_rfc3339(kT0 / 1000 - 600));
  // Active for a day unless resolved (Alertmanager would resolve it after its resolve_timeout).
  EXPECT_EQ(first.at("endsAt"), format_rfc3339(kT0 / 1000 + 86400));
  EXPECT_EQ(first.at("generatorURL"), "http://db1:9874/api/v1/alerts");
  const json& resolved = seen[0].body[20];
  EXPECT_EQ(resolved.at("endsAt"), format_rfc3339(kT0 / 1000));
  EXPECT_EQ(resolved.at("labels").at("bad_name_x"), "v");
  EXPECT_EQ(box.status().receivers.at(0).digests, 0u);  // a batch, not a digest
}

// ---------------------------------------------------------------------------------------------
// Persistence

struct Scripted {
  std::vector<SendResult> script;
  std::vector<Delivery> log;
};

std::vector<std::unique_ptr<Notifier>> fakes(std::map<std::string, Scripted>& by_name) {
  std::vector<std::unique_ptr<Notifier>> v;
  for (auto& [name, s] : by_name) {
    ReceiverConfig c = receiver(name, ReceiverType::Webhook, "http://unused");
    c.rate_limit = 100;
    v.push_back(std::make_unique<FakeNotifier>(c, &s.script, &s.log));
  }
  return v;
}

// A journal in a scratch folder, a fake clock, and scripted receivers ("a" delivers).
class OutboxPersistence : public ::testing::Test {
 protected:
  ScratchDir dir{"binwatch-alerts"};
  FakeClock clock;
  std::map<std::string, Scripted> rx{{"a", {}}};
  const fs::path file = dir.path() / "outbox.journal";
};

TEST_F(OutboxPersistence, UndeliveredSurviveDestructionDeliveredDoNot) {
  rx["b"].script = {{SendOutcome::Retry, "HTTP 503", std::nullopt}, {SendOutcome::Retry, "HTTP 503", std::nullopt}};
  {
    Outbox box(file, fakes(rx), clock.options());
    box.enqueue(make_notification("a1", "a"));
    box.enqueue(make_notification("a2", "a"));
    box.enqueue(make_notification("b1", "b"));
    box.enqueue(make_notification("b2", "b"));
    box.enqueue(make_notification("b2", "b"));  // same (receiver, id): ignored
    EXPECT_EQ(box.pending().size(), 4u);
    EXPECT_EQ(box.deliver_due(), 4u);
    EXPECT_EQ(ids_of(box.pending()), (std::set<std::string>{"b1", "b2"}));
  }  // destroyed without draining
  rx["b"].script.clear();
  Outbox box(file, fakes(rx), clock.options());
  EXPECT_TRUE(box.warnings().empty());
  EXPECT_EQ(ids_of(box.pending()), (std::set<std::string>{"b1", "b2"}));
  EXPECT_EQ(box.next_due_ms(), kT0 + 1500);  // the back-off state came back too
  clock.ms = kT0 + 1500;
  EXPECT_EQ(box.deliver_due(), 2u);
  EXPECT_TRUE(box.pending().empty());
  EXPECT_EQ(rx["a"].log.size(), 2u);  // a's messages were not sent again
  // Removed durably: a third opening finds nothing pending.
  Outbox again(file, fakes(rx), clock.options());
  EXPECT_TRUE(again.pending().empty());
}

TEST_F(OutboxPersistence, UnknownReceiverIsDeadLetteredNotLost) {
  {
    Outbox box(file, fakes(rx), clock.options());
    box.enqueue(make_notification("x1", "nobody"));
    ASSERT_EQ(box.dead_letters().size(), 1u);
    EXPECT_EQ(box.dead_letters()[0].reason, "no receiver named \"nobody\" is configured");
    box.enqueue(make_notification("a1", "a"));
  }
  // Receiver "a" removed from the configuration while a1 was pending.
  std::map<std::string, Scripted> none;
  Outbox box(file, fakes(none), clock.options());
  EXPECT_TRUE(box.pending().empty());
  ASSERT_EQ(box.dead_letters().size(), 2u);
  EXPECT_EQ(box.dead_letters()[1].reason, "receiver \"a\" is no longer configured");
}

// A journal holding m0, m1, m2 pending for receiver "a"; returns its text.
std::string journal_of_three(const fs::path& file, std::map<std::string, Scripted>& rx) {
  Outbox box(file, fakes(rx));
  for (int i = 0; i < 3; ++i) box.enqueue(make_notification("m" + std::to_string(i), "a"));
  return slurp_file(file);
}

TEST_F(OutboxPersistence, TornLastRecordIsDroppedWithAWarning) {
  const std::string intact = journal_of_three(file, rx);
  write_text(file, intact + "1234abcd {\"op\":\"add\",\"seq\":4,\"n\":{\"id\":\"m3\"");  // cut mid-write
  {
    Outbox box(file, fakes(rx), clock.options());
    EXPECT_EQ(ids_of(box.pending()), (std::set<std::string>{"m0", "m1", "m2"}));
    ASSERT_EQ(box.warnings().size(), 1u);
    EXPECT_NE(box.warnings()[0].find(file.string() + ":5: incomplete last record"), std::string::npos)
        << box.warnings()[0];
  }
  Outbox box(file, fakes(rx), clock.options());  // rewritten clean on the previous opening
  EXPECT_TRUE(box.warnings().empty());
  EXPECT_EQ(box.pending().size(), 3u);
}

TEST_F(OutboxPersistence, DamagedRecordIsSkippedAndTheOriginalKept) {
  std::string text = journal_of_three(file, rx);
  const size_t at = text.find("\"m1\"");
  ASSERT_NE(at, std::string::npos);
  text[at + 2] = '7';  // a flipped byte in the second record: the checksum no longer matches
  write_text(file, text);
  Outbox box(file, fakes(rx), clock.options());
  EXPECT_EQ(ids_of(box.pending()), (std::set<std::string>{"m0", "m2"}));
  ASSERT_EQ(box.warnings().size(), 2u);
  EXPECT_EQ(box.warnings()[0], file.string() + ":3: damaged record (checksum or JSON) skipped");
  EXPECT_EQ(box.warnings()[1],
            file.string() + ": 1 damaged record(s) skipped; the original is kept as " + file.string() + ".damaged");
  EXPECT_EQ(slurp_file(file.string() + ".damaged"), text);
}

TEST_F(OutboxPersistence, GarbageFileIsAnErrorNamingIt) {
  std::string garbage(4096, '\0');
  std::mt19937 rng(7);
  for (char& c : garbage) c = static_cast<char>(rng());
  for (const std::string& content : {garbage, std::string("{\"checkpoint\": 1}\n"), std::string("binwatch-outbox 9\n")}) {
    write_text(file, content);
    try {
      Outbox box(file, fakes(rx));
      ADD_FAILURE() << "opened a garbage outbox";
    } catch (const std::runtime_error& e) {
      EXPECT_TRUE(std::string(e.what()).starts_with(file.string() + ": ")) << e.what();
    }
    EXPECT_EQ(slurp_file(file), content);  // left as it was for the operator
  }
  write_text(file, "");  // created but empty: recovered
  Outbox box(file, fakes(rx));
  EXPECT_EQ(box.warnings().size(), 1u);
}

// kill -9 of a process that enqueues and delivers as fast as it can, at a random moment: every
// enqueue that returned is still pending afterwards, or was handed to the receiver.
TEST_F(OutboxPersistence, KillNineLosesNoEnqueuedMessage) {
  std::mt19937 rng(42);
  for (int round = 0; round < 4; ++round) {
    ScratchDir round_dir("binwatch-alerts");
    const fs::path journal = round_dir.path() / "outbox.journal";
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(pipe_fds[0]);
      // Child: a receiver that reports what it was handed, then delivers.
      class Reporting : public Notifier {
       public:
        Reporting(ReceiverConfig c, int fd) : Notifier(std::move(c)), m_fd(fd) {}

       protected:
        SendResult do_send(const Delivery& d) override {
          for (const auto& n : d.notifications) {
            const std::string line = "D " + n.id + "\n";
            if (::write(m_fd, line.data(), line.size()) < 0) ::_exit(3);
          }
          return {};
        }

       private:
        int m_fd;
      };
      ReceiverConfig c = receiver("a", ReceiverType::Webhook, "http://unused");
      c.rate_limit = 10000;
      std::vector<std::unique_ptr<Notifier>> v;
      v.push_back(std::make_unique<Reporting>(c, pipe_fds[1]));
      Outbox box(journal, std::move(v));
      for (int i = 0;; ++i) {
        box.enqueue(make_notification("m" + std::to_string(i), "a"));
        const std::string line = "E m" + std::to_string(i) + "\n";
        if (::write(pipe_fds[1], line.data(), line.size()) < 0) ::_exit(3);
        if (i % 3 == 2) box.deliver_due();
      }
    }
    ::close(pipe_fds[1]);
    // Let it enqueue a random number of messages, then kill it a random moment later, mid-flight.
    const size_t target = 5 + rng() % 40;
    std::string reported;
    char buf[4096];
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (static_cast<size_t>(std::count(reported.begin(), reported.end(), 'E')) < target &&
           std::chrono::steady_clock::now() < give_up) {
      const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
      if (n <= 0) break;
      reported.append(buf, static_cast<size_t>(n));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped on its own";
    for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) reported.append(buf, static_cast<size_t>(n));
    ::close(pipe_fds[0]);
    std::set<std::string> enqueued, handed;
    std::istringstream lines(reported);
    for (std::string kind, id; lines >> kind >> id;) (kind == "E" ? enqueued : handed).insert(id);
    ASSERT_GE(enqueued.size(), target) << "round " << round;

    Outbox box(journal, fakes(rx));
    const auto pending = ids_of(box.pending());
    for (const auto& id : enqueued) {
      EXPECT_TRUE(pending.contains(id) || handed.contains(id)) << id << " lost (round " << round << ")";
    }
    EXPECT_LE(pending.size(), enqueued.size() + 1);  // at most the one whose enqueue had not returned
    for (const auto& w : box.warnings()) EXPECT_NE(w.find("incomplete last record"), std::string::npos) << w;
  }
}

// ---------------------------------------------------------------------------------------------
// PagerDuty against a local fake Events API v2

TEST(PagerDuty, EventShapeAndStableDedupKeys) {
  ScratchDir dir("binwatch-alerts");
  LocalReceiver http;
  http.fallback({202, R"({"status":"success","message":"Event processed"})", ""});
  const fs::path key_file = dir.path() / "pd.key";
  write_text(key_file, "R0UT1NGKEY0123456789abcdef012345\n");
  ReceiverConfig c = receiver("oncall", ReceiverType::PagerDuty, http.url());
  c.routing_key_file = key_file.string();
  const auto pd = make_notifier(c);
  auto send = [&](const Notification& n) {
    EXPECT_EQ(pd->send({"oncall", {n}, false}).outcome, SendOutcome::Delivered);
    const auto seen = http.seen();
    EXPECT_EQ(seen.back().path, "/v2/enqueue");
    return seen.back().body;
  };
  const json trigger = send(make_notification("m1", "oncall"));
  EXPECT_EQ(trigger.at("routing_key"), "R0UT1NGKEY0123456789abcdef012345");
  EXPECT_EQ(trigger.at("event_action"), "trigger");
  const std::string key = trigger.at("dedup_key");
  EXPECT_TRUE(key.starts_with("binwatch-")) << key;
  const json& payload = trigger.at("payload");
  EXPECT_EQ(payload.at("summary"), "binlog partition /var/lib/mysql full in <4h");
  EXPECT_EQ(payload.at("source"), "db1");  // the "host" label
  EXPECT_EQ(payload.at("severity"), "warning");
  EXPECT_EQ(payload.at("component"), "/var/lib/mysql");
  EXPECT_EQ(payload.at("group"), "binlog_time_to_full");
  EXPECT_EQ(payload.at("class"), "<4h");
  EXPECT_EQ(payload.at("timestamp"), format_rfc3339(kT0 / 1000));
  EXPECT_EQ(payload.at("custom_details").at("alert_id"), "a1b2");
  EXPECT_EQ(payload.at("custom_details").at("runbook"), "https://wiki/runbook");

  // The same identity: the same key whatever the message; ack and resolve map to their actions.
  const json reminder = send(make_notification("m2", "oncall", NotificationKind::Reminder));
  EXPECT_EQ(reminder.at("dedup_key"), key);
  EXPECT_EQ(reminder.at("event_action"), "trigger");
  const json ack = send(make_notification("m3", "oncall", NotificationKind::Acknowledge));
  EXPECT_EQ(ack.at("event_action"), "acknowledge");
  EXPECT_EQ(ack.at("dedup_key"), key);
  const json resolve = send(make_notification("m4", "oncall", NotificationKind::Resolve));
  EXPECT_EQ(resolve.at("event_action"), "resolve");
  EXPECT_EQ(resolve.at("dedup_key"), key);

  // Worse severity or a shrunk band: a new incident, never absorbed by an acknowledged one.
  const json critical = send(make_notification("m5", "oncall", NotificationKind::Trigger, Severity::Critical));
  const json band = send(make_notification("m6", "oncall", NotificationKind::Trigger, Severity::Warning, "<1h"));
  const json other = send(make_notification("m7", "oncall", NotificationKind::Trigger, Severity::Warning, "<4h", "/data"));
  std::set<std::string> keys = {key, critical.at("dedup_key"), band.at("dedup_key"), other.at("dedup_key")};
  EXPECT_EQ(keys.size(), 4u);
  EXPECT_EQ(critical.at("payload").at("severity"), "critical");
  const json emergency = send(make_notification("m8", "oncall", NotificationKind::Trigger, Severity::Emergency));
  EXPECT_EQ(emergency.at("payload").at("severity"), "critical");  // PagerDuty has no emergency
  EXPECT_NE(emergency.at("dedup_key"), critical.at("dedup_key"));

  // The policy's own dedup_key wins.
  Notification own = make_notification("m9", "oncall");
  own.dedup_key = "policy-key-1";
  EXPECT_EQ(send(own).at("dedup_key"), "policy-key-1");

  // A digest of resolves only pages nobody: a change event.
  Delivery digest{"oncall",
                  {make_notification("r1", "oncall", NotificationKind::Resolve),
                   make_notification("r2", "oncall", NotificationKind::Resolve)},
                  true};
  EXPECT_EQ(pd->send(digest).outcome, SendOutcome::Delivered);
  EXPECT_EQ(http.seen().back().path, "/v2/change/enqueue");
  EXPECT_FALSE(http.seen().back().body.contains("event_action"));
  EXPECT_EQ(http.seen().back().body.at("payload").at("custom_details").at("count"), 2);
  // A digest with triggers is one trigger whose key depends on the set of messages only.
  digest.notifications[1].kind = NotificationKind::Trigger;
  EXPECT_EQ(pd->send(digest).outcome, SendOutcome::Delivered);
  const json d1 = http.seen().back().body;
  EXPECT_EQ(d1.at("event_action"), "trigger");
  EXPECT_EQ(pd->send(digest).outcome, SendOutcome::Delivered);
  EXPECT_EQ(http.seen().back().body.at("dedup_key"), d1.at("dedup_key"));
}

TEST(PagerDuty, RoutingKeyFileProblemsNameTheFileNotTheKey) {
  ScratchDir dir("binwatch-alerts");
  ReceiverConfig c = receiver("oncall", ReceiverType::PagerDuty, std::string(kPagerDutyDefaultUrl));
  c.routing_key_file = (dir.path() / "missing.key").string();
  try {
    make_notifier(c);
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), c.routing_key_file + ": cannot read the PagerDuty routing key of receiver \"oncall\"");
  }
  write_text(c.routing_key_file, "SECRET1 SECRET2\n");
  try {
    make_notifier(c);
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).find("SECRET"), std::string::npos) << e.what();
    EXPECT_TRUE(std::string(e.what()).starts_with(c.routing_key_file + ": ")) << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// exec

ReceiverConfig exec_receiver(const std::string& script, uint32_t timeout_ms = 5000) {
  ReceiverConfig c = receiver("script", ReceiverType::Exec);
  c.command = "sh";
  c.args = {"-c", script};
  c.timeout_ms = timeout_ms;
  return c;
}

TEST(Exec, TheCommandGetsTheJsonOnStandardInput) {
  ScratchDir dir("binwatch-alerts");
  const fs::path out = dir.path() / "got.json";
  const auto n = make_notification("m1", "script", NotificationKind::Resolve, Severity::Critical, "<1h");
  const auto r = make_notifier(exec_receiver("cat > '" + out.string() + "'"))->send({"script", {n}, false});
  EXPECT_EQ(r.outcome, SendOutcome::Delivered) << r.reason;
  EXPECT_EQ(json::parse(slurp_file(out)), notification_to_json(n));
}

TEST(Exec, ExitStatusTimeoutAndMissingCommandAreClassified) {
  const Delivery d{"script", {make_notification("m1", "script")}, false};
  auto r = make_notifier(exec_receiver("echo 'queue full' >&2; exit 3"))->send(d);
  EXPECT_EQ(r.outcome, SendOutcome::Retry);
  EXPECT_EQ(r.reason, "sh: exited with status 3: queue full");
  r = make_notifier(exec_receiver("exit 65"))->send(d);
  EXPECT_EQ(r.outcome, SendOutcome::Permanent);
  EXPECT_EQ(r.reason, "sh: exited with status 65");
  const auto start = std::chrono::steady_clock::now();
  r = make_notifier(exec_receiver("sleep 20; exit 0", 300))->send(d);
  EXPECT_EQ(r.outcome, SendOutcome::Retry);
  EXPECT_EQ(r.reason, "sh: timed out after 300 ms (killed)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  ReceiverConfig missing = exec_receiver("");
  missing.command = "/nonexistent/binwatch-page";
  r = make_notifier(missing)->send(d);
  EXPECT_EQ(r.outcome, SendOutcome::Permanent);
  EXPECT_EQ(r.reason, "cannot start /nonexistent/binwatch-page: No such file or directory");
}

TEST(Exec, ACommandThatIgnoresAHugeInputDoesNotKillUs) {
  Notification n = make_notification("m1", "script");
  n.summary.assign(1 << 20, 'x');  // far more than a pipe holds
  const auto r = make_notifier(exec_receiver("exit 0"))->send({"script", {n}, false});
  EXPECT_EQ(r.outcome, SendOutcome::Delivered) << r.reason;
}

// ---------------------------------------------------------------------------------------------
// The worker thread, real time

TEST(OutboxWorker, DrainsOnItsOwnAndStops) {
  ScratchDir dir("binwatch-alerts");
  LocalReceiver http;
  http.script({{503, "", "0"}});
  ReceiverConfig c = receiver("hook", ReceiverType::Webhook, http.url());
  OutboxOptions o;
  o.backoff_min = milliseconds(20);
  o.backoff_max = milliseconds(50);
  Outbox box(dir.path() / "outbox.journal", one(c), o);
  box.start();
  box.enqueue(make_notification("m1", "hook"));
  box.enqueue(make_notification("m2", "hook"));
  EXPECT_TRUE(box.wait_empty(milliseconds(5000)));
  box.stop();
  const auto seen = http.seen();
  std::vector<std::string> ids;
  for (const auto& s : seen) {
    for (const auto& id : body_ids(s.body)) ids.push_back(id);
  }
  // m1 was refused once (Retry-After: 0) and sent again; each arrived exactly once in the end.
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "m1"), 2);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "m2"), 1);
}

// ---------------------------------------------------------------------------------------------
// A real Alertmanager 0.25 (Debian prometheus-alertmanager) on loopback

constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";

class RealAlertmanager {
 public:
  explicit RealAlertmanager(const fs::path& dir) : m_port(free_port()) {
    write_text(dir / "alertmanager.yml", "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n");
    fs::create_directories(dir / "data");
    const std::string config = "--config.file=" + (dir / "alertmanager.yml").string();
    const std::string storage = "--storage.path=" + (dir / "data").string();
    const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(m_port);
    const std::string log = (dir / "alertmanager.log").string();
    m_pid = ::fork();
    if (m_pid == 0) {
      FILE* f = std::freopen(log.c_str(), "w", stderr);
      (void)f;
      ::execl(kAlertmanager, kAlertmanager, config.c_str(), storage.c_str(), listen.c_str(),
              "--cluster.listen-address=", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    m_log = log;
  }
  ~RealAlertmanager() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGTERM);
      int status = 0;
      ::waitpid(m_pid, &status, 0);
    }
  }
  bool wait_ready() {
    httplib::Client c("127.0.0.1", m_port);
    c.set_connection_timeout(milliseconds(200));
    for (int i = 0; i < 150; ++i) {
      if (auto r = c.Get("/-/ready"); r && r->status == 200) return true;
      std::this_thread::sleep_for(milliseconds(100));
    }
    return false;
  }
  json alerts() {
    httplib::Client c("127.0.0.1", m_port);
    auto r = c.Get("/api/v2/alerts");
    if (!r || r->status != 200) return json();
    return json::parse(r->body);
  }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  [[nodiscard]] std::string log() const { return slurp_file(m_log); }

 private:
  int m_port;
  pid_t m_pid = -1;
  std::string m_log;
};

TEST(Alertmanager, RealAlertmanagerReceivesThenResolves) {
  if (!fs::exists(kAlertmanager)) GTEST_SKIP() << kAlertmanager << " absent (apt-get install prometheus-alertmanager)";
  ScratchDir dir("binwatch-alerts");
  RealAlertmanager am(dir.path());
  ASSERT_TRUE(am.wait_ready()) << am.log();
  ReceiverConfig c = receiver("am", ReceiverType::Alertmanager, am.url());
  c.generator_url = "http://db1:9874/api/v1/alerts";
  OutboxOptions o;
  Outbox box(dir.path() / "outbox.journal", one(c), o);
  const int64_t now_s = std::time(nullptr);
  Notification n = make_notification("m1", "am", NotificationKind::Trigger, Severity::Critical, "<1h");
  n.starts_at = now_s - 60;
  n.created_at = now_s;
  Notification other = make_notification("m2", "am", NotificationKind::Trigger, Severity::Warning, "<4h", "/data");
  other.starts_at = other.created_at = now_s;
  box.enqueue(std::vector<Notification>{n, other});
  EXPECT_EQ(box.deliver_due(), 1u);  // both in one POST
  ASSERT_TRUE(box.pending().empty()) << box.status().receivers.at(0).last_error;

  auto find = [&](const json& alerts, const std::string& subject) -> json {
    for (const auto& a : alerts) {
      if (a.at("labels").value("subject", "") == subject) return a;
    }
    return json();
  };
  json got;
  for (int i = 0; i < 50 && got.is_null(); ++i) {
    got = find(am.alerts(), "/var/lib/mysql");
    if (got.is_null()) std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_FALSE(got.is_null()) << am.alerts().dump();
  EXPECT_EQ(got.at("labels"), (json{{"alertname", "binlog_time_to_full"}, {"rule", "binlog_time_to_full"},
                                    {"subject", "/var/lib/mysql"}, {"severity", "critical"}, {"band", "<1h"},
                                    {"alert_id", "a1b2"}, {"mount", "/var/lib/mysql"}, {"host", "db1"}}));
  EXPECT_EQ(got.at("annotations").at("summary"), "binlog partition /var/lib/mysql full in <1h");
  EXPECT_EQ(got.at("status").at("state"), "active");
  EXPECT_EQ(got.at("startsAt").get<std::string>().substr(0, 19), format_rfc3339(now_s - 60).substr(0, 19));
  EXPECT_EQ(got.at("generatorURL"), "http://db1:9874/api/v1/alerts");
  EXPECT_FALSE(find(am.alerts(), "/data").is_null());

  Notification resolve = n;
  resolve.id = "m3";
  resolve.kind = NotificationKind::Resolve;
  resolve.ends_at = std::time(nullptr);
  resolve.created_at = resolve.ends_at;
  box.enqueue(resolve);
  EXPECT_EQ(box.deliver_due(), 1u);
  ASSERT_TRUE(box.pending().empty()) << box.status().receivers.at(0).last_error;
  // Resolved: no longer listed as an active alert (the API leaves resolved ones out); the other
  // alert is untouched.
  bool resolved = false;
  for (int i = 0; i < 50 && !resolved; ++i) {
    const json a = find(am.alerts(), "/var/lib/mysql");
    resolved = a.is_null() || a.at("status").at("state") != "active";
    if (!resolved) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(resolved) << am.alerts().dump();
  const json still = find(am.alerts(), "/data");
  ASSERT_FALSE(still.is_null());
  EXPECT_EQ(still.at("status").at("state"), "active");
  // It stays active for active_for_s (a day), not Alertmanager's 5-minute resolve_timeout.
  EXPECT_EQ(still.at("endsAt").get<std::string>().substr(0, 19), format_rfc3339(now_s + 86400).substr(0, 19));
}

}  // namespace
}  // namespace binwatch::alerts
