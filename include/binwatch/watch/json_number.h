#pragma once
// A number for the daemon's JSON documents: null where JSON has no value for it (infinity, NaN),
// e.g. a time to full of a partition that is not growing.
#include <cmath>

#include <nlohmann/json.hpp>

namespace binwatch::watch {

inline nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace binwatch::watch
