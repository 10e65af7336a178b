// Global functions (raise_exception, namespace, range, strftime_now, tojson)
// and the tests (`x is defined`, ...), as llama.cpp's common/jinja defines them.
#include <cstdio>
#include <ctime>

#include "jinja/eval.hpp"

namespace tessel::jinja {

const ValuePtr& Args::at(size_t i) const {
  if (i >= v.size())
    throw RenderError("'" + name + "' expects at least " + std::to_string(i + 1) + " arguments, got " +
                      std::to_string(v.size()));
  return v[i];
}

ValuePtr Args::at_or(size_t i, ValuePtr fallback) const { return i < v.size() ? v[i] : fallback; }

ValuePtr Args::kw(const std::string& key, ValuePtr fallback) const {
  for (const auto& a : v)
    if (a->kind == Kind::Kwarg && a->s == key) return a->self;
  return fallback;
}

ValuePtr Args::kw_or_pos(const std::string& key, size_t i) const {
  ValuePtr val = kw(key, nullptr);
  if (val) return val;
  if (i < v.size() && v[i]->kind != Kind::Kwarg) return v[i];
  return make_undefined();
}

void Args::need(size_t min, size_t max) const {
  if (v.size() < min || v.size() > max)
    throw RenderError("'" + name + "' expects " + std::to_string(min) +
                      (max == 999 ? " or more" : max == min ? "" : " to " + std::to_string(max)) +
                      " arguments, got " + std::to_string(v.size()));
}

void Args::need_kind(size_t i, Kind k) const {
  if (i >= v.size()) return;
  const Value& x = *v[i];
  const bool ok = x.kind == k || (k == Kind::Array && x.kind == Kind::Tuple);
  if (!ok) {
    Value want;
    want.kind = k;
    throw RenderError("'" + name + "' expects " + want.type_name() + " as argument " + std::to_string(i + 1) +
                      ", got " + x.type_name());
  }
}

namespace {

void escape_codepoint(std::string& out, uint32_t cp) {
  char buf[8];
  auto u16 = [&](uint32_t u) {
    std::snprintf(buf, sizeof buf, "\\u%04x", u);
    out += buf;
  };
  if (cp <= 0xFFFF) return u16(cp);
  cp -= 0x10000;
  u16(0xD800 + ((cp >> 10) & 0x3FF));
  u16(0xDC00 + (cp & 0x3FF));
}

// Decodes one UTF-8 sequence at s[i]; returns its length, 0 when malformed.
size_t utf8_at(const std::string& s, size_t i, uint32_t& cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t len = c >= 0xF0 && c < 0xF8 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  cp = c & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  return len;
}

// ensure_ascii: non-ASCII inside JSON strings becomes \uXXXX (surrogate pairs
// above the BMP, \ufffd for each byte of a malformed sequence).
std::string ascii_json(const std::string& json) {
  std::string out;
  bool in_str = false, esc = false;
  for (size_t i = 0; i < json.size();) {
    const char ch = json[i];
    if (!in_str || esc || ch == '\\' || ch == '"' || static_cast<unsigned char>(ch) < 0x80) {
      if (!in_str) in_str = ch == '"';
      else if (esc) esc = false;
      else if (ch == '\\') esc = true;
      else if (ch == '"') in_str = false;
      out += ch;
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t len = utf8_at(json, i, cp);
    if (len == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    escape_codepoint(out, cp);
    i += len;
  }
  return out;
}

ValuePtr type_test(const Args& a, std::initializer_list<Kind> kinds) {
  a.need(1);
  const Kind k = a.at(0)->kind;
  for (Kind x : kinds)
    if (k == x) return make_bool(true);
  return make_bool(false);
}

template <Cmp op>
ValuePtr compare_test(const Args& a) {
  a.need(2, 2);
  return make_bool(values_compare(*a.at(0), *a.at(1), op));
}

ValuePtr in_test(const Args& a) {
  a.need(2);
  const Value& needle = *a.at(0);
  const Value& hay = *a.at(1);
  if (hay.is_undefined()) return make_bool(false);
  if (hay.is_array()) {
    for (const auto& x : hay.items)
      if (values_equal(needle, *x)) return make_bool(true);
    return make_bool(false);
  }
  if (hay.is_string()) {
    if (!needle.is_string()) throw RenderError("'in' a string needs a string, got " + needle.type_name());
    return make_bool(hay.s.find(needle.s) != std::string::npos);
  }
  if (hay.is_object()) return make_bool(hay.get(needle) != nullptr);
  throw RenderError("'in' needs a list, string or mapping, got " + hay.type_name());
}

ValuePtr range(const Args& a) {
  a.need(1, 3);
  for (size_t k = 0; k < a.count(); ++k) a.need_kind(k, Kind::Int);
  int64_t start = 0, stop = 0, step = 1;
  if (a.count() == 1) stop = a.at(0)->i;
  else {
    start = a.at(0)->i;
    stop = a.at(1)->i;
    if (a.count() == 3) step = a.at(2)->i;
  }
  if (step == 0) throw RenderError("range() step must not be zero");
  auto out = make_array();
  for (int64_t k = start; step > 0 ? k < stop : k > stop;) {
    if (out->items.size() >= (size_t(1) << 17)) throw RenderError("range() longer than 131072 items");
    out->items.push_back(make_int(k));
    if (__builtin_add_overflow(k, step, &k)) break;
  }
  return out;
}

}  // namespace

ValuePtr tojson_builtin(const Args& a) {
  a.need(1, 5);
  ValuePtr ascii = a.kw_or_pos("ensure_ascii", 1);
  ValuePtr indent = a.kw_or_pos("indent", 2);
  ValuePtr seps = a.kw_or_pos("separators", 3);
  ValuePtr sort = a.kw_or_pos("sort_keys", 4);
  if (a.ctx && a.ctx->state->stats) mark_used(*a.at(0), true);
  JsonStyle st;
  if (indent->kind == Kind::Int) st.indent = int(std::max<int64_t>(-1, std::min<int64_t>(indent->i, 64)));
  if (sort->truthy()) throw RenderError("tojson(sort_keys=true) is not supported");
  st.item_sep = st.indent < 0 ? ", " : ",";
  if (seps->is_array()) {
    if (seps->items.size() > 0) st.item_sep = seps->items[0]->to_str();
    if (seps->items.size() > 1) st.key_sep = seps->items[1]->to_str();
  }
  std::string out = to_json(*a.at(0), st);
  return make_string(ascii->truthy() ? ascii_json(out) : out);
}

const Builtins& global_builtins() {
  static const Builtins table = {
      {"raise_exception",
       [](const Args& a) -> ValuePtr {
         a.need(1);
         a.need_kind(0, Kind::String);
         throw RenderError("raise_exception: " + a.at(0)->s);
       }},
      {"namespace",
       [](const Args& a) -> ValuePtr {
         auto ns = make_object();
         for (const auto& x : a.v) {
           if (x->kind != Kind::Kwarg) throw RenderError("namespace() takes only name=value arguments");
           ns->set(x->s, x->self);
         }
         return ns;
       }},
      {"strftime_now",
       [](const Args& a) -> ValuePtr {
         a.need(1);
         a.need_kind(0, Kind::String);
         char buf[100];
         std::tm tm{};
         const std::time_t now = a.ctx ? a.ctx->state->now : std::time(nullptr);
         localtime_r(&now, &tm);
         if (!std::strftime(buf, sizeof buf, a.at(0)->s.c_str(), &tm))
           throw RenderError("strftime_now: cannot format '" + a.at(0)->s + "'");
         return make_string(buf);
       }},
      {"range", range},
      {"tojson", tojson_builtin},
      {"test_is_boolean", [](const Args& a) { return type_test(a, {Kind::Bool}); }},
      {"test_is_callable", [](const Args& a) { return type_test(a, {Kind::Func}); }},
      {"test_is_odd",
       [](const Args& a) {
         a.need(1);
         a.need_kind(0, Kind::Int);
         return make_bool(a.at(0)->i % 2 != 0);
       }},
      {"test_is_even",
       [](const Args& a) {
         a.need(1);
         a.need_kind(0, Kind::Int);
         return make_bool(a.at(0)->i % 2 == 0);
       }},
      {"test_is_false",
       [](const Args& a) {
         a.need(1);
         return make_bool(a.at(0)->kind == Kind::Bool && !a.at(0)->b);
       }},
      {"test_is_true",
       [](const Args& a) {
         a.need(1);
         return make_bool(a.at(0)->kind == Kind::Bool && a.at(0)->b);
       }},
      {"test_is_divisibleby",
       [](const Args& a) {
         a.need(2);
         a.need_kind(0, Kind::Int);
         a.need_kind(1, Kind::Int);
         if (a.at(1)->i == 0) throw RenderError("divisibleby(0)");
         return make_bool(a.at(1)->i == -1 || a.at(0)->i % a.at(1)->i == 0);
       }},
      {"test_is_string", [](const Args& a) { return type_test(a, {Kind::String}); }},
      {"test_is_integer", [](const Args& a) { return type_test(a, {Kind::Int}); }},
      {"test_is_float", [](const Args& a) { return type_test(a, {Kind::Float}); }},
      {"test_is_number", [](const Args& a) { return type_test(a, {Kind::Int, Kind::Float}); }},
      {"test_is_iterable",
       [](const Args& a) { return type_test(a, {Kind::Array, Kind::Tuple, Kind::String, Kind::Undefined}); }},
      {"test_is_sequence",
       [](const Args& a) { return type_test(a, {Kind::Array, Kind::Tuple, Kind::String, Kind::Undefined}); }},
      {"test_is_mapping", [](const Args& a) { return type_test(a, {Kind::Object}); }},
      {"test_is_lower",
       [](const Args& a) {
         a.need(1);
         a.need_kind(0, Kind::String);
         for (char c : a.at(0)->s)
           if (std::isupper(static_cast<unsigned char>(c))) return make_bool(false);
         return make_bool(true);
       }},
      {"test_is_upper",
       [](const Args& a) {
         a.need(1);
         a.need_kind(0, Kind::String);
         for (char c : a.at(0)->s)
           if (std::islower(static_cast<unsigned char>(c))) return make_bool(false);
         return make_bool(true);
       }},
      {"test_is_none", [](const Args& a) { return type_test(a, {Kind::None}); }},
      {"test_is_defined",
       [](const Args& a) {
         a.need(1);
         return make_bool(!a.at(0)->is_undefined());
       }},
      {"test_is_undefined", [](const Args& a) { return type_test(a, {Kind::Undefined}); }},
      {"test_is_eq", compare_test<Cmp::Eq>},
      {"test_is_equalto", compare_test<Cmp::Eq>},
      {"test_is_ge", compare_test<Cmp::Ge>},
      {"test_is_gt", compare_test<Cmp::Gt>},
      {"test_is_greaterthan", compare_test<Cmp::Gt>},
      {"test_is_lt", compare_test<Cmp::Lt>},
      {"test_is_lessthan", compare_test<Cmp::Lt>},
      {"test_is_ne", compare_test<Cmp::Ne>},
      {"test_is_in", in_test},
      {"test_is_test",
       [](const Args& a) {
         a.need(1);
         a.need_kind(0, Kind::String);
         return make_bool(global_builtins().count("test_is_" + a.at(0)->s) > 0);
       }},
  };
  return table;
}

const Builtins& builtins_for(const Value& v) {
  switch (v.kind) {
    case Kind::String: return string_builtins();
    case Kind::Array:
    case Kind::Tuple: return sequence_builtins();
    case Kind::Object: {
      static const Builtins none;
      return v.no_builtins ? none : object_builtins();
    }
    case Kind::Func:
    case Kind::Kwarg: throw RenderError(v.type_name() + " has no attributes");
    default: return scalar_builtins(v.kind);
  }
}

}  // namespace tessel::jinja
