#pragma once
// The air purifier as a state machine, with the semantics of
// ../shared/domain/air-purifier.md: executing a call changes the state or
// answers a query, and a reply's placeholders are filled from the state.
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "domain/schema.h"

namespace edgelm {

struct AirPurifierState {
  bool power = false;
  std::string mode = "auto";     // auto | sleep | turbo | manual
  std::string fan_speed = "low";  // low | medium | high
  int64_t timer_minutes = 0;     // 0: no off-timer
  bool child_lock = false;
  std::string light = "bright";  // off | dim | bright
  std::string sound;             // empty: silent, else rain | ocean | forest | white_noise
  int64_t breathing_minutes = 0; // 0: no session running
  int64_t filter_life = 73;      // percent left
  int64_t pm25 = 18, pm10 = 32;  // µg/m³
  std::string last_tip_topic = "air";
};

class AirPurifierSimulator {
 public:
  AirPurifierSimulator();
  explicit AirPurifierSimulator(AirPurifierState state);

  // Executes one call and returns what the device reports ("fan speed high",
  // "PM2.5 18 µg/m³ (good)"). Throws Error on a call outside the API: an
  // unknown function, a missing or unknown argument, a value outside its set
  // or range. Optional arguments take their defaults.
  std::string execute(const Call& call);
  // Replaces {pm25}, {pm10}, {air_level}, {filter_life}, {tip} with the state
  // and {ARGNAME} with that argument's value in the most recent executed call
  // that has it. An unknown placeholder is left as it is.
  std::string fill_placeholders(const std::string& reply) const;
  nlohmann::json state_json() const;
  const AirPurifierState& state() const { return state_; }
  const DomainSchema& schema() const { return schema_; }

  // "good" | "moderate" | "unhealthy" | "very unhealthy" from PM2.5.
  static std::string air_level(int64_t pm25);

 private:
  DomainSchema schema_;
  AirPurifierState state_;
  std::map<std::string, std::string> last_args_;  // argument name -> value text, for {ARGNAME}
};

// The built-in air purifier's schema (domains/air-purifier/functions.toml).
DomainSchema air_purifier_schema();

}  // namespace edgelm
