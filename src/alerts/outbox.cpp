#include "binwatch/alerts/outbox.h"

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "binwatch/alerts/notification_json.h"
#include "binwatch/replication/replication_source.h"
#include "outbox_journal.h"

namespace binwatch::alerts {

namespace fs = std::filesystem;
using nlohmann::json;

// Journal records (outbox_journal.h has the line format):
//   {"op":"add","seq":N,"n":{notification},"enq":ms,"att":attempts,"next":ms,"err":"..."}
//   {"op":"retry","seq":N,"att":attempts,"next":ms,"err":"..."}   back-off state (not fsynced)
//   {"op":"done","seq":N}                                          delivered: removed
//   {"op":"dead","seq":N,"reason":"...","at":ms}                   pending -> dead letters
//   {"op":"deadletter","n":{...},"att":attempts,"reason":"...","at":ms}   a dead letter as such

namespace {

std::string seconds_text(int64_t ms) { return std::to_string((ms + 500) / 1000) + " s"; }

}  // namespace

fs::path outbox_path(const fs::path& state_dir) { return state_dir / "outbox.journal"; }

std::vector<std::unique_ptr<Notifier>> make_notifiers(const std::vector<ReceiverConfig>& receivers) {
  std::vector<std::unique_ptr<Notifier>> out;
  for (const auto& r : receivers) out.push_back(make_notifier(r));
  return out;
}

Outbox::Outbox(fs::path file, std::vector<std::unique_ptr<Notifier>> notifiers, OutboxOptions options)
    : m_file(std::move(file)), m_opt(std::move(options)) {
  if (!m_opt.random01) {
    auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
    m_opt.random01 = [rng] { return std::uniform_real_distribution<double>(0.0, 1.0)(*rng); };
  }
  for (auto& n : notifiers) {
    const ReceiverConfig& c = n->config();
    Receiver r{nullptr, RateWindow(c.rate_limit, int64_t{c.window_s} * 1000), 0, {}};
    r.stats.name = c.name;
    r.stats.type = c.type;
    r.notifier = std::move(n);
    if (!m_receivers.emplace(c.name, std::move(r)).second)
      throw std::invalid_argument("alert outbox: two receivers named \"" + c.name + "\"");
  }
  OutboxJournal::Contents contents = OutboxJournal::read(m_file);
  m_warnings = std::move(contents.warnings);
  for (const auto& w : m_warnings) spdlog::warn("alert outbox: {}", w);
  std::lock_guard lock(m_mutex);
  replay(contents.records);
  for (auto& [name, rx] : m_receivers) rx.stats.dead = 0;  // counts since start, not the replayed past
  std::vector<json> ignored;
  std::vector<uint64_t> orphans;
  for (const auto& [seq, e] : m_pending) {
    if (!m_receivers.contains(e.n.receiver)) orphans.push_back(seq);
  }
  for (uint64_t seq : orphans) {
    const std::string receiver = m_pending.at(seq).n.receiver;
    kill_locked(seq, "receiver \"" + receiver + "\" is no longer configured", now(), ignored);
    spdlog::error("alert outbox: a pending message for receiver \"{}\", which is no longer configured, was "
                  "dead-lettered", receiver);
  }
  m_journal = std::make_unique<OutboxJournal>(m_file);
  m_journal->rewrite(snapshot_locked());
}

Outbox::~Outbox() { stop(); }

int64_t Outbox::now() const {
  if (m_opt.clock) return m_opt.clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Outbox::replay(const std::vector<json>& records) {
  size_t bad = 0;
  for (const auto& r : records) {
    try {
      const std::string op = r.at("op").get<std::string>();
      if (op == "deadletter") {
        add_dead_locked({notification_from_json(r.at("n")), r.at("reason").get<std::string>(), r.at("att").get<unsigned>(),
                         r.at("at").get<int64_t>()});
        continue;
      }
      const uint64_t seq = r.at("seq").get<uint64_t>();
      m_next_seq = std::max(m_next_seq, seq + 1);
      if (op == "add") {
        Entry e;
        e.n = notification_from_json(r.at("n"));
        e.enqueued_ms = r.at("enq").get<int64_t>();
        e.attempts = r.at("att").get<unsigned>();
        e.next_ms = r.at("next").get<int64_t>();
        e.last_error = r.value("err", "");
        const auto key = std::make_pair(e.n.receiver, e.n.id);
        if (m_by_id.contains(key)) continue;
        m_by_id[key] = seq;
        m_pending.emplace(seq, std::move(e));
        continue;
      }
      auto it = m_pending.find(seq);
      if (it == m_pending.end()) continue;  // its add was damaged, or already finished
      if (op == "retry") {
        it->second.attempts = r.at("att").get<unsigned>();
        it->second.next_ms = r.at("next").get<int64_t>();
        it->second.last_error = r.value("err", "");
      } else if (op == "done") {
        m_by_id.erase({it->second.n.receiver, it->second.n.id});
        m_pending.erase(it);
      } else if (op == "dead") {
        std::vector<json> ignored;
        kill_locked(seq, r.at("reason").get<std::string>(), r.at("at").get<int64_t>(), ignored);
      } else {
        throw std::runtime_error("unknown op \"" + op + "\"");
      }
    } catch (const std::exception& e) {
      if (bad++ == 0) m_warnings.push_back(m_file.string() + ": unusable record skipped: " + e.what());
    }
  }
  if (bad > 1) m_warnings.push_back(m_file.string() + ": " + std::to_string(bad) + " unusable records skipped");
}

std::vector<json> Outbox::snapshot_locked() const {
  std::vector<json> out;
  for (const auto& d : m_dead) {
    out.push_back({{"op", "deadletter"}, {"n", notification_to_json(d.notification)}, {"att", d.attempts},
                   {"reason", d.reason}, {"at", d.at_ms}});
  }
  for (const auto& [seq, e] : m_pending) {
    out.push_back({{"op", "add"}, {"seq", seq}, {"n", notification_to_json(e.n)}, {"enq", e.enqueued_ms},
                   {"att", e.attempts}, {"next", e.next_ms}, {"err", e.last_error}});
  }
  return out;
}

void Outbox::write_locked(const std::vector<json>& records, bool sync) {
  if (m_journal_broken) {
    // An earlier append failed and may have left a torn line: start a clean file first.
    m_journal->rewrite(snapshot_locked());
    m_journal_broken = false;
  }
  try {
    m_journal->append(records, sync);
  } catch (...) {
    m_journal_broken = true;
    throw;
  }
}

void Outbox::compact_locked() {
  const size_t live = m_pending.size() + m_dead.size();
  if (m_journal->appended() < 256 || m_journal->appended() < 4 * live) return;
  try {
    m_journal->rewrite(snapshot_locked());
    m_journal_broken = false;
  } catch (const std::exception& e) {
    spdlog::error("alert outbox: compaction failed (the journal keeps growing): {}", e.what());
  }
}

void Outbox::add_dead_locked(DeadLetter d) {
  m_dead.push_back(std::move(d));
  while (m_dead.size() > m_opt.dead_letters_kept) m_dead.pop_front();
}

void Outbox::kill_locked(uint64_t seq, const std::string& reason, int64_t at_ms, std::vector<json>& records) {
  auto it = m_pending.find(seq);
  if (it == m_pending.end()) return;
  Entry& e = it->second;
  records.push_back({{"op", "dead"}, {"seq", seq}, {"reason", reason}, {"at", at_ms}});
  if (auto r = m_receivers.find(e.n.receiver); r != m_receivers.end()) ++r->second.stats.dead;
  m_by_id.erase({e.n.receiver, e.n.id});
  add_dead_locked({std::move(e.n), reason, e.attempts, at_ms});
  m_pending.erase(it);
}

void Outbox::enqueue(const Notification& n) { enqueue(std::span<const Notification>(&n, 1)); }

void Outbox::enqueue(std::span<const Notification> ns) {
  std::lock_guard lock(m_mutex);
  const int64_t t = now();
  std::vector<json> records;
  std::vector<std::pair<uint64_t, Entry>> added;
  std::vector<DeadLetter> dead;
  std::set<std::pair<std::string, std::string>> seen;
  uint64_t seq = m_next_seq;
  for (const auto& n : ns) {
    const auto key = std::make_pair(n.receiver, n.id);
    if (m_by_id.contains(key) || !seen.insert(key).second) {
      spdlog::debug("alert outbox: message {} for {} is already pending", n.id, n.receiver);
      continue;
    }
    const auto r = m_receivers.find(n.receiver);
    if (r == m_receivers.end()) {
      DeadLetter d{n, "no receiver named \"" + n.receiver + "\" is configured", 0, t};
      records.push_back({{"op", "deadletter"}, {"n", notification_to_json(n)}, {"att", 0}, {"reason", d.reason},
                         {"at", t}});
      dead.push_back(std::move(d));
      continue;
    }
    Entry e;
    e.n = n;
    e.enqueued_ms = t;
    e.next_ms = t + int64_t{r->second.notifier->config().group_wait_s} * 1000;
    records.push_back({{"op", "add"}, {"seq", seq}, {"n", notification_to_json(n)}, {"enq", t}, {"att", 0},
                       {"next", e.next_ms}, {"err", ""}});
    added.emplace_back(seq++, std::move(e));
  }
  write_locked(records, true);  // throws: nothing of it is enqueued
  m_next_seq = seq;
  for (auto& [s, e] : added) {
    m_by_id[{e.n.receiver, e.n.id}] = s;
    m_pending.emplace(s, std::move(e));
  }
  for (auto& d : dead) {
    spdlog::error("alert outbox: message {} dead-lettered: {}", d.notification.id, d.reason);
    add_dead_locked(std::move(d));
  }
  compact_locked();
  m_kick = true;
  m_cv.notify_all();
}

std::optional<int64_t> Outbox::next_due_locked(int64_t t) const {
  std::optional<int64_t> best;
  for (const auto& [name, rx] : m_receivers) {
    std::optional<int64_t> earliest;
    for (const auto& [seq, e] : m_pending) {
      if (e.n.receiver == name && !e.in_flight) earliest = std::min(earliest.value_or(e.next_ms), e.next_ms);
    }
    if (!earliest) continue;
    const int64_t at = std::max({*earliest, rx.window.next_free_ms(t), rx.hold_until_ms});
    best = std::min(best.value_or(at), at);
  }
  return best;
}

std::optional<int64_t> Outbox::next_due_ms() const {
  std::lock_guard lock(m_mutex);
  return next_due_locked(now());
}

std::vector<Outbox::Planned> Outbox::plan_locked(int64_t t) {
  std::vector<Planned> plans;
  for (auto& [name, rx] : m_receivers) {
    // Ready: the due messages, plus fresh ones still in their group wait (they fold in).
    std::vector<uint64_t> ready;
    bool any_due = false;
    for (const auto& [seq, e] : m_pending) {
      if (e.n.receiver != name || e.in_flight) continue;
      if (e.next_ms <= t) {
        any_due = true;
        ready.push_back(seq);
      } else if (e.attempts == 0) {
        ready.push_back(seq);
      }
    }
    if (!any_due || t < rx.hold_until_ms) continue;
    const bool native = rx.notifier->batches_natively();
    for (const auto& [first, count] : plan_sends(ready.size(), rx.window.available(t), native)) {
      Planned p{&rx, {}, {name, {}, !native && count > 1}};
      for (size_t i = first; i < first + count; ++i) {
        Entry& e = m_pending.at(ready[i]);
        e.in_flight = true;
        p.seqs.push_back(ready[i]);
        p.delivery.notifications.push_back(e.n);
      }
      rx.window.record(t);
      plans.push_back(std::move(p));
    }
  }
  return plans;
}

void Outbox::apply_locked(Planned& p, const SendResult& r, int64_t t, std::vector<json>& records) {
  ReceiverStatus& stats = p.receiver->stats;
  ++stats.sends;
  if (p.delivery.digest) ++stats.digests;
  const std::string& name = stats.name;
  const size_t count = p.seqs.size();
  if (r.outcome == SendOutcome::Delivered) {
    for (uint64_t seq : p.seqs) {
      auto it = m_pending.find(seq);
      records.push_back({{"op", "done"}, {"seq", seq}});
      m_by_id.erase({it->second.n.receiver, it->second.n.id});
      m_pending.erase(it);
    }
    stats.delivered += count;
    if (p.delivery.digest) {
      p.receiver->hold_until_ms = t + int64_t{p.receiver->notifier->config().window_s} * 1000;
      spdlog::info("alert outbox: digest of {} messages delivered to {}", count, name);
    } else {
      spdlog::debug("alert outbox: {} message(s) delivered to {}", count, name);
    }
    return;
  }
  stats.last_error = r.reason;
  stats.last_error_ms = t;
  if (r.outcome == SendOutcome::Permanent) {
    spdlog::error("alert outbox: {} refused {} message(s), dead-lettered, not retried: {}", name, count, r.reason);
    for (uint64_t seq : p.seqs) kill_locked(seq, r.reason, t, records);
    return;
  }
  ++stats.retries;
  unsigned attempts = 0;
  for (uint64_t seq : p.seqs) attempts = std::max(attempts, m_pending.at(seq).attempts + 1);
  // One delay for the whole send, so its messages stay together.
  const std::chrono::milliseconds delay =
      r.retry_after ? std::min(*r.retry_after, m_opt.retry_after_max)
                    : replication::backoff_delay(attempts - 1, m_opt.backoff_min, m_opt.backoff_max, m_opt.random01());
  size_t gave_up = 0;
  for (uint64_t seq : p.seqs) {
    Entry& e = m_pending.at(seq);
    e.in_flight = false;
    e.attempts = attempts;
    e.last_error = r.reason;
    if (t - e.enqueued_ms >= m_opt.give_up_after.count()) {
      ++gave_up;
      kill_locked(seq,
                  "gave up after " + std::to_string(attempts) + " attempts in " + seconds_text(t - e.enqueued_ms) +
                      ": " + r.reason,
                  t, records);
      continue;
    }
    e.next_ms = t + delay.count();
    records.push_back({{"op", "retry"}, {"seq", seq}, {"att", e.attempts}, {"next", e.next_ms}, {"err", r.reason}});
  }
  spdlog::warn("alert outbox: sending {} message(s) to {} failed (attempt {}), {}: {}", count, name, attempts,
               gave_up == count ? "gave up, dead-lettered"
                                : "retry in " + std::to_string(delay.count()) + " ms" +
                                      (r.retry_after ? " (Retry-After)" : ""),
               r.reason);
}

size_t Outbox::deliver_due() {
  std::lock_guard round(m_round_mutex);
  std::vector<Planned> plans;
  {
    std::lock_guard lock(m_mutex);
    plans = plan_locked(now());
  }
  std::vector<SendResult> results;
  for (auto& p : plans) results.push_back(p.receiver->notifier->send(p.delivery));
  std::lock_guard lock(m_mutex);
  const int64_t t = now();
  std::vector<json> records;
  bool sync = false;
  for (size_t i = 0; i < plans.size(); ++i) {
    sync = sync || results[i].outcome != SendOutcome::Retry;
    apply_locked(plans[i], results[i], t, records);
  }
  try {
    // Done and dead records are fsynced; back-off state alone is not worth a sync (lost, it only
    // means an earlier retry after a crash).
    write_locked(records, sync);
    compact_locked();
  } catch (const std::exception& e) {
    spdlog::error("alert outbox: {} (delivered messages may be sent again after a restart)", e.what());
  }
  ++m_rounds;
  m_cv.notify_all();
  return plans.size();
}

void Outbox::start() {
  std::lock_guard lock(m_mutex);
  if (m_worker.joinable()) return;
  m_stop = false;
  m_worker = std::thread([this] { run_worker(); });
}

void Outbox::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
    m_cv.notify_all();
  }
  if (m_worker.joinable()) m_worker.join();
}

