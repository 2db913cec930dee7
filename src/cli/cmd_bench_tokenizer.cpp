// edgelm bench tokenizer: train, encode and decode throughput, single thread,
// compared in the same run with SentencePiece's BPE (bench/sentencepiece_bench.py).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "domain/schema.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/random.h"
#include "tokenizer/tokenizer.h"

namespace edgelm::cli {
namespace cmd_bench_tokenizer {

struct BenchArgs {
  std::string input, domain = kDefaultDomain, sp_script;
  int32_t vocab_size = 4096;
  double megabytes = 4;
  bool compare = true;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Mixed English / Korean lines from the domain's phrasing files: every quoted
// string in them (placeholders dropped) is a fragment; a line joins a few
// fragments drawn with a fixed seed, sometimes with a number.
std::string build_corpus(const std::string& domain, double megabytes) {
  std::string dir = resolve_domain_dir(domain);
  std::vector<std::string> fragments;
  for (const char* file : {"en.toml", "ko.toml", "functions.toml"}) {
    std::string text;
    try {
      text = read_file(dir + "/" + file);
    } catch (const Error&) {
      continue;
    }
    for (size_t pos = 0; (pos = text.find('"', pos)) != std::string::npos;) {
      size_t end = text.find('"', pos + 1);
      if (end == std::string::npos) break;
      std::string s = text.substr(pos + 1, end - pos - 1), clean;
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '{') {
          size_t close = s.find('}', i);
          if (close != std::string::npos) {
            i = close;
            continue;
          }
        }
        if (s[i] != '\n') clean += s[i];
      }
      if (clean.find_first_not_of(" ,.") != std::string::npos) fragments.push_back(clean);
      pos = end + 1;
    }
  }
  if (fragments.size() < 20) fail("bench tokenizer: too little text in ", dir, " to build a corpus; pass --input FILE");
  Rng rng(42);
  std::string corpus;
  size_t target = size_t(megabytes * 1e6);
  while (corpus.size() < target) {
    int n = 1 + int(rng.below(4));
    for (int k = 0; k < n; ++k) {
      if (k) corpus += ' ';
      corpus += fragments[rng.below(fragments.size())];
      if (rng.below(6) == 0) corpus += cat(" ", rng.below(120));
    }
    corpus += '\n';
  }
  return corpus;
}

void run_bench(const BenchArgs& a) {
  std::string corpus = a.input.empty() ? build_corpus(a.domain, a.megabytes) : read_file(a.input);
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < corpus.size();) {
    size_t end = corpus.find('\n', pos);
    if (end == std::string::npos) end = corpus.size();
    lines.push_back(corpus.substr(pos, end - pos));
    pos = end + 1;
  }
  double mb = double(corpus.size()) / 1e6;
  std::fprintf(stderr, "corpus: %.2f MB, %zu lines; vocabulary %d\n", mb, lines.size(), a.vocab_size);

  auto t0 = std::chrono::steady_clock::now();
  Tokenizer t = train_bpe(lines, a.vocab_size, {"<|user|>", "<|assistant|>", "<|end|>"});
  double train_seconds = seconds_since(t0);

  // Encode line by line, as a model's users do; the word cache starts empty.
  size_t n_tokens = 0;
  std::vector<std::vector<int32_t>> encoded;
  encoded.reserve(lines.size());
  t0 = std::chrono::steady_clock::now();
  for (const auto& line : lines) {
    encoded.push_back(t.encode(line));
    n_tokens += encoded.back().size();
  }
  double encode_seconds = seconds_since(t0);
  size_t n_decoded = 0;
  t0 = std::chrono::steady_clock::now();
  for (const auto& ids : encoded) n_decoded += t.decode(ids).size();
  double decode_seconds = seconds_since(t0);
  for (size_t i = 0; i < lines.size(); i += 97)
    if (t.decode(encoded[i]) != lines[i]) fail("bench tokenizer: line ", i, " does not round-trip");

  std::string json = cat("{\"corpus_mb\": ", mb, ", \"vocab_size\": ", t.n_vocab(), ", \"train_seconds\": ", train_seconds,
                         ", \"encode_mb_per_s\": ", mb / encode_seconds, ", \"decode_mb_per_s\": ", double(n_decoded) / 1e6 / decode_seconds,
                         ", \"bytes_per_token\": ", double(corpus.size()) / double(std::max<size_t>(n_tokens, 1)));
  std::printf("edgelm:        train %.3f s, encode %.2f MB/s, decode %.2f MB/s, %.2f bytes/token\n", train_seconds,
              mb / encode_seconds, double(n_decoded) / 1e6 / decode_seconds, double(corpus.size()) / double(n_tokens));

  std::string script = a.sp_script.empty() ? std::string(EDGELM_SOURCE_DIR) + "/bench/sentencepiece_bench.py" : a.sp_script;
  if (a.compare && access(script.c_str(), R_OK) == 0) {
    std::string tmp = cat("/tmp/edgelm_bench_tokenizer_", getpid(), ".txt");
    write_file_atomic(tmp, corpus);
    std::string cmd = cat("/usr/bin/python3 '", script, "' --input '", tmp, "' --vocab-size ", a.vocab_size, " 2>/dev/null");
    std::FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    if (p) {
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
      pclose(p);
    }
    std::remove(tmp.c_str());
    auto number = [&](const std::string& key) -> double {
      size_t pos = out.find("\"" + key + "\": ");
      return pos == std::string::npos ? -1 : std::atof(out.c_str() + pos + key.size() + 4);
    };
    double sp_train = number("train_seconds"), sp_enc = number("encode_mb_per_s"), sp_dec = number("decode_mb_per_s");
    if (sp_train > 0 && sp_enc > 0) {
      std::printf("sentencepiece: train %.3f s, encode %.2f MB/s, decode %.2f MB/s\n", sp_train, sp_enc, sp_dec);
      json += cat(", \"sp_train_seconds\": ", sp_train, ", \"sp_encode_mb_per_s\": ", sp_enc, ", \"sp_decode_mb_per_s\": ", sp_dec,
                  ", \"train_speedup\": ", sp_train / train_seconds, ", \"encode_speedup\": ", (mb / encode_seconds) / sp_enc);
    } else {
      std::fprintf(stderr, "sentencepiece comparison failed (is python3-sentencepiece installed?)\n");
    }
  }
  std::printf("%s}\n", json.c_str());
}

void setup(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* cmd = command_group(app, "bench", "Machine-readable benchmarks")
                      ->add_subcommand("tokenizer", "Tokenizer training / encode / decode throughput vs SentencePiece BPE");
  cmd->add_option("--input", a->input, "text file (default: mixed English/Korean text built from the domain files)");
  cmd->add_option("--vocab-size", a->vocab_size, "vocabulary size")->capture_default_str();
  cmd->add_option("--mb", a->megabytes, "size of the built corpus in MB")->capture_default_str();
  cmd->add_option("--domain", a->domain, "domain whose phrasing files make the corpus")->capture_default_str();
  cmd->add_option("--sp-script", a->sp_script, "SentencePiece comparison script (default bench/sentencepiece_bench.py)");
  cmd->add_flag("!--no-compare", a->compare, "skip the SentencePiece comparison");
  cmd->callback([a] { run_bench(*a); });
}

CommandRegistration reg(setup);

}  // namespace cmd_bench_tokenizer
}  // namespace edgelm::cli
