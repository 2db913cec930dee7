#include <gtest/gtest.h>

#include "domain_test_util.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "data/dataset.h"
#include "data/generator.h"
#include "data/pattern.h"
#include "data/phrasebook.h"
#include "domain/schema.h"
#include "platform/atomic_file.h"
#include "platform/error.h"

namespace fs = std::filesystem;
using namespace edgelm;
using namespace edgelm::data;

namespace {

std::string domain() { return resolve_domain_dir("air-purifier"); }

std::string temp_dir(const std::string& name) { return test::temp_dir("data_" + name); }

using test::read_jsonl;

GenerateOptions options(const std::string& out, int64_t n, uint64_t seed) {
  GenerateOptions o;
  o.domain_dir = domain();
  o.out_dir = out;
  o.n = n;
  o.seed = seed;
  return o;
}

}  // namespace

TEST(Pattern, RejectsMalformedText) {
  const LanguageInfo& en = language_info("en");
  EXPECT_THROW(parse_pattern("(a|b", "x", en), Error);
  EXPECT_THROW(parse_pattern("a)", "x", en), Error);
  EXPECT_THROW(parse_pattern("{bad name}", "x", en), Error);
  EXPECT_THROW(parse_pattern("{m:hours}", "x", en), Error);
  EXPECT_THROW(parse_pattern("모드~뭐", "x", language_info("ko")), Error);
  EXPECT_THROW(parse_pattern(std::string("ab\xff"), "x", en), Error);
  EXPECT_NO_THROW(parse_pattern("(turn|switch) [it] {dev?} on~", "x", en));
  // Nesting is bounded: a phrase file of thousands of '(' (a fuzz input) overflowed the stack.
  auto nested = [](int n) { return std::string(size_t(n), '(') + "a" + std::string(size_t(n), ')'); };
  EXPECT_NO_THROW(parse_pattern(nested(kMaxPatternNesting), "x", en));
  try {
    parse_pattern(nested(kMaxPatternNesting + 1), "en.toml:3", en);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("en.toml:3: '(' and '[' nested more than 16 deep"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_pattern(std::string(100000, '['), "x", en), Error);
}

TEST(Phrasebook, MeaningsFromTheSpec) {
  Phrasebook pb = load_phrasebook(domain());
  auto says = [&](const char* lang, const char* slot, const char* value, const char* words) {
    for (const auto& p : pb.find_language(lang)->values.at(slot).at(value))
      if (p.source == words) return true;
    return false;
  };
  EXPECT_TRUE(says("en", "mode", "turbo", "max"));
  EXPECT_TRUE(says("en", "mode", "turbo", "full blast"));
  EXPECT_TRUE(says("en", "mode", "sleep", "night mode"));
  EXPECT_TRUE(says("ko", "mode", "turbo", "최대"));
  EXPECT_TRUE(says("ko", "mode", "sleep", "취침 모드"));
  EXPECT_FALSE(says("en", "mode", "sleep", "max"));
  EXPECT_GT(pb.n_templates(), 500);
}

TEST(Generate, LargeSetValidatesAgainstSchema) {
  std::string out = temp_dir("large");
  DataSummary s = generate_dataset(options(out, 20000, 7));
  EXPECT_EQ(s.n_train + s.n_valid + s.n_test, 20000);
  DomainSchema schema = load_schema(domain() + "/functions.toml");
  std::set<std::string> phenomena, langs, functions;
  int64_t n = 0;
  for (const char* f : {"train.jsonl", "valid.jsonl", "test.jsonl"})
    for (const auto& j : read_jsonl(out + "/" + f)) {
      ++n;
      // The last two messages: the user turn answered and the answer (a dialogue has earlier turns before them).
      const auto& user = j["messages"][j["messages"].size() - 2];
      const auto& answer = j["messages"].back();
      ASSERT_EQ(user["role"], "user");
      ASSERT_FALSE(user["content"].get<std::string>().empty());
      for (const auto& tc : answer["tool_calls"]) {
        Call c = call_from_json(tc["function"]);
        ASSERT_EQ(validate_call(schema, c), "") << j.dump();
        functions.insert(c.name);
      }
      for (const auto& p : j["types"]["phenomenon"]) phenomena.insert(p);
      langs.insert(j["lang"]);
      if (answer["tool_calls"].empty()) {
        EXPECT_TRUE(j["types"]["phenomenon"].dump().find("out_of_scope") != std::string::npos);
      }
    }
  EXPECT_EQ(n, 20000);
  for (const char* p : kPhenomena) EXPECT_TRUE(phenomena.count(p)) << p;
  EXPECT_EQ(langs, (std::set<std::string>{"en", "ko", "mix"}));
  EXPECT_EQ(functions.size(), schema.functions.size());
  // Splits are disjoint by template.
  std::set<std::string> train_templates;
  for (const auto& j : read_jsonl(out + "/train.jsonl")) {
    std::string t = j["types"]["template"];
    for (size_t a = 0, b; a <= t.size(); a = b + 1) {
      b = t.find('+', a);
      if (b == std::string::npos) b = t.size();
      train_templates.insert(t.substr(a, b - a));
    }
  }
  for (const auto& j : read_jsonl(out + "/cases/test.jsonl")) {
    std::string t = j["types"]["template"];
    bool any_held_out = false;
    for (size_t a = 0, b; a <= t.size(); a = b + 1) {
      b = t.find('+', a);
      if (b == std::string::npos) b = t.size();
      any_held_out |= !train_templates.count(t.substr(a, b - a));
    }
    EXPECT_TRUE(any_held_out) << t;
    ASSERT_TRUE(j["expected"].is_array() && !j["expected"].empty());
  }
  // DPO pairs: the rejected answer is valid but different.
  auto pairs = read_jsonl(out + "/dpo.jsonl");
  EXPECT_GT(pairs.size(), 1000u);
  std::set<std::string> kinds;
  for (const auto& p : pairs) {
    kinds.insert(p["kind"]);
    EXPECT_NE(p["chosen"]["tool_calls"], p["rejected"]["tool_calls"]);
    for (const auto& tc : p["rejected"]["tool_calls"]) EXPECT_EQ(validate_call(schema, call_from_json(tc["function"])), "");
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"wrong_enum", "wrong_function", "dropped_call", "wrong_number", "call_where_none_belongs"}));
  fs::remove_all(out);
}

