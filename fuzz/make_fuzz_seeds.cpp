// Writes the binary seed files of fuzz/corpus/ that a text editor cannot make:
// tiny GGUF models (gguf_model), a training checkpoint (checkpoint) and token
// shards (shard). Deterministic; run from the repository root after changing a
// format:  build-sanitize/bin/make_fuzz_seeds fuzz/corpus
// (Seeds are named *.bin: *.gguf is git-ignored.)
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "agent/format.h"
#include "device/device.h"
#include "fuzz_models.h"
#include "fuzz_util.h"
#include "model/lora.h"
#include "model/weights.h"
#include "platform/gguf.h"
#include "platform/thread_pool.h"
#include "quant/quantize_file.h"
#include "tokenizer/tokenizer.h"
#include "platform/safetensors.h"
#include "training/checkpoint.h"
#include "training/lora.h"
#include "training/optimizer.h"
#include "training/shard.h"

int main(int argc, char** argv) {
  using namespace edgelm;
  namespace fs = std::filesystem;
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_seeds CORPUS_DIR (fuzz/corpus)\n");
    return 2;
  }
  const fs::path root = argv[1];
  try {
    for (const char* d : {"gguf_model", "checkpoint", "shard", "lora_adapter", "safetensors"}) fs::create_directories(root / d);
    const fs::path models = root / "gguf_model";
    // Token ids only, in each float type.
    WeightsF32 w = init_random_weights(fuzz::seed_model_config(), 1);
    GgufMetadata no_vocab;
    gguf_mark_no_vocabulary(no_vocab);
    save_weights_gguf((models / "f32.bin").string(), w, TensorType::F32, &no_vocab);
    save_weights_gguf((models / "f16.bin").string(), w, TensorType::F16, &no_vocab);
    save_weights_gguf((models / "bf16.bin").string(), w, TensorType::BF16, &no_vocab);
    // Quantised: rows must be whole blocks of 32; untied, so that output.weight is there too.
    ModelConfig wide = fuzz::seed_model_config(32, 32);
    wide.tied_embeddings = false;
    save_weights_gguf((fs::temp_directory_path() / "edgelm-seed-wide.gguf").string(), init_random_weights(wide, 2),
                      TensorType::F32, &no_vocab);
    ThreadPool pool(1);
    for (auto [type, name] : {std::pair{TensorType::Q8_0, "q8_0.bin"}, {TensorType::Q4_0, "q4_0.bin"}}) {
      QuantizeFileOptions o;
      o.type = type;
      o.output_type = type;
      o.progress = false;
      quantize_file((fs::temp_directory_path() / "edgelm-seed-wide.gguf").string(), (models / name).string(), o, pool);
    }
    fs::remove(fs::temp_directory_path() / "edgelm-seed-wide.gguf");
    // With the agent's tokenizer (the air-purifier's special tokens), as `edgelm demo` writes models.
    DomainSchema schema = load_device(fuzz::source_path("domains/air-purifier")).schema;
    Tokenizer tok = train_bpe({"turn on the purifier", "sleep mode"}, 300, agent_special_tokens(schema));
    GgufMetadata vocab;
    tok.write_to(vocab);
    save_weights_gguf((models / "tokenizer-f16.bin").string(),
                      init_random_weights(fuzz::seed_model_config(8, tok.n_vocab()), 3), TensorType::F16, &vocab);

    // LoRA adapters for fuzz_lora_adapter's base: one on q and v, one on every matrix at rank 1.
    for (auto [rank, name] : {std::pair{int64_t(2), "qv-rank2.bin"}, std::pair{int64_t(1), "all-rank1.bin"}}) {
      const ModelConfig c = fuzz::seed_model_config();
      LoraAdapter a;
      a.alpha = 4;
      a.layers.resize(size_t(c.n_layers));
      for (int t = 0; t < kLoraTargets; ++t) {
        if (rank == 2 && LoraTarget(t) != LoraTarget::Q && LoraTarget(t) != LoraTarget::V) continue;
        LoraMatrix& m = a.at(0, LoraTarget(t));
        std::tie(m.out, m.in) = lora_target_shape(c, LoraTarget(t));
        m.rank = rank;
        m.a.assign(size_t(m.rank * m.in), 0.25f);
        m.b.assign(size_t(m.out * m.rank), -0.5f);
      }
      save_lora_adapter((root / "lora_adapter" / name).string(), a);
    }
    // The C API reads the same model files, as buffers (fuzz_capi_model).
    fs::create_directories(root / "capi_model");
    fs::copy(models, root / "capi_model", fs::copy_options::overwrite_existing);

    // A checkpoint of the parameters fuzz_checkpoint restores into.
    training::ParamSet params(init_random_weights(fuzz::seed_model_config(), 1));
    training::TrainState state;
    state.step = 12;
    state.data = {1, 5};
    state.tokens_seen = 4096;
    state.elapsed_seconds = 1.5;
    training::save_checkpoint((root / "checkpoint" / "state.bin").string(), params, state);
    // One that also holds a moving average of the weights (optim.ema).
    std::vector<float> average;
    training::update_weight_average(params, average, 0.9);
    training::save_checkpoint((root / "checkpoint" / "averaged-state.bin").string(), params, state, nullptr, &average);
    // And a [lora] run's checkpoint of the adapter it restores into.
    training::LoraTrainer lora(fuzz::seed_model_config(), fuzz::seed_lora_config(), 4, 1);
    training::save_lora_checkpoint((root / "checkpoint" / "lora-state.bin").string(), lora, state);

    // A PEFT adapter's weights for the seed model (fuzz_safetensors reads them as one): rank 2 on q and v.
    {
      const ModelConfig c = fuzz::seed_model_config();
      std::vector<float> a(size_t(2 * c.dim), 0.25f), bq(size_t(c.q_dim() * 2), -0.5f), bv(size_t(c.kv_dim() * 2), 0.5f);
      SafetensorsWriter w;
      w.add_tensor_view("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", TensorType::F32, {2, c.dim}, a.data(), a.size() * 4);
      w.add_tensor_view("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", TensorType::F32, {c.q_dim(), 2}, bq.data(), bq.size() * 4);
      w.add_tensor_view("base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight", TensorType::F32, {2, c.dim}, a.data(), a.size() * 4);
      w.add_tensor_view("base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight", TensorType::F32, {c.kv_dim(), 2}, bv.data(), bv.size() * 4);
      w.write((root / "safetensors" / "peft-qv-rank2.safetensors").string());
    }

    // Shards: 16-bit ids without a mask, 32-bit ids with one.
    training::ShardWriter small(300);
    small.add_document(std::vector<int32_t>{1, 2, 3, 299});
    small.add_document(std::vector<int32_t>{7});
    small.write((root / "shard" / "u16.bin").string());
    training::ShardWriter large(70000);
    std::vector<uint8_t> mask = {0, 0, 1, 1};
    large.add_document(std::vector<int32_t>{1, 69999, 3, 4}, mask);
    large.add_document(std::vector<int32_t>{5, 6}, std::vector<uint8_t>{0, 1});
    large.write((root / "shard" / "u32-mask.bin").string());
    training::ShardWriter pairs(300);  // preference pairs (DPO): flag bit 1
    pairs.add_pair(std::vector<int32_t>{5, 6, 7}, std::vector<uint8_t>{0, 1, 1}, std::vector<int32_t>{5, 8},
                   std::vector<uint8_t>{0, 1});
    pairs.write((root / "shard" / "pairs.bin").string());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
