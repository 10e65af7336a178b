// Value behaviour, following llama.cpp's common/jinja/value.{h,cpp} rule by rule
// (their printing, truthiness, equality and ordering), because a prompt
// differing in one byte from llama.cpp's tokenizes differently.
#include "jinja/value.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace tessel::jinja {

thread_local int ValueNest::value_depth = 0;

std::string Value::type_name() const {
  switch (kind) {
    case Kind::Undefined: return s.empty() ? "Undefined" : "Undefined (hint: '" + s + "')";
    case Kind::None: return "None";
    case Kind::Bool: return "Boolean";
    case Kind::Int: return "Integer";
    case Kind::Float: return "Float";
    case Kind::String: return "String";
    case Kind::Array: return "Array";
    case Kind::Tuple: return "Tuple";
    case Kind::Object: return "Object";
    case Kind::Func: return "Function";
    case Kind::Kwarg: return "KwArg";
  }
  return "?";
}

bool Value::truthy() const {
  switch (kind) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool: return b;
    case Kind::Int: return i != 0;
    case Kind::Float: return f != 0.0;
    case Kind::String: return !s.empty();
    case Kind::Array:
    case Kind::Tuple: return !items.empty();
    case Kind::Object: return !entries.empty();
    default: throw RenderError(type_name() + " is not a bool value");
  }
}

int64_t Value::as_int() const {
  if (kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool) return i;
  throw RenderError(type_name() + " is not an int value");
}

double Value::as_float() const {
  if (kind == Kind::Int || kind == Kind::Float) return f;
  throw RenderError(type_name() + " is not a float value");
}

ValueNest::ValueNest() {
  if (++value_depth > kMaxValueDepth) {
    --value_depth;
    throw RenderError("value nested deeper than " + std::to_string(kMaxValueDepth) +
                      " levels (a list or dict that contains itself?)");
  }
}
ValueNest::~ValueNest() { --value_depth; }

Value::~Value() {
  if (items.empty() && entries.empty() && !self) return;
  std::vector<ValuePtr> pending;
  auto detach = [&pending](Value& v) {
    for (auto& x : v.items) pending.push_back(std::move(x));
    for (auto& [k, x] : v.entries) pending.push_back(std::move(k)), pending.push_back(std::move(x));
    if (v.self) pending.push_back(std::move(v.self));
    v.items.clear();
    v.entries.clear();
  };
  detach(*this);
  while (!pending.empty()) {
    ValuePtr last = std::move(pending.back());
    pending.pop_back();
    // the last owner: its children move here first, so freeing it frees no more
    if (last && last.use_count() == 1) detach(*last);
  }
}

namespace {
// std::to_string's six decimals with the trailing zeros removed, one kept: 2.5, 3.0.
std::string float_str(double v) {
  std::string out = std::to_string(v);
  out.erase(out.find_last_not_of('0') + 1);
  if (!out.empty() && out.back() == '.') out.push_back('0');
  return out;
}
}  // namespace

std::string Value::to_str() const {
  switch (kind) {
    case Kind::Int: return std::to_string(i);
    case Kind::Float: return float_str(f);
    case Kind::String: return s;
    case Kind::Bool: return b ? "True" : "False";
    case Kind::None: return "None";
    case Kind::Array:
    case Kind::Tuple: {
      const ValueNest nest;
      const bool tuple = kind == Kind::Tuple;
      std::string out = tuple ? "(" : "[";
      for (size_t k = 0; k < items.size(); ++k) out += (k ? ", " : "") + items[k]->repr();
      if (tuple && items.size() == 1) out += ",";
      return out + (tuple ? ")" : "]");
    }
    case Kind::Object: {
      const ValueNest nest;
      std::string out = "{";
      for (size_t k = 0; k < entries.size(); ++k)
        out += (k ? ", " : "") + entries[k].first->repr() + ": " + entries[k].second->repr();
      return out + "}";
    }
    default: throw RenderError(type_name() + " is not a string value");
  }
}

std::string Value::repr() const {
  switch (kind) {
    case Kind::String:
      // Python quotes with '...' unless the text holds a quote; llama.cpp then uses JSON.
      if (s.find('\'') != std::string::npos) return to_json(*this, JsonStyle{});
      return "'" + s + "'";
    case Kind::Undefined:
    case Kind::Kwarg: return type_name();
    case Kind::Func: return "Function<" + s + ">(" + (self ? self->repr() : "") + ")";
    default: return to_str();
  }
}

namespace {
bool immutable(const Value& v) { return v.kind != Kind::Array && v.kind != Kind::Object; }

bool hashable(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined:
    case Kind::Func: return false;
    case Kind::Array:
    case Kind::Tuple:
      for (const auto& x : v.items)
        if (!immutable(*x) || !hashable(*x)) return false;
      return true;
    case Kind::Object:
      for (const auto& [k, x] : v.entries)
        if (!immutable(*x) || !hashable(*x)) return false;
      return true;
    default: return true;
  }
}

