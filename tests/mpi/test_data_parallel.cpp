// Data-parallel training under `mpirun -np 2` on loopback (built only with MPI):
// the two ranks follow the single process's loss trajectory within a tolerance
// measured from the single process itself, keep bit-identical weights after every
// step (the trainer compares them at each checkpoint; here one per step), leave
// the writing to rank 0, and an error on one rank ends the whole job.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/weights.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/random.h"
#include "training/shard.h"
#include "training/trainer.h"

namespace edgelm::training {
namespace {

namespace fs = std::filesystem;

std::string temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("edgelm_test_mpi_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string write_shard(const std::string& dir) {
  ShardWriter w(40);
  Rng rng(5);
  for (int d = 0; d < 30; ++d) {
    std::vector<int32_t> doc(20 + d);
    for (size_t i = 0; i < doc.size(); ++i) doc[i] = int32_t((d + i * 3 + rng.below(3)) % 40);
    w.add_document(doc);
  }
  w.write(dir + "/train.tokens");
  return dir + "/train.tokens";
}

// Eight steps of a tiny model, a checkpoint (and so a replica check) after every step.
std::string config_text(const std::string& shard) {
  return cat("mode = \"pretrain\"\n[model]\nvocab = 40\ndim = 32\nlayers = 2\nheads = 4\nkv_heads = 2\nhead_dim = 8\n",
             "ffn = 64\ncontext = 64\n[data]\ntrain = \"", shard, "\"\nvalid = \"", shard, "\"\n",
             "[train]\nbatch = 4\nseq = 16\naccum = 2\nsteps = 8\ncheckpoint_every = 1\neval_every = 4\n",
             "eval_batches = 2\nthreads = 1\n[optim]\nwarmup = 2\nlr = 3e-3\n");
}

// Runs `mpirun -np N edgelm ARGS`; returns the exit status, output in `log`.
int mpirun(int n, const std::string& args, const std::string& log) {
  std::string cmd = cat("timeout 300 ", EDGELM_MPIEXEC, " -np ", n, " --oversubscribe --bind-to none ");
  if (::geteuid() == 0) cmd += "--allow-run-as-root ";
  cmd += cat(EDGELM_BIN, " ", args, " >", log, " 2>&1");
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<double> metric_losses(const std::string& path) {
  std::vector<double> losses;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) losses.push_back(j["loss"].get<double>());
  }
  return losses;
}

TEST(DataParallel, TwoRanksTrainAsOneProcessWithIdenticalReplicas) {
  const std::string dir = temp_dir("two_ranks");
  const std::string text = config_text(write_shard(dir));
  write_file_atomic(dir + "/train.toml", text);
  TrainOptions quiet;
  quiet.progress_bar = false;

  // The single process, and the same global batch summed in another order (4 micro-batches
  // of 2 rows instead of 2 of 4): how far apart reduction order alone puts two runs.
  const TrainResult one = train_model(parse_train_config(text, {"out=\"" + dir + "/one\""}), quiet);
  const TrainResult reordered =
      train_model(parse_train_config(text, {"out=\"" + dir + "/reordered\"", "train.batch=2", "train.accum=4"}), quiet);
  ASSERT_EQ(one.losses.size(), 8u);
  double order_spread = 0;
  for (size_t i = 0; i < 8; ++i) order_spread = std::max(order_spread, std::abs(one.losses[i].second - reordered.losses[i].second));

  const std::string run = dir + "/two";
  ASSERT_EQ(mpirun(2, cat("train --config ", dir, "/train.toml --out ", run, " --quiet"), dir + "/two.log"), 0)
      << read_file(dir + "/two.log");
  const std::string out = read_file(dir + "/two.log");
  EXPECT_NE(out.find("data parallel over 2 processes"), std::string::npos) << out;
  // Rank 0 alone wrote the metrics: one record per step, not two.
  const std::vector<double> two = metric_losses(run + "/metrics.jsonl");
  ASSERT_EQ(two.size(), 8u) << read_file(run + "/metrics.jsonl");
  // Reordering the sums must change something, or the spread would measure nothing.
  ASSERT_GT(order_spread, 0) << "the reordered single-process run was bit-identical: no tolerance to derive";
  // Two ranks reorder the sums about as much as the micro-batch split does: allow four times it.
  double max_dev = 0;
  for (size_t i = 0; i < 8; ++i) max_dev = std::max(max_dev, std::abs(two[i] - one.losses[i].second));
  std::printf("loss: 2 ranks vs 1 process differ by at most %.3g; reduction order alone by %.3g\n", max_dev, order_spread);
  for (size_t i = 0; i < 8; ++i) {
    const double tol = 4 * order_spread;
    EXPECT_NEAR(two[i], one.losses[i].second, tol) << "step " << i + 1 << " (reduction-order spread " << order_spread << ")";
  }
  // The models agree as closely (the trainer already checked the ranks agree bit for bit).
  auto max_weight_diff = [](const std::string& a, const std::string& b) {
    const WeightsF32 wa = load_weights_f32(GgufFile::open(a)), wb = load_weights_f32(GgufFile::open(b));
    double most = 0;
    for (size_t t = 0; t < wa.data.size(); ++t)
      for (size_t i = 0; i < wa.data[t].size(); ++i) most = std::max(most, double(std::abs(wa.data[t][i] - wb.data[t][i])));
    return most;
  };
  const double weight_spread = max_weight_diff(one.model_path, reordered.model_path);
  const double weight_diff = max_weight_diff(one.model_path, run + "/model.gguf");
  std::printf("weights: 2 ranks vs 1 process differ by at most %.3g; reduction order alone by %.3g\n", weight_diff, weight_spread);
  EXPECT_LE(weight_diff, 4 * weight_spread);
  for (const auto& entry : fs::directory_iterator(run))
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
  fs::remove_all(dir);
}

// mpirun -np 1 is the single process, bit for bit, and ends cleanly (MPI finalised).
TEST(DataParallel, OneRankUnderMpirunIsTheSingleProcess) {
  const std::string dir = temp_dir("one_rank");
  const std::string text = config_text(write_shard(dir));
  write_file_atomic(dir + "/train.toml", text);
  TrainOptions quiet;
  quiet.progress_bar = false;
  const TrainResult one = train_model(parse_train_config(text, {"out=\"" + dir + "/one\""}), quiet);
  ASSERT_EQ(mpirun(1, cat("train --config ", dir, "/train.toml --out ", dir, "/mpi --quiet"), dir + "/log"), 0)
      << read_file(dir + "/log");
  EXPECT_EQ(read_file(dir + "/mpi/model.gguf"), read_file(one.model_path));
  fs::remove_all(dir);
}

// A batch that does not split over the ranks is an error on every rank, and the job
// ends (no rank waits for the others forever).
TEST(DataParallel, AnErrorEndsTheWholeJob) {
  const std::string dir = temp_dir("error");
  write_file_atomic(dir + "/train.toml", config_text(write_shard(dir)));
  const int status = mpirun(2, cat("train --config ", dir, "/train.toml --out ", dir, "/run --quiet --set train.batch=3"),
                            dir + "/log");
  const std::string log = read_file(dir + "/log");
  EXPECT_NE(status, 0);
  EXPECT_NE(status, 124) << "timed out: a rank hung";
  EXPECT_NE(log.find("does not split evenly over 2 processes"), std::string::npos) << log;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace edgelm::training
