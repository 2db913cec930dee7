// Token shards (round trip, bad files) and the batch loader (packing, masks, determinism, resume position).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "platform/atomic_file.h"
#include "platform/error.h"
#include "training/loader.h"
#include "training/shard.h"

namespace edgelm::training {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("edgelm_test_training_" + name)).string();
}

TEST(Shard, RoundTripWithMaskAndWideTokens) {
  for (int64_t vocab : {300, 70000}) {
    ShardWriter w(vocab);
    std::vector<int32_t> a = {1, 2, 3}, b = {4, 5, int32_t(vocab - 1), 7};
    std::vector<uint8_t> mb = {0, 0, 1, 1};
    w.add_document(a);
    w.add_document(b, mb);
    const std::string path = temp_path("roundtrip.tokens");
    w.write(path);
    Shard s = Shard::open(path);
    EXPECT_EQ(s.n_tokens(), 7);
    EXPECT_EQ(s.n_docs(), 2);
    EXPECT_EQ(s.n_vocab(), vocab);
    EXPECT_TRUE(s.has_mask());
    EXPECT_EQ(s.doc_start(1), 3);
    EXPECT_EQ(s.doc_end(1), 7);
    EXPECT_EQ(s.token(5), vocab - 1);
    EXPECT_EQ(s.mask(0), 1);  // the first document was added without a mask: fully trained
    EXPECT_EQ(s.mask(3), 0);
    EXPECT_EQ(s.mask(6), 1);
    std::filesystem::remove(path);
  }
}