TEST(Generate, SameSeedSameBytesDifferentSeedsDiffer) {
  std::string a = temp_dir("seed_a"), b = temp_dir("seed_b"), c = temp_dir("seed_c");
  generate_dataset(options(a, 3000, 11));
  generate_dataset(options(b, 3000, 11));
  generate_dataset(options(c, 3000, 12));
  for (const char* f : {"train.jsonl", "test.jsonl", "cases/test.jsonl", "dpo.jsonl", "manifest.json", "report.md"})
    EXPECT_EQ(read_file(a + "/" + f), read_file(b + "/" + f)) << f;
  EXPECT_NE(read_file(a + "/train.jsonl"), read_file(c + "/train.jsonl"));
  for (const auto& d : {a, b, c}) fs::remove_all(d);
}

// The held-out templates of an intent come from each family of its templates
// (its own, each library intent's, each out-of-scope topic's), not from one:
// ids that differ only at the end ("...lib.stop.3") sort next to each other, so
// a split over the whole list held out every "stop" phrase for another device
// and none of the others (and training never saw them).
TEST(Generate, HeldOutTemplatesSampleEveryFamilyOfAnIntent) {
  const std::string out = temp_dir("split_families");
  GenerateOptions o = options(out, 20000, 3);
  o.domain_dir = resolve_domain_dir("smart-home");
  generate_dataset(o);
  std::map<std::string, std::set<std::string>> families;  // intent -> families of its held-out templates
  std::set<std::string> test_ids, train_ids;
  for (const auto& j : read_jsonl(out + "/cases/test.jsonl")) {
    const std::string t = j["types"]["template"];
    if (t.find('+') != std::string::npos || t.find(".follow.") != std::string::npos) continue;
    test_ids.insert(t);
    const std::string family = t.substr(0, t.rfind('.'));  // en.unsupported_device.lib.stop, en.off_topic.oos.weather
    const size_t intent_end = t.find('.', t.find('.') + 1);
    families[t.substr(0, intent_end)].insert(family);
  }
  for (const auto& j : read_jsonl(out + "/train.jsonl")) train_ids.insert(j["types"]["template"].get<std::string>());
  for (const char* intent : {"en.unsupported_device", "en.off_topic", "ko.off_topic"})
    EXPECT_GE(families[intent].size(), 3u) << intent;
  // And none of them is a training template.
  for (const auto& id : test_ids) EXPECT_FALSE(train_ids.count(id)) << id;
  fs::remove_all(out);
}

