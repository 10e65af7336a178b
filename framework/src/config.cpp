// Pipeline YAML → PipelineSpec. Validation is strict (an unknown key is an
// error) because a silently ignored typo in a config is worse than a refusal.
#include "tessel/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "tessel/error.hpp"
#include "tessel/output_file.hpp"
#include "tessel/threadpool.hpp"

namespace tessel {

namespace {

// A tessel source checkout: shared data lives beside it, in ../shared.
bool is_checkout(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::exists(dir / "framework" / "include" / "tessel" / "pipeline.hpp", ec) &&
         std::filesystem::exists(dir / "CMakeLists.txt", ec);
}

}  // namespace

// No path is compiled in (an installed tessel must not read data from beside
// the checkout it was built from): TESSEL_SHARED, else the ../shared of the
// checkout holding the current directory or the running binary.
std::string shared_dir_default() {
  if (const char* env = std::getenv("TESSEL_SHARED"); env && *env) return env;
  std::error_code ec;
  std::vector<std::filesystem::path> starts = {std::filesystem::current_path(ec)};
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) starts.push_back(exe.parent_path());
  for (auto dir : starts) {
    for (; !dir.empty(); dir = dir.parent_path()) {
      if (is_checkout(dir)) return (dir / ".." / "shared").lexically_normal().string();
      if (dir == dir.root_path()) break;
    }
  }
  throw Error("${TESSEL_SHARED} is not set and neither the current directory nor the tessel binary is inside a "
              "tessel checkout: set TESSEL_SHARED to the folder holding models/ (see README, 'Models and shared data')");
}

namespace {

struct Reader {
  std::string source;
  std::vector<std::string> overridden;  // keys set by --set: errors name the flag, not a line

  std::string where(const YAML::Node& n, const std::string& key) const {
    for (const auto& o : overridden)
      if (key == o || key.rfind(o + ".", 0) == 0 || key.rfind(o + "[", 0) == 0)
        return "--set " + o + " (over " + source + "): '" + key + "'";
    const YAML::Mark m = n.Mark();
    std::string at = source;
    if (m.line >= 0) at += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    return at + ": '" + key + "'";
  }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& key, const std::string& what) const {
    throw Error(where(n, key) + " " + what);
  }

  // Expands ${VAR}; TESSEL_SHARED falls back to the repo's ../shared.
  std::string expand(const YAML::Node& n, const std::string& key, const std::string& s) const {
    std::string out;
    for (size_t i = 0; i < s.size();) {
      if (s.compare(i, 2, "${") == 0) {
        size_t end = s.find('}', i);
        if (end == std::string::npos) fail(n, key, "has an unterminated ${...}");
        std::string var = s.substr(i + 2, end - i - 2);
        const char* val = std::getenv(var.c_str());
        if (val && *val) out += val;
        else if (var == "TESSEL_SHARED") out += shared_dir_default();
        else fail(n, key, "uses ${" + var + "}, which is not set in the environment");
        i = end + 1;
      } else {
        out += s[i++];
      }
    }
    return out;
  }

