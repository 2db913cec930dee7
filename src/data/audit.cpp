// audit_dataset: coverage of a generated data set (function x argument value x
// language x phenomenon), the gaps against a target, length statistics, and
// an SVG chart of the distribution.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <unordered_set>

#include "data/dataset.h"
#include "data/generator.h"
#include "data/phrasebook.h"
#include "device/device.h"
#include "domain/schema.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/svg_chart.h"
#include "platform/utf8.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {
namespace {

// Integers and numbers are audited in ranges: a timer of 47 minutes is not
// its own cell. Wide integer ranges use the duration-like ranges below; a
// range they split in fewer than three (60..80 degrees) is cut in up to five
// equal parts instead.
struct Bucket {
  double lo, hi;  // integers: lo..hi inclusive; numbers: lo <= x < hi (the last one inclusive)
  std::string name;
};
const int64_t kWideBuckets[][2] = {{1, 30}, {31, 60}, {61, 120}, {121, 360}, {361, 100000}};

std::vector<Bucket> buckets_of(const ArgumentSpec& a) {
  std::vector<Bucket> out;
  if (a.type == ArgType::Integer) {
    for (const auto& b : kWideBuckets)
      if (b[1] >= a.min && b[0] <= a.max)
        out.push_back({double(b[0]), double(b[1]), b[1] >= 100000 ? cat(b[0], "+") : cat(b[0], "-", b[1])});
    if (out.size() >= 3) return out;
    out.clear();
    const int64_t size = a.max - a.min + 1, n = std::min<int64_t>(5, size);
    for (int64_t i = 0; i < n; ++i) {
      int64_t lo = a.min + i * size / n, hi = a.min + (i + 1) * size / n - 1;
      out.push_back({double(lo), double(hi), lo == hi ? cat(lo) : cat(lo, "-", hi)});
    }
  } else if (a.type == ArgType::Number) {
    const double width = (a.max_number - a.min_number) / 5;
    for (int i = 0; i < 5; ++i) {
      double lo = a.min_number + i * width, hi = i == 4 ? a.max_number : lo + width;
      out.push_back({lo, hi, cat(number_text(lo), "-", number_text(hi))});
      if (width == 0) break;
    }
  }
  return out;
}

// The cell label of a value: its range for integers and numbers, else its text.
std::string value_label(const ArgumentSpec* a, const nlohmann::json& v) {
  if (a && v.is_number() && (a->type == ArgType::Integer || a->type == ArgType::Number)) {
    const double x = v.get<double>();
    std::vector<Bucket> buckets = buckets_of(*a);
    for (size_t i = 0; i < buckets.size(); ++i) {
      const Bucket& b = buckets[i];
      bool last = i + 1 == buckets.size();
      if (x >= b.lo && (a->type == ArgType::Integer || last ? x <= b.hi : x < b.hi)) return b.name;
    }
  }
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

LengthStats stats_of(std::vector<int64_t> v) {
  LengthStats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.n = int64_t(v.size());
  s.min = v.front();
  s.max = v.back();
  double sum = 0;
  for (auto x : v) sum += double(x);
  s.mean = sum / double(v.size());
  s.p50 = double(v[v.size() / 2]);
  s.p95 = double(v[std::min(v.size() - 1, v.size() * 95 / 100)]);
  return s;
}

int64_t count_words(const std::string& s) {
  int64_t n = 0;
  bool in = false;
  for (char c : s) {
    bool space = c == ' ' || c == '\t' || c == '\n';
    if (!space && !in) ++n;
    in = !space;
  }
  return n;
}

// Two horizontal stacked bar charts (by function value and by phenomenon),
// each bar split by language, each section on its own scale.
std::string make_svg(const std::vector<std::string>& languages,
                     const std::vector<std::pair<std::string, std::map<std::string, int64_t>>>& a,
                     const std::vector<std::pair<std::string, std::map<std::string, int64_t>>>& b) {
  BarChart chart;
  chart.title = "Examples by language";
  chart.layout = BarChart::Layout::Horizontal;
  chart.stacked = true;
  chart.scale_each_section = true;
  chart.series = languages;
  chart.colors = {"#4e79a7", "#f28e2b", "#59a14f"};
  chart.label_width = 260;
  chart.bar_length = 520;
  auto section = [&](const char* title, const auto& rows) {
    chart.groups.push_back({title, {}, "", "", true});
    for (const auto& [label, by_language] : rows) {
      BarGroup g{label, {}, "", "", false};
      for (const std::string& l : languages) g.values.push_back(double(by_language.count(l) ? by_language.at(l) : 0));
      chart.groups.push_back(std::move(g));
    }
  };
  section("Examples per function and argument value", a);
  section("Examples per phenomenon", b);
  return bar_chart_svg(chart);
}

}  // namespace

std::string domain_dir_of_data(const std::string& dir) {
  namespace fs = std::filesystem;
  if (fs::exists(fs::path(dir) / "manifest.json")) {
    auto m = nlohmann::json::parse(read_file((fs::path(dir) / "manifest.json").string()), nullptr, false);
    if (m.is_object() && m.contains("domain_dir") && m["domain_dir"].is_string() && fs::is_directory(m["domain_dir"].get<std::string>()))
      return m["domain_dir"].get<std::string>();
  }
  return resolve_domain_dir(kDefaultDomain);
}

std::vector<std::string> cases_in_training(const std::string& train_jsonl, const std::vector<CaseText>& cases) {
  auto key = [](const std::vector<std::string>& turns) {
    std::string k;
    for (const auto& t : turns) k += data::Generator::normalise(t) + '\n';
    return k;
  };
  std::unordered_set<std::string> wanted;
  for (const auto& c : cases) wanted.insert(key(c.user_turns));
  std::unordered_set<std::string> found;
  std::ifstream in(train_jsonl);
  if (!in) fail(train_jsonl, ": cannot be read");
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array())
      fail(train_jsonl, " line ", line_no, ": not an SFT example (messages)");
    std::vector<std::string> turns;
    for (const auto& m : j["messages"])
      if (m.is_object() && m.value("role", "") == "user" && m.contains("content") && m["content"].is_string())
        turns.push_back(m["content"].get<std::string>());
    if (std::string k = key(turns); wanted.count(k)) found.insert(k);
  }
  std::vector<std::string> seen;
  for (const auto& c : cases)
    if (found.count(key(c.user_turns))) seen.push_back(c.id);
  return seen;
}

