#include "eval/keyword_baseline.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <utility>

namespace edgelm {

namespace {

std::string lower_ascii(std::string s) {
  for (char& c : s) c = char(std::tolower((unsigned char)c));
  return s;
}

bool has(const std::string& s, std::initializer_list<const char*> words) {
  for (const char* w : words)
    if (s.find(w) != std::string::npos) return true;
  return false;
}

// ASCII words must match whole words ("on" inside "ocean" must not count).
bool has_word(const std::string& s, std::initializer_list<const char*> words) {
  for (const char* w : words) {
    std::string word(w);
    for (size_t pos = s.find(word); pos != std::string::npos; pos = s.find(word, pos + 1)) {
      bool left = pos == 0 || !std::isalnum((unsigned char)s[pos - 1]);
      size_t end = pos + word.size();
      bool right = end >= s.size() || !std::isalnum((unsigned char)s[end]);
      if (left && right) return true;
    }
  }
  return false;
}

// Splits at conjunctions and commas; Korean "-고 " joins two verbs ("바꾸고 꺼줘").
std::vector<std::string> split_clauses(const std::string& text) {
  std::vector<std::string> seps = {",", " and then ", " and ", " then ", " also ", " plus ", "하고 ", "그리고 ", "고 ", "한 다음 ",
                                   "한 뒤 ", ". ", "; "};
  std::vector<std::string> parts = {text};
  for (const auto& sep : seps) {
    std::vector<std::string> next;
    for (const auto& p : parts) {
      size_t start = 0;
      // `pos` always moves forward, so every separator occurrence is looked at once.
      for (size_t pos = p.find(sep); pos != std::string::npos; pos = p.find(sep, pos + 1)) {
        // "고 " only splits after a Hangul syllable (the verb it ends), and
        // "an hour and a half" is one duration, not two requests.
        bool keep = (sep == "고 " && (pos < 3 || (unsigned char)p[pos - 3] < 0xEA)) ||
                    (sep == " and " && p.compare(pos, 11, " and a half") == 0);
        if (keep) continue;
        next.push_back(p.substr(start, pos - start));
        start = pos + sep.size();
      }
      next.push_back(p.substr(start));
    }
    parts = std::move(next);
  }
  std::vector<std::string> out;
  for (auto& p : parts)
    if (p.find_first_not_of(" \t.!?") != std::string::npos) out.push_back(p);
  return out;
}

// A number word or digits starting at pos; returns {value, length} or {-1, 0}.
std::pair<double, size_t> number_at(const std::string& s, size_t pos) {
  if (std::isdigit((unsigned char)s[pos])) {
    size_t end = pos;
    double v = 0;
    while (end < s.size() && std::isdigit((unsigned char)s[end])) v = v * 10 + (s[end++] - '0');
    if (end + 1 < s.size() && s[end] == '.' && std::isdigit((unsigned char)s[end + 1])) {
      v += (s[end + 1] - '0') / 10.0;
      end += 2;
    }
    return {v, end - pos};
  }
  static const std::vector<std::pair<const char*, double>> words = {
      {"twelve", 12}, {"eleven", 11}, {"ten", 10}, {"nine", 9}, {"eight", 8}, {"seven", 7}, {"six", 6}, {"five", 5},
      {"four", 4}, {"three", 3}, {"two", 2}, {"one", 1}, {"an", 1}, {"a", 1}, {"half an", 0.5}, {"half", 0.5},
      {"thirty", 30}, {"twenty", 20}, {"fifteen", 15}, {"forty", 40}, {"fifty", 50}, {"sixty", 60}, {"ninety", 90},
      // Korean native numerals (before hours) and Sino-Korean tens (before minutes).
      {"열두", 12}, {"열한", 11}, {"열", 10}, {"아홉", 9}, {"여덟", 8}, {"일곱", 7}, {"여섯", 6}, {"다섯", 5}, {"네", 4},
      {"세", 3}, {"두", 2}, {"한", 1}, {"삼십", 30}, {"이십", 20}, {"사십", 40}, {"오십", 50}, {"십오", 15}, {"십", 10},
      {"오", 5}};
  for (const auto& [w, v] : words) {
    size_t n = std::char_traits<char>::length(w);
    if (s.compare(pos, n, w) != 0) continue;
    if (std::isalpha((unsigned char)w[0]) && pos > 0 && std::isalpha((unsigned char)s[pos - 1])) continue;
    if (std::isalpha((unsigned char)w[0]) && pos + n < s.size() && std::isalpha((unsigned char)s[pos + n])) continue;
    return {v, n};
  }
  return {-1, 0};
}

}  // namespace

int64_t parse_duration_minutes(const std::string& raw) {
  std::string s = lower_ascii(raw);
  double minutes = 0;
  bool found = false;
  double pending = -1;  // the last number seen, waiting for its unit
  for (size_t pos = 0; pos < s.size();) {
    auto [v, n] = number_at(s, pos);
    if (n > 0) {
      pending = v;
      pos += n;
      continue;
    }
    auto unit = [&](std::initializer_list<const char*> names) {
      for (const char* u : names)
        if (s.compare(pos, std::char_traits<char>::length(u), u) == 0) return std::char_traits<char>::length(u);
      return size_t(0);
    };
    if (size_t u = unit({"hours", "hour", "hrs", "hr", "시간"}); u && pending >= 0) {
      minutes += pending * 60, found = true, pending = -1, pos += u;
    } else if (size_t u2 = unit({"minutes", "minute", "mins", "min", "분"}); u2 && pending >= 0) {
      minutes += pending, found = true, pending = -1, pos += u2;
    } else if (size_t u3 = unit({"and a half", "반"}); u3 && found) {
      minutes += 30, pos += u3;
    } else {
      ++pos;
    }
  }
  return found ? int64_t(minutes + 0.5) : -1;
}

std::vector<Call> keyword_baseline_calls(const DomainSchema& schema, const std::string& text) {
  std::vector<Call> calls;
  auto add = [&](const std::string& name, std::map<std::string, ArgValue> args = {}) {
    Call c{name, std::move(args)};
    if (validate_call(schema, c).empty()) calls.push_back(std::move(c));
  };
  for (const std::string& clause : split_clauses(lower_ascii(text))) {
    const std::string& c = clause;
    bool turn_on = has_word(c, {"on", "start"}) || has(c, {"켜", "틀어"});
    bool turn_off = has_word(c, {"off", "stop"}) || has(c, {"꺼", "끄", "끌", "멈춰", "그만"});
    int64_t minutes = parse_duration_minutes(c);
    if (has(c, {"timer", "타이머", "예약"}) && has(c, {"cancel", "remove", "clear", "취소", "없애", "해제"})) {
      add("cancel_timer");
    } else if (has(c, {"breath", "호흡", "숨"})) {
      add("start_breathing", minutes > 0 ? std::map<std::string, ArgValue>{{"minutes", minutes}} : std::map<std::string, ArgValue>{});
    } else if (minutes > 0) {
      add("set_timer", {{"minutes", minutes}});
    } else if (has(c, {"tip", "advice", "팁", "조언"})) {
      std::string topic = has(c, {"sleep", "잠", "수면"}) ? "sleep" : has(c, {"allerg", "알레르기", "알러지"}) ? "allergy"
                        : has(c, {"stress", "스트레스"}) ? "stress" : "air";
      add("get_wellness_tip", {{"topic", topic}});
    } else if (has(c, {"sound", "noise", "rain", "ocean", "forest", "소리", "빗", "파도", "바다", "숲"})) {
      if (turn_off && !has(c, {"play", "틀어"})) add("stop_sound");
      else if (has(c, {"rain", "비 ", "빗"})) add("play_sound", {{"sound", "rain"}});
      else if (has(c, {"ocean", "sea", "wave", "파도", "바다"})) add("play_sound", {{"sound", "ocean"}});
      else if (has(c, {"forest", "숲"})) add("play_sound", {{"sound", "forest"}});
      else if (has(c, {"white", "백색"})) add("play_sound", {{"sound", "white_noise"}});
    } else if (has(c, {"filter", "필터"})) {
      if (has(c, {"reset", "new", "replaced", "changed", "리셋", "초기화", "교체", "갈았"})) add("reset_filter");
      else add("get_filter_status");
    } else if (has(c, {"air quality", "pm2", "pm10", "dust", "공기", "미세먼지", "먼지"})) {
      add("get_air_quality");
    } else if (has(c, {"lock", "잠금", "잠가", "잠궈"})) {
      add("set_child_lock", {{"state", has(c, {"unlock", "해제", "풀어"}) || turn_off ? "off" : "on"}});
    } else if (has(c, {"light", "display", "lamp", "조명", "불빛", "라이트", "화면"})) {
      std::string level = turn_off ? "off" : has(c, {"dim", "dark", "low", "어둡", "약하", "낮"}) ? "dim" : "bright";
      add("set_light", {{"level", level}});
    } else if (has(c, {"turbo", "max", "full", "최대", "강력", "터보"})) {
      add("set_mode", {{"mode", "turbo"}});
    } else if (has(c, {"sleep", "night", "bedtime", "수면", "취침"})) {
      if (has(c, {"turn on", "turn it on", "switch on"})) add("set_power", {{"state", "on"}});
      add("set_mode", {{"mode", "sleep"}});
    } else if (has(c, {"auto", "자동", "알아서"})) {
      if (has(c, {"turn on", "turn it on", "switch on"})) add("set_power", {{"state", "on"}});
      add("set_mode", {{"mode", "auto"}});
    } else if (has(c, {"manual", "수동"})) {
      add("set_mode", {{"mode", "manual"}});
    } else if (has(c, {"stronger", "faster", "more", "up", "세게", "강하게", "올려", "높여"}) &&
               has(c, {"fan", "speed", "wind", "바람", "풍속", "팬"})) {
      add("adjust_fan_speed", {{"direction", "up"}});
    } else if (has(c, {"weaker", "slower", "less", "down", "약하게", "내려", "줄여", "낮춰"}) &&
               has(c, {"fan", "speed", "wind", "바람", "풍속", "팬"})) {
      add("adjust_fan_speed", {{"direction", "down"}});
    } else if (has(c, {"low", "약풍", "약으로"})) {
      add("set_fan_speed", {{"speed", "low"}});
    } else if (has(c, {"medium", "mid", "중간", "중풍"})) {
      add("set_fan_speed", {{"speed", "medium"}});
    } else if (has(c, {"high", "강풍", "강으로"})) {
      add("set_fan_speed", {{"speed", "high"}});
    } else if (has(c, {"purifier", "청정기", "device", "기계"}) || c.size() < 24) {
      // A bare "turn it on" / "꺼줘" addresses the purifier; a long sentence
      // about something else (a TV, the weather) does not.
      bool other_device = has(c, {"tv", "television", "air conditioner", "heater", "에어컨", "티비", "히터", "tv", "radio",
                                  "라디오", "세탁기"});
      if (!other_device && turn_off) add("set_power", {{"state", "off"}});
      else if (!other_device && turn_on) add("set_power", {{"state", "on"}});
    }
  }
  return calls;
}

Predictor keyword_baseline_predictor(const DomainSchema& schema) {
  return [schema](const EvalCase& c) {
    auto start = std::chrono::steady_clock::now();
    Prediction p;
    p.calls = keyword_baseline_calls(schema, c.text);
    bool korean = count_scripts(c.text).hangul > 0;
    if (p.calls.empty()) p.reply = korean ? "공기청정기 기능만 도와드릴 수 있어요." : "I can only help with the air purifier.";
    else p.reply = korean ? "처리했어요." : "Done.";
    p.latency_ms = std::max(1e-6, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    return p;
  };
}

}  // namespace edgelm
