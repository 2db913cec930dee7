#include "agent/answer_stream.h"

#include "agent/format.h"
#include "domain/language.h"
#include "platform/error.h"
#include "platform/utf8.h"

namespace edgelm {

size_t answer_calls_end(std::string_view text) {
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') quoted = !quoted;
    else if (text[i] == ' ' && !quoted) return i;
  }
  return std::string_view::npos;
}

size_t utf8_whole_prefix(std::string_view s) {
  size_t i = 0;
  uint32_t cp;
  while (i < s.size() && utf8_next(s, i, cp)) {
  }
  return i;
}

AnswerStream::AnswerStream(const DomainSchema& schema, Device& device, const AnswerObserver& observer, bool follow)
    : schema_(schema), device_(device), observer_(observer), follow_(follow) {}

void AnswerStream::update(const std::string& text) {
  if (!follow_) return;
  size_t end = answer_calls_end(text);
  if (end == std::string::npos) return;
  if (!calls_sent_) {
    ParsedAnswer calls = parse_answer(schema_, text.substr(0, end) + kEndToken);
    if (!calls.ok()) {  // the finished answer will say why; nothing is sent early
      follow_ = false;
      return;
    }
    calls_ = std::move(calls.calls);
    for (const Call& c : calls_) {
      try {
        device_.execute(c);
      } catch (const Error& e) {
        if (call_error_.empty()) call_error_ = e.what();
      }
    }
    calls_sent_ = true;
    if (observer_.on_calls) observer_.on_calls(calls_);
  }
  std::string reply = text.substr(end + 1);
  if (size_t e = reply.find(kEndToken); e != std::string::npos) reply.resize(e);
  send_reply(reply, false);
}

void AnswerStream::send_reply(const std::string& raw_reply, bool last) {
  std::string filled;
  if (last) {
    filled = device_.fill_placeholders(raw_reply);
  } else {
    // Up to a placeholder not yet whole and a character not yet whole.
    std::string raw = raw_reply;
    if (size_t open = raw.rfind('{'); open != std::string::npos && raw.find('}', open) == std::string::npos)
      raw.resize(open);
    raw.resize(utf8_whole_prefix(raw));
    // As far as every language fills it alike.
    bool first = true;
    for (const LanguageInfo& l : known_languages()) {
      std::string f = device_.fill_placeholders(raw, l.code);
      if (first) filled = std::move(f), first = false;
      else {
        size_t n = 0;
        while (n < filled.size() && n < f.size() && filled[n] == f[n]) ++n;
        filled.resize(n);
      }
    }
    filled.resize(utf8_whole_prefix(filled));
  }
  // Each step's text extends the last one's, so what was sent is a prefix.
  if (filled.size() <= sent_.size() || filled.compare(0, sent_.size(), sent_) != 0) return;
  std::string piece = filled.substr(sent_.size());
  sent_ = std::move(filled);
  if (observer_.on_reply) observer_.on_reply(piece);
}

void AnswerStream::finish(AgentAnswer& answer) {
  if (calls_sent_ && answer.calls == calls_) {
    if (answer.error.empty()) answer.error = call_error_;
  } else {
    // Not followed (free decoding), or the whole answer did not parse as its
    // calls part did: its calls (none when it did not parse) run now.
    for (const Call& c : answer.calls) {
      try {
        device_.execute(c);
      } catch (const Error& e) {
        if (answer.error.empty()) answer.error = e.what();
      }
    }
    if (!calls_sent_ && observer_.on_calls) observer_.on_calls(answer.calls);
    calls_sent_ = true;
  }
  answer.reply = device_.fill_placeholders(answer.raw_reply);
  send_reply(answer.raw_reply, true);
}

}  // namespace edgelm