  std::string str(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "must be a string");
    return expand(n, key, n.Scalar());
  }
  template <class T>
  T num(const YAML::Node& n, const std::string& key, const char* what) const {
    if (!n.IsScalar()) fail(n, key, std::string("must be ") + what);
    try {
      return n.as<T>();
    } catch (const YAML::Exception&) {
      fail(n, key, std::string("must be ") + what + ", got '" + n.Scalar() + "'");
    }
  }
  int integer(const YAML::Node& n, const std::string& key) const { return num<int>(n, key, "an integer"); }
  float real(const YAML::Node& n, const std::string& key) const { return num<float>(n, key, "a number"); }
  bool boolean(const YAML::Node& n, const std::string& key) const { return num<bool>(n, key, "true or false"); }
  std::vector<std::string> strings(const YAML::Node& n, const std::string& key) const {
    std::vector<std::string> out;
    if (n.IsScalar()) { out.push_back(str(n, key)); return out; }
    if (!n.IsSequence()) fail(n, key, "must be a list of strings");
    for (const auto& item : n) out.push_back(str(item, key));
    return out;
  }

  using Handler = std::function<void(const YAML::Node&, const std::string& key)>;
  // Visits a mapping; an unknown key is an error listing the known ones.
  void map(const YAML::Node& n, const std::string& prefix, const std::map<std::string, Handler>& known) const {
    if (!n.IsMap()) fail(n, prefix.empty() ? "(top level)" : prefix, "must be a mapping of keys to values");
    std::vector<std::string> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) fail(kv.first, prefix.empty() ? "(top level)" : prefix, "has a key that is not a plain name");
      std::string k = kv.first.Scalar();
      std::string full = prefix.empty() ? k : prefix + "." + k;
      // yaml-cpp keeps both copies of a repeated key; which one wins would be a guess.
      if (std::find(seen.begin(), seen.end(), k) != seen.end()) fail(kv.first, full, "is given twice");
      seen.push_back(k);
      auto it = known.find(k);
      if (it == known.end()) {
        std::string list;
        for (const auto& [name, h] : known) list += (list.empty() ? "" : ", ") + name;
        fail(kv.first, full, "is not a known key (expected one of: " + list + ")");
      }
      it->second(kv.second, full);
    }
  }
};

void require_one_of(const Reader& r, const YAML::Node& n, const std::string& key, const std::string& v,
                    std::initializer_list<const char*> allowed) {
  for (const char* a : allowed)
    if (v == a) return;
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : " | ") + std::string(a);
  r.fail(n, key, "is '" + v + "', expected " + list);
}

InputSegment read_input(const Reader& r, const YAML::Node& n, const std::string& key) {
  InputSegment seg;
  auto param = [&](const char* name) {
    return Reader::Handler([&seg, &r, name](const YAML::Node& v, const std::string& k) {
      if (!v.IsSequence()) { seg.params[name] = r.str(v, k); return; }
      std::string joined;
      for (const auto& e : v) {
        if (!joined.empty()) joined.push_back(',');
        joined.append(r.str(e, k));
      }
      seg.params[name] = joined;
    });
  };
  r.map(n, key, {
      {"adapter", [&](auto& v, auto& k) { seg.adapter = r.str(v, k); }},
      {"text", [&](auto& v, auto& k) { seg.text = r.str(v, k); }},
      {"ids", [&](auto& v, auto& k) {
         if (!v.IsSequence()) r.fail(v, k, "must be a list of token ids");
         for (const auto& e : v) seg.ids.push_back(r.integer(e, k));
       }},
      {"file", [&](auto& v, auto& k) { seg.file = r.str(v, k); }},
      {"format", param("format")},
      {"shape", param("shape")},
      {"mmproj", param("mmproj")},
      {"parse_special", param("parse_special")},
      {"add_special", param("add_special")},
      // Adapter-specific options, passed through as strings (see docs/inputs.md).
      {"params", [&](auto& v, auto& k) {
         if (!v.IsMap()) r.fail(v, k, "must be a mapping of option names to values");
         for (const auto& kv : v) seg.params[kv.first.Scalar()] = r.str(kv.second, k + "." + kv.first.Scalar());
       }},
  });
  if (seg.adapter.empty()) r.fail(n, key + ".adapter", "is required (tokens | embeddings | image)");
  return seg;
}

