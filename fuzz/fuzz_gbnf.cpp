// GBNF grammars on arbitrary bytes: parse_gbnf, then the grammar printed back,
// and the matcher built on a byte vocabulary (256 one-byte tokens and an end
// token), walking the bytes the grammar forces and its first masks. An Error is
// fine; any other exception or a crash is a bug.
#include <memory>
#include <vector>

#include "agent/grammar.h"
#include "agent/grammar_matcher.h"
#include "fuzz_util.h"

namespace {

std::shared_ptr<const edgelm::TokenVocab> byte_vocab() {
  static const auto vocab = [] {
    std::vector<std::string> bytes;
    std::vector<bool> special;
    for (int b = 0; b < 256; ++b) bytes.push_back(std::string(1, char(b))), special.push_back(false);
    bytes.push_back("<|end|>");
    special.push_back(true);
    return std::make_shared<const edgelm::TokenVocab>(std::move(bytes), std::move(special), 256);
  }();
  return vocab;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgelm;
  return fuzz::run_one("fuzz_gbnf", [&] {
    auto grammar = std::make_shared<const Grammar>(parse_gbnf(fuzz::as_text(data, size)));
    grammar->to_gbnf();
    GrammarAutomaton automaton(grammar, byte_vocab());
    int32_t state = automaton.start_state();
    automaton.mask(state);
    std::string forced = automaton.forced_bytes(state, 16);
    state = automaton.next_bytes(state, forced);
    if (state != GrammarAutomaton::kDead) {
      automaton.mask(state);
      automaton.single_token(state);
    }
  });
}