void check_key(const Value& key) {
  if (!immutable(key) || !hashable(key))
    throw RenderError("Object key of unhashable type: " + key.type_name());
}
}  // namespace

ValuePtr Value::get(const Value& key) const {
  check_key(key);
  for (const auto& [k, v] : entries)
    if (values_equal(*k, key)) return v;
  return nullptr;
}

ValuePtr Value::get(const std::string& key) const {
  for (const auto& [k, v] : entries)
    if (k->kind == Kind::String && k->s == key) return v;
  return nullptr;
}

void Value::set(const ValuePtr& key, const ValuePtr& val) {
  check_key(*key);
  for (auto& [k, v] : entries)
    if (values_equal(*k, *key)) {
      v = val;
      return;
    }
  entries.emplace_back(key, val);
}

void Value::set(const std::string& key, const ValuePtr& val) { set(make_string(key), val); }

namespace {
// The containers, functions and keyword values made while a ValueArena is
// open on this thread (values that can hold other values).
thread_local std::vector<std::weak_ptr<Value>>* arena_values = nullptr;

ValuePtr make(Kind k) {
  auto v = std::make_shared<Value>();
  v->kind = k;
  if (arena_values && (k == Kind::Array || k == Kind::Tuple || k == Kind::Object || k == Kind::Func ||
                       k == Kind::Kwarg))
    arena_values->push_back(v);
  return v;
}
}  // namespace

ValueArena::ValueArena() : outer_(arena_values) { arena_values = &values_; }

ValueArena::~ValueArena() {
  arena_values = outer_;
  for (auto& w : values_)
    if (ValuePtr v = w.lock()) {
      v->items.clear();
      v->entries.clear();
      v->self.reset();
      v->fn = nullptr;
    }
}

ValuePtr make_undefined(std::string hint) {
  auto v = make(Kind::Undefined);
  v->s = std::move(hint);
  return v;
}
ValuePtr make_none() { return make(Kind::None); }
ValuePtr make_bool(bool b) {
  auto v = make(Kind::Bool);
  v->b = b;
  v->i = b;
  v->f = b;
  return v;
}
ValuePtr make_int(int64_t i) {
  auto v = make(Kind::Int);
  v->i = i;
  v->f = static_cast<double>(i);
  return v;
}
ValuePtr make_float(double f) {
  auto v = make(Kind::Float);
  v->f = f;
  v->i = std::isfinite(f) && std::fabs(f) < 9.2e18 ? static_cast<int64_t>(f) : 0;
  return v;
}
ValuePtr make_string(std::string s) {
  auto v = make(Kind::String);
  v->s = std::move(s);
  return v;
}
ValuePtr make_array(std::vector<ValuePtr> items) {
  auto v = make(Kind::Array);
  v->items = std::move(items);
  return v;
}
ValuePtr make_tuple(std::vector<ValuePtr> items) {
  auto v = make(Kind::Tuple);
  v->items = std::move(items);
  return v;
}
ValuePtr make_object() { return make(Kind::Object); }
ValuePtr make_func(std::string name, Builtin fn, ValuePtr self) {
  auto v = make(Kind::Func);
  v->s = std::move(name);
  v->fn = std::move(fn);
  v->self = std::move(self);
  return v;
}
ValuePtr make_kwarg(std::string name, ValuePtr val) {
  auto v = make(Kind::Kwarg);
  v->s = std::move(name);
  v->self = std::move(val);
  return v;
}

bool values_equal(const Value& a, const Value& b) {
  switch (a.kind) {
    case Kind::Int:
    case Kind::Float:
    case Kind::Bool: return b.is_numeric() && a.i == b.i && a.f == b.f;
    case Kind::String: return b.kind == Kind::String && a.s == b.s;
    case Kind::None: return b.kind == Kind::None;
    case Kind::Undefined: return b.kind == Kind::Undefined;
    case Kind::Array:
    case Kind::Tuple:
      if (b.kind != a.kind || !hashable(a) || !hashable(b) || a.items.size() != b.items.size()) return false;
      for (size_t k = 0; k < a.items.size(); ++k)
        if (!values_equal(*a.items[k], *b.items[k])) return false;
      return true;
    case Kind::Object:
      if (b.kind != a.kind || !hashable(a) || !hashable(b) || a.entries.size() != b.entries.size())
        return false;
      for (size_t k = 0; k < a.entries.size(); ++k)
        if (!values_equal(*a.entries[k].first, *b.entries[k].first) ||
            !values_equal(*a.entries[k].second, *b.entries[k].second))
          return false;
      return true;
    case Kind::Kwarg: return b.kind == Kind::Kwarg && a.s == b.s && a.self == b.self;
    case Kind::Func: return b.kind == Kind::Func;
  }
  return false;
}