void read_spec(const Reader& r, const YAML::Node& root, PipelineSpec& s) {
  bool have_model = false;
  r.map(root, "", {
    {"task", [&](auto& v, auto& k) {
       s.task = r.str(v, k);
       require_one_of(r, v, k, s.task, {"generate", "embed", "score", "serve"});
     }},
    {"model", [&](auto& v, auto& k) {
       have_model = true;
       if (v.IsScalar()) { s.model.path = r.str(v, k); return; }
       bool have_path = false;
       r.map(v, k, {
         {"path", [&](auto& x, auto& kk) { s.model.path = r.str(x, kk); have_path = true; }},
         {"format", [&](auto& x, auto& kk) { s.model.format = r.str(x, kk); }},
         {"mmproj", [&](auto& x, auto& kk) { s.model.mmproj = r.str(x, kk); }},
         {"quantize", [&](auto& x, auto& kk) { s.model.quantize = r.str(x, kk); }},
       });
       if (!have_path) r.fail(v, k + ".path", "is required (the model file)");
     }},
    {"architecture", [&](auto& v, auto& k) { s.architecture = r.str(v, k); }},
    {"tokenizer", [&](auto& v, auto& k) { s.tokenizer = r.str(v, k); }},
    {"inputs", [&](auto& v, auto& k) {
       if (!v.IsSequence()) r.fail(v, k, "must be a list of input segments");
       for (size_t i = 0; i < v.size(); ++i) s.inputs.push_back(read_input(r, v[i], k + "[" + std::to_string(i) + "]"));
     }},
    {"runtime", [&](auto& v, auto& k) {
       r.map(v, k, {
         {"threads", [&](auto& x, auto& kk) { s.runtime.threads = r.integer(x, kk); }},
         {"context", [&](auto& x, auto& kk) { s.runtime.n_ctx = r.integer(x, kk); }},
         {"batch", [&](auto& x, auto& kk) { s.runtime.n_batch = r.integer(x, kk); }},
         {"kv_type", [&](auto& x, auto& kk) {
            std::string t = r.str(x, kk);
            require_one_of(r, x, kk, t, {"f16", "f32"});
            s.runtime.kv_f16 = t == "f16";
          }},
         {"flash_attn", [&](auto& x, auto& kk) { s.runtime.flash_attn = r.boolean(x, kk); }},
       });
     }},
    {"generate", [&](auto& v, auto& k) {
       auto& g = s.generate;
       r.map(v, k, {
         {"max_tokens", [&](auto& x, auto& kk) { g.max_tokens = r.integer(x, kk); }},
         {"chat_template", [&](auto& x, auto& kk) { g.chat_template = r.str(x, kk); }},
         {"chat_template_file", [&](auto& x, auto& kk) { g.chat_template_file = r.str(x, kk); }},
         {"chat", [&](auto& x, auto& kk) { g.chat = r.boolean(x, kk); }},
         {"system", [&](auto& x, auto& kk) { g.system = r.str(x, kk); }},
         {"stop", [&](auto& x, auto& kk) { g.stop = r.strings(x, kk); }},
         {"ignore_eos", [&](auto& x, auto& kk) { g.ignore_eos = r.boolean(x, kk); }},
         {"display_prompt", [&](auto& x, auto& kk) { g.display_prompt = r.boolean(x, kk); }},
         {"sampler", [&](auto& x, auto& kk) {
            auto& sp = g.sampler;
            r.map(x, kk, {
              {"temperature", [&](auto& y, auto& k3) { sp.temperature = r.real(y, k3); }},
              {"top_k", [&](auto& y, auto& k3) { sp.top_k = r.integer(y, k3); }},
              {"top_p", [&](auto& y, auto& k3) { sp.top_p = r.real(y, k3); }},
              {"min_p", [&](auto& y, auto& k3) { sp.min_p = r.real(y, k3); }},
              {"typical_p", [&](auto& y, auto& k3) { sp.typical_p = r.real(y, k3); }},
              {"repeat_penalty", [&](auto& y, auto& k3) { sp.repeat_penalty = r.real(y, k3); }},
              {"repeat_last_n", [&](auto& y, auto& k3) { sp.repeat_last_n = r.integer(y, k3); }},
              {"frequency_penalty", [&](auto& y, auto& k3) { sp.frequency_penalty = r.real(y, k3); }},
              {"presence_penalty", [&](auto& y, auto& k3) { sp.presence_penalty = r.real(y, k3); }},
              {"seed", [&](auto& y, auto& k3) { sp.seed = r.num<uint64_t>(y, k3, "a non-negative integer"); }},
            });
          }},
       });
     }},
    {"embed", [&](auto& v, auto& k) {
       auto& e = s.embed;
       r.map(v, k, {
         {"pooling", [&](auto& x, auto& kk) {
            e.pooling = r.str(x, kk);
            require_one_of(r, x, kk, e.pooling, {"auto", "none", "mean", "cls", "last", "rank"});
          }},
         {"normalize", [&](auto& x, auto& kk) { e.normalize = r.integer(x, kk); }},
         {"output", [&](auto& x, auto& kk) {
            e.output = r.str(x, kk);
            require_one_of(r, x, kk, e.output, {"json", "json+", "array", "raw", "jsonl", "npy", "txt", "text"});
          }},
         {"out", [&](auto& x, auto& kk) { e.out_path = r.str(x, kk); }},
         {"dims", [&](auto& x, auto& kk) { e.dims = r.integer(x, kk); }},
         {"task", [&](auto& x, auto& kk) { e.task = r.str(x, kk); }},
         {"prefix", [&](auto& x, auto& kk) { e.prefix = r.str(x, kk); }},
         {"truncate", [&](auto& x, auto& kk) { e.truncate = r.boolean(x, kk); }},
       });
     }},
    {"serve", [&](auto& v, auto& k) {
       auto& sv = s.serve;
       r.map(v, k, {
         {"host", [&](auto& x, auto& kk) { sv.host = r.str(x, kk); }},
         {"port", [&](auto& x, auto& kk) { sv.port = r.integer(x, kk); }},
         {"slots", [&](auto& x, auto& kk) { sv.slots = r.integer(x, kk); }},
         {"api_key", [&](auto& x, auto& kk) { sv.api_key = r.str(x, kk); }},
         {"chat_template_file", [&](auto& x, auto& kk) { sv.chat_template_file = r.str(x, kk); }},
         {"alias", [&](auto& x, auto& kk) { sv.alias = r.str(x, kk); }},
         {"max_queue", [&](auto& x, auto& kk) { sv.max_queue = r.integer(x, kk); }},
         {"max_body", [&](auto& x, auto& kk) { sv.max_body = r.num<int64_t>(x, kk, "a byte count"); }},
       });
     }},
    {"plugins", [&](auto& v, auto& k) {
       r.map(v, k, {
         {"path", [&](auto& x, auto& kk) {
            for (auto& p : r.strings(x, kk)) s.plugin_paths.emplace_back(p);
          }},
       });
     }},
    {"output", [&](auto& v, auto& k) { s.output = r.str(v, k); }},
  });
  if (!have_model) throw Error(r.source + ": 'model' is required (model: { path: FILE.gguf })");
  // Named through where(): a value set by --set blames the flag, not the file.
  auto check = [&](bool ok, const char* a, const char* b, const char* key, const std::string& what) {
    if (!ok) r.fail(root[a][b], key, what);
  };
  check(s.runtime.threads >= 0, "runtime", "threads", "runtime.threads", "must be >= 0");
  check(s.runtime.n_ctx >= 0, "runtime", "context", "runtime.context", "must be >= 0");
  check(s.runtime.n_batch > 0, "runtime", "batch", "runtime.batch", "must be > 0");
  check(s.generate.max_tokens >= 0, "generate", "max_tokens", "generate.max_tokens", "must be >= 0");
  check(s.serve.port >= 0 && s.serve.port <= 65535, "serve", "port", "serve.port",
        "must be 0..65535, got " + std::to_string(s.serve.port));
  check(s.serve.slots >= 1, "serve", "slots", "serve.slots", "must be >= 1, got " + std::to_string(s.serve.slots));
  check(s.serve.max_queue >= 0, "serve", "max_queue", "serve.max_queue", "must be >= 0");
  check(s.serve.max_body >= 1, "serve", "max_body", "serve.max_body", "must be > 0");
}

