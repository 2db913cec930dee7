// Token shards on arbitrary bytes: Shard::open validates the header, the sizes,
// the document starts and the token ids; a shard that opens must then read in
// full (every token, mask byte and document range) without a read past the
// map. Shard::open takes a path: each input is written to this process's
// scratch folder first. An Error is fine; any other exception or a crash is a bug.
#include "fuzz_util.h"
#include "training/shard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgelm;
  static const std::string path = (fuzz::scratch_dir() / "data.tokens").string();
  fuzz::write_bytes(path, fuzz::as_text(data, size));
  return fuzz::run_one("fuzz_shard", [&] {
    training::Shard s = training::Shard::open(path);
    int64_t sum = 0;
    for (int64_t i = 0; i < s.n_tokens(); ++i) sum += s.token(i) + s.mask(i);
    for (int64_t d = 0; d < s.n_docs(); ++d)
      if (s.doc_end(d) <= s.doc_start(d) || s.doc_end(d) > s.n_tokens()) std::abort();
    if (s.n_vocab() > 0)
      for (int64_t i = 0; i < s.n_tokens(); ++i)
        if (s.token(i) < 0 || s.token(i) >= s.n_vocab()) std::abort();
    // A pairs shard (DPO) always holds whole pairs, each with a loss mask.
    if (s.is_pairs() && (s.n_docs() % 2 || !s.has_mask())) std::abort();
    (void)sum;
  });
}