// A multi-command may say a function twice when it acts in a place its
// arguments name (the smart home's rooms and doors), never twice in one place;
// a function that acts in one place (the air purifier's) comes once.
TEST(Generate, MultiCommandsRepeatAFunctionOnlyInAnotherPlaceOrToAskAnotherThing) {
  struct Chained {
    std::string text, tmpl;
    std::vector<Call> calls;
  };
  auto chained = [](const std::string& out) {
    std::vector<Chained> all;
    for (const char* f : {"train.jsonl", "valid.jsonl", "test.jsonl"})
      for (const auto& j : read_jsonl(out + "/" + f)) {
        if (j["messages"].size() != 2 || j["types"]["template"].get<std::string>().find('+') == std::string::npos) continue;
        std::vector<Call> calls;
        for (const auto& tc : j["messages"][1]["tool_calls"]) calls.push_back(call_from_json(tc["function"]));
        all.push_back({j["messages"][0]["content"].get<std::string>(), j["types"]["template"].get<std::string>(), std::move(calls)});
      }
    return all;
  };
  const std::string sh = temp_dir("multi_sh"), ap = temp_dir("multi_ap");
  GenerateOptions o = options(sh, 6000, 5);
  o.domain_dir = resolve_domain_dir("smart-home");
  generate_dataset(o);
  generate_dataset(options(ap, 6000, 5));
  for (const auto& [name, out] : {std::pair{std::string("smart-home"), sh}, std::pair{std::string("air-purifier"), ap}}) {
    const Phrasebook pb = load_phrasebook(resolve_domain_dir(name));
    std::set<std::string> asked;  // functions that answer a question
    for (const auto& lang : pb.languages)
      for (const auto& in : lang.intents)
        if (in.type == "query") asked.insert(in.primary_function());
    int place_twice = 0, asked_twice = 0, two_questions = 0, asked_as_one = 0, n = 0;
    for (const auto& [text, tmpl, calls] : chained(out)) {
      ++n;
      if (tmpl.find(".ask_together.") != std::string::npos) {
        ++asked_as_one;
        EXPECT_EQ(calls.size(), 2u) << text;
        for (const auto& c : calls) EXPECT_TRUE(asked.count(c.name)) << text;
      }
      // A question joined to another keeps the second one's "?" only (the connector says where the first ends).
      if (const size_t q = text.find('?'); q != std::string::npos && q + 1 < text.size()) two_questions += text.rfind('?') > q;
      for (size_t i = 0; i < calls.size(); ++i)
        for (size_t j = i + 1; j < calls.size(); ++j) {
          if (calls[i].name != calls[j].name) continue;
          if (asked.count(calls[i].name)) {
            EXPECT_NE(calls[i].arguments, calls[j].arguments) << name << ": the same question twice in \"" << text << "\"";
            ++asked_twice;
            continue;
          }
          ASSERT_TRUE(pb.place_args.count(calls[i].name)) << name << ": " << calls[i].name << " twice in \"" << text << "\"";
          ++place_twice;
          bool elsewhere = false;  // a place argument that differs, or that one of them leaves out (the whole house)
          for (const auto& a : pb.place_args.at(calls[i].name))
            elsewhere |= calls[i].arguments.count(a) != calls[j].arguments.count(a) ||
                         (calls[i].arguments.count(a) && calls[i].arguments.at(a) != calls[j].arguments.at(a));
          EXPECT_TRUE(elsewhere) << calls[i].name;
        }
    }
    if (name == "smart-home") {
      EXPECT_EQ(pb.place_args.at("toggle_lights"), (std::set<std::string>{"room"}));
      EXPECT_EQ(pb.place_args.at("lock_door"), (std::set<std::string>{"door"}));
      EXPECT_FALSE(pb.place_args.count("set_thermostat"));
      EXPECT_GT(place_twice, n / 10);  // about a fifth of chained multi-commands
      EXPECT_LT(place_twice, n / 2);
      EXPECT_GT(asked_twice, n / 50);  // "is the front door locked, and the back door?"
    } else {
      EXPECT_EQ(place_twice, 0);  // the air purifier acts in one place
      EXPECT_GT(asked_twice, 0);  // two wellness tips
    }
    EXPECT_GT(two_questions, n / 100) << name;
    // Two questions asked as one (both domains' queries have targets): about 4% of the multi-commands.
    EXPECT_GT(asked_as_one, n / 50) << name;
  }
  fs::remove_all(sh);
  fs::remove_all(ap);
}