// "a.b.c=value": sets root[a][b][c] = value (parsed as YAML, so lists work).
void apply_override(YAML::Node& root, const std::string& ov) {
  auto eq = ov.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error("--set '" + ov + "': expected key.sub=value");
  std::string path = ov.substr(0, eq), value = ov.substr(eq + 1);
  YAML::Node parsed;
  try {
    parsed = YAML::Load(value);
  } catch (const YAML::Exception&) {
    parsed = YAML::Node(value);
  }
  if (!parsed.IsDefined() || parsed.IsNull()) parsed = YAML::Node(value);
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) {
    if (p.empty()) throw Error("--set '" + ov + "': empty key segment");
    parts.push_back(p);
  }
  // yaml-cpp nodes are references: walk with copies that alias the tree.
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = chain.back()[parts[i]];
    if (next.IsDefined() && !next.IsMap() && !next.IsNull())
      throw Error("--set '" + ov + "': '" + parts[i] + "' is not a mapping");
    chain.push_back(next);
  }
  chain.back()[parts.back()] = parsed;
}

}  // namespace

namespace {

// yaml-cpp gives up on deep flow nesting with the message "bad file" (and
// recursion costs stack): a config is a few levels deep, so refuse early.
void check_nesting(const std::string& text, const std::string& source) {
  constexpr int kMaxDepth = 64;
  int depth = 0, line = 1;
  char quote = 0;
  for (char c : text) {
    if (c == '\n') ++line;
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '\'') quote = c;
    else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth)
        throw Error(source + ":" + std::to_string(line) + ": invalid YAML: nested more than " +
                    std::to_string(kMaxDepth) + " levels deep");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

}  // namespace

