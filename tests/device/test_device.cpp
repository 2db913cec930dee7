// The generic device (device.toml): each effect kind (set from an argument or
// a literal, conditional `when`, step along an enum or a number, reset, read),
// keyed fields, partial calls, placeholders with bands and per-language words,
// and every malformed device file naming its line and problem.
#include <gtest/gtest.h>

#include "device/device.h"
#include "device_test_util.h"
#include "platform/error.h"

namespace edgelm {
namespace {

const char* kFunctions = R"(
domain = "test-home"
[[function]]
name = "light"
  [[function.argument]]
  name = "room"
  type = "enum"
  values = ["hall", "kitchen"]
  optional = true
  [[function.argument]]
  name = "state"
  type = "enum"
  values = ["on", "off"]
  optional = true
[[function]]
name = "heat"
  [[function.argument]]
  name = "delta"
  type = "enum"
  values = ["up", "down"]
[[function]]
name = "set_target"
  [[function.argument]]
  name = "degrees"
  type = "number"
  min = 10
  max = 30
[[function]]
name = "status"
  [[function.argument]]
  name = "room"
  type = "string"
  optional = true
[[function]]
name = "all_off"
[[function]]
name = "factory_reset"
[[function]]
name = "fan"
  [[function.argument]]
  name = "speed"
  type = "enum"
  values = ["low", "mid", "high"]
  optional = true
)";

const char* kDevice = R"(
[state]
lights = { type = "enum", values = ["on", "off"], keys = ["hall", "kitchen"], initial = "off" }
target = { type = "number", min = 10, max = 30, initial = 20 }
fan = { type = "enum", values = ["low", "mid", "high"], initial = "low" }
eco = { type = "boolean", initial = true }

[[effect]]
function = "light"
set = { "lights.{room}" = "{state}" }

[[effect]]
function = "heat"
when = { delta = "up" }
step = { target = 1.5, fan = 1 }
set = { eco = false }

[[effect]]
function = "heat"
when = { delta = "down" }
step = { target = -1.5, fan = -1 }

[[effect]]
function = "set_target"
set = { target = "{degrees}" }

[[effect]]
function = "status"
read = ["lights.{room}"]

[[effect]]
function = "all_off"
set = { "lights.*" = "off" }

[[effect]]
function = "factory_reset"
reset = ["lights.*", "target", "fan", "eco"]

[[effect]]
function = "fan"
set = { fan = "{speed}" }

[placeholder.comfort]
field = "target"
bands = [[18, "cool"], [24, "mild"]]
above = "warm"
words.ko = { cool = "서늘함", mild = "적당함", warm = "따뜻함" }

[placeholder.status]
read = true
words.ko = { on = "켜짐", off = "꺼짐", hall = "복도", kitchen = "부엌" }
)";

std::shared_ptr<const DeviceSpec> spec() {
  static auto s = std::make_shared<const DeviceSpec>(parse_device(parse_schema(kFunctions, "functions.toml"), kDevice, "device.toml"));
  return s;
}

using testing::call;
using testing::s;
std::string str(const Device& d, const char* f, const char* key = "") { return std::get<std::string>(d.value(f, key)); }

TEST(Device, SetsAKeyedFieldFromArguments) {
  Device d(spec());
  Execution e = d.execute(call("light", {{"room", s("kitchen")}, {"state", s("on")}}));
  EXPECT_EQ(str(d, "lights", "kitchen"), "on");
  EXPECT_EQ(str(d, "lights", "hall"), "off");
  EXPECT_TRUE(e.changed);
  EXPECT_EQ(e.summary, "lights.kitchen on");
  d.execute(call("all_off"));
  EXPECT_EQ(str(d, "lights", "kitchen"), "off");
}

TEST(Device, PartialCallChangesNothingAndSaysWhatItNeeds) {
  Device d(spec());
  Execution e = d.execute(call("light", {{"state", s("on")}}));
  EXPECT_FALSE(e.changed);
  EXPECT_EQ(e.missing, std::vector<std::string>{"room"});
  EXPECT_EQ(str(d, "lights", "hall"), "off");
  e = d.execute(call("light"));
  EXPECT_EQ(e.missing, (std::vector<std::string>{"room", "state"}));
  e = d.execute(call("fan"));  // an optional argument without a default
  EXPECT_EQ(e.missing, std::vector<std::string>{"speed"});
}

