#include "agent/format.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>

#include "domain/conversation.h"
#include "domain/language.h"
#include "platform/error.h"
#include "platform/utf8.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {

std::string function_token(const std::string& function_name) { return cat("<|fn:", function_name, "|>"); }
std::string placeholder_token(const std::string& name) { return cat("{", name, "}"); }

std::vector<std::string> placeholder_names(const DomainSchema& schema) {
  std::vector<std::string> names = schema.placeholders;
  for (const auto& f : schema.functions)
    for (const auto& a : f.arguments)
      if (std::find(names.begin(), names.end(), a.name) == names.end()) names.push_back(a.name);
  return names;
}

std::vector<std::string> agent_special_tokens(const DomainSchema& schema) {
  std::vector<std::string> tokens = {kSystemToken, kUserToken, kAssistantToken, kEndToken};
  for (const auto& f : schema.functions) tokens.push_back(function_token(f.name));
  for (const auto& p : placeholder_names(schema)) tokens.push_back(placeholder_token(p));
  return tokens;
}

void check_schema_for_format(const DomainSchema& schema) {
  if (schema.functions.empty()) fail("domain '", schema.name, "' has no functions");
  for (const auto& f : schema.functions)
    for (const auto& a : f.arguments) {
      if (a.type == ArgType::Integer && a.min > a.max)
        fail("function ", f.name, " argument ", a.name, ": empty range ", a.min, "..", a.max);
      if (a.type == ArgType::Enum && a.values.empty())
        fail("function ", f.name, " argument ", a.name, ": enum with no values");
      for (const auto& v : a.values)
        if (!enum_value_writable(v))
          fail("function ", f.name, " argument ", a.name, ": value '", v, "' cannot be written in the agent format (",
               kEnumValueRule, ")");
    }
}

std::string render_system_text(const DomainSchema& schema) {
  std::string s = kSystemToken;
  for (const auto& f : schema.functions) s += function_token(f.name);
  return s;
}

std::string arg_plain_text(const ArgValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  if (const auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value)) return number_text(*d);
  return std::get<bool>(value) ? "true" : "false";
}

std::string arg_format_text(const ArgumentSpec& spec, const ArgValue& value) {
  if (spec.type == ArgType::String) return cat('"', arg_plain_text(value), '"');
  return arg_plain_text(value);
}

std::string render_args_text(const FunctionSpec& function, const Call& call) {
  std::string s;
  for (size_t i = 0; i < function.arguments.size(); ++i) {
    if (i) s += ',';
    auto it = call.arguments.find(function.arguments[i].name);
    if (it != call.arguments.end()) s += arg_format_text(function.arguments[i], it->second);
  }
  return s;
}

std::string render_answer_text(const DomainSchema& schema, const std::vector<Call>& calls, const std::string& reply) {
  std::string s;
  for (const auto& c : calls) {
    const FunctionSpec* f = schema.find(c.name);
    if (!f) fail("function '", c.name, "' is not in domain '", schema.name, "'");
    s += function_token(c.name) + render_args_text(*f, c);
  }
  return s + " " + reply + kEndToken;
}

namespace {

int32_t require_special(const Tokenizer& tokenizer, const std::string& text) {
  auto id = tokenizer.special_id(text);
  if (!id)
    fail("the tokenizer has no special token ", text,
         " (train the tokenizer with the agent's special tokens: agent_special_tokens)");
  return *id;
}

void append(std::vector<int32_t>& out, const std::vector<int32_t>& more) { out.insert(out.end(), more.begin(), more.end()); }

// A reply's text with each {placeholder} of the schema as its token.
void append_reply(std::vector<int32_t>& out, const DomainSchema& schema, const Tokenizer& tokenizer,
                  const std::string& reply) {
  std::vector<std::string> names = placeholder_names(schema);
  size_t start = 0, pos = 0;
  while ((pos = reply.find('{', pos)) != std::string::npos) {
    size_t close = reply.find('}', pos);
    if (close == std::string::npos) break;
    std::string name = reply.substr(pos + 1, close - pos - 1);
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      ++pos;
      continue;
    }
    if (pos > start) append(out, tokenizer.encode(std::string_view(reply).substr(start, pos - start)));
    out.push_back(require_special(tokenizer, placeholder_token(name)));
    start = pos = close + 1;
  }
  if (start < reply.size()) append(out, tokenizer.encode(std::string_view(reply).substr(start)));
}

}  // namespace

