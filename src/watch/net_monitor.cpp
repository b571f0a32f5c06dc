#include "binwatch/watch/net_monitor.h"

#include <spdlog/spdlog.h>

#include "binwatch/atomic_file.h"
#include "binwatch/net/net_sampler.h"
#include "binwatch/watch/metrics_writer.h"

namespace binwatch::watch {

namespace {

net::NetPolicy load_policy(const std::string& file) {
  if (file.empty()) return net::default_net_policy();
  const auto text = read_whole_file(file);
  if (!text) throw std::runtime_error(file + ": cannot read the net policy");
  return net::parse_net_policy(*text, file);
}

double level(net::Severity s) { return s == net::Severity::Critical ? 3 : s == net::Severity::Warning ? 2 : 1; }

}  // namespace

NetMonitor::NetMonitor(NetSettings settings) : m_settings(std::move(settings)), m_policy(load_policy(m_settings.policy_file)) {}

void NetMonitor::sample(double now) {
  net::SamplerOptions o;
  o.proc_root = m_settings.proc_root;
  o.listeners = m_settings.proc_root == "/proc";  // sock_diag sees this namespace only
  try {
    auto s = net::take_sample(o, now);
    if (s.snapshot.route_error.value_or("") != m_route_error) {
      m_route_error = s.snapshot.route_error.value_or("");
      if (!m_route_error.empty())
        spdlog::warn("net: {} (rules on @default-route do nothing until it parses)", m_route_error);
    }
    // decide() includes the listener findings (check_listeners) when listeners were sampled.
    auto d = net::decide(m_policy, s.observation, m_state);
    auto rates = net::watched_rates(m_policy, s.observation, d);
    m_state = std::move(d.next);
    std::lock_guard lock(m_mutex);
    if (!m_error.empty()) spdlog::info("net: sampling {} works again", m_settings.proc_root);
    m_findings = std::move(d.findings);
    m_values = std::move(s.observation.values);
    m_rates = std::move(rates);
    m_error.clear();
    ++m_samples;
  } catch (const std::exception& e) {
    std::lock_guard lock(m_mutex);
    if (m_error != e.what()) spdlog::warn("net: {}", e.what());
    m_error = e.what();
  }
}

void NetMonitor::write_metrics(MetricsWriter& w) const {
  std::lock_guard lock(m_mutex);
  w.family("binwatch_net_up", "gauge", "1 when the last /proc sample of the network counters worked");
  w.sample("binwatch_net_up", m_error.empty() && m_samples > 0 ? 1 : 0);
  w.family("binwatch_net_finding_severity", "gauge",
           "Findings of the network counter policy (policies/net.toml): 1 info, 2 warning, 3 critical");
  for (const auto& f : m_findings)
    w.sample("binwatch_net_finding_severity", {{"net_rule", f.rule_id}, {"counter", f.counter}}, level(f.severity));
  w.family("binwatch_net_value", "gauge", "Kernel network and host counters and gauges as last sampled");
  for (const auto& [name, value] : m_values) w.sample("binwatch_net_value", {{"name", name}}, static_cast<double>(value));
  w.family("binwatch_net_rate", "gauge",
           "Per-second rate between the last two samples of each counter the net policy's rate and ratio "
           "rules read (nstat semantics: a reset counts its new value)");
  for (const auto& [name, rate] : m_rates) w.sample("binwatch_net_rate", {{"name", name}}, rate);
}

nlohmann::json NetMonitor::status() const {
  std::lock_guard lock(m_mutex);
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& f : m_findings)
    findings.push_back({{"rule", f.rule_id}, {"severity", std::string(net::severity_name(f.severity))},
                        {"counter", f.counter}, {"value", f.value}, {"message", f.message}});
  return {{"proc_root", m_settings.proc_root}, {"samples", m_samples}, {"error", m_error}, {"findings", findings}};
}

}  // namespace binwatch::watch
