// The shared phrase library (phrases/<lang>.toml): a domain intent that names a
// library intent gets its templates with the targets and values filled in.
#include <gtest/gtest.h>

#include "domain_test_util.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "data/dataset.h"
#include "data/phrase_library.h"
#include "data/phrasebook.h"
#include "platform/atomic_file.h"
#include "platform/error.h"

namespace fs = std::filesystem;
using namespace edgelm;
using namespace edgelm::data;

namespace {

std::string lamp_domain() { return std::string(EDGELM_TEST_DIR) + "/fixtures/domains/library-lamp"; }

std::string library_dir(const std::string& name) { return test::temp_dir("library_" + name); }

const Intent& find_intent(const Language& lang, const std::string& id) {
  for (const auto& i : lang.intents)
    if (i.id == id) return i;
  throw Error("no intent " + id);
}

using test::line_of;
using test::replace_once;

std::string library_load_error(const std::string& file, const std::function<std::string(std::string)>& edit) {
  return test::domain_load_error(lamp_domain(), file, edit);
}

}  // namespace

TEST(PhraseLibrary, FolderFoundInHomeElseSourceElseAClearError) {
  const std::string home = library_dir("home"), empty = library_dir("empty");
  std::filesystem::create_directories(home + "/phrases");
  EXPECT_EQ(resolve_phrases_dir(home.c_str(), EDGELM_SOURCE_DIR), home + "/phrases");
  EXPECT_EQ(resolve_phrases_dir(empty.c_str(), EDGELM_SOURCE_DIR), std::string(EDGELM_SOURCE_DIR) + "/phrases");
  EXPECT_EQ(resolve_phrases_dir(nullptr, EDGELM_SOURCE_DIR), std::string(EDGELM_SOURCE_DIR) + "/phrases");
  try {
    resolve_phrases_dir(empty.c_str(), empty + "/moved-away");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("phrase library"), std::string::npos) << msg;
    EXPECT_NE(msg.find(empty), std::string::npos) << msg;
    EXPECT_NE(msg.find("moved-away"), std::string::npos) << msg;
    EXPECT_NE(msg.find("set EDGELM_HOME"), std::string::npos) << msg;
  }
}

TEST(PhraseLibrary, BuiltInLibrariesCoverTheCommonIntents) {
  for (const char* lang : {"en", "ko"}) {
    PhraseLibrary lib = load_phrase_library(resolve_phrases_dir(), lang);
    for (const char* name : {"switch_on", "switch_off", "set_value", "raise", "lower", "lock", "unlock", "open", "close", "ask_state",
                             "start", "stop", "activate_preset", "cancel"}) {
      ASSERT_TRUE(lib.phrases.count(name)) << lang << " " << name;
      EXPECT_GE(lib.phrases.at(name).size(), 15u) << lang << " " << name;
    }
  }
}

TEST(PhraseLibrary, IntentsGetLibraryTemplatesWithTargetsAndValues) {
  Phrasebook pb = load_phrasebook(lamp_domain());
  PhraseLibrary en = load_phrase_library(resolve_phrases_dir(), "en");
  const Language& lang = *pb.find_language("en");
  // switch_on: every template (none says {value}), {target} as the choice of the targets.
  const Intent& on = find_intent(lang, "lamp_on");
  ASSERT_EQ(on.templates.size(), en.phrases.at("switch_on").size());
  for (size_t i = 0; i < on.templates.size(); ++i) {
    EXPECT_EQ(on.templates[i].id, "en.lamp_on.lib.switch_on." + std::to_string(en.phrases.at("switch_on")[i].index));
    EXPECT_NE(on.templates[i].pattern.source.find("(the lamp in {room}|{room} lamp)"), std::string::npos) << on.templates[i].pattern.source;
  }
  // text and library together: the intent's own templates first.
  const Intent& off = find_intent(lang, "lamp_off");
  ASSERT_EQ(off.templates.size(), 1 + en.phrases.at("switch_off").size());
  EXPECT_EQ(off.templates[0].id, "en.lamp_off.0");
  EXPECT_EQ(off.templates[1].id, "en.lamp_off.lib.switch_off.0");
  // set_value with a value: only templates that say both {target} (it binds {room}) and {value}.
  const Intent& bright = find_intent(lang, "brightness");
  size_t expected = 0;
  for (const auto& t : en.phrases.at("set_value")) expected += t.says_value && t.says_target;
  EXPECT_EQ(bright.templates.size(), expected);
  for (const auto& t : bright.templates) EXPECT_NE(t.pattern.source.find("({percent:number} percent)"), std::string::npos);
  // Template ids are distinct over the whole domain (the split is by template).
  std::set<std::string> ids;
  for (const auto& l : pb.languages)
    for (const auto& i : l.intents)
      for (const auto& t : i.templates) EXPECT_TRUE(ids.insert(t.id).second) << t.id;
  // Korean: the library's verbs are merged (켜다 is not in the fixture's [verbs]).
  EXPECT_TRUE(pb.find_language("ko")->verbs.count("켜다"));
}