std::vector<int32_t> render_system_tokens(const DomainSchema& schema, const Tokenizer& tokenizer) {
  std::vector<int32_t> out = {require_special(tokenizer, kSystemToken)};
  for (const auto& f : schema.functions) out.push_back(require_special(tokenizer, function_token(f.name)));
  return out;
}

std::vector<int32_t> render_user_tokens(const Tokenizer& tokenizer, const std::string& user_text) {
  std::vector<int32_t> out = {require_special(tokenizer, kUserToken)};
  append(out, tokenizer.encode(model_text(user_text), /*parse_special=*/false));
  out.push_back(require_special(tokenizer, kAssistantToken));
  return out;
}

std::vector<int32_t> render_answer_tokens(const DomainSchema& schema, const Tokenizer& tokenizer,
                                          const std::vector<Call>& calls, const std::string& reply) {
  std::vector<int32_t> out = render_calls_tokens(schema, tokenizer, calls);
  append_reply(out, schema, tokenizer, " " + reply);
  out.push_back(require_special(tokenizer, kEndToken));
  return out;
}

std::vector<int32_t> render_calls_tokens(const DomainSchema& schema, const Tokenizer& tokenizer,
                                         const std::vector<Call>& calls) {
  std::vector<int32_t> out;
  for (const auto& c : calls) {
    const FunctionSpec* f = schema.find(c.name);
    if (!f) fail("function '", c.name, "' is not in domain '", schema.name, "'");
    out.push_back(require_special(tokenizer, function_token(c.name)));
    std::string args = render_args_text(*f, c);
    if (!args.empty()) append(out, tokenizer.encode(args));
  }
  return out;
}

std::vector<int32_t> render_history_tokens(const DomainSchema& schema, const Tokenizer& tokenizer,
                                           const std::vector<Turn>& history) {
  std::vector<int32_t> out;
  for (const Turn& t : history) {
    append(out, render_user_tokens(tokenizer, t.user));
    append(out, render_calls_tokens(schema, tokenizer, t.calls));
    out.push_back(require_special(tokenizer, kEndToken));
  }
  return out;
}

std::string render_history_text(const DomainSchema& schema, const std::vector<Turn>& history) {
  std::string s;
  for (const Turn& t : history) {
    s += cat(kUserToken, model_text(t.user), kAssistantToken);
    for (const auto& c : t.calls) {
      const FunctionSpec* f = schema.find(c.name);
      if (!f) fail("function '", c.name, "' is not in domain '", schema.name, "'");
      s += function_token(c.name) + render_args_text(*f, c);
    }
    s += kEndToken;
  }
  return s;
}

RenderedExample render_training_example(const DomainSchema& schema, const Tokenizer& tokenizer,
                                        const nlohmann::json& example, int64_t max_history_tokens, int64_t max_tokens,
                                        bool learn_history_calls) {
  std::string id = example.is_object() && example.contains("id") ? example["id"].dump() : std::string("(no id)");
  if (!example.is_object() || !example.contains("messages")) fail("example ", id, ": no \"messages\" array");
  Conversation conv;
  try {
    conv = parse_conversation(example["messages"], schema);
  } catch (const Error& e) {
    fail("example ", id, ": ", e.what());
  }
  if (!conv.answer) fail("example ", id, ": no assistant message after the last user message");
  RenderedExample r;
  r.tokens = render_system_tokens(schema, tokenizer);
  const std::vector<int32_t> user = render_user_tokens(tokenizer, conv.last_user);
  const std::vector<int32_t> answer = render_answer_tokens(schema, tokenizer, *conv.answer, conv.answer_reply);
  std::vector<int32_t> history = render_history_tokens(schema, tokenizer, conv.history);
  auto over = [&] {
    return (max_history_tokens >= 0 && int64_t(history.size()) > max_history_tokens) ||
           (max_tokens > 0 && int64_t(r.tokens.size() + history.size() + user.size() + answer.size()) > max_tokens);
  };
  while (!conv.history.empty() && over()) {
    conv.history.erase(conv.history.begin());
    history = render_history_tokens(schema, tokenizer, conv.history);
  }
  r.loss_mask.assign(r.tokens.size(), 0);
  if (learn_history_calls) {
    // Each earlier turn is a command answered in its own context, so its calls
    // are a target too; its end token is not, as the reply that would precede it
    // at run time is left out of the history.
    for (const Turn& t : conv.history) {
      append(r.tokens, render_user_tokens(tokenizer, t.user));
      r.loss_mask.resize(r.tokens.size(), 0);
      append(r.tokens, render_calls_tokens(schema, tokenizer, t.calls));
      r.loss_mask.resize(r.tokens.size(), 1);
      r.tokens.push_back(require_special(tokenizer, kEndToken));
      r.loss_mask.push_back(0);
    }
  } else {
    append(r.tokens, history);
  }
  append(r.tokens, user);
  r.loss_mask.resize(r.tokens.size(), 0);
  append(r.tokens, answer);
  r.loss_mask.resize(r.tokens.size(), 1);
  return r;
}

