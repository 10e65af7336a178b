// String methods and filters (x.strip(), x|upper, ...), with llama.cpp's
// semantics: byte-wise ASCII case mapping, split(" ") for split(), length in bytes.
#include <algorithm>
#include <cctype>
#include <sstream>

#include "jinja/eval.hpp"

namespace tessel::jinja {
namespace {

bool space(unsigned char c) { return std::isspace(c) != 0; }

std::string strip(const std::string& s, bool left, bool right, const Value& chars) {
  auto drop = [&](unsigned char c) { return chars.is_undefined() ? space(c) : chars.to_str().find(char(c)) != std::string::npos; };
  size_t b = 0, e = s.size();
  if (left)
    while (b < e && drop(s[b])) ++b;
  if (right)
    while (e > b && drop(s[e - 1])) --e;
  return s.substr(b, e - b);
}

ValuePtr strip_fn(const Args& a, bool left, bool right) {
  a.need(1);
  a.need_kind(0, Kind::String);
  return make_string(strip(a.at(0)->s, left, right, *a.kw_or_pos("chars", 1)));
}

template <class F>
ValuePtr map_chars(const Args& a, F f) {
  a.need(1);
  a.need_kind(0, Kind::String);
  std::string s = a.at(0)->s;
  f(s);
  return make_string(std::move(s));
}

ValuePtr split_fn(const Args& a, bool from_right) {
  a.need(1, 3);
  a.need_kind(0, Kind::String);
  std::string s = a.at(0)->s;
  const std::string delim = a.count() > 1 ? a.at(1)->to_str() : " ";
  if (delim.empty()) throw RenderError("split: empty separator");
  int64_t max = a.count() > 2 ? a.at(2)->as_int() : -1;
  std::vector<ValuePtr> parts;
  size_t pos;
  while (max != 0 && (pos = from_right ? s.rfind(delim) : s.find(delim)) != std::string::npos) {
    if (from_right) {
      parts.push_back(make_string(s.substr(pos + delim.size())));
      s.erase(pos);
    } else {
      parts.push_back(make_string(s.substr(0, pos)));
      s.erase(0, pos + delim.size());
    }
    --max;
  }
  parts.push_back(make_string(s));
  if (from_right) std::reverse(parts.begin(), parts.end());
  return make_array(std::move(parts));
}

ValuePtr replace_fn(const Args& a) {
  a.need(3);
  for (size_t k = 0; k < 3; ++k) a.need_kind(k, Kind::String);
  a.need_kind(3, Kind::Int);
  std::string s = a.at(0)->s;
  const std::string& from = a.at(1)->s;
  const std::string& to = a.at(2)->s;
  if (a.count() > 3 && a.at(3)->i > 0) throw RenderError("replace() with a count is not supported");
  if (from == to) return make_string(s);
  std::string out;
  if (from.empty()) {
    if ((s.size() + 1) * to.size() > (size_t(64) << 20)) throw RenderError("replace() result too long");
    out = to;
    for (char c : s) out += std::string(1, c) + to;
    return make_string(out);
  }
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
    if (s.size() > (size_t(256) << 20)) throw RenderError("replace() result too long");
  }
  return make_string(s);
}

ValuePtr format_fn(const Args& a) {
  a.need(1);
  a.need_kind(0, Kind::String);
  const std::string& fmt = a.at(0)->s;
  std::string out;
  size_t next = 1;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '{') {
      out += fmt[i];
      continue;
    }
    if (i + 1 >= fmt.size() || fmt[i + 1] != '}') throw RenderError("format() supports only '{}' placeholders");
    ++i;
    out += a.at(next++)->to_str();
  }
  return make_string(out);
}

ValuePtr slice_str(const Args& a) {
  a.need(4, 4);
  for (size_t k = 1; k < 4; ++k) a.need_kind(k, Kind::Int);
  const std::string& s = a.at(0)->s;
  const int64_t len = int64_t(s.size()), step = a.at(3)->i;
  int64_t start = a.at(1)->i, stop = a.at(2)->i;
  if (step == 0) throw RenderError("slice step cannot be zero");
  std::string out;
  for (size_t k : slice_indices(len, start, stop, step)) out += s[k];
  return make_string(out);
}

ValuePtr indent_fn(const Args& a) {
  a.need(1, 4);
  a.need_kind(0, Kind::String);
  ValuePtr width = a.kw_or_pos("width", 1);
  const bool first = a.kw_or_pos("first", 2)->truthy();
  const bool blank = a.kw_or_pos("blank", 3)->truthy();
  std::string pad = "    ";
  if (width->kind == Kind::Int) pad.assign(size_t(std::clamp<int64_t>(width->i, 0, 1024)), ' ');
  else if (width->is_string()) pad = width->s;
  const std::string& in = a.at(0)->s;
  std::string out;
  std::istringstream lines(in);
  std::string line;
  bool any = false;
  while (std::getline(lines, line)) {
    if (any) out += '\n';
    if (!any ? first : (!line.empty() || blank)) out += pad;
    out += line;
    any = true;
  }
  if (!in.empty() && in.back() == '\n') {
    out += '\n';
    if (blank) out += pad;
  }
  return make_string(out);
}

