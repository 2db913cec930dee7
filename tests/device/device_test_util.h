#pragma once
// Shared helpers of the device tests: calls and string values written briefly.
#include <map>
#include <string>
#include <utility>

#include "device/device.h"

namespace edgelm::testing {

inline Call call(const std::string& name, std::map<std::string, ArgValue> args = {}) { return {name, std::move(args)}; }
inline ArgValue s(const char* v) { return std::string(v); }

}  // namespace edgelm::testing
