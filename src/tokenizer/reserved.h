#pragma once
// Reserved special tokens: a vocabulary trained with a block of them (a shared
// base model's, pipeline/base_model.h) can later take on a device's special
// tokens without changing any other id or merge, so the base model's weights
// keep their meaning.
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace edgelm {

// "<|reserved_7|>"
std::string reserved_token(int32_t index);
// Reserved tokens of `tokenizer` still free.
int32_t count_reserved_tokens(const Tokenizer& tokenizer);
// A copy of `base` in which every one of `specials` that `base` lacks takes
// the place of the lowest-id reserved token still free, in the order given.
// Error naming the counts when there are too few reserved tokens.
Tokenizer bind_reserved_tokens(const Tokenizer& base, const std::vector<std::string>& specials);

}  // namespace edgelm