RenderedPair render_preference_pair(const DomainSchema& schema, const Tokenizer& tokenizer, const nlohmann::json& pair,
                                    int64_t max_history_tokens, int64_t max_tokens) {
  std::string id = pair.is_object() && pair.contains("id") ? pair["id"].dump() : std::string("(no id)");
  if (!pair.is_object() || !pair.contains("prompt") || !pair["prompt"].is_array())
    fail("pair ", id, ": no \"prompt\" array of messages");
  auto side = [&](const char* name, int64_t limit) {
    if (!pair.contains(name) || !pair[name].is_object()) fail("pair ", id, ": no \"", name, "\" assistant message");
    nlohmann::json example = {{"id", pair.contains("id") ? pair["id"] : nlohmann::json(nullptr)}, {"messages", pair["prompt"]}};
    example["messages"].push_back(pair[name]);
    return render_training_example(schema, tokenizer, example, max_history_tokens, limit);
  };
  auto prompt_size = [](const RenderedExample& e) {
    return int64_t(std::find(e.loss_mask.begin(), e.loss_mask.end(), uint8_t(1)) - e.loss_mask.begin());
  };
  RenderedPair r{side("chosen", max_tokens), side("rejected", max_tokens)};
  // The longer answer may have cut one more turn of history: the other side is cut the same way
  // (turns go oldest first, so a limit of its answer plus the shorter prompt keeps exactly that prompt).
  const int64_t pc = prompt_size(r.chosen), pr = prompt_size(r.rejected);
  if (pc > pr) r.chosen = side("chosen", int64_t(r.chosen.tokens.size()) - pc + pr);
  if (pr > pc) r.rejected = side("rejected", int64_t(r.rejected.tokens.size()) - pr + pc);
  return r;
}

std::string check_user_text(std::string_view text, size_t max_bytes) {
  if (text.empty()) return "empty command";
  if (text.size() > max_bytes) return cat("command too long: ", text.size(), " bytes (at most ", max_bytes, ")");
  // Overlong forms, surrogates and values past U+10FFFF are invalid too (utf8_next is strict).
  for (size_t i = 0, start = 0; i < text.size(); start = i) {
    uint32_t cp = 0;
    if (!utf8_next(text, i, cp)) return cat("invalid UTF-8 at byte ", i);
    if ((cp < 0x20 && cp != '\t') || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "U+%04X", cp);
      return cat("control character ", buf, " at byte ", start);
    }
  }
  return "";
}