TEST(Generate, TwoQuestionsAskedAsOneSayWhatEachAsksAbout) {
  const Phrasebook pb = load_phrasebook(domain());
  const Generator gen(pb);
  auto intent = [&](const Language& lang, const std::string& id) -> const Intent& {
    for (const auto& in : lang.intents)
      if (in.id == id) return in;
    throw Error("no intent " + id);
  };
  for (const char* code : {"en", "ko"}) {
    const Language& lang = *pb.find_language(code);
    ASSERT_FALSE(lang.ask_together.empty()) << code << ": the phrase library's ask_together";
    const Intent& air = intent(lang, "get_air_quality");
    const Intent& filter = intent(lang, "get_filter_status");
    EXPECT_TRUE(air.asks_together);
    EXPECT_FALSE(intent(lang, "set_mode").asks_together);  // not a query
    EXPECT_FALSE(intent(lang, "get_wellness_tip").asks_together);  // a query without targets
    const std::vector<Clause> clauses = {Clause{&air, &air.templates[0]}, Clause{&filter, &filter.templates[0]}};
    std::set<std::string> texts;
    Rng rng(11);
    for (int i = 0; i < 200; ++i) {
      auto ex = gen.render(lang, clauses, false, false, 0, rng, Joining::AskTogether);
      ASSERT_TRUE(ex) << code;
      ASSERT_EQ(ex->calls.size(), 2u);
      EXPECT_EQ(ex->calls[0].name, "get_air_quality");
      EXPECT_EQ(ex->calls[1].name, "get_filter_status");
      EXPECT_TRUE(ex->phenomena.count("multi_call"));
      std::string lower = ex->text;
      for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
      // One question: the filter is named once, with no template's own question ("how's the filter?") after it.
      const std::string word = std::string(code) == "en" ? "filter" : "필터";
      EXPECT_NE(lower.find(word), std::string::npos) << ex->text;
      EXPECT_EQ(lower.find(word), lower.rfind(word)) << ex->text;
      // Neither template's own words: the first templates are "is the air good" / "do i need to change the {filter}"
      // and "공기 좋아?" / "{filter} 언제 갈아?".
      for (const char* own : {"is the air good", "need to change", "공기 좋아", "언제 갈아"}) EXPECT_EQ(lower.find(own), std::string::npos) << ex->text;
      texts.insert(lower);
    }
    EXPECT_GT(texts.size(), 60u) << code;  // the patterns and the targets vary
    // The connectors still join them; a clause that is not such a query cannot be asked together.
    auto joined = gen.render(lang, clauses, false, false, 0, rng, Joining::Connectors);
    ASSERT_TRUE(joined);
    EXPECT_NE(joined->text.find(std::string(code) == "en" ? "need to change" : "언제 갈아"), std::string::npos) << joined->text;
    const Intent& mode = intent(lang, "set_mode");
    EXPECT_FALSE(gen.render(lang, {clauses[0], Clause{&mode, &mode.templates[0]}}, false, false, 0, rng, Joining::AskTogether));
    EXPECT_FALSE(gen.render(lang, {clauses[0]}, false, false, 0, rng, Joining::AskTogether));
  }
  // The smart home's status questions ask together through the library's targets ({room} said in each).
  const Phrasebook sh = load_phrasebook(resolve_domain_dir("smart-home"));
  for (const char* code : {"en", "ko"}) {
    const Language& lang = *sh.find_language(code);
    EXPECT_TRUE(intent(lang, "status_lights").asks_together) << code;
    EXPECT_TRUE(intent(lang, "status_door").asks_together) << code;
    EXPECT_FALSE(intent(lang, "status_kind").asks_together) << code;
  }
}