TEST(Shard, BadFilesGiveClearErrors) {
  ShardWriter w(100);
  w.add_document(std::vector<int32_t>{1, 2, 3, 4, 5});
  const std::string path = temp_path("bad.tokens");
  w.write(path);
  const std::string good = read_file(path);
  auto expect_error = [&](const std::string& content, const std::string& fragment) {
    write_file_atomic(path, content);
    try {
      Shard::open(path);
      FAIL() << "no error for " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_error(good.substr(0, good.size() - 3), "truncated");
  expect_error(good.substr(0, 40), "header");
  expect_error("NOTASHARD" + good.substr(9), "not a token shard");
  std::string wrong_version = good;
  wrong_version[8] = 9;
  expect_error(wrong_version, "version 9");
  ShardWriter empty(100);
  empty.write(path);
  expect_error(read_file(path), "empty");
  EXPECT_THROW(w.add_document(std::vector<int32_t>{100}), Error);  // id outside the vocabulary
  std::filesystem::remove(path);
}

TEST(Shard, ConcatKeepsEveryDocumentMaskAndPairInOrder) {
  ShardWriter a(300), b(300), pairs(300), other(500);
  a.add_document(std::vector<int32_t>{1, 2, 3});
  b.add_document(std::vector<int32_t>{4, 5}, std::vector<uint8_t>{0, 1});
  b.add_document(std::vector<int32_t>{299});
  pairs.add_pair(std::vector<int32_t>{7, 8}, std::vector<uint8_t>{0, 1}, std::vector<int32_t>{7, 9, 9}, std::vector<uint8_t>{0, 1, 1});
  other.add_document(std::vector<int32_t>{400});
  const std::string pa = temp_path("cat_a.tokens"), pb = temp_path("cat_b.tokens"), pp = temp_path("cat_p.tokens"),
                    po = temp_path("cat_o.tokens"), out = temp_path("cat_out.tokens");
  a.write(pa), b.write(pb), pairs.write(pp), other.write(po);

  const ShardCounts c = concat_shards({pa, pb}, out);
  EXPECT_EQ(c.n_docs, 3);
  EXPECT_EQ(c.n_tokens, 6);
  EXPECT_EQ(c.n_vocab, 300);
  Shard s = Shard::open(out);
  ASSERT_EQ(s.n_docs(), 3);
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5, 299};
  const std::vector<uint8_t> mask = {1, 1, 1, 0, 1, 1};  // the first shard had no mask: fully trained
  for (int64_t i = 0; i < s.n_tokens(); ++i) {
    EXPECT_EQ(s.token(i), tokens[size_t(i)]) << i;
    EXPECT_EQ(s.mask(i), mask[size_t(i)]) << i;
  }
  EXPECT_EQ(s.doc_start(1), 3);
  EXPECT_EQ(s.doc_start(2), 5);

  concat_shards({pp, pp}, out);  // pairs stay pairs
  Shard sp = Shard::open(out);
  EXPECT_TRUE(sp.is_pairs());
  EXPECT_EQ(sp.n_pairs(), 2);
  EXPECT_EQ(sp.token(sp.doc_start(3) + 2), 9);

  auto error_of = [&](const std::vector<std::string>& in) {
    try {
      concat_shards(in, out);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of({pa, po}).find("vocabulary of 500 tokens"), std::string::npos) << error_of({pa, po});
  EXPECT_NE(error_of({pa, pp}).find("pairs shard cannot join"), std::string::npos) << error_of({pa, pp});
  EXPECT_NE(error_of({}).find("no token shards"), std::string::npos);
  EXPECT_NE(error_of({pa, temp_path("cat_missing.tokens")}).find("cat_missing"), std::string::npos);
  for (const auto& p : {pa, pb, pp, po, out}) std::filesystem::remove(p);
}

TEST(Shard, TokenIdsPastInt32AreErrors) {
  // fuzz_shard's reproducer: a 32-bit token 0xF6000003 read as a negative id and passed the
  // vocabulary check (negative < n_vocab), an index before the embedding table in training.
  ShardWriter w(70000);
  w.add_document(std::vector<int32_t>{1, 2, 3});
  const std::string path = temp_path("wide.tokens");
  w.write(path);
  std::string bytes = read_file(path);
  const uint32_t huge = 0xF6000003u;
  bytes.replace(64 + 4, 4, reinterpret_cast<const char*>(&huge), 4);  // token 1
  for (uint32_t n_vocab : {0x1F0001u, 0u}) {
    bytes.replace(36, 4, reinterpret_cast<const char*>(&n_vocab), 4);
    write_file_atomic(path, bytes);
    try {
      Shard::open(path);
      ADD_FAILURE() << "accepted a token id past INT32_MAX with n_vocab " << n_vocab;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("token 1 has id 4127195139"), std::string::npos) << e.what();
    }
  }
  std::filesystem::remove(path);
}

Shard make_examples(const std::string& name) {
  // Five examples of lengths 4, 3, 6, 2, 9: the mask trains the second half of each.
  ShardWriter w(50);
  int32_t next = 1;
  for (int len : {4, 3, 6, 2, 9}) {
    std::vector<int32_t> t;
    std::vector<uint8_t> m;
    for (int i = 0; i < len; ++i) {
      t.push_back(next++);
      m.push_back(i >= len / 2);
    }
    w.add_document(t, m);
  }
  w.write(temp_path(name));
  return Shard::open(temp_path(name));
}

TEST(Loader, ExamplesArePackedWholeWithOwnPositionsAndMask) {
  Shard s = make_examples("pack.tokens");
  BatchLoader loader(s, 2, 6, PackMode::Examples, 7, /*shuffle=*/false);
  Batch b;
  loader.next(b);
  // Row 0: example 0 (3 positions) + example 1 (2 positions), then 1 padding position.
  EXPECT_EQ(std::vector<int32_t>(b.tokens.begin(), b.tokens.begin() + 6), (std::vector<int32_t>{1, 2, 3, 5, 6, 0}));
  EXPECT_EQ(std::vector<int32_t>(b.targets.begin(), b.targets.begin() + 5), (std::vector<int32_t>{2, 3, 4, 6, 7}));
  EXPECT_EQ(std::vector<int32_t>(b.first.begin(), b.first.begin() + 6), (std::vector<int32_t>{0, 0, 0, 3, 3, 5}));
  // Targets 2,3,4 of example 0 (mask from position 2 on) -> weights 0,1,1; example 1 (mask from 1): 1,1.
  EXPECT_EQ(std::vector<float>(b.weights.begin(), b.weights.begin() + 6), (std::vector<float>{0, 1, 1, 1, 1, 0}));
  // Row 1: example 2 (5 positions) and example 3 (1 position) fill it exactly.
  EXPECT_EQ(b.tokens[6], 8);
  EXPECT_EQ(b.first[6 + 4], 0);
  EXPECT_EQ(b.tokens[6 + 5], 14);
  EXPECT_EQ(b.first[6 + 5], 5);
  EXPECT_EQ(b.weights[6 + 5], 1.0f);
  EXPECT_EQ(loader.position().index, 4u);
  // Next batch: example 4 (8 positions) is cut to the row's 6.
  loader.next(b);
  EXPECT_EQ(b.tokens[0], 16);
  EXPECT_EQ(b.first[5], 0);
  EXPECT_EQ(loader.position().epoch, 1u);  // row 1 rolled over into the next epoch
  EXPECT_EQ(loader.position().index, 2u);
}

TEST(Loader, PromptWeightTrainsThePromptBesideTheAnswerButNeverPaddingOrTheNextExample) {
  Shard s = make_examples("prompt.tokens");
  BatchLoader loader(s, 2, 6, PackMode::Examples, 7, /*shuffle=*/false);
  loader.set_prompt_weight(0.25f);
  Batch b;
  loader.next(b);
  // Row 0 as in the test above: example 0's targets 2, 3, 4 (its mask starts at 3: target 2 is its
  // prompt), example 1's 6, 7 (both answer), then padding.
  EXPECT_EQ(std::vector<float>(b.weights.begin(), b.weights.begin() + 6), (std::vector<float>{0.25f, 1, 1, 1, 1, 0}));
  // Row 1: example 2 (targets 9..13, mask from its position 3: prompt 9, 10), example 3 (target 15, answer).
  EXPECT_EQ(std::vector<float>(b.weights.begin() + 6, b.weights.end()), (std::vector<float>{0.25f, 0.25f, 1, 1, 1, 1}));
  // Only examples with a loss mask have a prompt; the weight is a share of the answer's.
  EXPECT_THROW(loader.set_prompt_weight(1.5f), Error);
  ShardWriter w(50);
  w.add_document(std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7, 8});
  w.write(temp_path("prompt-stream.tokens"));
  Shard stream = Shard::open(temp_path("prompt-stream.tokens"));
  BatchLoader windows(stream, 1, 6, PackMode::Stream, 7);
  EXPECT_THROW(windows.set_prompt_weight(0.1f), Error);
}

