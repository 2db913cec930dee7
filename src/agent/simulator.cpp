#include "agent/simulator.h"

#include <algorithm>

#include "agent/format.h"
#include "platform/error.h"

namespace edgelm {

DomainSchema air_purifier_schema() {
  static const DomainSchema schema = load_schema(resolve_domain_dir("air-purifier") + "/functions.toml");
  return schema;
}

AirPurifierSimulator::AirPurifierSimulator() : AirPurifierSimulator(AirPurifierState{}) {}

AirPurifierSimulator::AirPurifierSimulator(AirPurifierState state) : schema_(air_purifier_schema()), state_(std::move(state)) {}

std::string AirPurifierSimulator::air_level(int64_t pm25) {
  // The Korean Ministry of Environment's PM2.5 bands (µg/m³).
  if (pm25 <= 15) return "good";
  if (pm25 <= 35) return "moderate";
  if (pm25 <= 75) return "unhealthy";
  return "very unhealthy";
}

namespace {

bool has_hangul(const std::string& s) {
  // Hangul syllables U+AC00..U+D7A3 are encoded 0xEA 0xB0 0x80 .. 0xED 0x9E 0xA3.
  for (size_t i = 0; i + 2 < s.size(); ++i) {
    uint8_t b = uint8_t(s[i]);
    if (b >= 0xEA && b <= 0xED) return true;
  }
  return false;
}

std::string korean_air_level(const std::string& level) {
  if (level == "good") return "좋음";
  if (level == "moderate") return "보통";
  if (level == "unhealthy") return "나쁨";
  return "매우 나쁨";
}

std::string tip_for(const std::string& topic, bool korean) {
  if (topic == "sleep")
    return korean ? "잠들기 한 시간 전에는 화면을 멀리하세요." : "Keep screens away for an hour before bed.";
  if (topic == "allergy")
    return korean ? "침구는 일주일에 한 번 뜨거운 물로 세탁하세요." : "Wash bedding weekly in hot water.";
  if (topic == "stress")
    return korean ? "천천히 네 번 숨을 들이쉬고 내쉬어 보세요." : "Take four slow, deep breaths.";
  return korean ? "하루에 두 번 10분씩 환기하세요." : "Air the room for ten minutes twice a day.";
}

const char* kSpeeds[] = {"low", "medium", "high"};

}  // namespace

std::string AirPurifierSimulator::execute(const Call& raw_call) {
  std::string why = validate_call(schema_, raw_call);
  if (!why.empty()) fail("the air purifier cannot execute ", call_to_string(raw_call), ": ", why);
  Call call = with_defaults(schema_, raw_call);
  auto str = [&](const char* name) { return std::get<std::string>(call.arguments.at(name)); };
  auto num = [&](const char* name) { return std::get<int64_t>(call.arguments.at(name)); };
  for (const auto& [name, value] : call.arguments) last_args_[name] = arg_plain_text(value);

  const std::string& f = call.name;
  if (f == "set_power") {
    state_.power = str("state") == "on";
    if (!state_.power) {  // switching off ends whatever was running
      state_.timer_minutes = 0;
      state_.breathing_minutes = 0;
      state_.sound.clear();
    }
    return cat("power ", str("state"));
  }
  if (f == "set_mode") {
    state_.power = true;  // a mode turns the device on
    state_.mode = str("mode");
    return cat("mode ", state_.mode);
  }
  if (f == "set_fan_speed") {
    state_.power = true;
    state_.mode = "manual";  // a fixed speed puts the device in manual mode
    state_.fan_speed = str("speed");
    return cat("fan speed ", state_.fan_speed, " (manual mode)");
  }
  if (f == "adjust_fan_speed") {
    int i = int(std::find(std::begin(kSpeeds), std::end(kSpeeds), state_.fan_speed) - std::begin(kSpeeds));
    if (i > 2) i = 0;
    i = std::clamp(i + (str("direction") == "up" ? 1 : -1), 0, 2);  // steps stay within low..high
    state_.power = true;
    state_.mode = "manual";
    state_.fan_speed = kSpeeds[i];
    return cat("fan speed ", state_.fan_speed, " (manual mode)");
  }
  if (f == "set_timer") {
    state_.power = true;
    state_.timer_minutes = num("minutes");
    return cat("off in ", state_.timer_minutes, " minutes");
  }
  if (f == "cancel_timer") {
    state_.timer_minutes = 0;
    return "timer cancelled";
  }
  if (f == "set_child_lock") {
    state_.child_lock = str("state") == "on";
    return cat("child lock ", str("state"));
  }
  if (f == "set_light") {
    state_.light = str("level");
    return cat("light ", state_.light);
  }
  if (f == "get_air_quality")
    return cat("PM2.5 ", state_.pm25, " µg/m³, PM10 ", state_.pm10, " µg/m³ (", air_level(state_.pm25), ")");
  if (f == "get_filter_status") return cat("filter life ", state_.filter_life, "%");
  if (f == "reset_filter") {
    state_.filter_life = 100;
    return "filter life reset to 100%";
  }
  if (f == "start_breathing") {
    state_.power = true;
    state_.breathing_minutes = num("minutes");
    return cat("breathing session for ", state_.breathing_minutes, " minutes");
  }
  if (f == "play_sound") {
    state_.sound = str("sound");
    return cat("playing ", state_.sound);
  }
  if (f == "stop_sound") {
    state_.sound.clear();
    return "sound stopped";
  }
  if (f == "get_wellness_tip") {
    state_.last_tip_topic = str("topic");
    return tip_for(state_.last_tip_topic, false);
  }
  fail("the air purifier simulator has no behaviour for ", f);
}

std::string AirPurifierSimulator::fill_placeholders(const std::string& reply) const {
  bool korean = has_hangul(reply);
  std::string out;
  size_t pos = 0;
  while (pos < reply.size()) {
    size_t open = reply.find('{', pos);
    size_t close = open == std::string::npos ? std::string::npos : reply.find('}', open);
    if (close == std::string::npos) {
      out += reply.substr(pos);
      break;
    }
    out += reply.substr(pos, open - pos);
    std::string name = reply.substr(open + 1, close - open - 1);
    std::string value;
    bool known = true;
    if (name == "pm25") value = std::to_string(state_.pm25);
    else if (name == "pm10") value = std::to_string(state_.pm10);
    else if (name == "air_level") value = korean ? korean_air_level(air_level(state_.pm25)) : air_level(state_.pm25);
    else if (name == "filter_life") value = std::to_string(state_.filter_life);
    else if (name == "tip") value = tip_for(state_.last_tip_topic, korean);
    else if (auto it = last_args_.find(name); it != last_args_.end()) value = it->second;
    else known = false;
    out += known ? value : reply.substr(open, close - open + 1);
    pos = close + 1;
  }
  return out;
}

nlohmann::json AirPurifierSimulator::state_json() const {
  return {
      {"power", state_.power ? "on" : "off"},
      {"mode", state_.mode},
      {"fan_speed", state_.fan_speed},
      {"timer_minutes", state_.timer_minutes},
      {"child_lock", state_.child_lock ? "on" : "off"},
      {"light", state_.light},
      {"sound", state_.sound.empty() ? nlohmann::json(nullptr) : nlohmann::json(state_.sound)},
      {"breathing_minutes", state_.breathing_minutes},
      {"filter_life", state_.filter_life},
      {"pm25", state_.pm25},
      {"pm10", state_.pm10},
  };
}

}  // namespace edgelm