TEST(Generate, BalanceAndFocusMoveTheDistribution) {
  GenerateOptions o = options("", 6000, 3);
  o.write_files = false;
  DataSummary on = generate_dataset(o);
  o.balance = false;
  DataSummary off = generate_dataset(o);
  // The raw distribution follows template counts; balancing lifts conversions.
  EXPECT_GT(on.by_phenomenon["numeric_conversion"], 2 * off.by_phenomenon["numeric_conversion"]);
  std::string dir = temp_dir("focus");
  write_file_atomic(dir + "/report.json", R"({"overall": {"n": 10, "passed": 5, "rate": 0.5},
    "by_function": {"set_light": {"n": 10, "passed": 0, "rate": 0.0}, "set_power": {"n": 10, "passed": 10, "rate": 1.0}}})");
  o.balance = true;
  o.focus_report = dir + "/report.json";
  DataSummary focused = generate_dataset(o);
  EXPECT_GT(focused.by_function["set_light"], on.by_function["set_light"] * 3 / 2);
  write_file_atomic(dir + "/bad.json", "{\"by_function\": {\"set_light\": 3}}");
  o.focus_report = dir + "/bad.json";
  EXPECT_THROW(generate_dataset(o), Error);
  fs::remove_all(dir);
}

// The audit lists the evaluation cases whose text (normalised) is a training
// text; a conversation counts only when all its user turns match one example's.
TEST(Audit, ListsEvaluationCasesSeenInTraining) {
  std::string out = temp_dir("audit_seen");
  write_file_atomic(out + "/train.jsonl",
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"Turn ON the fan, please!\"},{\"role\":\"assistant\",\"content\":\"ok\"}]}\n"
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"fan on\"},{\"role\":\"assistant\",\"content\":\"ok\"},"
                    "{\"role\":\"user\",\"content\":\"higher\"},{\"role\":\"assistant\",\"content\":\"ok\"}]}\n");
  std::vector<CaseText> cases = {{"a", {"turn on the fan please"}},  // spacing, case and punctuation differ
                                 {"b", {"turn on the fan"}},
                                 {"c", {"fan on", "higher"}},          // the whole conversation
                                 {"d", {"higher"}},                    // a last turn alone is not the conversation
                                 {"e", {"fan off", "higher"}}};
  EXPECT_EQ(cases_in_training(out + "/train.jsonl", cases), (std::vector<std::string>{"a", "c"}));
  write_file_atomic(out + "/train.jsonl", "{\"messages\":[]}\nnot json\n");
  try {
    cases_in_training(out + "/train.jsonl", cases);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.jsonl line 2"), std::string::npos) << e.what();
  }
  // Through the audit: a table in audit.md and the ids in audit.json.
  generate_dataset(options(out, 2000, 5));
  std::vector<CaseText> probe;
  for (const auto& j : read_jsonl(out + "/train.jsonl"))
    if (j["messages"].size() == 2 && probe.empty()) probe.push_back({"seen1", {j["messages"][0]["content"].get<std::string>()}});
  probe.push_back({"unseen1", {"a sentence no template writes, about giraffes"}});
  AuditOptions ao;
  ao.case_sets = {{"probe.jsonl", probe}};
  AuditReport r = audit_dataset(out, ao);
  ASSERT_EQ(r.cases_in_training.size(), 1u);
  EXPECT_EQ(r.cases_in_training[0].n, 2);
  EXPECT_EQ(r.cases_in_training[0].seen, (std::vector<std::string>{"seen1"}));
  EXPECT_NE(read_file(out + "/audit.md").find("| probe.jsonl | 2 | 1 | seen1 |"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(read_file(out + "/audit.json"))["cases_in_training"][0]["seen"][0], "seen1");
  fs::remove_all(out);
}

TEST(Audit, FindsAGapIntroducedOnPurpose) {
  std::string out = temp_dir("audit");
  generate_dataset(options(out, 8000, 5));
  AuditReport before = audit_dataset(out);
  auto has_gap = [](const AuditReport& r, const std::string& what) {
    for (const auto& g : r.gaps)
      if (g.what == what) return g.missing();
    return false;
  };
  EXPECT_FALSE(has_gap(before, "set_light level=dim [ko]"));
  EXPECT_GT(before.lengths.at("user_words").mean, 1.0);
  // Drop every Korean "dim the light" example.
  for (const char* f : {"train.jsonl", "valid.jsonl", "test.jsonl"}) {
    std::string kept;
    for (const auto& j : read_jsonl(out + "/" + f)) {
      bool drop = j["lang"] == "ko" && j.dump().find("\"level\":\"dim\"") != std::string::npos;
      if (!drop) kept += j.dump() + "\n";
    }
    write_file_atomic(out + "/" + f, kept);
  }
  AuditReport after = audit_dataset(out);
  EXPECT_TRUE(has_gap(after, "set_light level=dim [ko]"));
  EXPECT_TRUE(fs::exists(out + "/audit.svg"));
  EXPECT_NE(read_file(out + "/audit.md").find("set_light level=dim [ko]"), std::string::npos);
  fs::remove_all(out);
}

TEST(Audit, FieldsOfTheWrongTypeNameTheLine) {
  // A field of the wrong type made nlohmann::json throw its own type_error out of the audit.
  std::string out = temp_dir("audit_types");
  const std::string good = R"({"lang": "en", "messages": [{"role": "user", "content": "turn it on"},
    {"role": "assistant", "content": "On.", "tool_calls": [{"type": "function", "function": {"name": "set_power", "arguments": {"state": "on"}}}]}]})";
  auto flat = [](std::string s) {
    s.erase(std::remove(s.begin(), s.end(), '\n'), s.end());
    return s;
  };
  for (const auto& [line, expect] : std::vector<std::pair<std::string, std::string>>{
           {R"({"lang": 5, "messages": [{"role": "user", "content": "x"}, {"role": "assistant"}]})", "train.jsonl line 2: a field has the wrong type"},
           {R"({"lang": "en", "types": {"phenomenon": [1]}, "messages": [{"role": "user", "content": "x"}, {"role": "assistant"}]})",
            "train.jsonl line 2: a field has the wrong type"},
           {R"({"lang": "en", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [{"name": 5}]}]})",
            "train.jsonl line 2: "},
       }) {
    write_file_atomic(out + "/train.jsonl", flat(good) + "\n" + line + "\n");
    try {
      AuditOptions o;
      o.domain_dir = domain();
      audit_dataset(out, o);
      ADD_FAILURE() << "accepted: " << line;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
    }
  }
  fs::remove_all(out);
}