void Outbox::run_worker() {
  std::unique_lock lock(m_mutex);
  while (!m_stop) {
    m_kick = false;
    lock.unlock();
    size_t sends = 0;
    try {
      sends = deliver_due();
    } catch (const std::exception& e) {
      spdlog::error("alert outbox: {}", e.what());
    }
    lock.lock();
    if (m_stop) break;
    if (m_kick) continue;
    const int64_t t = now();
    // Re-read the clock at least every second; never spin when something due could not go.
    std::chrono::milliseconds wait{1000};
    if (const auto next = next_due_locked(t)) {
      wait = std::chrono::milliseconds(std::clamp<int64_t>(*next - t, sends == 0 ? 10 : 0, 1000));
    }
    m_cv.wait_for(lock, wait, [&] { return m_stop || m_kick; });
  }
}

bool Outbox::wait_empty(std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  return m_cv.wait_for(lock, timeout, [&] { return m_pending.empty(); });
}

std::vector<Notification> Outbox::pending() const {
  std::lock_guard lock(m_mutex);
  std::vector<Notification> out;
  for (const auto& [seq, e] : m_pending) out.push_back(e.n);
  return out;
}

std::vector<DeadLetter> Outbox::dead_letters() const {
  std::lock_guard lock(m_mutex);
  return {m_dead.begin(), m_dead.end()};
}

