// edgelm demo: the whole pipeline on a device's domain folder (see
// src/pipeline/demo.h); a second run reuses the stages already done.
#include <memory>

#include "cli/command.h"
#include "pipeline/demo.h"

namespace edgelm::cli {
namespace cmd_demo {

void setup(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* cmd = app.add_subcommand("demo", "Build a device's agent end to end (the built-in air purifier unless --domain names another): data, tokenizer, training, eval, quantisation, report card");
  cmd->add_option("--out", o->out_dir, "run folder")->capture_default_str();
  cmd->add_flag("--quick", o->quick, "tiny data, model and steps (seconds, for CI); the figures mean little");
  cmd->add_flag("--force", o->force, "redo every stage even when its stamp matches");
  cmd->add_flag("--quiet", o->quiet, "no stage lines or progress bars");
  cmd->add_option("--threads", o->threads, "threads (0: all cores)")->capture_default_str();
  cmd->add_option("--domain", o->domain, "domain folder or built-in name")->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed for data and training")->capture_default_str();
  cmd->add_option("--examples", o->n_examples, "examples to generate (0: the mode's default)");
  cmd->add_option("--vocab-size", o->vocab_size, "tokenizer vocabulary (0: the mode's default)");
  cmd->add_option("--steps", o->steps, "training steps (0: the mode's default; the ablation trains a third as long)");
  cmd->add_option("--focus-steps", o->focus_steps,
                  "steps of the focus round, which continues training on data weighted towards the first model's "
                  "failures on the hand-written cases (-1: the mode's default, 0: no focus round)");
  cmd->add_option("--dpo-steps", o->dpo_steps,
                  "steps of preference training (DPO) after SFT, on the generator's near-miss pairs against the SFT "
                  "model (-1: the mode's default, 0: no DPO stage)");
  cmd->add_option("--dpo-sft-weight", o->dpo_sft_weight,
                  "with a DPO stage: the weight of the chosen answer's mean token loss beside the preference loss "
                  "(RPO's; it keeps DPO from lowering the right answer with the wrong one; -1: the mode's default)")
      ->capture_default_str();
  cmd->add_option("--dropout", o->dropout,
                  "residual dropout of the SFT runs: the probability that each value of a block's output is dropped "
                  "(-1: the mode's default)")
      ->capture_default_str();
  cmd->add_option("--prompt-weight", o->prompt_weight,
                  "loss weight of each example's prompt (the history and the command) beside the answer's 1 in the SFT "
                  "runs: an auxiliary next-token loss on what people say (0: the answer alone; -1: the mode's default)")
      ->capture_default_str();
  cmd->add_option("--ema", o->ema,
                  "the SFT runs save an exponential moving average of their weights over the run's second half, with "
                  "this decay (optim.ema; 0: the last step's weights; -1: the mode's default)")
      ->capture_default_str();
  cmd->add_option("--base", o->base_model, "fine-tune from this base model (edgelm base): its tokenizer and shape, its weights");
  cmd->add_flag("--no-scratch-ablation", o->no_scratch_ablation, "with --base: skip the from-scratch model at equal compute");
  cmd->add_option("--dim", o->dim, "model dimension (0: the mode's default)");
  cmd->add_option("--layers", o->layers, "model layers (0: the mode's default)");
  cmd->add_option("--ffn-dim", o->ffn_dim, "feed-forward dimension (0: twice --dim when given, else the mode's default)");
  cmd->callback([o] { run_demo(*o); });
}

CommandRegistration reg(setup);

}  // namespace cmd_demo
}  // namespace edgelm::cli