namespace {

std::string load_error(const std::string& file, const std::function<std::string(std::string)>& edit) {
  return test::domain_load_error(domain(), file, edit);
}
using test::line_of;
using test::replace_once;

}  // namespace

TEST(Domain, MalformedFilesNameFileLineAndProblem) {
  std::string fn = read_file(domain() + "/functions.toml"), en = read_file(domain() + "/en.toml");
  {
    int line = line_of(fn, "type = \"integer\"");
    std::string msg = load_error("functions.toml", [](std::string s) { return replace_once(s, "type = \"integer\"", "type = \"float\""); });
    EXPECT_NE(msg.find("functions.toml line " + std::to_string(line)), std::string::npos) << msg;
    EXPECT_NE(msg.find("unknown argument type 'float'"), std::string::npos) << msg;
  }
  {
    int line = line_of(fn, "values = [\"low\", \"medium\", \"high\"]");
    std::string msg = load_error("functions.toml", [](std::string s) {
      return replace_once(s, "values = [\"low\", \"medium\", \"high\"]", "values = [\"low\", \"medium\", \"low\"]");
    });
    EXPECT_NE(msg.find("functions.toml line " + std::to_string(line)), std::string::npos) << msg;
    EXPECT_NE(msg.find("'low' repeated"), std::string::npos) << msg;
  }
  {
    // from_command is for integers, and is true or false.
    std::string msg = load_error("functions.toml", [](std::string s) {
      return replace_once(s, "values = [\"low\", \"medium\", \"high\"]", "values = [\"low\", \"medium\", \"high\"]\n  from_command = true");
    });
    EXPECT_NE(msg.find("'from_command' applies to integer arguments, not to 'speed' (enum)"), std::string::npos) << msg;
    msg = load_error("functions.toml", [](std::string s) { return replace_once(s, "from_command = true", "from_command = 1"); });
    EXPECT_NE(msg.find("'from_command' must be true or false"), std::string::npos) << msg;
  }
  {
    int line = line_of(en, "\"cancel the {timer}\"");
    std::string msg = load_error("en.toml", [](std::string s) { return replace_once(s, "\"cancel the {timer}\"", "\"cancel the {clock}\""); });
    EXPECT_NE(msg.find("en.toml line " + std::to_string(line)), std::string::npos) << msg;
    EXPECT_NE(msg.find("{clock} has no lexicon"), std::string::npos) << msg;
  }
  {
    int line = line_of(en, "\"forget the {timer}\"");
    std::string msg = load_error("en.toml", [](std::string s) { return replace_once(s, "\"forget the {timer}\"", "\"forget the \xff timer\""); });
    EXPECT_NE(msg.find("en.toml line " + std::to_string(line)), std::string::npos) << msg;
    EXPECT_NE(msg.find("UTF-8"), std::string::npos) << msg;
  }
  {
    std::string msg = load_error("en.toml", [](std::string s) { return replace_once(s, "\"set_mode(mode={mode})\"", "\"set_mode(mode=fast)\""); });
    EXPECT_NE(msg.find("value 'fast' is not allowed for set_mode(mode)"), std::string::npos) << msg;
  }
  {
    std::string msg = load_error("en.toml", [](std::string s) { return replace_once(s, "\"{mode} please\"", "\"please\""); });
    EXPECT_NE(msg.find("does not say {mode}"), std::string::npos) << msg;
  }
}