TEST(Device, StepsClampAtTheEnds) {
  Device d(spec());
  for (int i = 0; i < 10; ++i) d.execute(call("heat", {{"delta", s("up")}}));
  EXPECT_EQ(std::get<double>(d.value("target")), 30.0);  // clamped at max
  EXPECT_EQ(str(d, "fan"), "high");                     // the last enum value
  EXPECT_EQ(std::get<bool>(d.value("eco")), false);     // `when` applied the set too
  d.execute(call("heat", {{"delta", s("down")}}));
  EXPECT_EQ(std::get<double>(d.value("target")), 28.5);
  EXPECT_EQ(str(d, "fan"), "mid");
  for (int i = 0; i < 10; ++i) d.execute(call("heat", {{"delta", s("down")}}));
  EXPECT_EQ(str(d, "fan"), "low");
  EXPECT_EQ(std::get<double>(d.value("target")), 13.5);
}

TEST(Device, ResetRestoresInitialValues) {
  Device d(spec());
  d.execute(call("light", {{"room", s("hall")}, {"state", s("on")}}));
  d.execute(call("set_target", {{"degrees", int64_t(25)}}));  // an integer for a number argument
  EXPECT_EQ(std::get<double>(d.value("target")), 25.0);
  d.execute(call("factory_reset"));
  EXPECT_EQ(str(d, "lights", "hall"), "off");
  EXPECT_EQ(std::get<double>(d.value("target")), 20.0);
}

TEST(Device, ReadsFillTheStatusPlaceholderInTheRepliesLanguage) {
  Device d(spec());
  d.execute(call("light", {{"room", s("hall")}, {"state", s("on")}}));
  d.execute(call("status", {{"room", s("hall")}}));
  EXPECT_EQ(d.fill_placeholders("The hall light is {status}."), "The hall light is on.");
  EXPECT_EQ(d.fill_placeholders("복도 불은 {status}."), "복도 불은 켜짐.");
  d.execute(call("status"));  // no room: every key
  EXPECT_EQ(d.fill_placeholders("{status}"), "hall on, kitchen off");
  EXPECT_EQ(d.fill_placeholders("상태: {status}"), "상태: 복도 켜짐, 부엌 꺼짐");
  d.execute(call("status", {{"room", s("attic")}}));  // free text naming no key reads nothing
  EXPECT_EQ(d.fill_placeholders("{status}"), "unknown");
}

TEST(Device, BandedPlaceholdersAndArgumentValues) {
  Device d(spec());
  EXPECT_EQ(d.fill_placeholders("It is {comfort}."), "It is mild.");
  d.execute(call("set_target", {{"degrees", 12.5}}));
  EXPECT_EQ(d.fill_placeholders("It is {comfort} at {degrees}."), "It is cool at 12.5.");
  EXPECT_EQ(d.fill_placeholders("지금은 {comfort}."), "지금은 서늘함.");
  EXPECT_EQ(d.fill_placeholders("{nothing} {open"), "{nothing} {open");
}

TEST(Device, CallsOutsideTheApiAreErrorsAndChangeNothing) {
  Device d(spec());
  EXPECT_THROW(d.execute(call("fly")), Error);
  EXPECT_THROW(d.execute(call("light", {{"room", s("attic")}})), Error);
  EXPECT_THROW(d.execute(call("set_target", {{"degrees", 31.0}})), Error);
  EXPECT_THROW(d.execute(call("set_target")), Error);
  EXPECT_THROW(d.execute(call("heat", {{"delta", s("up")}, {"extra", s("x")}})), Error);
  EXPECT_EQ(d.state_json(), Device(spec()).state_json());
  nlohmann::json st = d.state_json();
  EXPECT_EQ(st["lights"]["hall"], "off");
  EXPECT_EQ(st["eco"], true);
}

