#include "binwatch/net/net_sampler.h"

#include <chrono>

#include "binwatch/net/listen_queues.h"

namespace binwatch::net {

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Sample take_sample(const SamplerOptions& options, double now) {
  Sample s;
  s.snapshot = ProcfsReader(options.proc_root).read();
  s.observation.time = now;
  s.observation.values = s.snapshot.values;
  s.observation.default_route_interface = s.snapshot.default_route_interface;
  std::string why;
  const bool active = conntrack_active(s.snapshot, &why);
  s.observation.conntrack_active = active;
  s.observation.conntrack_evidence = why;
  if (options.listeners) {
    try {
      auto listeners = read_listeners();
      attach_owners(listeners, "/proc");
      for (const auto& l : listeners) {
        s.observation.values["listen." + l.name + ".queue"] = l.socket.rqueue;
        s.observation.values["listen." + l.name + ".backlog"] = l.socket.wqueue;
      }
      s.observation.listeners = std::move(listeners);
    } catch (const SockDiagError& e) {
      s.listener_error = e.what();
    }
  }
  return s;
}

}  // namespace binwatch::net