TEST(Domain, TargetsOfQueriesAndAskTogetherErrors) {
  std::string en = read_file(domain() + "/en.toml");
  // A target outside the library is what a query asks about: a command has none.
  const std::string mode_calls = "calls = [\"set_mode(mode={mode})\"]";
  std::string msg = load_error("en.toml", [&](std::string s) { return replace_once(s, mode_calls, mode_calls + "\ntarget = [\"the {mode} mode\"]"); });
  EXPECT_NE(msg.find("en.toml line " + std::to_string(line_of(en, mode_calls) + 1)), std::string::npos) << msg;
  EXPECT_NE(msg.find("'target' is only for intents that use the library"), std::string::npos) << msg;
  struct Case {
    const char* file;
    std::string from, to, error;
  };
  const std::string tip_calls = "calls = [\"get_wellness_tip(topic={topic})\"]";
  for (const Case& c : {Case{"en.toml", tip_calls, tip_calls + "\ntarget = [\"a tip\"]", "target \"a tip\" does not say {topic}, which the calls need"},
                        Case{"en.toml", "target = [\"the {filter}\",", "target = [\"the {filtre}\",", "{filtre} has no lexicon"},
                        Case{"ko.toml", "lang = \"ko\"", "lang = \"ko\"\nask_together = [\"{first}~랑 {rest} <알려주다>\", \"{first} <알려주다>\"]",
                             "ask_together: \"{first} <알려주다>\" must say {first} and {rest}"},
                        Case{"ko.toml", "lang = \"ko\"", "lang = \"ko\"\nask_together = [\"{first}~랑 {rest} <묻다>\"]", "verb <묻다> is not in [verbs]"}}) {
    msg = load_error(c.file, [&](std::string s) { return replace_once(s, c.from, c.to); });
    EXPECT_NE(msg.find(c.error), std::string::npos) << msg;
  }
}