TEST(PhraseLibrary, OutOfScopeIntentsTakeTheLibrarysEverydayRequestsByTopic) {
  for (const char* code : {"en", "ko"}) {
    PhraseLibrary lib = load_phrase_library(resolve_phrases_dir(), code);
    Phrasebook pb = load_phrasebook(lamp_domain());
    const Intent& oos = find_intent(*pb.find_language(code), "weather");
    // The intent's own three requests first, then each topic's in the library's order; a request
    // the intent already says ("tell me a joke") is taken once.
    std::vector<std::string> expected_ids = {std::string(code) + ".weather.0", std::string(code) + ".weather.1", std::string(code) + ".weather.2"};
    std::set<std::string> own;
    for (size_t i = 0; i < 3; ++i) own.insert(oos.templates.at(i).pattern.source);
    for (const char* topic : {"weather", "small_talk"})
      for (const auto& t : lib.out_of_scope.at(topic))
        if (!own.count(t.text)) expected_ids.push_back(cat(code, ".weather.oos.", topic, ".", t.index));
    std::vector<std::string> ids;
    for (const auto& t : oos.templates) ids.push_back(t.id);
    EXPECT_EQ(ids, expected_ids) << code;
    EXPECT_LT(expected_ids.size(), 3 + lib.out_of_scope.at("weather").size() + lib.out_of_scope.at("small_talk").size()) << code;
  }
  // Every topic the built-in devices name exists in both languages, and no request names a slot.
  for (const char* code : {"en", "ko"}) {
    PhraseLibrary lib = load_phrase_library(resolve_phrases_dir(), code);
    for (const char* topic : {"weather", "time_date", "alarms", "timers", "reminders", "shopping", "communication", "knowledge",
                              "cooking", "travel", "news_sports", "small_talk", "media", "closing"}) {
      ASSERT_TRUE(lib.out_of_scope.count(topic)) << code << " " << topic;
      EXPECT_GE(lib.out_of_scope.at(topic).size(), 6u) << code << " " << topic;
    }
  }
}

