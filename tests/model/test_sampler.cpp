// The sampler chain: greedy, the allowed-token mask, top-k, top-p, temperature
// and the seed.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model/sampler.h"
#include "platform/error.h"

namespace edgelm {
namespace {

std::vector<uint32_t> mask_of(int64_t n_vocab, std::initializer_list<int32_t> ids) {
  std::vector<uint32_t> mask(size_t((n_vocab + 31) / 32), 0u);
  for (int32_t id : ids) mask[size_t(id / 32)] |= 1u << (id % 32);
  return mask;
}

TEST(Sampler, GreedyTakesTheFirstMaximum) {
  Sampler s(SamplerConfig{});
  std::vector<float> logits = {0.1f, 2.0f, -1.0f, 2.0f, 1.5f};
  EXPECT_EQ(s.sample(logits), 1);
  std::vector<float> with_nan = {NAN, 0.5f, 0.25f};
  EXPECT_EQ(s.sample(with_nan), 1);
}

TEST(Sampler, MaskRestrictsEveryMode) {
  std::vector<float> logits(70, 0.0f);
  logits[3] = 10;
  logits[65] = 1;
  logits[40] = 0.5f;
  auto mask = mask_of(70, {40, 65});
  EXPECT_EQ(Sampler(SamplerConfig{}).sample(logits, mask.data()), 65);
  Sampler hot(SamplerConfig{.temperature = 5.0f, .seed = 3});
  for (int i = 0; i < 200; ++i) {
    int32_t id = hot.sample(logits, mask.data());
    EXPECT_TRUE(id == 40 || id == 65) << id;
  }
  auto none = mask_of(70, {});
  EXPECT_THROW(Sampler(SamplerConfig{}).sample(logits, none.data()), Error);
  EXPECT_THROW(hot.sample(logits, none.data()), Error);
  EXPECT_THROW(hot.sample({}), Error);
}

TEST(Sampler, SameSeedSameTokens) {
  std::vector<float> logits = {1.0f, 1.2f, 0.8f, 1.1f, 0.9f, 1.3f};
  SamplerConfig c{.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = 42};
  Sampler a(c), b(c);
  std::vector<int32_t> sa, sb;
  for (int i = 0; i < 100; ++i) {
    sa.push_back(a.sample(logits));
    sb.push_back(b.sample(logits));
  }
  EXPECT_EQ(sa, sb);
  c.seed = 43;
  Sampler other(c);
  std::vector<int32_t> so;
  for (int i = 0; i < 100; ++i) so.push_back(other.sample(logits));
  EXPECT_NE(sa, so);
}

TEST(Sampler, FrequenciesFollowTheSoftmax) {
  // logits log(1), log(2), log(3), log(4): probabilities 0.1 .. 0.4 at temperature 1.
  std::vector<float> logits = {0.0f, std::log(2.0f), std::log(3.0f), std::log(4.0f)};
  Sampler s(SamplerConfig{.temperature = 1.0f, .seed = 7});
  std::vector<int> counts(4);
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[size_t(s.sample(logits))];
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(counts[size_t(i)] / double(n), 0.1 * (i + 1), 0.015) << i;
}

TEST(Sampler, TopKAndTopPCutTheTail) {
  std::vector<float> logits = {0.0f, std::log(2.0f), std::log(3.0f), std::log(4.0f)};
  Sampler k2(SamplerConfig{.temperature = 1.0f, .top_k = 2, .seed = 1});
  Sampler p(SamplerConfig{.temperature = 1.0f, .top_p = 0.65f, .seed = 1});  // 0.4 + 0.3 reaches 0.65
  Sampler k1(SamplerConfig{.temperature = 3.0f, .top_k = 1, .seed = 1});
  std::vector<int> seen_k(4), seen_p(4);
  for (int i = 0; i < 2000; ++i) {
    ++seen_k[size_t(k2.sample(logits))];
    ++seen_p[size_t(p.sample(logits))];
    EXPECT_EQ(k1.sample(logits), 3);
  }
  EXPECT_EQ(seen_k[0] + seen_k[1], 0);
  EXPECT_GT(seen_k[2], 0);
  EXPECT_GT(seen_k[3], seen_k[2]);
  EXPECT_EQ(seen_p[0] + seen_p[1], 0);
  EXPECT_GT(seen_p[2], 0);
}

TEST(Sampler, LowTemperatureApproachesGreedy) {
  std::vector<float> logits = {1.0f, 1.5f, 1.4f};
  Sampler cold(SamplerConfig{.temperature = 0.01f, .seed = 5});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(cold.sample(logits), 1);
}

TEST(Sampler, BadConfigsAreErrors) {
  EXPECT_THROW(Sampler(SamplerConfig{.temperature = -1.0f}), Error);
  EXPECT_THROW(Sampler(SamplerConfig{.top_k = -2}), Error);
  EXPECT_THROW(Sampler(SamplerConfig{.top_p = 0.0f}), Error);
  EXPECT_THROW(Sampler(SamplerConfig{.top_p = 1.5f}), Error);
}

}  // namespace
}  // namespace edgelm