TEST(Domain, AnOutOfScopeIntentMayAnswerWithItsOwnReply) {
  // The smart home's closing intent (the library's "closing" topic) answers a thanks with its own words.
  const Phrasebook sh = load_phrasebook(resolve_domain_dir("smart-home"));
  const Generator gen(sh);
  for (const char* code : {"en", "ko"}) {
    const Language& lang = *sh.find_language(code);
    const Intent* closing = nullptr;
    for (const auto& in : lang.intents)
      if (in.id == "closing") closing = &in;
    ASSERT_TRUE(closing) << code;
    ASSERT_EQ(closing->replies.size(), 3u) << code;
    Rng rng(5);
    std::set<std::string> replies;
    for (int i = 0; i < 60; ++i) {
      const Template& t = closing->templates[rng.below(closing->templates.size())];
      auto ex = gen.render(lang, {Clause{closing, &t}}, false, false, 0, rng);
      ASSERT_TRUE(ex) << code;
      ASSERT_EQ(ex->calls.size(), 1u);
      EXPECT_EQ(call_to_string(ex->calls[0]), "intent_unclear(reason=\"off_topic\")");
      EXPECT_NE(std::find(closing->replies.begin(), closing->replies.end(), ex->reply), closing->replies.end()) << ex->reply;
      replies.insert(ex->reply);
    }
    EXPECT_EQ(replies.size(), 3u) << code;
  }
  // Only an out-of-scope intent takes one, and it is a list of words.
  std::string en = read_file(domain() + "/en.toml");
  const std::string oos = "id = \"unsupported_info\"\ntype = \"out_of_scope\"\ncalls = []";
  const std::string mode_calls = "calls = [\"set_mode(mode={mode})\"]";
  struct Case {
    std::string from, to, error;
  };
  for (const Case& c : {Case{mode_calls, mode_calls + "\nreply = [\"Done.\"]", "'reply' is only for out_of_scope intents"},
                        Case{oos, oos + "\nreply = []", "reply must be a non-empty list of strings"},
                        Case{oos, oos + "\nreply = \"Bye.\"", "reply must be a non-empty list of strings"},
                        Case{oos, oos + "\nreply = [\"Bye.\", 3]", "every reply must be a non-empty string"},
                        Case{oos, oos + "\nreply = [\"\"]", "every reply must be a non-empty string"},
                        Case{oos, oos + "\nreply = [\"Bye {name}.\"]", "reply \"Bye {name}.\" is said as written: no {placeholders}"}}) {
    ASSERT_NE(en.find(c.from), std::string::npos) << c.from;
    const std::string msg = load_error("en.toml", [&](std::string s) { return replace_once(s, c.from, c.to); });
    EXPECT_NE(msg.find(c.error), std::string::npos) << msg;
    // The line of the reply: the one after the intent's calls.
    const int line = line_of(en, c.from) + int(std::count(c.from.begin(), c.from.end(), '\n')) + 1;
    EXPECT_NE(msg.find("en.toml line " + std::to_string(line)), std::string::npos) << msg;
  }
}

TEST(Domain, ReportTargetsComeFromTheDomain) {
  // The air purifier keeps issue 7's every-language target; the smart home has the defaults.
  const ReportTargets ap = load_phrasebook(domain()).config.report_targets;
  EXPECT_DOUBLE_EQ(ap.functional_success, 0.95);
  EXPECT_DOUBLE_EQ(ap.every_language, 0.90);
  EXPECT_DOUBLE_EQ(ap.out_of_scope, 0.95);
  EXPECT_EQ(ap.models, (std::vector<std::string>{"model", "model-q8_0"}));
  const ReportTargets sh = load_phrasebook(resolve_domain_dir("smart-home")).config.report_targets;
  EXPECT_DOUBLE_EQ(sh.every_language, 0.93);
  EXPECT_EQ(sh.max_params, 30'000'000);

  std::string gen = read_file(domain() + "/generate.toml");
  int line = line_of(gen, "every_language = 0.90");
  std::string msg = load_error("generate.toml", [](std::string s) { return replace_once(s, "every_language = 0.90", "every_language = 90"); });
  EXPECT_NE(msg.find("generate.toml line " + std::to_string(line)), std::string::npos) << msg;
  EXPECT_NE(msg.find("report_targets.every_language must be a share between 0 and 1"), std::string::npos) << msg;
  msg = load_error("generate.toml", [](std::string s) { return replace_once(s, "every_language = 0.90", "every_langauge = 0.90"); });
  EXPECT_NE(msg.find("report_targets: unknown key 'every_langauge'"), std::string::npos) << msg;
}

TEST(Domain, LeadInShareComesFromTheDomain) {
  // The default: one follow-up in five opens with a word to the device's reply; the air purifier has none.
  EXPECT_DOUBLE_EQ(load_phrasebook(resolve_domain_dir("smart-home")).config.lead_in, 0.2);
  EXPECT_DOUBLE_EQ(load_phrasebook(domain()).config.lead_in, 0.0);
  std::string msg = load_error("generate.toml", [](std::string s) { return replace_once(s, "lead_in = 0\n", "lead_in = 1.5\n"); });
  EXPECT_NE(msg.find("dialogue.lead_in must be a share between 0 and 1"), std::string::npos) << msg;
  msg = load_error("generate.toml", [](std::string s) { return replace_once(s, "lead_in = 0\n", "lead_ins = 0.1\n"); });
  EXPECT_NE(msg.find("dialogue: unknown key 'lead_ins' (lead_in)"), std::string::npos) << msg;
}
