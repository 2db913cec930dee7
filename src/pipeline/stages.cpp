#include "pipeline/stages.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "platform/atomic_file.h"
#include "platform/error.h"

namespace edgelm {

namespace fs = std::filesystem;

StageRunner::StageRunner(std::string out_dir, int n_stages, bool force, bool quiet)
    : out_dir_(std::move(out_dir)), n_stages_(n_stages), force_(force), quiet_(quiet) {
  std::error_code ec;
  fs::create_directories(out_dir_, ec);
  if (ec) fail("cannot create the run folder '", out_dir_, "': ", ec.message());
  std::string manifest_path = path("manifest.json");
  if (!force_ && fs::exists(manifest_path)) {
    try {
      nlohmann::json j = nlohmann::json::parse(read_file(manifest_path));
      if (j.contains("stages") && j["stages"].is_object()) previous_ = j["stages"];
    } catch (const std::exception&) {
      // A damaged manifest only costs a rerun of every stage.
      previous_ = nlohmann::json::object();
    }
  }
}

std::string StageRunner::path(const std::string& relative) const { return (fs::path(out_dir_) / relative).string(); }

double StageRunner::total_seconds() const {
  double total = 0;
  for (const auto& [name, stage] : manifest_.items()) total += stage.value("seconds", 0.0);
  return total;
}

void StageRunner::save() const {
  nlohmann::ordered_json j = {{"stages", manifest_}};
  write_file_atomic(path("manifest.json"), j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

nlohmann::json StageRunner::run(const std::string& name, const std::string& title, const nlohmann::json& config,
                                const std::vector<std::string>& outputs, const std::function<nlohmann::json()>& fn) {
  ++stage_no_;
  // A stage is reused when its config is the one stamped and every stage
  // before it was reused too: a stage that ran again may have changed what
  // the later ones read (new data, a new tokenizer, a new model).
  bool reusable = !upstream_ran_ && previous_.contains(name) && previous_[name].value("config", nlohmann::json()) == config;
  for (const auto& out : outputs) reusable = reusable && fs::exists(path(out));
  if (reusable) {
    nlohmann::json stamp = previous_[name];
    stamp["reused"] = true;
    manifest_[name] = nlohmann::ordered_json(stamp);
    save();
    if (!quiet_) std::printf("[%d/%d] %s: reused (made in %.1f s)\n", stage_no_, n_stages_, title.c_str(), stamp.value("seconds", 0.0));
    std::fflush(stdout);
    return stamp["summary"];
  }
  upstream_ran_ = true;
  if (!quiet_) std::printf("[%d/%d] %s ...\n", stage_no_, n_stages_, title.c_str());
  std::fflush(stdout);
  auto start = std::chrono::steady_clock::now();
  nlohmann::json summary = fn();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  manifest_[name] = {{"title", title}, {"config", config}, {"outputs", outputs}, {"seconds", seconds}, {"summary", summary}, {"reused", false}};
  save();
  if (!quiet_) std::printf("[%d/%d] %s: done in %.1f s\n", stage_no_, n_stages_, title.c_str(), seconds);
  std::fflush(stdout);
  return summary;
}

}  // namespace edgelm