TEST(PhraseLibrary, OutOfScopeTopicErrors) {
  std::string en = read_file(lamp_domain() + "/en.toml");
  const std::string topics = "out_of_scope = [\"weather\", \"small_talk\"]";
  {
    std::string msg = library_load_error("en.toml", [&](std::string s) { return replace_once(s, topics, "out_of_scope = [\"wether\"]"); });
    EXPECT_NE(msg.find("en.toml line " + std::to_string(line_of(en, topics))), std::string::npos) << msg;
    EXPECT_NE(msg.find("unknown out-of-scope topic 'wether'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("small_talk"), std::string::npos) << msg;  // the known topics are listed
  }
  {
    std::string msg = library_load_error("en.toml", [&](std::string s) { return replace_once(s, topics, "out_of_scope = [\"weather\", \"weather\"]"); });
    EXPECT_NE(msg.find("out-of-scope topic 'weather' named twice"), std::string::npos) << msg;
  }
  {
    std::string msg = library_load_error("en.toml", [&](std::string s) { return replace_once(s, topics, "out_of_scope = []"); });
    EXPECT_NE(msg.find("non-empty list of topics"), std::string::npos) << msg;
  }
  {  // only an out-of-scope intent says what its device does not do
    std::string msg = library_load_error("en.toml", [](std::string s) {
      return replace_once(s, "library = \"switch_on\"", "library = \"switch_on\"\nout_of_scope = [\"weather\"]");
    });
    EXPECT_NE(msg.find("only out_of_scope intents take out_of_scope"), std::string::npos) << msg;
  }
  {  // the topics alone are enough text
    std::string msg = library_load_error("en.toml", [](std::string s) {
      return replace_once(s, "text = [\"what's the weather\", \"tell me a joke\", \"who are you\"]\n", "");
    });
    EXPECT_EQ(msg, "");
  }
  // The library: a request with a slot, and a topic that is not a list, name the file and line.
  std::string home = library_dir("oos");
  auto load_error = [&](const std::string& out_of_scope) {
    write_file_atomic(home + "/en.toml", "lang = \"en\"\n[phrases]\nswitch_on = [\"turn on {target}\"]\n[out_of_scope]\n" + out_of_scope);
    try {
      load_phrase_library(home, "en");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  std::string msg = load_error("weather = [\"rain?\",\n  \"rain in {city}?\"]\n");
  EXPECT_NE(msg.find("en.toml line 6"), std::string::npos) << msg;
  EXPECT_NE(msg.find("names no slot, not {city}"), std::string::npos) << msg;
  msg = load_error("weather = \"rain?\"\n");
  EXPECT_NE(msg.find("en.toml line 5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("out_of_scope 'weather' must be a non-empty list"), std::string::npos) << msg;
  fs::remove_all(home);
}

TEST(PhraseLibrary, GeneratedTextsComeFromLibraryTemplates) {
  std::string out = library_dir("generate");
  GenerateOptions o;
  o.domain_dir = lamp_domain();
  o.out_dir = out;
  o.n = 1500;
  o.seed = 3;
  o.noise_rate = 0;
  generate_dataset(o);
  int n_library = 0;
  std::set<std::string> library_names;
  for (const char* f : {"train.jsonl", "valid.jsonl", "test.jsonl"}) {
    std::ifstream in(out + "/" + f);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      nlohmann::json j = nlohmann::json::parse(line);
      if (j["messages"].size() > 2) continue;  // dialogues: tests/data/test_dialogue.cpp
      std::string tmpl = j["types"]["template"], text = j["messages"][0]["content"], lang = j["lang"];
      for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));  // the first letter is capitalised
      size_t lib = tmpl.find(".lib.");
      if (lib == std::string::npos) continue;
      ++n_library;
      library_names.insert(tmpl.substr(lib + 5, tmpl.rfind('.') - lib - 5));
      // The target said is the room of the call.
      const auto& calls = j["messages"][1]["tool_calls"];
      ASSERT_EQ(calls.size(), 1u) << line;
      std::string room = calls[0]["function"]["arguments"]["room"];
      if (lang == "en") {
        EXPECT_NE(text.find("the " + room), std::string::npos) << text;
        EXPECT_NE(text.find("lamp"), std::string::npos) << text;
      } else if (lang == "ko") {
        EXPECT_NE(text.find(room == "desk" ? "책상" : "복도"), std::string::npos) << text;
      }
      if (calls[0]["function"]["name"] == "set_brightness") {
        EXPECT_NE(text.find(lang == "en" ? "percent" : "퍼센트"), std::string::npos) << text;
      }
    }
  }
  EXPECT_GT(n_library, 500);
  EXPECT_EQ(library_names, (std::set<std::string>{"switch_on", "switch_off", "set_value"}));
  fs::remove_all(out);
}

TEST(PhraseLibrary, ErrorsNameFileLineAndProblem) {
  std::string en = read_file(lamp_domain() + "/en.toml");
  {
    int line = line_of(en, "library = \"switch_on\"");
    std::string msg = library_load_error("en.toml", [](std::string s) { return replace_once(s, "library = \"switch_on\"", "library = \"switch_onn\""); });
    EXPECT_NE(msg.find("en.toml line " + std::to_string(line)), std::string::npos) << msg;
    EXPECT_NE(msg.find("unknown library intent 'switch_onn'"), std::string::npos) << msg;
  }
  {
    std::string msg = library_load_error("en.toml", [](std::string s) { return replace_once(s, "value = [\"{percent:number} percent\"]\n", ""); });
    EXPECT_NE(msg.find("library 'set_value' needs value"), std::string::npos) << msg;
  }
  {
    std::string msg = library_load_error("en.toml", [](std::string s) {
      return replace_once(s, "target = [\"the lamp in {room}\", \"{room} lamp\"]", "target = [\"the lamp in {room}\", \"the lamp\"]");
    });
    EXPECT_NE(msg.find("target \"the lamp\" does not say {room}"), std::string::npos) << msg;
  }
  {
    std::string msg = library_load_error("en.toml", [](std::string s) { return replace_once(s, "target = [\"the lamp in {room}\", \"{room} lamp\"]\n", ""); });
    EXPECT_NE(msg.find("needs target = [patterns]"), std::string::npos) << msg;
  }
  {
    std::string msg = library_load_error("en.toml", [](std::string s) { return replace_once(s, "library = [\"switch_off\"]", "library = [\"switch_off\"]\nvalue = [\"x\"]"); });
    EXPECT_NE(msg.find("library 'switch_off' has no template with {value}"), std::string::npos) << msg;
  }
  {
    std::string msg = library_load_error("en.toml", [](std::string s) { return replace_once(s, "text = [\"lamp in {room} out\"]", "target2 = [\"x\"]"); });
    EXPECT_NE(msg.find("unknown key 'target2'"), std::string::npos) << msg;
  }
  // A library template whose checks fail names the library file and line too.
  {
    std::string msg = library_load_error("en.toml", [](std::string s) { return replace_once(s, "{percent:number} percent", "{percent:number} {pct}"); });
    EXPECT_NE(msg.find("{pct} has no lexicon"), std::string::npos) << msg;
    EXPECT_NE(msg.find("library template"), std::string::npos) << msg;
  }
}

TEST(PhraseLibrary, LibraryFolderAndFileErrors) {
  // $EDGELM_HOME/phrases replaces the source tree's library; a language without a file is an error at the intent.
  std::string home = library_dir("home");
  fs::create_directories(home + "/phrases");
  fs::copy_file(resolve_phrases_dir() + "/en.toml", home + "/phrases/en.toml");
  const char* old = std::getenv("EDGELM_HOME");
  std::string saved = old ? old : "";
  ::setenv("EDGELM_HOME", home.c_str(), 1);
  auto restore = [&] { old ? ::setenv("EDGELM_HOME", saved.c_str(), 1) : ::unsetenv("EDGELM_HOME"); };
  std::string msg;
  try {
    check_domain(lamp_domain());
  } catch (const Error& e) {
    msg = e.what();
  }
  std::string ko = read_file(lamp_domain() + "/ko.toml");
  EXPECT_NE(msg.find("ko.toml line " + std::to_string(line_of(ko, "library = \"switch_on\""))), std::string::npos) << msg;
  EXPECT_NE(msg.find("no phrase library for language 'ko'"), std::string::npos) << msg;
  // The error of loading a Korean library file with this text.
  auto ko_library_error = [&](const std::string& text) {
    write_file_atomic(home + "/phrases/ko.toml", text);
    try {
      load_phrase_library(home + "/phrases", "ko");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  // A template with a slot other than {target} and {value} names the library file and line.
  msg = ko_library_error("lang = \"ko\"\n[verbs]\n\"켜다\" = [\"켜\", \"켜\"]\n[phrases]\nswitch_on = [\"{target} <켜다>\",\n  \"{room} 켜\"]\n");
  EXPECT_NE(msg.find("phrases/ko.toml line 6"), std::string::npos) << msg;
  EXPECT_NE(msg.find("only {target} and {value}"), std::string::npos) << msg;
  // Two questions join without a connective ending: {first_conn} is not theirs.
  msg = ko_library_error("lang = \"ko\"\nconnect_questions = [\"{first}? 그리고 {rest}\",\n  \"{first_conn} {rest}\"]\n");
  EXPECT_NE(msg.find("phrases/ko.toml line 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'connect_questions' may not use {first_conn}"), std::string::npos) << msg;
  // Two questions asked as one say both things asked about, with verbs the library conjugates.
  msg = ko_library_error("lang = \"ko\"\nask_together = [\"{first}~랑 {rest} 둘 다 어때?\",\n  \"{first} 어때?\"]\n");
  EXPECT_NE(msg.find("phrases/ko.toml line 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'ask_together' must say {first} and {rest}"), std::string::npos) << msg;
  msg = ko_library_error("lang = \"ko\"\nask_together = [\"{first}~랑 {rest} <묻다>\"]\n");
  EXPECT_NE(msg.find("verb <묻다> is not in the library's [verbs]"), std::string::npos) << msg;
  restore();
  fs::remove_all(home);
}