// Like Python's str.__int__ via std::stoi: leading spaces, sign, base prefix.
ValuePtr int_fn(const Args& a) {
  ValuePtr in = a.at(0), fallback = a.kw_or_pos("default", 1), base_v = a.kw_or_pos("base", 2);
  const int64_t base = base_v->is_undefined() ? 10 : base_v->as_int();
  if (base != 0 && (base < 2 || base > 36)) throw RenderError("int() base must be 0 or 2..36");
  a.need_kind(0, Kind::String);
  try {
    return make_int(std::stoi(in->s, nullptr, int(base)));
  } catch (const std::exception&) {
    return make_int(fallback->is_undefined() ? 0 : fallback->as_int());
  }
}

ValuePtr float_fn(const Args& a) {
  a.need(1);
  a.need_kind(0, Kind::String);
  ValuePtr fallback = a.kw_or_pos("default", 1);
  try {
    return make_float(std::stod(a.at(0)->s));
  } catch (const std::exception&) {
    return make_float(fallback->is_undefined() ? 0.0 : fallback->as_float());
  }
}

// Extensions llama.cpp lacks (a template using them fails there): Python's
// str.find and str.count, Jinja's wordcount.
ValuePtr find_fn(const Args& a) {
  a.need(2);
  a.need_kind(1, Kind::String);
  const size_t p = a.at(0)->s.find(a.at(1)->s);
  return make_int(p == std::string::npos ? -1 : int64_t(p));
}

ValuePtr count_fn(const Args& a) {
  a.need(2);
  a.need_kind(1, Kind::String);
  const std::string &s = a.at(0)->s, &sub = a.at(1)->s;
  if (sub.empty()) return make_int(int64_t(s.size() + 1));
  int64_t n = 0;
  for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
  return make_int(n);
}

ValuePtr wordcount_fn(const Args& a) {
  a.need(1);
  int64_t n = 0;
  bool in_word = false;
  for (unsigned char c : a.at(0)->s) {
    if (space(c)) in_word = false;
    else if (!in_word) in_word = true, ++n;
  }
  return make_int(n);
}

}  // namespace

ValuePtr default_filter(const Args& a);  // builtins_collections.cpp

const Builtins& string_builtins() {
  static const Builtins table = {
      {"default", default_filter},
      {"upper", [](const Args& a) {
         return map_chars(a, [](std::string& s) { for (auto& c : s) c = char(std::toupper((unsigned char)c)); });
       }},
      {"lower", [](const Args& a) {
         return map_chars(a, [](std::string& s) { for (auto& c : s) c = char(std::tolower((unsigned char)c)); });
       }},
      {"strip", [](const Args& a) { return strip_fn(a, true, true); }},
      {"lstrip", [](const Args& a) { return strip_fn(a, true, false); }},
      {"rstrip", [](const Args& a) { return strip_fn(a, false, true); }},
      {"title", [](const Args& a) {
         return map_chars(a, [](std::string& s) {
           bool next_up = true;
           for (auto& c : s) {
             const auto u = static_cast<unsigned char>(c);
             if (space(u)) next_up = true;
             else if (next_up) c = char(std::toupper(u)), next_up = false;
             else c = char(std::tolower(u));
           }
         });
       }},
      {"capitalize", [](const Args& a) {
         return map_chars(a, [](std::string& s) {
           for (size_t k = 0; k < s.size(); ++k)
             s[k] = char(k ? std::tolower((unsigned char)s[k]) : std::toupper((unsigned char)s[k]));
         });
       }},
      {"length", [](const Args& a) {
         a.need(1);
         a.need_kind(0, Kind::String);
         return make_int(int64_t(a.at(0)->s.size()));
       }},
      {"startswith", [](const Args& a) {
         a.need(2);
         a.need_kind(0, Kind::String);
         a.need_kind(1, Kind::String);
         return make_bool(a.at(0)->s.rfind(a.at(1)->s, 0) == 0);
       }},
      {"endswith", [](const Args& a) {
         a.need(2);
         a.need_kind(0, Kind::String);
         a.need_kind(1, Kind::String);
         const std::string &s = a.at(0)->s, &x = a.at(1)->s;
         return make_bool(s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0);
       }},
      {"split", [](const Args& a) { return split_fn(a, false); }},
      {"rsplit", [](const Args& a) { return split_fn(a, true); }},
      {"replace", replace_fn},
      {"format", format_fn},
      {"int", int_fn},
      {"float", float_fn},
      {"string", [](const Args& a) {
         a.need(1);
         return make_string(a.at(0)->s);
       }},
      {"slice", slice_str},
      {"safe", [](const Args& a) {
         a.need(1);
         return a.at(0);
       }},
      {"tojson", tojson_builtin},
      {"indent", indent_fn},
      {"join", [](const Args&) -> ValuePtr { throw RenderError("join on a string is not supported"); }},
      {"find", find_fn},
      {"count", count_fn},
      {"wordcount", wordcount_fn},
  };
  return table;
}

}  // namespace tessel::jinja