TEST(Device, MalformedDeviceFilesNameLineAndProblem) {
  DomainSchema schema = parse_schema(kFunctions, "functions.toml");
  struct Bad {
    const char* text;
    const char* expect;
  };
  for (const Bad& b : std::vector<Bad>{
           {"[state]\nx = { type = \"enum\", initial = \"a\" }\n", "needs 'values'"},
           {"[state]\nx = { type = \"float\", initial = 1 }\n", "unknown type 'float'"},
           {"[state]\nx = { type = \"integer\" }\n", "needs an 'initial'"},
           {"[state]\nx = { type = \"enum\", values = [\"a\"], initial = \"b\" }\n", "not a value of x"},
           {"[[effect]]\nfunction = \"nope\"\nset = { x = 1 }\n", "unknown function 'nope'"},
           {"[[effect]]\nfunction = \"light\"\nset = { ghost = 1 }\n", "unknown state field 'ghost'"},
           {"[state]\nl = { type = \"enum\", values = [\"on\"], keys = [\"a\"], initial = \"on\" }\n[[effect]]\nfunction = \"light\"\nset = { l = \"on\" }\n",
            "is keyed"},
           {"[state]\nl = { type = \"enum\", values = [\"on\"], initial = \"on\" }\n[[effect]]\nfunction = \"light\"\nset = { l = \"{state}\" }\n",
            "value 'off' of argument 'state' is not a value of field 'l'"},
           {"[state]\nn = { type = \"integer\", initial = 0 }\n[[effect]]\nfunction = \"light\"\nset = { n = \"{room}\" }\n",
            "cannot set field 'n'"},
           {"[[effect]]\nfunction = \"light\"\n", "needs at least one of"},
           {"[[effect]]\nfunction = \"light\"\nwhen = { state = \"dim\" }\nread = []\n", "when state"},
           {"[placeholder.room]\nread = true\n", "has the name of an argument"},
           {"[placeholder.p]\n", "needs exactly one of 'field' or 'read = true'"},
           {"[placeholder.p]\nread = true\nwords.xx = { a = \"b\" }\n", "unknown language 'xx'"},
           {"[placeholder.p]\nread = true\nbands = [[2, \"a\"], [1, \"b\"]]\nabove = \"c\"\n", "band bounds must rise"},
           {"[stat]\n", "unknown key 'stat'"},
           {"[state\n", "device.toml line 1"},
       }) {
    try {
      parse_device(schema, b.text, "device.toml");
      ADD_FAILURE() << "accepted: " << b.text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(b.expect), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("device.toml"), std::string::npos) << e.what();
    }
  }
}

TEST(Device, WritesStateSaysWhichCallsAct) {
  // `fan` writes only a reply_only field (what a reply will say), `status` only reads.
  const char* device = R"(
[state]
lights = { type = "enum", values = ["on", "off"], keys = ["hall", "kitchen"], initial = "off" }
said = { type = "enum", values = ["low", "mid", "high"], initial = "low", reply_only = true }
[[effect]]
function = "light"
set = { "lights.{room}" = "{state}" }
[[effect]]
function = "status"
read = ["lights.{room}"]
[[effect]]
function = "fan"
set = { said = "{speed}" }
[[effect]]
function = "factory_reset"
reset = ["lights.*", "said"]
)";
  DomainSchema schema = parse_schema(kFunctions, "functions.toml");
  DeviceSpec d = parse_device(schema, device, "device.toml");
  EXPECT_TRUE(d.writes_state("light"));
  EXPECT_TRUE(d.writes_state("factory_reset"));
  EXPECT_FALSE(d.writes_state("status"));
  EXPECT_FALSE(d.writes_state("fan"));
  EXPECT_FALSE(d.writes_state("all_off"));  // no effect at all
  EXPECT_TRUE(spec()->writes_state("heat"));  // steps
  // Without effects nothing says what a call does: every call counts as acting.
  EXPECT_TRUE(DeviceSpec::stateless(schema).writes_state("status"));
  try {
    parse_device(schema, "[state]\nx = { type = \"integer\", initial = 0, reply_only = \"yes\" }\n", "device.toml");
    ADD_FAILURE() << "accepted a reply_only that is not a boolean";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'reply_only' must be true or false"), std::string::npos) << e.what();
  }
}

TEST(Device, StatelessDeviceRemembersArguments) {
  Device d(std::make_shared<const DeviceSpec>(DeviceSpec::stateless(parse_schema(kFunctions, "functions.toml"))));
  EXPECT_EQ(d.execute(call("light", {{"room", s("hall")}})).summary, "no change");
  EXPECT_EQ(d.fill_placeholders("Done in the {room}."), "Done in the hall.");
  EXPECT_TRUE(d.state_json().empty());
}

}  // namespace
}  // namespace edgelm