bool values_compare(const Value& a, const Value& b, Cmp op) {
  auto apply = [op](const auto& x, const auto& y) {
    switch (op) {
      case Cmp::Eq: return x == y;
      case Cmp::Ne: return x != y;
      case Cmp::Lt: return x < y;
      case Cmp::Gt: return x > y;
      case Cmp::Ge: return x >= y;
    }
    return false;
  };
  if (a.is_number() && b.is_number()) return apply(a.f, b.f);
  if ((a.is_string() && (b.is_number() || b.is_string())) || (b.is_string() && a.is_number()))
    return apply(a.to_str(), b.to_str());
  if (a.kind == Kind::Bool && b.kind == Kind::Bool) {
    if (op == Cmp::Eq || op == Cmp::Ne) return apply(a.b, b.b);
    throw RenderError("Unsupported comparison operator for bool type");
  }
  return false;
}

namespace {
template <class J>
ValuePtr json_to_value(const J& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return make_none();
    case nlohmann::json::value_t::boolean: return make_bool(j.template get<bool>());
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return make_int(j.template get<int64_t>());
    case nlohmann::json::value_t::number_float: return make_float(j.template get<double>());
    case nlohmann::json::value_t::string: return make_string(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      const ValueNest nest;
      auto arr = make_array();
      for (const auto& x : j) arr->items.push_back(json_to_value(x));
      return arr;
    }
    case nlohmann::json::value_t::object: {
      const ValueNest nest;
      auto obj = make_object();
      for (auto it = j.begin(); it != j.end(); ++it) obj->set(it.key(), json_to_value(it.value()));
      return obj;
    }
    default: throw RenderError("unsupported JSON value (binary or discarded)");
  }
}
}  // namespace

ValuePtr from_json(const nlohmann::json& j) { return json_to_value(j); }
ValuePtr from_json(const nlohmann::ordered_json& j) { return json_to_value(j); }

namespace {
void json_string(std::ostringstream& out, const std::string& s) {
  out << '"';
  for (char c : s) {
    switch (c) {
      case '"': out << "\\\""; break;
      case '\\': out << "\\\\"; break;
      case '\b': out << "\\b"; break;
      case '\f': out << "\\f"; break;
      case '\n': out << "\\n"; break;
      case '\r': out << "\\r"; break;
      case '\t': out << "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out << buf;
        } else {
          out << c;
        }
    }
  }
  out << '"';
}

// llama.cpp's layout: with an indent every item sits on its own line; indent 0
// still breaks lines; floats go through ostream's default (%g-like) format.
void json_write(std::ostringstream& out, const Value& v, int level, const JsonStyle& st) {
  const ValueNest nest;
  const std::string nl = st.indent >= 0 ? "\n" : "";
  const std::string pad = st.indent > 0 ? std::string(size_t(level) * st.indent, ' ') : "";
  const std::string step = st.indent > 0 ? std::string(size_t(st.indent), ' ') : "";
  switch (v.kind) {
    case Kind::Bool: out << (v.b ? "true" : "false"); return;
    case Kind::Int: out << v.i; return;
    case Kind::Float: out << v.f; return;
    case Kind::String: json_string(out, v.s); return;
    case Kind::Array:
    case Kind::Tuple:
      out << "[";
      if (!v.items.empty()) {
        out << nl;
        for (size_t k = 0; k < v.items.size(); ++k) {
          out << pad << step;
          json_write(out, *v.items[k], level + 1, st);
          if (k + 1 < v.items.size()) out << st.item_sep;
          out << nl;
        }
        out << pad;
      }
      out << "]";
      return;
    case Kind::Object:
      out << "{";
      if (!v.entries.empty()) {
        out << nl;
        for (size_t k = 0; k < v.entries.size(); ++k) {
          out << pad << step;
          json_string(out, v.entries[k].first->to_str());
          out << st.key_sep;
          json_write(out, *v.entries[k].second, level + 1, st);
          if (k + 1 < v.entries.size()) out << st.item_sep;
          out << nl;
        }
        out << pad;
      }
      out << "}";
      return;
    default: out << "null"; return;
  }
}
}  // namespace

std::string to_json(const Value& v, const JsonStyle& style) {
  std::ostringstream out;
  json_write(out, v, 0, style);
  return out.str();
}

void mark_used(Value& v, bool deep) {
  v.used = true;
  if (!deep) return;
  const ValueNest nest;
  for (auto& x : v.items) mark_used(*x, true);
  for (auto& [k, x] : v.entries) {
    mark_used(*k, true);
    mark_used(*x, true);
  }
}

}  // namespace tessel::jinja
