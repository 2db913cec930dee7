// The smart home on the generic device (domains/smart-home/device.toml): the
// meaning of ../shared/domain/smart-home.md for lights, thermostat, doors,
// scenes and status questions, and partial calls.
#include <gtest/gtest.h>

#include "device/device.h"
#include "device_test_util.h"
#include "platform/error.h"

namespace edgelm {
namespace {

using testing::call;
using testing::s;

std::shared_ptr<const DeviceSpec> smart_home() {
  static auto spec = std::make_shared<const DeviceSpec>(load_device(resolve_domain_dir("smart-home")));
  return spec;
}

struct Home : Device {
  Home() : Device(smart_home()) {}
  std::string str(const char* f, const char* key = "") const { return std::get<std::string>(value(f, key)); }
};

TEST(SmartHome, LightsAndDoorsByKey) {
  Home h;
  EXPECT_EQ(h.str("lights", "kitchen"), "off");
  Execution ex = h.execute(call("toggle_lights", {{"room", s("kitchen")}, {"state", s("on")}}));
  EXPECT_EQ(h.str("lights", "kitchen"), "on");
  EXPECT_EQ(h.str("lights", "bedroom"), "off");
  EXPECT_TRUE(ex.missing.empty());
  h.execute(call("lock_door", {{"door", s("garage")}, {"state", s("unlock")}}));
  EXPECT_EQ(h.str("doors", "garage"), "unlock");
  EXPECT_EQ(h.str("doors", "front"), "lock");
}

TEST(SmartHome, PartialCallsChangeNothingAndNameWhatIsMissing) {
  Home h;
  Execution ex = h.execute(call("toggle_lights", {{"state", s("on")}}));
  EXPECT_EQ(ex.missing, std::vector<std::string>{"room"});
  EXPECT_FALSE(ex.changed);
  ex = h.execute(call("lock_door", {{"door", s("front")}}));
  EXPECT_EQ(ex.missing, std::vector<std::string>{"state"});
  ex = h.execute(call("set_thermostat"));
  EXPECT_EQ(ex.missing, (std::vector<std::string>{"mode", "temperature"}));
  ex = h.execute(call("set_scene"));
  EXPECT_EQ(ex.missing, std::vector<std::string>{"scene"});
  EXPECT_EQ(h.state_json(), Home().state_json());
}

TEST(SmartHome, ThermostatSetsWhatIsGiven) {
  Home h;
  Execution ex = h.execute(call("set_thermostat", {{"mode", s("cool")}}));
  EXPECT_TRUE(ex.missing.empty());  // a mode alone is a whole request
  EXPECT_EQ(h.str("thermostat_mode"), "cool");
  EXPECT_EQ(std::get<int64_t>(h.value("temperature")), 70);
  h.execute(call("set_thermostat", {{"temperature", int64_t(64)}}));
  EXPECT_EQ(std::get<int64_t>(h.value("temperature")), 64);
  EXPECT_EQ(h.str("thermostat_mode"), "cool");
  EXPECT_THROW(h.execute(call("set_thermostat", {{"temperature", int64_t(85)}})), Error);
}

TEST(SmartHome, ScenesSetTheirPresets) {
  Home h;
  h.execute(call("set_scene", {{"scene", s("party")}}));
  EXPECT_EQ(h.str("lights", "living_room"), "on");
  EXPECT_EQ(h.str("lights", "kitchen"), "on");
  h.execute(call("lock_door", {{"door", s("back")}, {"state", s("unlock")}}));
  h.execute(call("set_scene", {{"scene", s("bedtime")}}));
  EXPECT_EQ(h.str("scene"), "bedtime");
  for (const char* room : {"living_room", "bedroom", "kitchen", "bathroom", "office", "hallway"}) EXPECT_EQ(h.str("lights", room), "off");
  EXPECT_EQ(h.str("doors", "back"), "lock");
  h.execute(call("set_scene", {{"scene", s("morning")}}));
  EXPECT_EQ(h.str("lights", "bedroom"), "on");
  h.execute(call("set_scene", {{"scene", s("movie_night")}}));
  EXPECT_EQ(h.str("lights", "living_room"), "off");
}

TEST(SmartHome, StatusReadsWhatWasAskedInTheRepliesLanguage) {
  Home h;
  h.execute(call("toggle_lights", {{"room", s("bedroom")}, {"state", s("on")}}));
  h.execute(call("get_device_status", {{"device_type", s("lights")}, {"room", s("bedroom")}}));
  EXPECT_EQ(h.fill_placeholders("Lights: {status}.", "en"), "Lights: on.");
  EXPECT_EQ(h.fill_placeholders("조명 상태: {status}.", "ko"), "조명 상태: 켜짐.");
  // A door's name in `room`; no room: every door.
  h.execute(call("get_device_status", {{"device_type", s("door")}, {"room", s("garage")}}));
  EXPECT_EQ(h.fill_placeholders("{status}", "ko"), "잠김");
  h.execute(call("get_device_status", {{"device_type", s("door")}}));
  EXPECT_EQ(h.fill_placeholders("{status}", "en"),
            "front door locked, back door locked, garage locked, side door locked");
  h.execute(call("get_device_status", {{"device_type", s("thermostat")}}));
  EXPECT_EQ(h.fill_placeholders("{status}", "ko"), "온도 70, 모드 자동");
  // A free-text room the device does not have reads nothing.
  h.execute(call("get_device_status", {{"device_type", s("lights")}, {"room", s("attic")}}));
  EXPECT_EQ(h.fill_placeholders("{status}", "en"), "unknown");
  Execution ex = h.execute(call("intent_unclear", {{"reason", s("off_topic")}}));
  EXPECT_FALSE(ex.changed);
}

}  // namespace
}  // namespace edgelm
