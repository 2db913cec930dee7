#include "tokenizer/reserved.h"

#include <algorithm>
#include <memory>

#include "platform/error.h"
#include "tokenizer/tokenizer_data.h"

namespace edgelm {

namespace {

constexpr const char* kReservedPrefix = "<|reserved_";

std::vector<int32_t> reserved_ids(const TokenizerData& d) {
  std::vector<int32_t> ids;
  for (int32_t id = 0; id < int32_t(d.token_bytes.size()); ++id)
    if (is_special_type(d.token_types[size_t(id)]) && d.token_bytes[size_t(id)].rfind(kReservedPrefix, 0) == 0) ids.push_back(id);
  return ids;
}

}  // namespace

std::string reserved_token(int32_t index) { return kReservedPrefix + std::to_string(index) + "|>"; }

int32_t count_reserved_tokens(const Tokenizer& tokenizer) { return int32_t(reserved_ids(tokenizer.data()).size()); }

Tokenizer bind_reserved_tokens(const Tokenizer& base, const std::vector<std::string>& specials) {
  auto d = std::make_shared<TokenizerData>(base.data());
  std::vector<int32_t> free_ids = reserved_ids(*d);
  std::vector<std::string> missing;
  for (const auto& s : specials) {
    if (s.empty()) fail("bind_reserved_tokens: a special token is empty");
    if (!d->special_ids.count(s) && std::find(missing.begin(), missing.end(), s) == missing.end()) missing.push_back(s);
  }
  if (missing.size() > free_ids.size())
    fail("the base tokenizer has ", free_ids.size(), " reserved tokens left, but ", missing.size(),
         " special tokens need one (the first is ", missing.front(), "): pretrain the base model with more reserved tokens");
  for (size_t i = 0; i < missing.size(); ++i) d->token_bytes[size_t(free_ids[i])] = missing[i];
  d->finalize("bind_reserved_tokens");
  return make_tokenizer(std::move(d));
}

}  // namespace edgelm
