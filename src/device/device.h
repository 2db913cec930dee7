#pragma once
// A device as data: its function schema (functions.toml), its state, what each
// function does to that state, and the values it fills into replies
// (device.toml), all read from the domain folder (docs/DOMAIN_FORMAT.md). One
// generic simulator (Device) executes calls for every device, so a new device
// gets execution-based evaluation, a chat display and reply filling without
// any C++ of its own.
//
//   DeviceSpec spec = load_device("domains/air-purifier");
//   Device device(std::make_shared<const DeviceSpec>(spec));
//   device.execute(call);                          // throws Error outside the API
//   device.fill_placeholders("PM2.5 is {pm25}.");  // "PM2.5 is 18."
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/schema.h"

namespace edgelm {

// One field of the device's state. A keyed field holds one value per key
// (lights per room: `lights.bedroom`).
struct StateField {
  std::string name;
  ArgType type = ArgType::Enum;        // Enum, Integer, Number, Boolean or String
  std::vector<std::string> values;     // Enum: allowed values, in order (steps move along it)
  std::optional<double> min, max;      // Integer / Number: steps stop here
  std::vector<std::string> keys;       // non-empty: a keyed field
  ArgValue initial;
  bool reply_only = false;             // holds only what a reply says (the last tip's topic): writing it is not an action
  size_t n_slots() const { return keys.empty() ? 1 : keys.size(); }
};

// Where an effect writes or reads: a field, and for a keyed field one key, a
// key named by an argument ("{room}"), or every key ("*").
struct FieldRef {
  size_t field = 0;
  std::string key;      // a literal key, "*" for every key, or empty (unkeyed field / key from key_arg)
  std::string key_arg;  // the argument whose value is the key
};

// A value an effect writes: a literal, or an argument of the call ("{state}").
struct EffectValue {
  std::string arg;
  ArgValue literal;
};

struct Effect {
  std::string function;
  std::map<std::string, ArgValue> when;  // applies only if the call has these argument values
  std::vector<std::pair<FieldRef, EffectValue>> set;  // field = value
  std::vector<std::pair<FieldRef, EffectValue>> step;  // enum: move along its values; number: add (clamped)
  std::vector<FieldRef> reset;                         // back to the initial value
  std::vector<FieldRef> read;                          // a query: these values become {status}
  int line = 0;
};

// A value the device fills into a reply: a state field (or the fields the
// last query read), optionally banded ("good" below 16), then said in the
// reply's language through `words`.
struct Placeholder {
  std::string name;
  std::optional<FieldRef> field;  // none: the values the last query read
  std::vector<std::pair<double, std::string>> bands;  // (upper bound, label), ascending
  std::string above;                                   // label past the last band
  std::map<std::string, std::map<std::string, std::string>> words;  // language -> value or label -> words
};

struct DeviceSpec {
  DomainSchema schema;                // schema.placeholders lists the placeholders' names
  std::vector<StateField> fields;
  std::vector<Effect> effects;
  std::vector<Placeholder> placeholders;
  const StateField* find_field(const std::string& name) const;
  const Placeholder* find_placeholder(const std::string& name) const;
  // Whether a call of `function` can change the device: some effect of it
  // sets, steps or resets a field that is not reply_only. A device without
  // effects (stateless) cannot say, so there every function counts as one that acts.
  bool writes_state(const std::string& function) const;
  // A device with no state: calls are checked and remembered ({ARGNAME} fills), nothing else.
  static DeviceSpec stateless(DomainSchema schema);
};

// Reads DIR/functions.toml and DIR/device.toml (a folder without device.toml
// is a stateless device). Errors name the file, the line and the problem.
DeviceSpec load_device(const std::string& domain_dir);
DeviceSpec parse_device(DomainSchema schema, const std::string& toml_text, const std::string& source_name);

// The domain folder for a model: `domain` when given (an error when the model
// names another domain), else the built-in domain the model file names
// (GGUF metadata kModelDomainKey, written by the demo), else kDefaultDomain.
std::string domain_dir_for_model(const std::string& domain, const std::string& model_path);

// What executing one call did.
struct Execution {
  std::string summary;               // "fan_speed high, mode manual, power on"; "lights.bedroom off"
  std::vector<std::string> missing;  // arguments a partial call left out that the effect needs (the device asks)
  bool changed = false;              // some state value changed
};

// A running device: state, the last call's arguments and the last query's reads.
class Device {
 public:
  explicit Device(std::shared_ptr<const DeviceSpec> spec);

  // Throws Error on a call outside the API (unknown function or argument,
  // a value outside its type or range, a required argument missing); the
  // state is then unchanged. Optional arguments take their defaults.
  Execution execute(const Call& call);
  // Replaces each {placeholder} of the device with its value, and {ARGNAME}
  // with that argument's value in the most recent call that had it, in the
  // language `lang` (empty: the reply's script decides). Unknown ones stay.
  std::string fill_placeholders(const std::string& reply, const std::string& lang = "") const;
  // {"power": "on", "lights": {"bedroom": "off", ...}, ...}
  nlohmann::json state_json() const;
  // The value of a field (keyed fields: the key's).
  const ArgValue& value(const std::string& field, const std::string& key = "") const;
  void reset();

  const DeviceSpec& spec() const { return *spec_; }
  const DomainSchema& schema() const { return spec_->schema; }

 private:
  std::vector<size_t> slots(const FieldRef& ref, const Call& call, bool for_read, std::string* missing) const;
  std::string slot_name(size_t field, size_t slot) const;
  std::shared_ptr<const DeviceSpec> spec_;
  std::vector<std::vector<ArgValue>> values_;  // per field, per key (one slot when unkeyed)
  std::map<std::string, ArgValue> last_args_;
  std::vector<std::pair<size_t, size_t>> last_read_;  // (field, slot) of the last query
};

}  // namespace edgelm