TEST(Loader, DeterministicShuffleAndResumablePosition) {
  Shard s = make_examples("shuffle.tokens");
  BatchLoader a(s, 2, 6, PackMode::Examples, 11), b(s, 2, 6, PackMode::Examples, 11);
  Batch x, y;
  for (int i = 0; i < 5; ++i) {  // several epochs
    a.next(x);
    b.next(y);
    EXPECT_EQ(x.tokens, y.tokens);
  }
  BatchLoader c(s, 2, 6, PackMode::Examples, 11);
  c.set_position(a.position());
  a.next(x);
  c.next(y);
  EXPECT_EQ(x.tokens, y.tokens);
  EXPECT_EQ(x.weights, y.weights);
  EXPECT_GE(a.position().epoch, 1u);
}

// Data-parallel sharding: the rows each rank fills, laid side by side, are exactly the
// batch one process draws, and every rank's position stays the single process's.
TEST(Loader, RowShardsTogetherAreTheWholeBatch) {
  Shard s = make_examples("rows.tokens");
  for (PackMode mode : {PackMode::Examples, PackMode::Stream}) {
    const int64_t B = 4, T = 3;
    BatchLoader whole(s, B, T, mode, 5);
    std::vector<BatchLoader> parts;
    for (int r = 0; r < 2; ++r) {
      parts.emplace_back(s, B, T, mode, 5);
      parts.back().set_rows(r * 2, r * 2 + 2);
    }
    Batch w, p;
    for (int step = 0; step < 7; ++step) {  // past several epochs
      whole.next(w);
      for (int r = 0; r < 2; ++r) {
        parts[size_t(r)].next(p);
        ASSERT_EQ(p.B, 2);
        const size_t n = size_t(2 * T), at = size_t(r) * n;
        EXPECT_EQ(p.tokens, std::vector<int32_t>(w.tokens.begin() + at, w.tokens.begin() + at + n));
        EXPECT_EQ(p.targets, std::vector<int32_t>(w.targets.begin() + at, w.targets.begin() + at + n));
        EXPECT_EQ(p.first, std::vector<int32_t>(w.first.begin() + at, w.first.begin() + at + n));
        EXPECT_EQ(p.weights, std::vector<float>(w.weights.begin() + at, w.weights.begin() + at + n));
        EXPECT_EQ(parts[size_t(r)].position().index, whole.position().index);
        EXPECT_EQ(parts[size_t(r)].position().epoch, whole.position().epoch);
      }
    }
  }
  BatchLoader loader(s, 4, 3, PackMode::Examples, 5);
  EXPECT_THROW(loader.set_rows(2, 2), Error);
  EXPECT_THROW(loader.set_rows(3, 5), Error);
}

TEST(Loader, StreamWindowsStopAtDocumentBoundaries) {
  ShardWriter w(50);
  w.add_document(std::vector<int32_t>{1, 2, 3});
  w.add_document(std::vector<int32_t>{4, 5, 6, 7, 8, 9, 10});
  w.write(temp_path("stream.tokens"));
  Shard s = Shard::open(temp_path("stream.tokens"));
  BatchLoader loader(s, 1, 5, PackMode::Stream, 1, false);
  Batch b;
  loader.next(b);
  EXPECT_EQ(b.tokens, (std::vector<int32_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(b.targets, (std::vector<int32_t>{2, 3, 4, 5, 6}));
  EXPECT_EQ(b.first, (std::vector<int32_t>{0, 0, 0, 3, 3}));
  EXPECT_EQ(b.weights, (std::vector<float>{1, 1, 0, 1, 1}));  // 3 -> 4 crosses documents
  EXPECT_THROW(BatchLoader(s, 1, 10, PackMode::Stream, 1), Error);  // 10 tokens < seq + 1
}

}  // namespace
}  // namespace edgelm::training
