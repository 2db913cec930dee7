// The air purifier on the generic device (domains/air-purifier/device.toml):
// each function, the interactions of the domain spec, calls outside the API,
// and placeholder filling.
#include <gtest/gtest.h>

#include "device/device.h"
#include "device_test_util.h"
#include "platform/error.h"

namespace edgelm {
namespace {

using testing::call;
using testing::s;
ArgValue n(int64_t v) { return v; }

std::shared_ptr<const DeviceSpec> air_purifier() {
  static auto spec = std::make_shared<const DeviceSpec>(load_device(resolve_domain_dir("air-purifier")));
  return spec;
}

// The state as the old simulator's struct read it.
struct Purifier : Device {
  Purifier() : Device(air_purifier()) {}
  std::string str(const char* f) const { return std::get<std::string>(value(f)); }
  int64_t num(const char* f) const { return std::get<int64_t>(value(f)); }
  bool power() const { return str("power") == "on"; }
  bool child_lock() const { return str("child_lock") == "on"; }
  std::string sound() const { return str("sound") == "none" ? "" : str("sound"); }
  std::string run(const Call& c) { return execute(c).summary; }
};

TEST(Simulator, PowerAndModes) {
  Purifier sim;
  EXPECT_FALSE(sim.power());
  sim.execute(call("set_power", {{"state", s("on")}}));
  EXPECT_TRUE(sim.power());
  sim.execute(call("set_power", {{"state", s("off")}}));
  EXPECT_FALSE(sim.power());
  // A mode turns the device on.
  sim.execute(call("set_mode", {{"mode", s("sleep")}}));
  EXPECT_TRUE(sim.power());
  EXPECT_EQ(sim.str("mode"), "sleep");
  sim.execute(call("set_mode", {{"mode", s("turbo")}}));
  EXPECT_EQ(sim.str("mode"), "turbo");
}

TEST(Simulator, FanSpeedPutsTheDeviceInManualMode) {
  Purifier sim;
  sim.execute(call("set_mode", {{"mode", s("auto")}}));
  sim.execute(call("set_fan_speed", {{"speed", s("high")}}));
  EXPECT_EQ(sim.str("mode"), "manual");
  EXPECT_EQ(sim.str("fan_speed"), "high");
  EXPECT_TRUE(sim.power());
}

TEST(Simulator, AdjustStepsWithinLowToHigh) {
  Purifier sim;
  sim.execute(call("set_fan_speed", {{"speed", s("low")}}));
  sim.execute(call("adjust_fan_speed", {{"direction", s("down")}}));
  EXPECT_EQ(sim.str("fan_speed"), "low");  // already the weakest
  sim.execute(call("adjust_fan_speed", {{"direction", s("up")}}));
  EXPECT_EQ(sim.str("fan_speed"), "medium");
  sim.execute(call("adjust_fan_speed", {{"direction", s("up")}}));
  sim.execute(call("adjust_fan_speed", {{"direction", s("up")}}));
  EXPECT_EQ(sim.str("fan_speed"), "high");
  EXPECT_EQ(sim.str("mode"), "manual");
}

TEST(Simulator, TimerLockLightSoundBreathingFilter) {
  Purifier sim;
  sim.execute(call("set_timer", {{"minutes", n(90)}}));
  EXPECT_EQ(sim.num("timer_minutes"), 90);
  EXPECT_TRUE(sim.power());  // a timer while off needs no set_power first
  sim.execute(call("cancel_timer"));
  EXPECT_EQ(sim.num("timer_minutes"), 0);
  sim.execute(call("set_child_lock", {{"state", s("on")}}));
  EXPECT_TRUE(sim.child_lock());
  sim.execute(call("set_light", {{"level", s("dim")}}));
  EXPECT_EQ(sim.str("light"), "dim");
  sim.execute(call("play_sound", {{"sound", s("white_noise")}}));
  EXPECT_EQ(sim.sound(), "white_noise");
  sim.execute(call("stop_sound"));
  EXPECT_EQ(sim.sound(), "");
  sim.execute(call("start_breathing"));
  EXPECT_EQ(sim.num("breathing_minutes"), 5);  // the default
  sim.execute(call("start_breathing", {{"minutes", n(12)}}));
  EXPECT_EQ(sim.num("breathing_minutes"), 12);
  EXPECT_EQ(sim.num("filter_life"), 73);
  EXPECT_NE(sim.run(call("get_filter_status")).find("filter_life 73"), std::string::npos);
  sim.execute(call("reset_filter"));
  EXPECT_EQ(sim.num("filter_life"), 100);
  EXPECT_NE(sim.run(call("get_air_quality")).find("pm25 18"), std::string::npos);
  EXPECT_FALSE(sim.run(call("get_wellness_tip", {{"topic", s("sleep")}})).empty());
  // Switching off ends the timer, the session and the sound.
  sim.execute(call("set_timer", {{"minutes", n(30)}}));
  sim.execute(call("play_sound", {{"sound", s("rain")}}));
  sim.execute(call("set_power", {{"state", s("off")}}));
  EXPECT_EQ(sim.num("timer_minutes"), 0);
  EXPECT_EQ(sim.sound(), "");
  EXPECT_EQ(sim.num("breathing_minutes"), 0);
}

TEST(Simulator, CallsOutsideTheApiAreErrors) {
  Purifier sim;
  EXPECT_THROW(sim.execute(call("set_temperature", {{"degrees", n(20)}})), Error);
  EXPECT_THROW(sim.execute(call("set_mode", {{"mode", s("eco")}})), Error);
  EXPECT_THROW(sim.execute(call("set_mode")), Error);
  EXPECT_THROW(sim.execute(call("set_timer", {{"minutes", n(0)}})), Error);
  EXPECT_THROW(sim.execute(call("set_timer", {{"minutes", n(721)}})), Error);
  EXPECT_THROW(sim.execute(call("set_timer", {{"minutes", s("90")}})), Error);
  EXPECT_THROW(sim.execute(call("cancel_timer", {{"now", s("yes")}})), Error);
  EXPECT_THROW(sim.execute(call("start_breathing", {{"minutes", n(31)}})), Error);
  // The state is untouched by a rejected call.
  EXPECT_FALSE(sim.power());
}

TEST(Simulator, FillsPlaceholders) {
  Purifier sim;
  sim.execute(call("set_timer", {{"minutes", n(90)}}));
  EXPECT_EQ(sim.fill_placeholders("Off in {minutes} minutes."), "Off in 90 minutes.");
  EXPECT_EQ(sim.fill_placeholders("PM2.5 is {pm25}, PM10 {pm10}: {air_level}."), "PM2.5 is 18, PM10 32: moderate.");
  EXPECT_EQ(sim.fill_placeholders("공기 질은 {air_level}이에요."), "공기 질은 보통이에요.");
  EXPECT_EQ(sim.fill_placeholders("Filter at {filter_life}%."), "Filter at 73%.");
  EXPECT_EQ(sim.fill_placeholders("Unknown {speed} stays, {unclosed"), "Unknown {speed} stays, {unclosed");
  sim.execute(call("start_breathing"));
  EXPECT_EQ(sim.fill_placeholders("{minutes} minutes of breathing."), "5 minutes of breathing.");
  sim.execute(call("get_wellness_tip", {{"topic", s("stress")}}));
  EXPECT_NE(sim.fill_placeholders("{tip}"), "{tip}");
  nlohmann::json st = sim.state_json();
  EXPECT_EQ(st["timer_minutes"], 90);
  EXPECT_EQ(st["power"], "on");
}

}  // namespace
}  // namespace edgelm
