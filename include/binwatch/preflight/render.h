#pragma once
// `binwatch preflight` output: JSON with every number, or a one-screen table.
#include <string>

#include <nlohmann/json.hpp>

#include "binwatch/preflight/preflight.h"

namespace binwatch::preflight {

nlohmann::ordered_json result_json(const PreflightResult& r);
std::string result_table(const PreflightResult& r);
// "1.23 GiB"
std::string human_bytes(double bytes);

}  // namespace binwatch::preflight
