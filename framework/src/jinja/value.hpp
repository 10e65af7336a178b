#pragma once
// Values of the chat-template engine. The model is llama.cpp's common/jinja
// runtime (what `--jinja` renders with), not Python's Jinja2: the same eight
// kinds, the same printing rules (None and objects print nothing, floats print
// with std::to_string precision), the same equality and comparison quirks.
// Values are shared by pointer so that list.append / namespace attribute sets
// are visible through every name bound to them, as in Jinja.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessel::jinja {

enum class Kind { Undefined, None, Bool, Int, Float, String, Array, Tuple, Object, Func, Kwarg };

struct Value;
using ValuePtr = std::shared_ptr<Value>;
struct Args;
using Builtin = std::function<ValuePtr(const Args&)>;
using Builtins = std::map<std::string, Builtin>;

// A failure while rendering; the evaluator adds the template position.
struct RenderError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Value {
  Kind kind = Kind::Undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                                  // string text, func / kwarg / undefined name
  std::vector<ValuePtr> items;                    // array, tuple
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // object, in insertion order
  Builtin fn;                                     // func
  ValuePtr self;                                  // func: bound first argument; kwarg: the value
  bool no_builtins = false;                       // loop objects have no methods

  // Which values a template touched, and how: llama.cpp derives a template's
  // capabilities (system role, typed content) from these, so we do too.
  bool used = false;
  std::set<std::string> ops;

  Value() = default;
  Value(const Value&) = default;
  Value(Value&&) = default;
  Value& operator=(const Value&) = default;
  Value& operator=(Value&&) = default;
  // Releases nested values with a loop: a list nested 100,000 deep (a
  // template can build one) would otherwise recurse once per level.
  ~Value();

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_none() const { return kind == Kind::None; }
  bool is_array() const { return kind == Kind::Array || kind == Kind::Tuple; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float; }
  bool is_numeric() const { return is_number() || kind == Kind::Bool; }  // compares as a number
  bool is_string() const { return kind == Kind::String; }
  bool is_object() const { return kind == Kind::Object; }

  std::string type_name() const;
  bool truthy() const;
  int64_t as_int() const;    // int, float (truncated), bool
  double as_float() const;   // int, float, bool
  std::string to_str() const;   // str(): what `~` and the string filter produce
  std::string repr() const;     // inside a list/dict's str()

  // Object access by key (keys compare with ==); nullptr when absent.
  ValuePtr get(const Value& key) const;
  ValuePtr get(const std::string& key) const;
  void set(const ValuePtr& key, const ValuePtr& val);
  void set(const std::string& key, const ValuePtr& val);
};

ValuePtr make_undefined(std::string hint = "");
ValuePtr make_none();
ValuePtr make_bool(bool v);
ValuePtr make_int(int64_t v);
ValuePtr make_float(double v);
ValuePtr make_string(std::string v);
ValuePtr make_array(std::vector<ValuePtr> v = {});
ValuePtr make_tuple(std::vector<ValuePtr> v);
ValuePtr make_object();
ValuePtr make_func(std::string name, Builtin fn, ValuePtr self = nullptr);
ValuePtr make_kwarg(std::string name, ValuePtr v);

// Held while a walk (printing, JSON, output) is inside one list or dict: a
// value that contains itself (`{% set ns.x = (ns, 1) %}`, chat-template fuzz
// target) or one nested a million deep would otherwise overflow the stack.
// Past kMaxValueDepth levels it throws a RenderError.
class ValueNest {
 public:
  static constexpr int kMaxValueDepth = 256;
  ValueNest();
  ~ValueNest();
  ValueNest(const ValueNest&) = delete;
  ValueNest& operator=(const ValueNest&) = delete;

 private:
  static thread_local int value_depth;
};

// Values are shared_ptrs, and a template can make them refer to each other
// (`{% set ns.x = (ns, 1) %}`, a list appended to itself, a macro kept in a
// namespace its scope holds): such a cycle outlived the render (LeakSanitizer,
// chat-template fuzz replay). Every container, function and keyword value
// made while an arena is open is emptied when it closes, so whatever a
// render built is freed with it. Open one around a render and whatever reads
// its values afterwards.
class ValueArena {
 public:
  ValueArena();
  ~ValueArena();
  ValueArena(const ValueArena&) = delete;
  ValueArena& operator=(const ValueArena&) = delete;

 private:
  std::vector<std::weak_ptr<Value>> values_;
  std::vector<std::weak_ptr<Value>>* outer_;
};

bool values_equal(const Value& a, const Value& b);  // `==`
enum class Cmp { Eq, Ne, Lt, Gt, Ge };
bool values_compare(const Value& a, const Value& b, Cmp op);  // tests, sort, min/max

// JSON in and out.
ValuePtr from_json(const nlohmann::json& j);
ValuePtr from_json(const nlohmann::ordered_json& j);  // keeps key order, as llama.cpp does
struct JsonStyle {
  int indent = -1;
  std::string item_sep = ", ";
  std::string key_sep = ": ";
};
std::string to_json(const Value& v, const JsonStyle& style);

void mark_used(Value& v, bool deep);

}  // namespace tessel::jinja
