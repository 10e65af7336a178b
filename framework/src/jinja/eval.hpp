#pragma once
// Evaluation: scopes, calls and the built-in tables shared by the evaluator and
// the builtins_*.cpp files.
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "jinja/ast.hpp"
#include "jinja/value.hpp"

namespace tessel::jinja {

// What every scope of one render shares.
struct RenderState {
  std::time_t now = 0;
  bool stats = false;     // record which values the template uses (capability probes)
  int depth = 0;          // macro / call nesting, bounded so bad templates can't overflow the stack
  size_t output_limit = size_t(256) << 20;  // bytes any single string may reach
};

// A scope. Entering a loop, macro or call block copies the parent's names, as
// llama.cpp does: assignments inside stay inside, mutations of shared values
// (namespace attributes, list.append) are seen everywhere.
struct Context {
  std::map<std::string, ValuePtr> vars;
  std::shared_ptr<RenderState> state;

  Context();
  ValuePtr get(const std::string& name) const;  // nullptr when unset
  void set(const std::string& name, ValuePtr v) { vars[name] = std::move(v); }
};

struct Args {
  std::string name;  // function name, for messages
  Context* ctx = nullptr;
  std::vector<ValuePtr> v;

  size_t count() const { return v.size(); }
  const ValuePtr& at(size_t i) const;                  // throws when missing
  ValuePtr at_or(size_t i, ValuePtr fallback) const;
  ValuePtr kw(const std::string& key, ValuePtr fallback) const;
  ValuePtr kw_or_pos(const std::string& key, size_t i) const;  // undefined when neither
  void need(size_t min, size_t max = 999) const;
  // Argument i (when present) must be of kind k (Array also accepts a tuple).
  void need_kind(size_t i, Kind k) const;
};

const Builtins& global_builtins();        // functions and tests ("test_is_<name>")
const Builtins& string_builtins();
const Builtins& sequence_builtins();      // arrays and tuples
const Builtins& object_builtins();
const Builtins& scalar_builtins(Kind k);  // Int, Float, Bool, None, Undefined
const Builtins& builtins_for(const Value& v);  // throws for functions

ValuePtr call_value(const Value& fn, Args args);
// The indices Python's seq[start:stop:step] visits for a sequence of `len`
// items (step != 0), in order.
std::vector<size_t> slice_indices(int64_t len, int64_t start, int64_t stop, int64_t step);

// JSON text as the tojson filter makes it, for builtins that share it.
ValuePtr tojson_builtin(const Args& args);

// Runs a parsed program in `ctx` and returns the text it printed.
std::string execute(const Program& prog, Context& ctx);

}  // namespace tessel::jinja
