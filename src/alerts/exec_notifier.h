#pragma once
// Internal: the exec notifier (exec_notifier.cpp), built by make_notifier().
#include <memory>

#include "binwatch/alerts/notifier.h"

namespace binwatch::alerts {

std::unique_ptr<Notifier> make_exec_notifier(const ReceiverConfig& config);

}  // namespace binwatch::alerts
