#include "binwatch/net/netstat_view.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "binwatch/net/delta.h"

namespace binwatch::net {

std::vector<NetstatRow> netstat_rows(const NetPolicy& policy, const Observation& obs,
                                     const Decision& decision, bool all) {
  std::set<std::string, std::less<>> fired;
  for (const auto& f : decision.findings) fired.insert(f.rule_id);
  auto make = [&](const std::string& name, int64_t value) {
    NetstatRow row;
    row.name = name;
    row.value = value;
    row.gauge = procfs::is_gauge(name);
    if (auto it = decision.next.rates.find(name); it != decision.next.rates.end()) row.rate = it->second;
    return row;
  };
  // Watched counters in policy order; a counter named by several rules is out of band when any
  // of them fired.
  std::vector<NetstatRow> watched;
  std::map<std::string, size_t, std::less<>> index;
  for (const auto& rule : watched_patterns(policy, obs.default_route_interface)) {
    for (const auto& pattern : rule.patterns) {
      for (const auto& [name, value] : obs.values) {
        if (!counter_matches(pattern, name)) continue;
        auto [it, fresh] = index.emplace(name, watched.size());
        if (fresh) {
          watched.push_back(make(name, value));
          watched.back().watched = true;
        }
        if (fired.contains(rule.rule_id)) watched[it->second].out_of_band = true;
      }
    }
  }
  // Shown: everything with --all; otherwise a row a finding is about, a counter that moved since
  // the previous sample, and a watched counter or gauge that is not 0 but has no rate (a gauge, or
  // a counter's first sample: its rate is unknown, not 0). A watched counter whose rate is 0 is
  // hidden like any other: a top-like view shows what is happening now.
  auto shown = [&](const NetstatRow& r) {
    if (all || r.out_of_band) return true;
    if (r.rate) return r.rate->delta != 0;
    return r.watched && r.value != 0;
  };
  std::vector<NetstatRow> rows, others;
  for (auto& r : watched) {
    if (shown(r)) rows.push_back(std::move(r));
  }
  for (const auto& [name, value] : obs.values) {
    if (index.contains(name) || name.starts_with("listen.")) continue;
    NetstatRow row = make(name, value);
    if (shown(row)) others.push_back(std::move(row));
  }
  std::stable_sort(others.begin(), others.end(), [](const NetstatRow& a, const NetstatRow& b) {
    const double ra = a.rate ? a.rate->rate : 0, rb = b.rate ? b.rate->rate : 0;
    return ra > rb;
  });
  rows.insert(rows.end(), std::make_move_iterator(others.begin()), std::make_move_iterator(others.end()));
  return rows;
}

std::string render_netstat_table(const std::vector<NetstatRow>& rows, const Observation& obs,
                                 const Decision& decision, const ViewInfo& info) {
  const char* hi = info.color ? "\x1b[1;31m" : "";
  const char* warn = info.color ? "\x1b[33m" : "";
  const char* off = info.color ? "\x1b[0m" : "";
  std::string s = fmt::format("binwatch netstat  root {}  interval {}s  sample {}  default route {}{}\n",
                              info.proc_root, format_rate(info.interval), info.sample,
                              obs.default_route_interface.value_or("none"),
                              info.sample == 1 ? "  (rates from the next sample on)" : "");
  if (decision.findings.empty()) {
    s += "findings: none\n";
  } else {
    for (const auto& f : decision.findings) {
      s += fmt::format("{}{:<8} {:<22} {}{}\n", f.severity == Severity::Info ? "" : (f.severity == Severity::Critical ? hi : warn),
                       severity_name(f.severity), f.rule_id, f.message, off);
    }
  }
  s += fmt::format("\n{:<44} {:>16} {:>12} {:>12}\n", "COUNTER", "VALUE", "DELTA", "RATE/s");
  bool in_watched = true;
  for (const auto& r : rows) {
    if (in_watched && !r.watched) {
      s += fmt::format("{:-<44}\n", "-- other counters ");
      in_watched = false;
    }
    std::string delta = "", rate = "";
    if (r.rate) {
      delta = (r.rate->reset ? "reset " : "+") + std::to_string(r.rate->delta);
      rate = format_rate(r.rate->rate);
    } else if (r.gauge) {
      delta = "gauge";
    }
    s += fmt::format("{}{:<44} {:>16} {:>12} {:>12}{}\n", r.out_of_band ? hi : "", r.name, r.value, delta,
                     rate, r.out_of_band ? off : "");
  }
  if (obs.listeners) {
    s += fmt::format("\n{:<44} {:>8} {:>8}  {}\n", "LISTENER", "QUEUE", "BACKLOG", "PROCESS");
    for (const auto& l : *obs.listeners) {
      if (!info.all && l.socket.rqueue == 0) continue;
      const bool full = l.socket.wqueue > 0 && l.socket.rqueue >= l.socket.wqueue;
      s += fmt::format("{}{:<44} {:>8} {:>8}  {}{}\n", full ? hi : "", l.name, l.socket.rqueue,
                       l.socket.wqueue, l.pid ? fmt::format("{} ({})", l.process, *l.pid) : "-",
                       full ? off : "");
    }
  } else if (!info.listener_note.empty()) {
    s += "\nlisteners: " + info.listener_note + "\n";
  }
  return s;
}

std::string render_netstat_json(const std::vector<NetstatRow>& rows, const Observation& obs,
                                const Decision& decision, const ViewInfo& info) {
  nlohmann::ordered_json j;
  j["sample"] = info.sample;
  j["time"] = obs.time;
  j["interval"] = info.interval;
  j["proc_root"] = info.proc_root;
  j["default_route_interface"] =
      obs.default_route_interface ? nlohmann::ordered_json(*obs.default_route_interface) : nlohmann::ordered_json();
  auto& counters = j["counters"] = nlohmann::ordered_json::object();
  for (const auto& r : rows) {
    nlohmann::ordered_json c;
    c["value"] = r.value;
    if (r.rate) {
      c["delta"] = r.rate->delta;
      c["rate"] = r.rate->rate;
      if (r.rate->reset) c["reset"] = true;
    }
    if (r.gauge) c["gauge"] = true;
    if (r.watched) c["watched"] = true;
    if (r.out_of_band) c["out_of_band"] = true;
    counters[r.name] = std::move(c);
  }
  auto& findings = j["findings"] = nlohmann::ordered_json::array();
  for (const auto& f : decision.findings) {
    findings.push_back({{"severity", severity_name(f.severity)}, {"rule", f.rule_id},
                        {"counter", f.counter}, {"value", f.value}, {"message", f.message}});
  }
  if (obs.listeners) {
    auto& ls = j["listeners"] = nlohmann::ordered_json::array();
    for (const auto& l : *obs.listeners) {
      nlohmann::ordered_json x{{"listener", l.name}, {"queue", l.socket.rqueue},
                               {"backlog", l.socket.wqueue}};
      if (l.pid) {
        x["pid"] = *l.pid;
        x["process"] = l.process;
      }
      ls.push_back(std::move(x));
    }
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<double> parse_interval(std::string_view text) {
  double scale = 1;
  if (text.ends_with("ms")) {
    scale = 0.001;
    text.remove_suffix(2);
  } else if (text.ends_with("s")) {
    text.remove_suffix(1);
  } else if (text.ends_with("m")) {
    scale = 60;
    text.remove_suffix(1);
  }
  double v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() || !(v > 0)) {
    return std::nullopt;
  }
  return v * scale;
}

}  // namespace binwatch::net
