// The pure alert decisions (see alert_decision.h for what an acknowledgement covers). One tick:
// index the observations by metric and subject, evaluate every (rule, subject) once, move its
// alerts through pending -> firing -> resolved, then page what is owed, escalate and remind.
// Everything is linear in observations + alerts (map lookups aside): a storm of 500 subjects
// costs 500 evaluations, never 500 x 500.
#include "binwatch/policy/alert_decision.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <unordered_map>

#include "binwatch/net/net_watch.h"
#include "binwatch/policy/duration.h"
#include "binwatch/policy/fnv1a.h"

namespace binwatch::policy {
namespace {

using alerts::Notification;
using alerts::NotificationKind;

// A counter's last value is kept this long after its subject was last seen: a sampling gap must
// not make an integrity rule re-learn (and miss) the increase that happened during the gap.
constexpr int64_t kCounterRetentionMs = 24 * 3'600'000;

// metric -> subject -> observations
using SubjectIndex = std::unordered_map<std::string_view, std::vector<const Observation*>>;
using MetricIndex = std::unordered_map<std::string_view, SubjectIndex>;

bool has_labels(const Observation& o, const std::map<std::string, std::string>& want) {
  for (const auto& [k, v] : want) {
    auto it = o.labels.find(k);
    if (it == o.labels.end() || it->second != v) return false;
  }
  return true;
}

bool subject_selected(const Rule& r, std::string_view subject) {
  if (r.subjects.empty()) return true;
  for (const auto& p : r.subjects) {
    if (!p.empty() && p.back() == '*' ? subject.starts_with(std::string_view(p).substr(0, p.size() - 1)) : subject == p)
      return true;
  }
  return false;
}

// The observations of one subject that count: those matching `match`, narrowed to those
// matching `prefer` when there are any.
std::vector<const Observation*> select(const std::vector<const Observation*>& all,
                                       const std::map<std::string, std::string>& match,
                                       const std::map<std::string, std::string>& prefer) {
  std::vector<const Observation*> out;
  for (const Observation* o : all) {
    if (has_labels(*o, match)) out.push_back(o);
  }
  if (!prefer.empty()) {
    std::vector<const Observation*> preferred;
    for (const Observation* o : out) {
      if (has_labels(*o, prefer)) preferred.push_back(o);
    }
    if (!preferred.empty()) out = std::move(preferred);
  }
  return out;
}

const std::vector<const Observation*>* lookup(const MetricIndex& idx, std::string_view metric,
                                              std::string_view subject) {
  auto m = idx.find(metric);
  if (m == idx.end()) return nullptr;
  auto s = m->second.find(subject);
  return s == m->second.end() ? nullptr : &s->second;
}

// The worst finite value in `direction` (NaN is ignored); the observation it came from.
const Observation* worst(const std::vector<const Observation*>& obs, Direction direction) {
  const Observation* best = nullptr;
  for (const Observation* o : obs) {
    if (std::isnan(o->value)) continue;
    if (!best || (direction == Direction::Above ? o->value > best->value : o->value < best->value)) best = o;
  }
  return best;
}

struct Evaluation {
  bool hold = false;  // observed, but no new value can be computed yet: keep the bands as they are
  std::optional<double> value;
  std::optional<double> free_ratio;
  const std::map<std::string, std::string>* labels = nullptr;
};

Evaluation evaluate(const Rule& r, std::string_view subject, const std::vector<const Observation*>& obs,
                    const MetricIndex& idx, Track& track, int64_t now_ms) {
  Evaluation e;
  if (obs.empty()) return e;
  track.seen_ms = now_ms;
  switch (r.kind) {
    case RuleKind::Threshold:
    case RuleKind::TimeToFull: {
      if (const Observation* o = worst(obs, r.direction)) {
        e.value = o->value;
        e.labels = &o->labels;
      }
      if (r.kind == RuleKind::TimeToFull && !r.avail_metric.empty()) {
        const auto* avail = lookup(idx, r.avail_metric, subject);
        const auto* size = lookup(idx, r.size_metric, subject);
        const Observation* a = avail ? worst(*avail, Direction::Below) : nullptr;
        const Observation* s = size ? worst(*size, Direction::Above) : nullptr;
        if (a && s && s->value > 0) e.free_ratio = std::max(0.0, a->value) / s->value;
      }
      return e;
    }
    case RuleKind::RateOverBaseline: {
      const Observation* rate = worst(obs, Direction::Above);
      const auto* base_all = lookup(idx, r.baseline_metric, subject);
      const Observation* base = base_all ? worst(select(*base_all, r.baseline_match, {}), Direction::Above) : nullptr;
      if (!rate || !base) return e;
      e.labels = &rate->labels;
      if (rate->value < r.min_value) e.value = 0;  // too small to be a surge, whatever the ratio
      else e.value = base->value > 0 ? rate->value / base->value : std::numeric_limits<double>::infinity();
      return e;
    }
    case RuleKind::CounterRate:
    case RuleKind::Integrity: {
      double sum = 0;
      for (const Observation* o : obs) {
        if (!std::isnan(o->value)) sum += o->value;
      }
      e.labels = &obs.front()->labels;
      const std::optional<double> last = track.counter;
      const int64_t last_ms = track.counter_ms;
      if (r.kind == RuleKind::CounterRate && last && now_ms <= last_ms) {  // no time has passed
        e.hold = true;
        return e;
      }
      track.counter = sum;
      track.counter_ms = now_ms;
      if (!last) return e;  // the first observation only learns
      // nstat semantics: lower than before means it was reset and counted up from 0 again.
      const double increase = sum >= *last ? sum - *last : sum;
      if (r.kind == RuleKind::Integrity) e.value = increase;
      else e.value = increase * 1000.0 / static_cast<double>(now_ms - last_ms);
      return e;
    }
  }
  return e;
}

// Bands active after this evaluation: bit i for band i. A band fires beyond its value (or under
// its free fraction) and holds until back past its clear value (and free_clear). Active bands are
// closed downwards: when a worse band holds, the milder ones do too.
uint32_t active_bands(const Rule& r, const Evaluation& e, uint32_t was) {
  const bool has_value = e.value && !std::isnan(*e.value);
  if (!has_value && !e.free_ratio) return 0;
  int top = -1;
  for (size_t i = 0; i < r.bands.size(); ++i) {
    const Band& b = r.bands[i];
    bool fire = false, value_clear = true, free_clear = true;
    if (has_value) {
      const double v = *e.value;
      fire = r.direction == Direction::Above ? v > b.value : v < b.value;
      value_clear = r.direction == Direction::Above ? v <= b.clear : v >= b.clear;
    }
    if (b.free_below && e.free_ratio) {
      fire = fire || *e.free_ratio < *b.free_below;
      free_clear = *e.free_ratio >= *b.free_clear;
    }
    const bool held = ((was >> i) & 1u) && !(value_clear && free_clear);
    if (fire || held) top = static_cast<int>(i);
  }
  return top < 0 ? 0 : static_cast<uint32_t>((uint64_t{1} << (top + 1)) - 1);
}

std::string number_text(const char* format, double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string value_text(const Rule* r, double v) {
  const RuleKind kind = r ? r->kind : RuleKind::Threshold;
  switch (kind) {
    case RuleKind::TimeToFull:
      if (!std::isfinite(v)) return "never";
      return format_duration_ms(static_cast<int64_t>(std::llround(std::max(0.0, v))) * 1000);
    case RuleKind::RateOverBaseline: return std::isfinite(v) ? number_text("%.1fx", v) : "new (no baseline)";
    case RuleKind::CounterRate: return number_text("%.4g", v);
    case RuleKind::Integrity: return number_text("+%.0f", v);
    case RuleKind::Threshold: break;
  }
  return number_text("%g", v);
}

std::string render_summary(const Rule* r, const Alert& a) {
  std::string tmpl = r && !r->summary.empty() ? r->summary : "{rule}: {subject} {band} ({value})";
  const std::pair<std::string_view, std::string> vars[] = {{"{rule}", a.rule},
                                                           {"{subject}", a.subject},
                                                           {"{severity}", std::string(alerts::severity_name(a.severity))},
                                                           {"{band}", a.band},
                                                           {"{value}", value_text(r, a.value)}};
  std::string out;
  for (size_t i = 0; i < tmpl.size();) {
    bool replaced = false;
    for (const auto& [name, text] : vars) {
      if (std::string_view(tmpl).substr(i).starts_with(name)) {
        out += text;
        i += name.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) out += tmpl[i++];
  }
  return out;
}

std::string dedup_key(const Alert& a) {
  std::string key = a.id + ":" + a.band;
  if (a.generation > 0) key += ":" + std::to_string(a.generation);
  return key;
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

// Builds notifications with unique ids (the outbox's idempotency key): a hash of what, to whom,
// when and a sequence number that is persisted with the state.
class Emitter {
 public:
  Emitter(const AlertPolicy& policy, AlertState& state, int64_t now_ms, std::vector<Notification>& out)
      : m_policy(policy), m_state(state), m_now(now_ms), m_out(out) {}

  [[nodiscard]] int64_t now() const { return m_now; }
  const Rule* rule(const Alert& a) const { return m_policy.rule(a.rule); }
  const Ladder* ladder(const Rule* r) const { return r ? m_policy.ladder(r->ladder) : nullptr; }

  void send(const Alert& a, NotificationKind kind, const std::string& receiver, const std::string& key,
            const std::string& reason) {
    const Rule* r = rule(a);
    Notification n;
    const uint64_t seq = m_state.next_sequence++;
    uint64_t h = fnv1a64(a.id);
    for (std::string_view part : {std::string_view(key), std::string_view(receiver), alerts::notification_kind_name(kind)})
      h = fnv1a64(part, fnv1a64("\x1f", h));
    h = fnv1a64(std::to_string(m_now) + "/" + std::to_string(seq), fnv1a64("\x1f", h));
    n.id = hex_prefix(h, 16);
    n.receiver = receiver;
    n.kind = kind;
    n.alert_id = a.id;
    n.dedup_key = key;
    n.rule = a.rule;
    n.subject = a.subject;
    n.severity = a.severity;
    n.band = a.band;
    n.summary = render_summary(r, a);
    n.labels = a.labels;
    n.annotations["value"] = value_text(r, a.value);
    if (a.free_ratio) n.annotations["free_percent"] = number_text("%.2f", *a.free_ratio * 100);
    if (r && !r->runbook.empty()) n.annotations["runbook"] = r->runbook;
    if (!reason.empty()) n.annotations["reason"] = reason;
    if (a.ack) {
      n.annotations["acknowledged_by"] = a.ack->by;
      n.annotations["acknowledge_reason"] = a.ack->reason;
      n.annotations["acknowledge_expires_at"] = std::to_string(a.ack->expires_ms / 1000);
    }
    n.tier = a.tier;
    n.starts_at = (a.firing_since_ms ? a.firing_since_ms : a.pending_since_ms) / 1000;
    n.ends_at = kind == NotificationKind::Resolve ? m_now / 1000 : 0;
    n.created_at = m_now / 1000;
    m_out.push_back(std::move(n));
  }

  // Everyone paged so far, about every dedup_key opened (Acknowledge, Resolve).
  void to_paged(const Alert& a, NotificationKind kind, const std::string& reason) {
    for (const auto& receiver : a.paged) {
      for (const auto& key : a.open_keys) send(a, kind, receiver, key, reason);
    }
  }

  // A Trigger to every receiver of tiers 0..a.tier (or those paged before, without a ladder).
  void trigger(Alert& a, const Ladder* l) {
    std::vector<std::string> receivers;
    if (l) {
      for (unsigned t = 0; t <= a.tier && t < l->tiers.size(); ++t) {
        for (const auto& r : l->tiers[t].receivers) add_unique(receivers, r);
      }
    } else {
      receivers = a.paged;
    }
    a.dedup_key = dedup_key(a);
    add_unique(a.open_keys, a.dedup_key);
    for (const auto& r : receivers) {
      send(a, NotificationKind::Trigger, r, a.dedup_key, a.owed_reason);
      add_unique(a.paged, r);
    }
    a.page_band_rank = a.band_rank;
    a.last_page_ms = m_now;
    a.owed = false;
    a.owed_reason.clear();
  }

 private:
  const AlertPolicy& m_policy;
  AlertState& m_state;
  int64_t m_now;
  std::vector<Notification>& m_out;
};

void owe(Alert& a, std::string reason) {
  if (a.owed) return;
  a.owed = true;
  a.owed_reason = std::move(reason);
}

int64_t tier_after(const Ladder* l, unsigned tier) {
  if (!l || l->tiers.empty()) return 0;
  return l->tiers[std::min<size_t>(tier, l->tiers.size() - 1)].after_ms;
}

// An acknowledgement ended without a resolution: a firing alert pages again with a new
// generation (so a new dedup_key) and, after an expiry, one tier higher.
void end_ack(Alert& a, const Ladder* l, int64_t now_ms, const std::string& reason, bool climb) {
  a.ack.reset();
  if (a.phase != AlertPhase::Firing) return;
  ++a.generation;
  a.owed = false;
  owe(a, reason);
  if (climb && l && a.tier + 1 < l->tiers.size()) ++a.tier;
  a.ladder_base_ms = now_ms - tier_after(l, a.tier);
}

// After the alert's condition was updated: acknowledgement expiry and coverage, then what it
// owes (Trigger), escalation and reminders. `shadowed`: a higher severity of the same rule and
// subject is firing.
void settle(Alert& a, bool shadowed, Emitter& em) {
  const int64_t now = em.now();
  const Rule* r = em.rule(a);
  const Ladder* l = em.ladder(r);
  if (a.ack) {
    if (now >= a.ack->expires_ms) {
      end_ack(a, l, now, "the acknowledgement by " + a.ack->by + " expired and the alert is still active", true);
    } else if (a.band_rank > a.ack->band_rank) {
      end_ack(a, l, now, "band " + a.band + " is worse than the acknowledged band " + a.ack->band, false);
    }
  }
  const bool was_shadowed = a.shadowed;
  a.shadowed = shadowed;
  if (a.phase != AlertPhase::Firing) return;
  if (a.ack) {  // covered: it owes nothing and does not climb
    a.owed = false;
    a.owed_reason.clear();
    return;
  }
  // The condition is gone and the alert waits out clear_for: nothing pages, escalates or
  // reminds; what it owes is paged if the condition comes back.
  if (a.clear_since_ms) return;
  if (was_shadowed && !shadowed && !a.paged.empty()) {
    owe(a, "still firing after the higher severity resolved");
    a.ladder_base_ms = now - tier_after(l, a.tier);
  }
  if (!a.paged.empty() && a.band_rank > a.page_band_rank) owe(a, "worsened to band " + a.band);
  if (shadowed) return;
  if (a.owed) {
    em.trigger(a, l);
    return;
  }
  if (!l) return;
  while (a.tier + 1 < l->tiers.size() && now - a.ladder_base_ms >= l->tiers[a.tier + 1].after_ms) {
    ++a.tier;
    for (const auto& receiver : l->tiers[a.tier].receivers) {
      if (std::find(a.paged.begin(), a.paged.end(), receiver) != a.paged.end()) continue;
      em.send(a, NotificationKind::Escalation, receiver, a.dedup_key,
              "unacknowledged for " + format_duration_ms(now - a.firing_since_ms));
      a.paged.push_back(receiver);
    }
  }
  if (l->repeat_ms > 0 && now - a.last_page_ms >= l->repeat_ms) {
    for (const auto& receiver : a.paged) {
      em.send(a, NotificationKind::Reminder, receiver, a.dedup_key,
              "still firing, unacknowledged for " + format_duration_ms(now - a.firing_since_ms));
    }
    a.last_page_ms = now;
  }
}

// The distinct severities of a rule's bands, highest first.
std::vector<Severity> severities_descending(const Rule& r) {
  std::vector<Severity> out;
  for (auto it = r.bands.rbegin(); it != r.bands.rend(); ++it) {
    if (out.empty() || out.back() != it->severity) out.push_back(it->severity);
  }
  return out;
}

// Moves the alerts of one (rule, subject) through pending, firing and resolved, then settles
// them from the highest severity down. Returns whether any alert of the subject remains.
bool step_subject(const Rule& r, const std::string& subject, const Evaluation& e, uint32_t bands,
                  AlertState& st, Emitter& em) {
  const int64_t now = em.now();
  const std::vector<Severity> severities = severities_descending(r);
  std::vector<std::string> ids;
  for (Severity s : severities) ids.push_back(alert_id(r.name, subject, s));
  for (size_t k = 0; k < severities.size(); ++k) {
    int rank = -1;
    for (size_t i = 0; i < r.bands.size(); ++i) {
      if (((bands >> i) & 1u) && r.bands[i].severity == severities[k]) rank = static_cast<int>(i);
    }
    auto it = st.alerts.find(ids[k]);
    if (rank < 0) {
      if (it == st.alerts.end()) continue;
      Alert& a = it->second;
      if (e.value) a.value = *e.value;
      if (a.phase == AlertPhase::Pending) {
        st.alerts.erase(it);
        continue;
      }
      if (!a.clear_since_ms) a.clear_since_ms = now;
      if (now - *a.clear_since_ms >= r.clear_for_ms) {
        em.to_paged(a, NotificationKind::Resolve, "cleared for " + format_duration_ms(now - *a.clear_since_ms));
        st.alerts.erase(it);
      }
      continue;
    }
    if (it == st.alerts.end()) {
      Alert fresh;
      fresh.id = ids[k];
      fresh.rule = r.name;
      fresh.subject = subject;
      fresh.severity = severities[k];
      fresh.pending_since_ms = now;
      it = st.alerts.emplace(ids[k], std::move(fresh)).first;
    }
    Alert& a = it->second;
    a.band_rank = static_cast<unsigned>(rank);
    a.band = r.bands[a.band_rank].name;
    a.value = e.value.value_or(a.value);
    a.free_ratio = e.free_ratio;
    if (e.labels) a.labels = *e.labels;
    a.clear_since_ms.reset();
    if (a.phase == AlertPhase::Pending && now - a.pending_since_ms >= r.for_ms) {
      a.phase = AlertPhase::Firing;
      a.firing_since_ms = now;
      a.ladder_base_ms = now;
      a.last_page_ms = now;
      owe(a, "fired: " + a.band);
    }
  }
  bool higher_firing = false, any = false;
  for (const auto& id : ids) {
    auto it = st.alerts.find(id);
    if (it == st.alerts.end()) continue;
    any = true;
    settle(it->second, higher_firing, em);
    higher_firing = higher_firing || it->second.phase == AlertPhase::Firing;
  }
  return any;
}

AckOutcome refuse(const AlertState& state, AckError::Kind kind, std::string_view id, std::string message) {
  AckOutcome out;
  out.error = AckError{kind, std::string(id), std::move(message)};
  out.state = state;
  return out;
}

}  // namespace

AlertDecision decide(const AlertPolicy& policy, const std::vector<Observation>& observations,
                     const AlertState& state, int64_t now_ms) {
  AlertDecision d;
  d.state = state;
  AlertState& st = d.state;
  Emitter em(policy, st, now_ms, d.notifications);

  MetricIndex idx;
  for (const auto& o : observations) idx[o.metric][o.subject].push_back(&o);

  // Alerts of rules that left the policy resolve; every other alert has a track, so the loop
  // below visits it even when its subject is no longer observed.
  for (auto it = st.alerts.begin(); it != st.alerts.end();) {
    if (policy.rule(it->second.rule)) {
      st.tracks.try_emplace({it->second.rule, it->second.subject});
      ++it;
      continue;
    }
    if (it->second.phase == AlertPhase::Firing) em.to_paged(it->second, alerts::NotificationKind::Resolve, "rule removed from the policy");
    it = st.alerts.erase(it);
  }
  for (auto it = st.tracks.begin(); it != st.tracks.end();) {
    it = policy.rule(it->first.first) ? std::next(it) : st.tracks.erase(it);
  }

  for (const Rule& r : policy.rules) {
    // Subjects: observed ones, and those the state remembers.
    std::map<std::string, std::vector<const Observation*>> subjects;
    if (auto m = idx.find(r.metric); m != idx.end()) {
      for (const auto& [subject, obs] : m->second) {
        if (!subject_selected(r, subject)) continue;
        auto chosen = select(obs, r.match, r.prefer);
        if (!chosen.empty()) subjects.emplace(std::string(subject), std::move(chosen));
      }
    }
    for (auto it = st.tracks.lower_bound({r.name, std::string()}); it != st.tracks.end() && it->first.first == r.name; ++it)
      subjects.try_emplace(it->first.second);

    for (const auto& [subject, obs] : subjects) {
      auto tit = st.tracks.find({r.name, subject});
      Track track = tit == st.tracks.end() ? Track{} : tit->second;
      const Evaluation e = evaluate(r, subject, obs, idx, track, now_ms);
      if (!e.hold) track.active_bands = active_bands(r, e, track.active_bands);
      const bool has_alerts = step_subject(r, subject, e, track.active_bands, st, em);
      const bool keep = has_alerts || track.active_bands != 0 ||
                        (track.counter && now_ms - track.seen_ms <= kCounterRetentionMs);
      if (keep) st.tracks.insert_or_assign({r.name, subject}, track);
      else if (tit != st.tracks.end()) st.tracks.erase(tit);
    }
  }
  return d;
}

AckOutcome ack(const AlertPolicy& policy, const AlertState& state, std::string_view alert_id,
               std::optional<int64_t> ttl_ms, std::string_view by, std::string_view reason, int64_t now_ms) {
  const std::string id(alert_id);
  auto found = state.alerts.find(id);
  if (found == state.alerts.end())
    return refuse(state, AckError::Kind::UnknownAlert, id,
                  "ack " + id + ": no active alert has this id (`binwatch alerts` lists them)");
  if (by.empty()) return refuse(state, AckError::Kind::MissingBy, id, "ack " + id + ": by: who acknowledges is required");
  if (reason.empty())
    return refuse(state, AckError::Kind::MissingReason, id, "ack " + id + ": reason: a reason is required");
  const int64_t ttl = ttl_ms.value_or(policy.ack.default_ttl_ms);
  if (ttl <= 0)
    return refuse(state, AckError::Kind::BadTtl, id, "ack " + id + ": ttl: must be positive (got " + format_duration_ms(ttl) + ")");
  if (ttl > policy.ack.max_ttl_ms)
    return refuse(state, AckError::Kind::TtlTooLong, id,
                  "ack " + id + ": ttl: " + format_duration_ms(ttl) + " is longer than the policy's maximum " +
                      format_duration_ms(policy.ack.max_ttl_ms) + " (ack.max_ttl); acknowledge again later instead");
  AckOutcome out;
  out.state = state;
  Alert& a = out.state.alerts.at(id);
  a.ack = Acknowledgement{std::string(by), std::string(reason), now_ms, now_ms + ttl, a.band, a.band_rank};
  a.owed = false;
  a.owed_reason.clear();
  Emitter em(policy, out.state, now_ms, out.notifications);
  em.to_paged(a, NotificationKind::Acknowledge,
              "acknowledged by " + std::string(by) + " for " + format_duration_ms(ttl) + ": " + std::string(reason));
  return out;
}

AckOutcome unack(const AlertPolicy& policy, const AlertState& state, std::string_view alert_id, std::string_view by,
                 int64_t now_ms) {
  const std::string id(alert_id);
  auto found = state.alerts.find(id);
  if (found == state.alerts.end())
    return refuse(state, AckError::Kind::UnknownAlert, id,
                  "unack " + id + ": no active alert has this id (`binwatch alerts` lists them)");
  if (!found->second.ack)
    return refuse(state, AckError::Kind::NotAcknowledged, id, "unack " + id + ": the alert is not acknowledged");
  AckOutcome out;
  out.state = state;
  Alert& a = out.state.alerts.at(id);
  Emitter em(policy, out.state, now_ms, out.notifications);
  const std::string who = by.empty() ? std::string("someone") : std::string(by);
  end_ack(a, em.ladder(em.rule(a)), now_ms, "the acknowledgement by " + a.ack->by + " was withdrawn by " + who, false);
  settle(a, a.shadowed, em);
  return out;
}

std::vector<Observation> observations_from_net_findings(const std::vector<net::Finding>& findings) {
  std::vector<Observation> out;
  out.reserve(findings.size());
  for (const auto& f : findings) {
    const double level = f.severity == net::Severity::Critical ? 3 : f.severity == net::Severity::Warning ? 2 : 1;
    out.push_back({"binwatch_net_finding_severity", f.rule_id, level, {{"counter", f.counter}}});
  }
  return out;
}

}  // namespace binwatch::policy
