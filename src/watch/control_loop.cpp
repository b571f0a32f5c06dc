#include "binwatch/watch/control_loop.h"

#include "binwatch/replication/replication_source.h"

namespace binwatch::watch {

void ControlLoop::back_off(unsigned& attempt, uint32_t min_ms, uint32_t max_ms) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto delay = replication::backoff_delay(attempt++, std::chrono::milliseconds(min_ms),
                                                std::chrono::milliseconds(max_ms), unit(m_rng));
  sleep_ms(static_cast<uint64_t>(delay.count()));
}

}  // namespace binwatch::watch