nlohmann::json AuditReport::to_json() const {
  nlohmann::json j;
  j["n_examples"] = n_examples;
  for (const auto& c : cells)
    j["cells"].push_back({{"function", c.function}, {"argument", c.argument}, {"value", c.value}, {"language", c.language},
                          {"phenomenon", c.phenomenon}, {"count", c.count}});
  j["gaps"] = nlohmann::json::array();
  for (const auto& g : gaps) j["gaps"].push_back({{"what", g.what}, {"count", g.count}, {"target", g.target}, {"missing", g.missing()}});
  for (const auto& [k, s] : lengths)
    j["lengths"][k] = {{"n", s.n}, {"min", s.min}, {"max", s.max}, {"mean", s.mean}, {"p50", s.p50}, {"p95", s.p95}};
  for (const auto& c : cases_in_training) j["cases_in_training"].push_back({{"cases", c.name}, {"n", c.n}, {"seen", c.seen}});
  return j;
}

AuditReport audit_dataset(const std::string& dir, const AuditOptions& o) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) fail("audit: '", dir, "' is not a folder");
  const std::string domain_dir = o.domain_dir.empty() ? domain_dir_of_data(dir) : o.domain_dir;
  const data::Phrasebook pb = data::load_phrasebook(domain_dir);
  const DomainSchema& schema = pb.schema;
  // The domain's languages, then code-switched examples: the columns of every table.
  const std::vector<std::string> languages = language_labels(pb.config.languages);

  std::optional<Tokenizer> tok;
  if (!o.tokenizer_gguf.empty()) tok = Tokenizer::from_gguf(GgufFile::open(o.tokenizer_gguf));

  AuditReport r;
  std::map<std::tuple<std::string, std::string, std::string, std::string, std::string>, int64_t> cells;
  std::map<std::string, std::map<std::string, int64_t>> by_value, by_phenomenon;  // label -> language -> count
  std::vector<int64_t> user_words, user_chars, reply_chars, user_tokens, reply_tokens;
  std::map<std::string, std::set<std::string>> said_strings;  // "function argument" -> free-text values seen
  bool any_file = false;
  for (const char* name : {"train.jsonl", "valid.jsonl", "test.jsonl"}) {
    fs::path path = fs::path(dir) / name;
    if (!fs::exists(path)) continue;
    any_file = true;
    std::ifstream in(path);
    std::string line;
    int64_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line.empty()) continue;
      // A field of the wrong type makes nlohmann::json throw its own exception: reported as this line's error.
      try {
        auto j = nlohmann::json::parse(line, nullptr, false);
        auto bad = [&](const char* why) { fail(path.string(), " line ", line_no, ": ", why); };
        if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array() || j["messages"].size() < 2) bad("not an SFT example (messages)");
        const auto& user = j["messages"][0];
        const auto& asst = j["messages"][1];
        if (!user.contains("content") || !user["content"].is_string()) bad("user message without content");
        std::string lang = j.value("lang", "?");
        std::vector<std::string> phen;
        if (j.contains("types") && j["types"].contains("phenomenon"))
          for (const auto& p : j["types"]["phenomenon"]) phen.push_back(p.get<std::string>());
        if (phen.empty()) phen.push_back("(untyped)");
        std::vector<std::tuple<std::string, std::string, std::string>> fav;  // function, argument, value
        if (asst.contains("tool_calls"))
          for (const auto& tc : asst["tool_calls"]) {
            Call c;
            try {
              c = call_from_json(tc.contains("function") ? tc["function"] : tc);
            } catch (const Error& e) {
              fail(path.string(), " line ", line_no, ": ", e.what());
            }
            if (std::string why = validate_call(schema, c); !why.empty()) fail(path.string(), " line ", line_no, ": ", why);
            const FunctionSpec* f = schema.find(c.name);
            const auto& args = (tc.contains("function") ? tc["function"] : tc).value("arguments", nlohmann::json::object());
            if (args.empty()) fav.push_back({c.name, "", ""});
            for (auto it = args.begin(); it != args.end(); ++it) {
              std::string label = value_label(f->find_argument(it.key()), *it);
              fav.push_back({c.name, it.key(), label});
              if (f->find_argument(it.key())->type == ArgType::String) said_strings[c.name + " " + it.key()].insert(label);
            }
            // An argument a partial call leaves out is a cell of its own (not a gap target).
            for (const auto& a : f->arguments)
              if (a.optional && !a.default_value && !args.contains(a.name)) fav.push_back({c.name, a.name, "(left out)"});
          }
        if (fav.empty()) fav.push_back({"(none)", "", ""});
        for (const auto& [f, a, v] : fav) {
          for (const auto& p : phen) ++cells[{f, a, v, lang, p}];
          ++by_value[a.empty() ? f : cat(f, " ", a, "=", v)][lang];
        }
        for (const auto& p : phen) ++by_phenomenon[p][lang];
        std::string text = user["content"].get<std::string>();
        std::string reply = asst.value("content", "");
        user_words.push_back(count_words(text));
        user_chars.push_back(utf8_length(text));
        reply_chars.push_back(utf8_length(reply));
        if (tok) {
          user_tokens.push_back(int64_t(tok->encode(text).size()));
          reply_tokens.push_back(int64_t(tok->encode(reply).size()));
        }
        ++r.n_examples;
      } catch (const nlohmann::json::exception& e) {
        fail(path.string(), " line ", line_no, ": a field has the wrong type (", e.what(), ")");
      }
    }
  }
  if (!any_file) fail("audit: no train.jsonl, valid.jsonl or test.jsonl in '", dir, "'");
  for (const auto& [k, c] : cells) {
    const auto& [f, a, v, l, p] = k;
    r.cells.push_back({f, a, v, l, p, c});
  }
  r.lengths["user_words"] = stats_of(user_words);
  r.lengths["user_chars"] = stats_of(user_chars);
  r.lengths["reply_chars"] = stats_of(reply_chars);
  if (tok) r.lengths["user_tokens"] = stats_of(user_tokens), r.lengths["reply_tokens"] = stats_of(reply_tokens);

  // Gaps: every function x argument value x language, and every phenomenon x
  // language, should be present and not far below its table's mean.
  // The target of a cell is a share of the mean of its language's cells, so
  // a language drawn less often (code-switched) is held to its own level.
  auto check_table = [&](const std::vector<std::pair<std::string, int64_t>>& expected) {
    for (const std::string& l : languages) {
      std::string tag = cat(" [", l, "]");
      double mean = 0;
      size_t n = 0;
      for (const auto& [w, c] : expected)
        if (w.ends_with(tag)) mean += double(c), ++n;
      if (n == 0) continue;
      mean /= double(n);
      int64_t target = std::max<int64_t>(o.min_count, int64_t(o.min_share * mean));
      for (const auto& [w, c] : expected)
        if (w.ends_with(tag) && c < target) r.gaps.push_back({w, c, target});
    }
  };
  std::vector<std::pair<std::string, int64_t>> fv, pl;
  std::vector<std::pair<std::string, std::map<std::string, int64_t>>> chart_a, chart_b;
  for (const auto& f : schema.functions) {
    std::vector<std::string> labels;
    if (f.arguments.empty()) labels.push_back(f.name);
    for (const auto& a : f.arguments) {
      std::vector<std::string> values;
      if (a.type == ArgType::Enum) values = a.values;
      else if (a.type == ArgType::Boolean) values = {"false", "true"};
      else if (a.type == ArgType::String) values.assign(said_strings[f.name + " " + a.name].begin(), said_strings[f.name + " " + a.name].end());
      else
        for (const auto& b : buckets_of(a)) values.push_back(b.name);
      for (const auto& v : values) labels.push_back(cat(f.name, " ", a.name, "=", v));
    }
    for (const auto& label : labels) {
      auto& m = by_value[label];
      chart_a.push_back({label, m});
      for (const std::string& l : languages) fv.push_back({cat(label, " [", l, "]"), m.count(l) ? m.at(l) : 0});
    }
  }
  chart_a.push_back({"(no call)", by_value["(none)"]});
  // The phenomena every domain can have, then those this data set adds (partial).
  std::vector<std::string> phenomena(std::begin(kPhenomena), std::end(kPhenomena));
  for (const auto& [p, m] : by_phenomenon)
    if (p != "(untyped)" && !std::count(phenomena.begin(), phenomena.end(), p)) phenomena.push_back(p);
  std::vector<std::string> absent;  // phenomena of no example in any language: not this domain's (relative without a relative function)
  for (const std::string& p : phenomena) {
    auto& m = by_phenomenon[p];
    chart_b.push_back({p, m});
    if (m.empty()) {
      absent.push_back(p);
      continue;
    }
    for (const std::string& l : languages) {
      bool possible = p == "code_switched" ? l == kMixedLanguage : true;
      if (possible) pl.push_back({cat(p, " [", l, "]"), m.count(l) ? m.at(l) : 0});
    }
  }
  check_table(fv);
  check_table(pl);

  // The text report.
  std::string md = cat("# Audit of ", dir, "\n\n", r.n_examples, " examples. Domain: ", schema.name, ".\n\n## Gaps\n\n");
  if (r.gaps.empty()) md += "None: every function value and phenomenon is present in every language at or above target.\n";
  else {
    md += "| cell | count | target | |\n| --- | ---: | ---: | --- |\n";
    for (const auto& g : r.gaps) md += cat("| ", g.what, " | ", g.count, " | ", g.target, " | ", g.missing() ? "MISSING" : "under target", " |\n");
  }
  if (!absent.empty()) {
    md += "\nPhenomena in no example of any language (not counted as gaps):";
    for (const auto& p : absent) md += " " + p;
    md += ".\n";
  }
  md += "\n## Lengths\n\n| measure | n | min | p50 | mean | p95 | max |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  char buf[256];
  for (const auto& [k, s] : r.lengths) {
    std::snprintf(buf, sizeof buf, "| %s | %lld | %lld | %.0f | %.1f | %.0f | %lld |\n", k.c_str(), (long long)s.n, (long long)s.min,
                  s.p50, s.mean, s.p95, (long long)s.max);
    md += buf;
  }
  if (!tok) md += "\n(Words split on spaces and UTF-8 characters; pass --tokenizer MODEL.gguf for real tokens.)\n";
  if (!o.case_sets.empty()) {
    const std::string train = (fs::path(dir) / "train.jsonl").string();
    if (!fs::exists(train)) fail("audit: --cases needs ", train);
    md += "\n## Evaluation cases seen in training\n\nCases whose user turns, normalised, are those of a training example: "
          "they cannot measure how the model generalises.\n\n| cases | n | seen in train.jsonl | ids |\n| --- | ---: | ---: | --- |\n";
    for (const auto& [name, cases] : o.case_sets) {
      CasesInTraining c{name, int64_t(cases.size()), cases_in_training(train, cases)};
      std::string ids;
      for (const auto& id : c.seen) ids += (ids.empty() ? "" : ", ") + id;
      md += cat("| ", name, " | ", c.n, " | ", c.seen.size(), " | ", ids, " |\n");
      r.cases_in_training.push_back(std::move(c));
    }
  }
  md += "\n## Coverage: function x argument value x language, by phenomenon\n\n| function | argument | language |";
  for (const auto& p : phenomena) md += cat(" ", p, " |");
  md += "\n| --- | --- | --- |";
  for (size_t i = 0; i < phenomena.size(); ++i) md += " ---: |";
  md += "\n";
  std::map<std::tuple<std::string, std::string, std::string>, std::map<std::string, int64_t>> rows;
  for (const auto& c : r.cells) rows[{c.function, c.argument.empty() ? "" : cat(c.argument, "=", c.value), c.language}][c.phenomenon] += c.count;
  for (const auto& [k, m] : rows) {
    const auto& [f, av, l] = k;
    md += cat("| ", f, " | ", av, " | ", l, " |");
    for (const auto& p : phenomena) md += cat(" ", m.count(p) ? m.at(p) : 0, " |");
    md += "\n";
  }
  r.table_markdown = md;
  if (o.write_files) {
    write_file_atomic((fs::path(dir) / "audit.md").string(), md);
    write_file_atomic((fs::path(dir) / "audit.json").string(), r.to_json().dump(1) + "\n");
    write_file_atomic((fs::path(dir) / "audit.svg").string(), make_svg(languages, chart_a, chart_b));
  }
  return r;
}

}  // namespace edgelm
