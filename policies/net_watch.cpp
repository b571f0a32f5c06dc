// Pure decisions over counter observations (binwatch/net/net_watch.h). No clock, no I/O: the
// observation carries its time, the state carries what was learned.
#include "binwatch/net/net_watch.h"

#include <cmath>

#include <fmt/format.h>

namespace binwatch::net {

std::map<std::string, CounterRate, std::less<>> compute_rates(const procfs::CounterMap& previous,
                                                               const procfs::CounterMap& current,
                                                               double seconds) {
  std::map<std::string, CounterRate, std::less<>> out;
  for (const auto& [name, value] : current) {
    if (procfs::is_gauge(name)) continue;
    auto it = previous.find(name);
    if (it == previous.end()) continue;  // new counter: a rate needs two samples
    CounterRate r;
    r.value = value;
    if (value >= it->second) {
      r.delta = value - it->second;
    } else {
      r.reset = true;
      r.delta = value;
    }
    r.rate = seconds > 0 ? static_cast<double>(r.delta) / seconds : 0;
    out.emplace(name, r);
  }
  return out;
}

void Baseline::update(double x, double alpha) {
  if (samples == 0) {
    mean = x;
    deviation = 0;
  } else {
    const double diff = x - mean;
    mean += alpha * diff;
    deviation += alpha * (std::fabs(diff) - deviation);
  }
  ++samples;
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : "+") + x;
  return s;
}

// Sum of the rates of the counters matching any pattern; nullopt when none is present.
std::optional<double> summed_rate(const std::map<std::string, CounterRate, std::less<>>& rates,
                                  const std::vector<std::string>& patterns) {
  std::optional<double> sum;
  for (const auto& [name, r] : rates) {
    for (const auto& p : patterns) {
      if (counter_matches(p, name)) {
        sum = sum.value_or(0) + r.rate;
        break;
      }
    }
  }
  return sum;
}

std::string fmt_num(double v) {
  if (v != 0 && std::fabs(v) < 0.01) return fmt::format("{:.4f}", v);
  if (std::fabs(v) < 100) return fmt::format("{:.2f}", v);
  return fmt::format("{:.0f}", v);
}

}  // namespace

std::vector<Finding> check_listeners(const ListenPolicy& policy, const std::vector<Listener>& listeners,
                                     std::optional<int64_t> somaxconn) {
  std::vector<Finding> out;
  for (const auto& l : listeners) {
    const std::string who =
        l.name + (l.pid ? fmt::format(" ({} pid {})", l.process, *l.pid) : std::string(" (owner not visible)"));
    const double backlog = l.socket.wqueue;
    if (backlog > 0) {
      const double fill = l.socket.rqueue / backlog;
      // The kernel queues up to backlog + 1 connections; a queue at or past the backlog is full.
      if (fill >= policy.queue_fill_warn) {
        out.push_back({fill >= policy.queue_fill_crit ? Severity::Critical : Severity::Warning,
                       "listen-queue-full", "listen." + l.name, fill,
                       fmt::format("accept queue of {} holds {} of backlog {}: the application is not "
                                   "accepting fast enough; new connections overflow",
                                   who, l.socket.rqueue, l.socket.wqueue)});
      }
    }
    if (policy.flag_capped && somaxconn && *somaxconn > 0 && l.socket.wqueue == *somaxconn) {
      out.push_back({Severity::Info, "listen-backlog-capped", "listen." + l.name, backlog,
                     fmt::format("backlog of {} is {} = net.core.somaxconn: listen() may have asked "
                                 "for more and been capped silently",
                                 who, l.socket.wqueue)});
    }
    for (long d : policy.silent_defaults) {
      if (l.socket.wqueue == static_cast<uint32_t>(d) && (!somaxconn || *somaxconn > d)) {
        out.push_back({Severity::Info, "listen-backlog-default", "listen." + l.name, backlog,
                       fmt::format("backlog of {} is {}, a known silent default (nginx `listen ... "
                                   "backlog=`, redis tcp-backlog) below somaxconn {}",
                                   who, d, somaxconn ? std::to_string(*somaxconn) : "?")});
      }
    }
  }
  return out;
}

std::map<std::string, double, std::less<>> watched_rates(const NetPolicy& policy, const Observation& obs,
                                                         const Decision& decision) {
  std::map<std::string, double, std::less<>> out;
  for (const auto& rule : watched_patterns(policy, obs.default_route_interface)) {
    if (!rule.rates) continue;
    for (const auto& [name, r] : decision.next.rates) {
      for (const auto& p : rule.patterns) {
        if (counter_matches(p, name)) {
          out[name] = r.rate;
          break;
        }
      }
    }
  }
  return out;
}