PipelineSpec parse_pipeline(const std::string& yaml_text, const std::string& source,
                            const std::vector<std::string>& overrides) {
  check_nesting(yaml_text, source);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw Error(source + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                ": invalid YAML: " + (e.msg == "bad file" ? "too deeply nested or unreadable" : e.msg));
  } catch (const YAML::Exception& e) {
    throw Error(source + ": invalid YAML: " + e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  for (const auto& ov : overrides) apply_override(root, ov);
  PipelineSpec spec;
  spec.source = source;
  Reader r{source, {}};
  for (const auto& ov : overrides) r.overridden.push_back(ov.substr(0, ov.find('=')));
  read_spec(r, root, spec);
  return spec;
}

PipelineSpec load_pipeline(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  note_input(file);
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_pipeline(ss.str(), file.string(), overrides);
}

// --- tasks ---

namespace {
std::map<std::string, TaskFn>& task_table() {
  static std::map<std::string, TaskFn> table;
  return table;
}
}  // namespace

TaskRegistration::TaskRegistration(const char* name, TaskFn fn) { task_table()[name] = fn; }

std::vector<std::string> task_names() {
  std::vector<std::string> out;
  for (auto& [n, f] : task_table()) out.push_back(n);
  return out;
}

void check_runtime(const PipelineSpec& spec) {
  const RuntimeOptions& rt = spec.runtime;
  const std::string at = spec.source + ": ";
  const int max_threads = max_useful_threads();
  if (rt.threads < 0 || rt.threads > max_threads)
    throw Error(at + "runtime.threads (-t) is " + std::to_string(rt.threads) + ": expected 0 (all " +
                std::to_string(std::thread::hardware_concurrency()) + " cores) up to " +
                std::to_string(max_threads));
  // Positions are 32-bit and the KV cache is sized from this: the memory
  // check happens when the cache is made, this one catches nonsense early.
  if (rt.n_ctx < 0 || rt.n_ctx > kMaxContext)
    throw Error(at + "runtime.context (-c) is " + std::to_string(rt.n_ctx) + ": expected 0 (from the model) up to " +
                std::to_string(kMaxContext));
  if (rt.n_batch <= 0 || rt.n_batch > kMaxContext)
    throw Error(at + "runtime.batch (-b) is " + std::to_string(rt.n_batch) + ": expected 1 up to " +
                std::to_string(kMaxContext));
}

int run_task(const PipelineSpec& spec) {
  check_runtime(spec);
  // Refuse an output that is one of the inputs before any work, not at the end.
  for (const auto& p : {spec.model.path, spec.model.mmproj}) if (!p.empty()) note_input(p);
  for (const InputSegment& seg : spec.inputs) if (!seg.file.empty()) note_input(seg.file);
  if (!spec.output.empty()) check_not_an_input(spec.output);
  if (!spec.embed.out_path.empty()) check_not_an_input(spec.embed.out_path);
  auto it = task_table().find(spec.task);
  if (it == task_table().end()) {
    std::string known;
    for (auto& n : task_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error(spec.source + ": task '" + spec.task + "' is not available in this build (available: " +
                (known.empty() ? "none" : known) + ")");
  }
  return it->second(spec);
}

}  // namespace tessel