OutboxStatus Outbox::status() const {
  std::lock_guard lock(m_mutex);
  OutboxStatus s;
  s.pending = m_pending.size();
  for (const auto& [receiver_name, rx] : m_receivers) {
    // A named copy: clang before 16 cannot capture a structured binding in a lambda.
    const std::string& name = receiver_name;
    ReceiverStatus r = rx.stats;
    r.pending = static_cast<size_t>(std::count_if(m_pending.begin(), m_pending.end(),
                                                  [&](const auto& kv) { return kv.second.n.receiver == name; }));
    s.receivers.push_back(std::move(r));
  }
  s.dead_letters.assign(m_dead.begin(), m_dead.end());
  s.warnings = m_warnings;
  return s;
}

json to_json(const OutboxStatus& s) {
  json receivers = json::array();
  for (const auto& r : s.receivers) {
    receivers.push_back({{"name", r.name}, {"type", receiver_type_name(r.type)}, {"pending", r.pending},
                         {"sends", r.sends}, {"delivered", r.delivered}, {"digests", r.digests},
                         {"retries", r.retries}, {"dead", r.dead}, {"last_error", r.last_error},
                         {"last_error_ms", r.last_error_ms}});
  }
  json dead = json::array();
  for (const auto& d : s.dead_letters) {
    dead.push_back({{"id", d.notification.id}, {"receiver", d.notification.receiver},
                    {"alert_id", d.notification.alert_id}, {"kind", notification_kind_name(d.notification.kind)},
                    {"summary", d.notification.summary}, {"reason", d.reason}, {"attempts", d.attempts},
                    {"at_ms", d.at_ms}});
  }
  return {{"pending", s.pending}, {"receivers", receivers}, {"dead_letters", dead}, {"warnings", s.warnings}};
}

}  // namespace binwatch::alerts
