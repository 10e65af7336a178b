// Filters and methods of lists, dicts and scalars (numbers, booleans, None,
// undefined), with llama.cpp's coverage: what it lacks fails here too, so a
// template never renders in tessel but not in llama.cpp (or differently).
#include <algorithm>
#include <climits>
#include <cmath>

#include "jinja/eval.hpp"

namespace tessel::jinja {

std::vector<size_t> slice_indices(int64_t len, int64_t start, int64_t stop, int64_t step) {
  // Python's clamping: forwards into [0, len], backwards into [-1, len-1].
  if (step > 0) {
    start = start < 0 ? std::max<int64_t>(len + start, 0) : std::min(start, len);
    stop = stop < 0 ? std::max<int64_t>(len + stop, 0) : std::min(stop, len);
  } else {
    start = start < 0 ? std::max<int64_t>(len + start, 0) : std::min(start, len - 1);
    stop = stop < -1 ? std::max<int64_t>(len + stop, -1) : std::min(stop, len - 1);
  }
  std::vector<size_t> out;
  for (int64_t k = start; step > 0 ? k < stop : k > stop;) {
    if (k >= 0 && k < len) out.push_back(size_t(k));
    if (__builtin_add_overflow(k, step, &k)) break;
  }
  return out;
}

ValuePtr default_filter(const Args& a) {
  a.need(2, 3);
  const bool boolean = a.kw_or_pos("boolean", 2)->truthy();
  const Value& x = *a.at(0);
  const bool missing = boolean ? !x.truthy() : (x.is_undefined() || x.is_none());
  return missing ? a.at(1) : a.at(0);
}

namespace {

ValuePtr same_shape(const Value& like, std::vector<ValuePtr> items) {
  return like.kind == Kind::Tuple ? make_tuple(std::move(items)) : make_array(std::move(items));
}

ValuePtr attr_of(const Value& item, const Value& attr, const ValuePtr& fallback) {
  ValuePtr v = item.get(attr);
  return v ? v : fallback;
}

// select / reject / selectattr / rejectattr share llama.cpp's one implementation:
// 1 argument: truthiness of item[attr]; 2: test(item, arg); 3: test(item[attr], arg).
ValuePtr select_fn(const Args& a, bool reject) {
  a.need(2, 4);
  a.need_kind(0, Kind::Array);
  a.need_kind(1, Kind::String);
  if (a.count() == 4) a.need_kind(2, Kind::String);
  auto out = make_array();
  const ValuePtr undef = make_undefined();
  const Builtin* test = nullptr;
  if (a.count() > 2) {
    const std::string name = a.at(a.count() == 3 ? 1 : 2)->s;
    auto it = global_builtins().find("test_is_" + name);
    if (it == global_builtins().end()) throw RenderError(a.name + ": unknown test '" + name + "'");
    test = &it->second;
  }
  for (const auto& item : a.at(0)->items) {
    bool keep;
    if (a.count() == 3) {
      Args t;
      t.ctx = a.ctx;
      t.v = {item, a.at(2)};
      keep = (*test)(t)->truthy();
    } else {
      if (!item->is_object()) throw RenderError(a.name + ": item is not a mapping");
      ValuePtr v = attr_of(*item, *a.at(1), undef);
      if (a.count() == 2) {
        keep = v->truthy();
      } else {
        Args t;
        t.ctx = a.ctx;
        t.v = {v, a.at(3)};
        keep = (*test)(t)->truthy();
      }
    }
    if (keep != reject) out->items.push_back(item);
  }
  return out;
}

ValuePtr join_fn(const Args& a) {
  a.need(1, 3);
  a.need_kind(0, Kind::Array);
  ValuePtr delim = a.kw_or_pos("d", 1), attr = a.kw_or_pos("attribute", 2);
  const bool attr_int = attr->kind == Kind::Int;
  if (!attr->is_undefined() && !attr->is_string() && !attr_int)
    throw RenderError("join(attribute=) must be a string or an integer");
  const std::string sep = delim->is_undefined() ? "" : delim->to_str();
  const auto& items = a.at(0)->items;
  std::string out;
  for (size_t k = 0; k < items.size(); ++k) {
    ValuePtr v = items[k];
    if (!attr->is_undefined()) {
      if (attr_int && v->is_array()) {
        int64_t i = attr->i < 0 ? attr->i + int64_t(v->items.size()) : attr->i;
        if (i < 0 || i >= int64_t(v->items.size())) throw RenderError("join: index out of range");
        v = v->items[size_t(i)];
      } else if (!attr_int && v->is_object()) {
        ValuePtr x = v->get(*attr);
        if (!x) throw RenderError("join: key '" + attr->to_str() + "' not found");
        v = x;
      }
    }
    if (!v->is_string() && !v->is_number()) throw RenderError("join: can only join strings and numbers");
    out += v->to_str();
    if (k + 1 < items.size()) out += sep;
  }
  return make_string(out);
}

ValuePtr map_fn(const Args& a) {
  a.need(2, 2);
  a.need_kind(0, Kind::Array);
  if (a.at(1)->kind != Kind::Kwarg) throw RenderError("map(filter) is not supported; use map(attribute=...)");
  ValuePtr attr = a.kw_or_pos("attribute", 1);
  const bool attr_int = attr->kind == Kind::Int;
  if (!attr->is_string() && !attr_int) throw RenderError("map(attribute=) must be a string or an integer");
  ValuePtr fallback = a.kw("default", make_undefined());
  std::vector<ValuePtr> out;
  for (const auto& item : a.at(0)->items) {
    if (attr_int) {
      int64_t i = attr->i < 0 ? attr->i + int64_t(item->items.size()) : attr->i;
      out.push_back(item->is_array() && i >= 0 && i < int64_t(item->items.size()) ? item->items[size_t(i)] : fallback);
    } else {
      out.push_back(item->is_object() ? attr_of(*item, *attr, fallback) : fallback);
    }
  }
  return same_shape(*a.at(0), std::move(out));
}

ValuePtr slice_seq(const Args& a) {
  a.need(2, 4);
  a.need_kind(0, Kind::Array);
  for (size_t k = 1; k < a.count(); ++k) a.need_kind(k, Kind::Int);
  const auto& arr = a.at(0)->items;
  const int64_t len = int64_t(arr.size());
  int64_t start = 0, stop, step = 1;
  if (a.count() == 2) {
    stop = a.at(1)->i;
  } else {
    start = a.at(1)->i;
    stop = a.at(2)->i;
    if (a.count() == 4) step = a.at(3)->i;
  }
  if (step == 0) throw RenderError("slice step cannot be zero");
  std::vector<ValuePtr> out;
  for (size_t k : slice_indices(len, start, stop, step)) out.push_back(arr[k]);
  return same_shape(*a.at(0), std::move(out));
}

ValuePtr sort_fn(const Args& a) {
  a.need(1, 4);
  a.need_kind(0, Kind::Array);
  const bool reverse = a.kw_or_pos("reverse", 1)->truthy();
  ValuePtr attr = a.kw_or_pos("attribute", 3);
  std::vector<ValuePtr> items = a.at(0)->items;
  auto key = [&](const ValuePtr& v) -> ValuePtr {
    if (attr->is_undefined()) return v;
    if (attr->kind == Kind::Int && v->is_array()) {
      const int64_t i = attr->i < 0 ? attr->i + int64_t(v->items.size()) : attr->i;
      if (i < 0 || i >= int64_t(v->items.size())) throw RenderError("sort: index out of range");
      return v->items[size_t(i)];
    }
    if (attr->kind != Kind::Int && v->is_object()) {
      ValuePtr x = v->get(*attr);
      if (!x) throw RenderError("sort: key '" + attr->to_str() + "' not found");
      return x;
    }
    throw RenderError("sort: cannot take attribute of " + v->type_name());
  };
  // stable_sort never reads out of range even when a comparison is inconsistent.
  std::stable_sort(items.begin(), items.end(), [&](const ValuePtr& x, const ValuePtr& y) {
    return values_compare(*key(x), *key(y), reverse ? Cmp::Gt : Cmp::Lt);
  });
  return same_shape(*a.at(0), std::move(items));
}

ValuePtr extreme(const Args& a, Cmp better) {
  a.need(1, 4);
  a.need_kind(0, Kind::Array);
  if (!a.kw_or_pos("attribute", 2)->is_undefined()) throw RenderError(a.name + "(attribute=) is not supported");
  const auto& items = a.at(0)->items;
  if (items.empty()) return make_undefined();
  ValuePtr best = items[0];
  for (const auto& x : items)
    if (values_compare(*x, *best, better)) best = x;
  return best;
}

ValuePtr dictsort_fn(const Args& a) {
  a.need(1);
  a.need_kind(0, Kind::Object);
  ValuePtr by = a.kw_or_pos("by", 2);
  const bool reverse = a.kw_or_pos("reverse", 3)->truthy();
  const bool by_value = by->is_string() && by->s == "value";
  auto out = make_object();
  out->entries = a.at(0)->entries;
  std::stable_sort(out->entries.begin(), out->entries.end(), [&](const auto& x, const auto& y) {
    const Value& l = by_value ? *x.second : *x.first;
    const Value& r = by_value ? *y.second : *y.first;
    return values_compare(l, r, reverse ? Cmp::Gt : Cmp::Lt);
  });
  return out;
}

ValuePtr to_string(const Args& a) {
  a.need(1);
  if (a.ctx && a.ctx->state->stats) mark_used(*a.at(0), true);
  return make_string(a.at(0)->to_str());
}

template <Kind K>
ValuePtr empty(const Args&) {
  if constexpr (K == Kind::String) return make_string("");
  else if constexpr (K == Kind::Int) return make_int(0);
  else if constexpr (K == Kind::Array) return make_array();
  else return make_undefined();
}

ValuePtr number_fn(const Args& a, Kind to) {
  a.need(1);
  const Value& x = *a.at(0);
  return to == Kind::Int ? make_int(x.as_int()) : make_float(x.kind == Kind::Bool ? double(x.b) : x.as_float());
}

}  // namespace

const Builtins& sequence_builtins() {
  static const Builtins table = {
      {"default", default_filter},
      {"list", [](const Args& a) {
         a.need(1);
         return make_array(a.at(0)->items);
       }},
      {"first", [](const Args& a) {
         a.need(1);
         return a.at(0)->items.empty() ? make_undefined() : a.at(0)->items.front();
       }},
      {"last", [](const Args& a) {
         a.need(1);
         return a.at(0)->items.empty() ? make_undefined() : a.at(0)->items.back();
       }},
      {"length", [](const Args& a) {
         a.need(1);
         return make_int(int64_t(a.at(0)->items.size()));
       }},
      {"slice", slice_seq},
      {"selectattr", [](const Args& a) { return select_fn(a, false); }},
      {"select", [](const Args& a) { return select_fn(a, false); }},
      {"rejectattr", [](const Args& a) { return select_fn(a, true); }},
      {"reject", [](const Args& a) { return select_fn(a, true); }},
      {"join", join_fn},
      {"string", to_string},
      {"tojson", tojson_builtin},
      {"map", map_fn},
      {"append", [](const Args& a) {
         a.need(2, 2);
         a.need_kind(0, Kind::Array);
         if (a.at(0)->kind == Kind::Tuple) throw RenderError("cannot append to a tuple");
         a.at(0)->items.push_back(a.at(1));
         return a.at(0);
       }},
      {"pop", [](const Args& a) {
         a.need(1, 2);
         a.need_kind(1, Kind::Int);
         auto& items = a.at(0)->items;
         if (a.at(0)->kind == Kind::Tuple) throw RenderError("cannot pop from a tuple");
         int64_t i = a.count() == 2 ? a.at(1)->i : -1;
         if (i < 0) i += int64_t(items.size());
         if (i < 0 || i >= int64_t(items.size())) throw RenderError("pop index out of range");
         ValuePtr v = items[size_t(i)];
         items.erase(items.begin() + i);
         return v;
       }},
      {"sort", sort_fn},
      {"reverse", [](const Args& a) {
         a.need(1);
         std::vector<ValuePtr> items(a.at(0)->items.rbegin(), a.at(0)->items.rend());
         return same_shape(*a.at(0), std::move(items));
       }},
      {"min", [](const Args& a) { return extreme(a, Cmp::Lt); }},
      {"max", [](const Args& a) { return extreme(a, Cmp::Gt); }},
  };
  return table;
}

const Builtins& object_builtins() {
  static const Builtins table = {
      {"get", [](const Args& a) {
         a.need(2, 3);
         a.need_kind(1, Kind::String);
         ValuePtr v = a.at(0)->get(*a.at(1));
         return v ? v : a.at_or(2, make_none());
       }},
      {"keys", [](const Args& a) {
         a.need(1);
         auto out = make_array();
         for (const auto& e : a.at(0)->entries) out->items.push_back(e.first);
         return out;
       }},
      {"values", [](const Args& a) {
         a.need(1);
         auto out = make_array();
         for (const auto& e : a.at(0)->entries) out->items.push_back(e.second);
         return out;
       }},
      {"items", [](const Args& a) {
         a.need(1);
         auto out = make_array();
         for (const auto& e : a.at(0)->entries) out->items.push_back(make_tuple({e.first, e.second}));
         return out;
       }},
      {"tojson", tojson_builtin},
      {"string", to_string},
      {"length", [](const Args& a) {
         a.need(1);
         return make_int(int64_t(a.at(0)->entries.size()));
       }},
      {"dictsort", dictsort_fn},
  };
  return table;
}

const Builtins& scalar_builtins(Kind k) {
  static const Builtins numbers = {
      {"default", default_filter},
      {"abs", [](const Args& a) {
         a.need(1);
         const Value& x = *a.at(0);
         if (x.kind == Kind::Int && x.i == INT64_MIN) throw RenderError("abs: integer overflow");
         return x.kind == Kind::Int ? make_int(x.i < 0 ? -x.i : x.i) : make_float(std::fabs(x.f));
       }},
      {"int", [](const Args& a) { return number_fn(a, Kind::Int); }},
      {"float", [](const Args& a) { return number_fn(a, Kind::Float); }},
      {"safe", tojson_builtin},
      {"string", tojson_builtin},
      {"tojson", tojson_builtin},
  };
  static const Builtin bool_str = [](const Args& a) {
    a.need(1);
    return make_string(a.at(0)->b ? "True" : "False");
  };
  static const Builtins booleans = {
      {"default", default_filter},
      {"int", [](const Args& a) { return number_fn(a, Kind::Int); }},
      {"float", [](const Args& a) { return number_fn(a, Kind::Float); }},
      {"safe", bool_str},
      {"string", bool_str},
      {"tojson", tojson_builtin},
  };
  static const Builtin none_str = [](const Args&) { return make_string("None"); };
  static const Builtins none = {
      {"default", default_filter}, {"tojson", tojson_builtin},     {"string", none_str},
      {"safe", none_str},          {"items", empty<Kind::Array>},  {"map", empty<Kind::Array>},
      {"reject", empty<Kind::Array>}, {"rejectattr", empty<Kind::Array>}, {"select", empty<Kind::Array>},
      {"selectattr", empty<Kind::Array>}, {"unique", empty<Kind::Array>},
  };
  static const Builtins undefined = {
      {"default", default_filter},         {"capitalize", empty<Kind::String>},
      {"first", empty<Kind::Undefined>},   {"items", empty<Kind::Array>},
      {"join", empty<Kind::String>},       {"last", empty<Kind::Undefined>},
      {"length", empty<Kind::Int>},        {"list", empty<Kind::Array>},
      {"lower", empty<Kind::String>},      {"map", empty<Kind::Array>},
      {"max", empty<Kind::Undefined>},     {"min", empty<Kind::Undefined>},
      {"reject", empty<Kind::Array>},      {"rejectattr", empty<Kind::Array>},
      {"replace", empty<Kind::String>},    {"reverse", empty<Kind::Array>},
      {"safe", empty<Kind::String>},       {"select", empty<Kind::Array>},
      {"selectattr", empty<Kind::Array>},  {"sort", empty<Kind::Array>},
      {"string", empty<Kind::String>},     {"strip", empty<Kind::String>},
      {"sum", empty<Kind::Int>},           {"title", empty<Kind::String>},
      {"truncate", empty<Kind::String>},   {"unique", empty<Kind::Array>},
      {"upper", empty<Kind::String>},      {"wordcount", empty<Kind::Int>},
  };
  switch (k) {
    case Kind::Int:
    case Kind::Float: return numbers;
    case Kind::Bool: return booleans;
    case Kind::None: return none;
    default: return undefined;
  }
}

}  // namespace tessel::jinja
