// The pretraining corpus's readers (data/corpus.h) on arbitrary bytes: the
// first byte picks the format (.mo catalogue, WordNet data, HTML, plain text,
// the input list), the rest is the file. Whatever segments come out then go
// through cleaning, the filters and dedup. An Error is fine; any other
// exception, a crash or a read past the input is a bug.
#include "data/corpus.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgelm;
  if (size == 0) return 0;
  std::string_view bytes = fuzz::as_text(data + 1, size - 1);
  return fuzz::run_one("fuzz_corpus_sources", [&] {
    std::vector<data::Segment> segments;
    switch (data[0] % 5) {
      case 0: segments = data::read_mo_segments(bytes, "fuzz.mo", "fuzz"); break;
      case 1: segments = data::read_wordnet_segments(bytes, "data.noun", "fuzz"); break;
      case 2: segments = data::read_html_segments(bytes, "fuzz"); break;
      case 3: segments = data::read_text_segments(bytes, "fuzz"); break;
      default: data::parse_corpus_inputs(bytes, "inputs.tsv"); return;
    }
    data::CorpusOptions options;
    data::Corpus corpus = data::build_corpus(segments, options);
    (void)data::corpus_jsonl(corpus);
  });
}