namespace {

bool starts_with_at(const std::string& s, size_t pos, std::string_view prefix) {
  return s.compare(pos, prefix.size(), prefix) == 0;
}

bool parse_int(const std::string& text, int64_t& out) {
  if (text.empty() || text.size() > 18) return false;
  if (text.size() > 1 && text[0] == '0') return false;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

bool parse_number(const std::string& text, double& out) {
  // -?digits(.digits)? with at most kNumberDecimals decimals, as the grammar writes it.
  size_t i = text[0] == '-' ? 1 : 0, digits = 0, decimals = 0;
  bool dot = false;
  for (; i < text.size(); ++i) {
    if (text[i] == '.' && !dot && digits) dot = true;
    else if (text[i] >= '0' && text[i] <= '9') dot ? ++decimals : ++digits;
    else return false;
  }
  if (!digits || (dot && !decimals) || decimals > size_t(kNumberDecimals) || digits > 13) return false;
  out = std::strtod(text.c_str(), nullptr);
  return true;
}

// An unquoted value of the format, parsed for its argument's type.
std::optional<ArgValue> parse_format_value(const ArgumentSpec& a, const std::string& text) {
  switch (a.type) {
    case ArgType::Enum: return ArgValue(text);
    case ArgType::String: return std::nullopt;  // free text is always quoted
    case ArgType::Boolean:
      if (text == "true") return ArgValue(true);
      if (text == "false") return ArgValue(false);
      return std::nullopt;
    case ArgType::Integer: {
      bool negative = text[0] == '-';
      int64_t v = 0;
      if (!parse_int(negative ? text.substr(1) : text, v)) return std::nullopt;
      return ArgValue(negative ? -v : v);
    }
    case ArgType::Number: {
      double v = 0;
      if (!parse_number(text, v)) return std::nullopt;
      return ArgValue(v);
    }
  }
  return std::nullopt;
}

ParsedAnswer parse_answer_unchecked(const DomainSchema& schema, const std::string& text) {
  ParsedAnswer r;
  std::string body = text;
  size_t end = body.find(kEndToken);
  if (end != std::string::npos) {
    if (end + std::string_view(kEndToken).size() != body.size()) {
      r.error = "text after <|end|>";
      return r;
    }
    body.resize(end);
  }
  size_t pos = 0;
  while (starts_with_at(body, pos, "<|fn:")) {
    size_t close = body.find("|>", pos);
    if (close == std::string::npos) {
      r.error = "unterminated function token";
      return r;
    }
    std::string name = body.substr(pos + 5, close - pos - 5);
    const FunctionSpec* f = schema.find(name);
    if (!f) {
      r.error = cat("unknown function '", name, "'");
      return r;
    }
    pos = close + 2;
    // Values in schema order, separated by ','; a free-text value is quoted
    // (it may hold spaces and commas), the others run to the next ',' or ' '.
    Call call{name, {}};
    for (size_t i = 0; i < f->arguments.size(); ++i) {
      const ArgumentSpec& a = f->arguments[i];
      if (i) {
        if (pos >= body.size() || body[pos] != ',') {
          r.error = cat(name, " takes ", f->arguments.size(), " argument(s) but got ", i);
          return r;
        }
        ++pos;
      }
      std::string value;
      if (pos < body.size() && body[pos] == '"') {
        size_t close_quote = body.find('"', pos + 1);
        if (close_quote == std::string::npos) {
          r.error = cat(name, ": argument ", a.name, ": unterminated string");
          return r;
        }
        value = body.substr(pos + 1, close_quote - pos - 1);
        pos = close_quote + 1;
        if (a.type != ArgType::String) {
          r.error = cat(name, ": argument ", a.name, " is a ", arg_type_name(a.type), ", not a string");
          return r;
        }
        call.arguments[a.name] = value;
        continue;
      }
      size_t value_end = pos;
      while (value_end < body.size() && body[value_end] != ' ' && body[value_end] != ',' &&
             !starts_with_at(body, value_end, "<|"))
        ++value_end;
      value = body.substr(pos, value_end - pos);
      pos = value_end;
      if (value.empty()) {
        if (!a.optional) {
          r.error = cat(name, ": argument ", a.name, " is missing");
          return r;
        }
        continue;
      }
      std::optional<ArgValue> v = parse_format_value(a, value);
      if (!v) {
        r.error = cat(name, ": argument ", a.name, " '", value, "' is not a", a.type == ArgType::Integer ? "n " : " ",
                      arg_type_name(a.type));
        return r;
      }
      call.arguments[a.name] = std::move(*v);
    }
    if (pos < body.size() && body[pos] == ',') {
      r.error = cat(name, " takes ", f->arguments.size(), " argument(s) but got more");
      return r;
    }
    if (f->arguments.empty() && pos < body.size() && body[pos] != ' ' && !starts_with_at(body, pos, "<|")) {
      size_t e = body.find_first_of(" <", pos);
      r.error = cat(name, " takes no arguments but got '", body.substr(pos, e == std::string::npos ? e : e - pos), "'");
      return r;
    }
    std::string why = validate_call(schema, call);
    if (!why.empty()) {
      r.error = why;
      return r;
    }
    r.calls.push_back(std::move(call));
  }
  if (pos < body.size() && body[pos] == ' ') ++pos;
  else if (pos < body.size()) {
    r.error = "expected a function token or ' ' before the reply";
    return r;
  }
  r.reply = body.substr(pos);
  if (r.reply.find("<|") != std::string::npos) {
    r.error = "special token inside the reply";
    r.calls.clear();
  }
  if (end == std::string::npos && r.error.empty()) r.error = "answer not terminated by <|end|>";
  return r;
}

}  // namespace

// An answer with any error has no valid calls: a partly parsed answer is not executed.
ParsedAnswer parse_answer(const DomainSchema& schema, const std::string& text) {
  ParsedAnswer r = parse_answer_unchecked(schema, text);
  if (!r.ok()) r.calls.clear();
  return r;
}

}  // namespace edgelm
