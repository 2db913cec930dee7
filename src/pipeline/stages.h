#pragma once
// Resumable pipeline stages: each stage's outputs are stamped in the run
// folder's manifest.json with the configuration that made them, so a second
// run skips every stage whose configuration is unchanged and whose outputs
// are all still there, and reruns the rest.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgelm {

class StageRunner {
 public:
  // force: ignore the stamps and rerun everything. quiet: no per-stage lines on stdout.
  StageRunner(std::string out_dir, int n_stages, bool force = false, bool quiet = false);

  // Runs fn unless a stamp for `name` holds the same config and every output
  // (a path relative to the run folder) exists. fn returns the stage's summary
  // (figures for the report); it is stored with the stamp and returned (the
  // stored one when reused). A stage that throws leaves no stamp.
  nlohmann::json run(const std::string& name, const std::string& title, const nlohmann::json& config,
                     const std::vector<std::string>& outputs, const std::function<nlohmann::json()>& fn);

  // {stage name: {config, outputs, seconds, summary, reused}} in run order.
  const nlohmann::ordered_json& manifest() const { return manifest_; }
  std::string path(const std::string& relative) const;  // out_dir/relative
  double total_seconds() const;                          // this run's time plus reused stages' recorded time

 private:
  void save() const;
  std::string out_dir_;
  int n_stages_, stage_no_ = 0;
  bool force_, quiet_;
  nlohmann::ordered_json manifest_ = nlohmann::ordered_json::object();  // in run order
  nlohmann::json previous_ = nlohmann::json::object();
  bool upstream_ran_ = false;  // a stage ran (not reused) in this run: later stages run too
};

}  // namespace edgelm
