// Training configs: keys, overrides, and errors that name the problem.
#include <gtest/gtest.h>

#include "platform/error.h"
#include "training/train_config.h"

namespace edgelm::training {
namespace {

const char* kBase = R"(
mode = "pretrain"
out = "runs/x"
[model]
shape = "tiny"
dim = 64
heads = 4
kv_heads = 2
[data]
train = "train.tokens"
[train]
batch = 4
seq = 32
[optim]
lr = 3e-3
)";

std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    parse_train_config(text, overrides, "cfg.toml");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TrainConfig, ParsesAndOverrides) {
  TrainConfig c = parse_train_config(kBase, {"optim.lr=1e-4", "train.steps=7", "data.valid=v.tokens", "model.tied=false",
                                                "train.bf16=true", "train.recompute=true", "train.dropout=0.1",
                                                "optim.ema=0.995", "optim.ema_start=0.6"});
  EXPECT_FLOAT_EQ(c.optim.lr, 1e-4f);
  EXPECT_EQ(c.optim.ema, 0.995);
  EXPECT_EQ(c.optim.ema_start, 0.6);
  EXPECT_EQ(c.dropout, 0.1);
  EXPECT_TRUE(c.bf16);
  EXPECT_TRUE(c.recompute);
  EXPECT_EQ(c.steps, 7);
  EXPECT_EQ(c.valid_data, "v.tokens");
  EXPECT_EQ(c.model.dim, 64);
  EXPECT_EQ(c.model.head_dim, 16);
  EXPECT_FALSE(c.model.tied_embeddings);
  EXPECT_EQ(c.model.n_vocab, 0);  // not given: from the tokenizer or data
  // The written TOML reads back to the same config.
  TrainConfig again = parse_train_config(train_config_to_toml(c), {});
  EXPECT_EQ(train_config_to_toml(again), train_config_to_toml(c));
  EXPECT_TRUE(again.bf16);
  EXPECT_TRUE(again.recompute);
  EXPECT_EQ(again.dropout, 0.1);
  EXPECT_EQ(again.optim.ema, 0.995);
  EXPECT_EQ(again.optim.ema_start, 0.6);
}

TEST(TrainConfig, ClearErrors) {
  EXPECT_NE(error_of(std::string(kBase) + "lrr = 1\n").find("unknown key 'lrr' in [optim]"), std::string::npos);
  EXPECT_NE(error_of(std::string(kBase) + "[trian]\nbatch=1\n").find("unknown section [trian]"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"optim.lrr=1"}).find("unknown key 'optim.lrr'"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"model.kv_heads=3"}).find("multiple of model.kv_heads"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"model.heads=6"}).find("not divisible by model.heads"), std::string::npos);  // 64 / 6 does not divide
  EXPECT_NE(error_of(kBase, {"train.seq=100000"}).find("exceeds model.context"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"train.batch=\"big\""}).find("train.batch must be an integer"), std::string::npos);
  EXPECT_EQ(error_of(kBase, {"mode=sft"}), "");  // SFT from random weights is one trainer's job too
  EXPECT_NE(error_of(kBase, {"mode=dpo"}).find("mode \"dpo\" needs model.init"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"mode=dpo", "model.init=m.gguf", "train.dpo_beta=0"}).find("train.dpo_beta must be positive"),
            std::string::npos);
  EXPECT_NE(error_of(kBase, {"mode=dpo", "model.init=m.gguf", "train.dpo_sft_weight=-1"}).find("train.dpo_sft_weight must be 0 or more (got -1)"),
            std::string::npos);
  EXPECT_NE(error_of(kBase, {"mode=sft", "train.dpo_sft_weight=1"}).find("train.dpo_sft_weight is for mode \"dpo\""),
            std::string::npos);
  EXPECT_EQ(error_of(kBase, {"mode=dpo", "model.init=m.gguf", "train.dpo_sft_weight=1"}), "");
  EXPECT_NE(error_of(kBase, {"model.reference=r.gguf"}).find("for mode \"dpo\" only"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"train.dropout=1"}).find("train.dropout must be in [0, 1) (got 1)"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"optim.ema=1"}).find("optim.ema must be in [0, 1) (0: no average; got 1)"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"optim.ema_start=-0.1"}).find("optim.ema_start must be in [0, 1)"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"optim.ema=0.9", "model.init=m.gguf", "lora.rank=4"}).find("optim.ema averages a model's weights"),
            std::string::npos);
  EXPECT_NE(error_of(kBase, {"train.dropout=-0.5"}).find("train.dropout must be in [0, 1)"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"mode=dpo", "model.init=m.gguf", "train.dropout=0.1"}).find("train.dropout is for pretrain and sft"),
            std::string::npos);
  EXPECT_NE(error_of(kBase, {"mode=sft", "train.prompt_weight=1.5"}).find("train.prompt_weight must be in [0, 1] (got 1.5)"),
            std::string::npos);
  EXPECT_NE(error_of(kBase, {"train.prompt_weight=0.1"}).find("train.prompt_weight is for sft"), std::string::npos);
  EXPECT_EQ(error_of(kBase, {"mode=sft", "train.prompt_weight=0.1"}), "");
  EXPECT_NE(error_of(kBase, {"mode=rlhf"}).find("mode must be"), std::string::npos);
  EXPECT_NE(error_of("mode = \n").find("cfg.toml line 1"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"optim.min_lr=1"}).find("min_lr"), std::string::npos);
  // The fuzz campaign's reproducer (fuzz_train_config): invalid UTF-8 in an override's value was taken as
  // the run folder, and the config.toml written for the run did not read back.
  EXPECT_NE(error_of(kBase, {"out=eta1 = 1\xff\xff"}).find("override 'out=...': the value has invalid UTF-8 byte 0xff at byte 8"),
            std::string::npos)
      << error_of(kBase, {"out=eta1 = 1\xff\xff"});
  EXPECT_EQ(error_of(kBase, {"out=runs/\xec\x8b\xa4\xed\x97\x98"}), "");  // a Korean folder name is fine
}

TEST(TrainConfig, OutOfRangeValuesAreErrorsAndEveryConfigWritesBack) {
  // Values the fuzz target's round trip (fuzz_train_config) needs handled: a float past float's range
  // (its conversion was undefined behaviour), a negative unsigned seed (it wrapped to a number TOML
  // cannot write), an int past int's range.
  EXPECT_NE(error_of(kBase, {"optim.lr=1e300"}).find("optim.lr is out of range for a 32-bit float"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"train.seed=-1"}).find("train.seed is out of range (-1)"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"train.threads=4294967297"}).find("train.threads is out of range"), std::string::npos);
  // Strings with control characters (a newline in a path) write as escapes that read back.
  TrainConfig c = parse_train_config(kBase, {});
  c.valid_data = "a\nb\x7f\"c\\\t";
  TrainConfig again = parse_train_config(train_config_to_toml(c), {});
  EXPECT_EQ(again.valid_data, c.valid_data);
  EXPECT_EQ(train_config_to_toml(again), train_config_to_toml(c));
}

}  // namespace
}  // namespace edgelm::training