Decision decide(const NetPolicy& policy, const Observation& obs, const WatchState& state) {
  Decision d;
  d.next = state;
  WatchState& next = d.next;
  const double seconds = state.last_time ? obs.time - *state.last_time : 0;
  const bool have_rates = state.last_time && seconds > 0;
  next.rates = have_rates ? compute_rates(state.last_values, obs.values, seconds)
                          : std::map<std::string, CounterRate, std::less<>>{};
  next.last_time = obs.time;
  next.last_values = obs.values;

  auto resolved = [&](const std::vector<std::string>& patterns) {
    std::vector<std::string> out;
    for (const auto& p : patterns) {
      if (auto r = resolve_counter_pattern(p, obs.default_route_interface)) out.push_back(std::move(*r));
    }
    return out;
  };

  if (have_rates) {
    for (const auto& rule : policy.rates) {
      const auto counters = resolved(rule.counters);
      const auto rate = summed_rate(next.rates, counters);
      if (!rate) continue;
      const std::string counter = join(counters);
      Baseline& base = next.baselines[rule.id];
      const Baseline before = base;
      bool fired = false;
      if (rule.crit_per_sec && *rate >= *rule.crit_per_sec) {
        d.findings.push_back({Severity::Critical, rule.id, counter, *rate,
                              fmt::format("{}/s (critical at {}/s): {}", fmt_num(*rate),
                                          fmt_num(*rule.crit_per_sec), rule.message)});
        fired = true;
      } else if (rule.warn_per_sec && *rate >= *rule.warn_per_sec) {
        d.findings.push_back({Severity::Warning, rule.id, counter, *rate,
                              fmt::format("{}/s (warning at {}/s): {}", fmt_num(*rate),
                                          fmt_num(*rule.warn_per_sec), rule.message)});
        fired = true;
      }
      if (!fired && rule.over_baseline && before.samples >= policy.baseline.min_samples &&
          *rate >= rule.min_rate_for_baseline && *rate > *rule.over_baseline * before.mean) {
        d.findings.push_back(
            {Severity::Warning, rule.id, counter, *rate,
             fmt::format("{}/s is {}x the learned baseline of {}/s (+-{}, {} samples): {}",
                         fmt_num(*rate), before.mean > 0 ? fmt_num(*rate / before.mean) : "inf",
                         fmt_num(before.mean), fmt_num(before.deviation), before.samples,
                         rule.message)});
        fired = true;
      }
      base.update(*rate, fired ? policy.baseline.out_of_band_alpha : policy.baseline.alpha);
    }
    for (const auto& rule : policy.ratios) {
      const auto numerator = resolved(rule.numerator), denominator = resolved(rule.denominator);
      const auto num = summed_rate(next.rates, numerator);
      const auto den = summed_rate(next.rates, denominator);
      if (!num || !den || *den < rule.min_denominator_rate || *den <= 0) continue;
      const double ratio = *num / *den;
      const bool low = rule.min && ratio < *rule.min;
      const bool high = rule.max && ratio > *rule.max;
      if (low || high) {
        d.findings.push_back(
            {rule.severity, rule.id, join(numerator) + "/" + join(denominator), ratio,
             fmt::format("ratio {} outside the expected band [{}, {}]: {}", fmt_num(ratio),
                         rule.min ? fmt_num(*rule.min) : "-", rule.max ? fmt_num(*rule.max) : "-",
                         rule.message)});
      }
    }
  }

  for (const auto& rule : policy.fills) {
    const auto value_name = resolve_counter_pattern(rule.value, obs.default_route_interface);
    const auto limit_name = resolve_counter_pattern(rule.limit, obs.default_route_interface);
    if (!value_name || !limit_name) continue;
    auto v = obs.values.find(*value_name);
    auto l = obs.values.find(*limit_name);
    if (v == obs.values.end() || l == obs.values.end() || l->second <= 0) continue;
    const double fill = static_cast<double>(v->second) / static_cast<double>(l->second);
    auto past = [&](const std::optional<double>& t) {
      return t && (rule.below ? fill <= *t : fill >= *t);
    };
    std::optional<Severity> sev;
    std::optional<double> threshold;
    if (past(rule.crit)) {
      sev = Severity::Critical;
      threshold = rule.crit;
    } else if (past(rule.warn)) {
      sev = Severity::Warning;
      threshold = rule.warn;
    }
    if (sev) {
      d.findings.push_back({*sev, rule.id, *value_name + "/" + *limit_name, fill,
                            fmt::format("{} / {} = {} / {} = {:.1f}% ({} at {:.0f}%): {}", *value_name,
                                        *limit_name, v->second, l->second, fill * 100,
                                        rule.below ? "at or below" : "at or above", *threshold * 100,
                                        rule.message)});
    }
  }

  if (obs.conntrack_active) {
    const bool now = *obs.conntrack_active;
    if (!next.conntrack_at_start) next.conntrack_at_start = now;
    const bool forbidden =
        policy.conntrack.allowed == ConntrackAllowed::No ||
        (policy.conntrack.allowed == ConntrackAllowed::IfPresentAtStart && !*next.conntrack_at_start);
    if (now && forbidden) {
      const std::string why = policy.conntrack.allowed == ConntrackAllowed::No
                                  ? "on a host whose policy forbids it"
                                  : "on a host that had none when watching started";
      if (state.conntrack_was_active && !*state.conntrack_was_active) {
        d.findings.push_back({Severity::Critical, "conntrack-appeared", "conntrack", 1,
                              "connection tracking appeared " + why + " (" + obs.conntrack_evidence +
                                  "); `iptables -t nat -L` auto-loads nf_conntrack, whose small "
                                  "default table fills and drops packets"});
      } else {
        d.findings.push_back({Severity::Warning, "conntrack-present", "conntrack", 1,
                              "connection tracking is active " + why + " (" + obs.conntrack_evidence + ")"});
      }
    }
    next.conntrack_was_active = now;
  }

  if (obs.listeners) {
    std::optional<int64_t> somaxconn;
    if (auto it = obs.values.find("sysctl.net.core.somaxconn"); it != obs.values.end()) {
      somaxconn = it->second;
    }
    for (auto& f : check_listeners(policy.listen, *obs.listeners, somaxconn)) {
      d.findings.push_back(std::move(f));
    }
  }
  return d;
}

}  // namespace binwatch::net
