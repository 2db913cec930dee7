// Generation for arguments of every type (enum, integer, number, boolean,
// free-text string) and partial calls, on a small test domain:
// tests/fixtures/domains/every-type (a garden controller with a device.toml).
#include <gtest/gtest.h>

#include "domain_test_util.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "data/dataset.h"
#include "data/generator.h"
#include "data/phrasebook.h"
#include "device/device.h"
#include "domain/schema.h"
#include "platform/atomic_file.h"
#include "platform/error.h"

namespace fs = std::filesystem;
using namespace edgelm;
using namespace edgelm::data;

namespace {

std::string every_type_domain() { return std::string(EDGELM_TEST_DIR) + "/fixtures/domains/every-type"; }

std::string every_type_dir(const std::string& name) { return test::temp_dir("every_type_" + name); }

using test::read_jsonl;

std::string every_type_load_error(const std::string& file, const std::function<std::string(std::string)>& edit) {
  return test::domain_load_error(every_type_domain(), file, edit);
}

// The first `from` replaced; an edit that finds nothing shows as an unchanged file.
std::string replace_if_found(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

}  // namespace

TEST(EveryType, LiteralsAndSlotValuesHaveTheArgumentsTypes) {
  Phrasebook pb = load_phrasebook(every_type_domain());
  const Language& en = *pb.find_language("en");
  auto calls_of = [&](const char* id) -> const std::vector<CallTemplate>& {
    for (const auto& in : en.intents)
      if (in.id == id) return in.calls;
    throw Error(std::string("no intent ") + id);
  };
  EXPECT_EQ(calls_of("ph_neutral")[0].literal_args[0].second, ArgValue(7.0));
  EXPECT_EQ(calls_of("pump_on")[0].literal_args[0].second, ArgValue(true));
  const auto& mint = calls_of("label_mint")[0].literal_args;
  EXPECT_EQ(mint[0].second, ArgValue(std::string("mint")));  // quotes removed
  EXPECT_EQ(mint[1].second, ArgValue(int64_t(3)));
}

TEST(EveryType, RepliesPickTheMostSpecificKeyAndAskForLeftOutValues) {
  Phrasebook pb = load_phrasebook(every_type_domain());
  const Language& en = *pb.find_language("en");
  auto reply = [&](const Call& c, bool* asks) {
    const std::vector<std::string>* texts = find_reply(en, *pb.schema.find(c.name), c, asks);
    return texts ? texts->front() : std::string("(none)");
  };
  bool asks = false;
  EXPECT_EQ(reply({"water", {{"zone", std::string("lawn")}}}, &asks), "For how long?");
  EXPECT_TRUE(asks);
  EXPECT_EQ(reply({"water", {{"zone", std::string("beds")}, {"minutes", int64_t(5)}}}, &asks),
            "Watering the beds for {minutes} minutes.");
  EXPECT_FALSE(asks);
  EXPECT_EQ(reply({"set_pump", {{"running", false}}}, &asks), "Pump off.");
  EXPECT_EQ(reply({"set_ph", {{"level", 6.5}}}, &asks), "pH set to {level}.");
}

namespace {

// What checking a generated data set on its device found.
struct DeviceCheck {
  std::set<std::string> types_seen, phenomena;
  int64_t n_examples = 0, n_partial = 0, n_no_call = 0;
  std::map<std::string, int64_t> by_function;
};

// Generates n examples from the domain into `out` and runs every example's
// calls on a fresh device: each validates against the schema, executes
// without error, asks for a value exactly when its reply does (a partial
// call), and leaves no placeholder of its reply unfilled.
DeviceCheck check_on_device(const std::string& domain_dir, const std::string& out, int64_t n) {
  GenerateOptions o;
  o.domain_dir = domain_dir;
  o.out_dir = out;
  o.n = n;
  o.seed = 4;
  o.dpo_fraction = 1.0;
  generate_dataset(o);
  auto spec = std::make_shared<const DeviceSpec>(load_device(domain_dir));
  const DomainSchema& schema = spec->schema;
  DeviceCheck r;
  for (const char* f : {"train.jsonl", "valid.jsonl", "test.jsonl"})
    for (const auto& j : read_jsonl(out + "/" + f)) {
      ++r.n_examples;
      Device device(spec);
      const bool asks = j["types"]["phenomenon"].dump().find("\"partial\"") != std::string::npos;
      const auto& tool_calls = j["messages"].back()["tool_calls"];
      r.n_no_call += tool_calls.empty();
      bool device_asks = false;
      for (const auto& tc : tool_calls) {
        Call c = call_from_json(tc["function"], schema);
        EXPECT_EQ(validate_call(schema, c), "") << j.dump();
        Execution ex;
        EXPECT_NO_THROW(ex = device.execute(c)) << j.dump();
        for (const auto& [k, v] : c.arguments) r.types_seen.insert(arg_type_name(schema.find(c.name)->find_argument(k)->type));
        device_asks |= !ex.missing.empty();
        ++r.by_function[c.name];
      }
      EXPECT_EQ(device_asks, asks) << j.dump();
      r.n_partial += asks;
      for (const auto& p : j["types"]["phenomenon"]) r.phenomena.insert(p);
      std::string lang = j["lang"] == "en" ? "en" : "ko";
      std::string reply = device.fill_placeholders(j["messages"].back()["content"].get<std::string>(), lang);
      EXPECT_EQ(reply.find('{'), std::string::npos) << reply;
    }
  return r;
}

}  // namespace

TEST(EveryType, GeneratedCallsValidateAndExecuteOnTheDevice) {
  std::string out = every_type_dir("gen");
  DeviceCheck r = check_on_device(every_type_domain(), out, 3000);
  EXPECT_GT(r.n_examples, 500);
  EXPECT_EQ(r.types_seen, (std::set<std::string>{"enum", "integer", "number", "boolean", "string"}));
  EXPECT_GT(r.n_partial, 0);
  EXPECT_GT(r.by_function["refuse"], 0);  // out of scope, answered with a call
  EXPECT_GT(r.n_no_call, 0);              // and without
  EXPECT_TRUE(r.phenomena.count("partial"));

  // DPO pairs: valid rejected answers, with the kinds each type allows.
  const DomainSchema schema = load_device(every_type_domain()).schema;
  std::set<std::string> kinds;
  for (const auto& p : read_jsonl(out + "/dpo.jsonl")) {
    kinds.insert(p["kind"]);
    EXPECT_NE(p["chosen"]["tool_calls"], p["rejected"]["tool_calls"]);
    for (const auto& tc : p["rejected"]["tool_calls"]) EXPECT_EQ(validate_call(schema, call_from_json(tc["function"], schema)), "") << p.dump();
  }
  for (const char* k : {"wrong_enum", "wrong_number", "wrong_string", "wrong_function", "invented_argument", "call_where_none_belongs"})
    EXPECT_TRUE(kinds.count(k)) << k;

  // The audit labels numbers by range, booleans and free text by value, and counts left-out arguments.
  AuditReport a = audit_dataset(out);
  std::set<std::string> cells;
  for (const auto& c : a.cells) cells.insert(cat(c.function, " ", c.argument, "=", c.value));
  EXPECT_TRUE(cells.count("set_pump running=true")) << a.table_markdown;
  EXPECT_TRUE(cells.count("label_plant plant=sweet pea"));
  EXPECT_TRUE(cells.count("set_ph level=7-7.5") || cells.count("set_ph level=7.5-8"));
  EXPECT_TRUE(cells.count("water minutes=(left out)"));
  for (const auto& g : a.gaps) EXPECT_EQ(g.what.find("relative"), std::string::npos) << "a phenomenon no example has is no gap";
  fs::remove_all(out);
}

// The built-in smart home: every generated call runs on its device, out-of-scope
// requests are intent_unclear calls, and partial calls are asked about.
TEST(SmartHome, GeneratedCallsExecuteOnTheDevice) {
  std::string out = every_type_dir("smart_home");
  DeviceCheck r = check_on_device(resolve_domain_dir("smart-home"), out, 4000);
  EXPECT_EQ(r.n_examples, 4000);
  EXPECT_EQ(r.n_no_call, 0);
  EXPECT_GT(r.by_function["intent_unclear"], 200);
  EXPECT_GT(r.n_partial, 150);
  EXPECT_LT(r.n_partial, 1200);
  EXPECT_EQ(r.types_seen, (std::set<std::string>{"enum", "integer", "string"}));
  for (const char* p : {"direct", "multi_call", "query", "indirect", "out_of_scope", "code_switched", "noisy", "partial"})
    EXPECT_TRUE(r.phenomena.count(p)) << p;
  fs::remove_all(out);
}

TEST(EveryType, MalformedValuesNameTheProblem) {
  EXPECT_NE(every_type_load_error("en.toml", [](std::string s) { return replace_if_found(s, "\"set_pump(running=true)\"", "\"set_pump(running=yes)\""); })
                .find("needs a boolean value, not 'yes'"),
            std::string::npos);
  EXPECT_NE(every_type_load_error("en.toml", [](std::string s) { return replace_if_found(s, "true = [\"on\"]", "yes = [\"on\"]"); })
                .find("[values.running] 'yes' is not a value of running"),
            std::string::npos);
  EXPECT_NE(every_type_load_error("en.toml", [](std::string s) { return replace_if_found(s, "\"set_ph(level=7)\"", "\"set_ph(level=9.5)\""); })
                .find("9.5 is outside 5.5..8"),
            std::string::npos);
  EXPECT_NE(every_type_load_error("en.toml", [](std::string s) { return replace_if_found(s, "\"water.minutes?\"", "\"water.zone?\""); })
                .find("cannot leave out"),
            std::string::npos);
  // A partial call needs its question or the function's reply.
  EXPECT_NE(every_type_load_error("en.toml",
                       [](std::string s) {
                         s = replace_if_found(s, "\"water\" = \"Watering.\"\n", "");
                         return replace_if_found(s, "\"water.minutes?\" = \"For how long?\"\n", "");
                       })
                .find("no reply for water(zone=\"beds\")"),
            std::string::npos);
  EXPECT_NE(every_type_load_error("en.toml", [](std::string s) { return replace_if_found(s, "[values.plant]", "[values.other]"); })
                .find("has no [values.plant] words"),
            std::string::npos);
}
