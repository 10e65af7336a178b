// `tessel bench`: prompt processing and generation speed as llama-bench
// measures them (random tokens, one warm-up run, mean and standard deviation
// over repetitions), with llama-bench's flags (comma lists for -m -p -n -t,
// -o md|json|jsonl|csv, -pg PP,TG, -d, -ub; GPU options accepted with a note)
// and fields; `--parallel N,...` for N sequences
// decoding together (what llama-batched-bench's S_TG measures); `--embed`
// for embedding models (texts/s for a batch of texts). Rows are printed as
// each test finishes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "command.hpp"
#include "llama_compat.hpp"
#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/threadpool.hpp"

#ifndef TESSEL_BUILD_COMMIT
#define TESSEL_BUILD_COMMIT "unknown"
#endif

namespace {

struct Options {
  std::vector<std::string> models;
  std::vector<int> n_prompt{512}, n_gen{128}, threads{0}, parallel;
  int reps = 5, batch = 512, npp = 128;
  std::string output = "md";
  bool json = false, embed = false, roofline = false;
  int texts = 32, text_len = 16;
  std::vector<std::string> pg;  // -pg PP,TG: prompt then generation, timed together
  std::vector<int> depth{0};    // -d: KV cache filled with this many tokens before each pp/tg/pg test
  bool no_warmup = false;
  tessel::host::LlamaCompat compat;
  tessel::RuntimeOptions runtime;  // -ub (forward pass size) and -ctk/-ctv applied
};

// -pg "512,128" -> {512, 128}.
std::pair<int, int> parse_pg(const std::string& v) {
  const size_t comma = v.find(',');
  try {
    size_t a = 0, b = 0;
    if (comma == std::string::npos) throw std::invalid_argument(v);
    const int pp = std::stoi(v.substr(0, comma), &a), tg = std::stoi(v.substr(comma + 1), &b);
    if (a != comma || b != v.size() - comma - 1 || pp < 0 || tg < 1) throw std::invalid_argument(v);
    return {pp, tg};
  } catch (const std::exception&) {
    throw tessel::host::UsageError("-pg " + v + ": expected PROMPT,GEN token counts, e.g. -pg 512,128");
  }
}

struct Result {
  std::string test;
  int n_prompt = 0, n_gen = 0, n_texts = 0, n_parallel = 1;
  std::vector<double> ns;       // one per repetition
  double per_rep_units = 0;     // tokens (or texts) each repetition processes
  int n_depth = 0;              // tokens already in the KV cache when the timed part starts (-d)
  std::vector<double> ts() const {
    std::vector<double> v;
    for (double x : ns) v.push_back(per_rep_units * 1e9 / x);
    return v;
  }
  static double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / double(v.size());
  }
  static double stddev(const std::vector<double>& v) {
    if (v.size() < 2) return 0;
    const double m = mean(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / double(v.size() - 1));
  }
};

// Read bandwidth with `threads` threads: the best of 3 sums over 1 GiB, so
// decode speed can be compared with its memory roofline on this machine.
double read_bandwidth(tessel::ThreadPool& pool) {
  const size_t n = (size_t(1) << 30) / sizeof(uint64_t);
  std::vector<uint64_t> buf(n, 1);
  std::vector<uint64_t> sums(size_t(pool.size()) * 8);
  double best = 0;
  for (int pass = 0; pass < 3; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(int64_t(n), [&](int64_t b, int64_t e) {
      uint64_t s = 0;
      for (int64_t i = b; i < e; ++i) s += buf[size_t(i)];
      sums[size_t(b * pool.size() / int64_t(n)) * 8] = s;
    });
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, double(n * sizeof(uint64_t)) / sec);
  }
  return best;
}

// Weight bytes one decoded token reads: every tensor but the token embedding
// table, which is only looked up (unless it doubles as the output matrix).
size_t bytes_per_token(const tessel::ModelFile& f) {
  size_t bytes = 0;
  const bool tied = f.find("output.weight") == nullptr;
  for (const auto& t : f.tensors)
    if (t.name != "token_embd.weight" || tied) bytes += t.data.size();
  return bytes;
}

double now_ns() {
  return double(std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch()).count());
}

// llama_ftype_name for general.file_type, as llama-bench's model column shows it.
std::string ftype_name(uint32_t ftype) {
  switch (ftype) {
    case 0: return "all F32";
    case 1: return "F16";
    case 2: return "Q4_0";
    case 3: return "Q4_1";
    case 7: return "Q8_0";
    case 8: return "Q5_0";
    case 9: return "Q5_1";
    case 10: return "Q2_K - Medium";
    case 11: return "Q3_K - Small";
    case 12: return "Q3_K - Medium";
    case 13: return "Q3_K - Large";
    case 14: return "Q4_K - Small";
    case 15: return "Q4_K - Medium";
    case 16: return "Q5_K - Small";
    case 17: return "Q5_K - Medium";
    case 18: return "Q6_K";
    case 32: return "BF16";
    default: return "ftype " + std::to_string(ftype);
  }
}

// "llama 1B Q4_K - Medium": architecture, size from the parameter count
// (llama.cpp names sizes by layer count; rounded parameters agree for the
// common shapes), file type (or the most common 2-D tensor type).
std::string model_type(const tessel::ModelFile& f, size_t params) {
  const std::string arch = f.meta.get_string("general.architecture", "?");
  char size[32];
  if (params >= 1000000000) std::snprintf(size, sizeof size, "%.0fB", double(params) / 1e9);
  else if (params >= 1000000) std::snprintf(size, sizeof size, "%.0fM", double(params) / 1e6);
  else std::snprintf(size, sizeof size, "%.0fK", double(params) / 1e3);
  std::string type;
  if (f.meta.has("general.file_type")) {
    type = ftype_name(uint32_t(f.meta.get_int("general.file_type", 0)));
  } else {
    std::map<std::string, size_t> count;
    for (const auto& t : f.tensors)
      if (t.ne[1] > 1) ++count[tessel::type_name(t.type)];
    size_t best = 0;
    for (const auto& [name, n] : count)
      if (n > best) best = n, type = name;
  }
  return arch + " " + size + " " + type;
}

std::string cpu_info() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const size_t c = line.find(':');
      return c == std::string::npos ? line : line.substr(line.find_first_not_of(' ', c + 1));
    }
  return "unknown";
}

std::string utc_now() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%FT%TZ", std::gmtime(&t));
  return buf;
}

// One model as loaded for the tests, and what every row reports about it.
struct ModelRun {
  std::string path, type;
  size_t size = 0, params = 0;
  double load_ms = 0, first_ms = 0;
};

// Prints rows as they finish, in the chosen format.
class Printer {
 public:
  explicit Printer(const Options& o) : o_(o) {}
  void row(const ModelRun& m, int threads, int n_batch, const Result& r, double bandwidth, double roofline) {
    const auto ts = r.ts();
    const char* kv_type = o_.runtime.kv_f16 ? "f16" : "f32";
    nlohmann::json j = {{"build_commit", TESSEL_BUILD_COMMIT}, {"build_number", 0}, {"cpu_info", cpu_}, {"gpu_info", ""},
                        {"backends", "CPU"}, {"model_filename", m.path}, {"model_type", m.type},
                        {"model_size", m.size}, {"model_n_params", m.params}, {"n_batch", o_.embed ? n_batch : o_.batch},
                        {"n_ubatch", n_batch}, {"n_threads", threads}, {"cpu_mask", "0x0"}, {"cpu_strict", false},
                        {"poll", 50}, {"type_k", kv_type}, {"type_v", kv_type}, {"n_gpu_layers", 0},
                        {"split_mode", "layer"}, {"main_gpu", 0}, {"no_kv_offload", false}, {"flash_attn", 0},
                        {"tensor_split", "0.00"}, {"use_mmap", true}, {"embeddings", o_.embed},
                        // Newer llama-bench fields, with what tessel's CPU runtime does.
                        {"n_cpu_moe", 0}, {"devices", "CPU"}, {"tensor_buft_overrides", "none"},
                        {"load_mode", "mmap"}, {"lazy_mode", "off"}, {"no_op_offload", 0}, {"no_host", false},
                        {"fit_target", 0}, {"fit_min_ctx", 0},
                        {"n_prompt", r.n_prompt}, {"n_gen", r.n_gen}, {"n_depth", r.n_depth}, {"n_parallel", r.n_parallel},
                        {"n_texts", r.n_texts}, {"test", r.test}, {"test_time", utc_now()},
                        {"avg_ns", uint64_t(Result::mean(r.ns))}, {"stddev_ns", uint64_t(Result::stddev(r.ns))},
                        {"avg_ts", Result::mean(ts)}, {"stddev_ts", Result::stddev(ts)},
                        {"samples_ns", r.ns}, {"samples_ts", ts}, {"load_ms", m.load_ms},
                        {"load_to_first_token_ms", m.first_ms}};
    if (o_.roofline) {
      j["read_bandwidth_gbs"] = bandwidth / 1e9;
      j["tg_roofline_ts"] = roofline;
    }
    std::vector<uint64_t> ns_int;
    for (double v : r.ns) ns_int.push_back(uint64_t(v));
    j["samples_ns"] = ns_int;
    if (o_.output == "json") {
      std::cout << (rows_++ ? ",\n" : "[\n") << j.dump(2);
    } else if (o_.output == "jsonl") {
      std::cout << j.dump() << "\n";
    } else if (o_.output == "csv") {
      if (!rows_++) {
        for (size_t i = 0; i < csv_fields().size(); ++i) std::cout << (i ? "," : "") << csv_fields()[i];
        std::cout << "\n";
      }
      for (size_t i = 0; i < csv_fields().size(); ++i) {
        const nlohmann::json& v = j[csv_fields()[i]];
        std::cout << (i ? "," : "") << (v.is_string() ? "\"" + v.get<std::string>() + "\"" : v.dump());
      }
      std::cout << "\n";
    } else {
      if (!rows_++) {
        std::printf("| model | size | params | backend | threads | test | %s |\n", o_.embed ? "texts/s" : "t/s");
        std::printf("| --- | ---: | ---: | --- | ---: | ---: | ---: |\n");
      }
      std::string test = r.test;
      std::printf("| %s | %.2f MiB | %.2f %s | CPU | %d | %s | %.2f ± %.2f |\n", m.type.c_str(),
                  double(m.size) / 1048576.0, m.params >= 1000000000 ? double(m.params) / 1e9 : double(m.params) / 1e6,
                  m.params >= 1000000000 ? "B" : "M", threads, test.c_str(), Result::mean(ts), Result::stddev(ts));
    }
    std::cout.flush();
    std::fflush(stdout);
  }
  void model_done(const ModelRun& m, int threads, double bandwidth, double roofline, size_t bytes) {
    if (o_.output != "md") return;
    std::printf("| %s | load %.0f ms, load to first token %.0f ms |\n", m.type.c_str(), m.load_ms, m.first_ms);
    if (o_.roofline)
      std::printf("| %s | roofline: %.1f GB/s read with %d threads / %.1f MB of weights per token = %.1f t/s |\n",
                  m.type.c_str(), bandwidth / 1e9, threads, double(bytes) / 1e6, roofline);
    std::fflush(stdout);
  }
  void finish() {
    if (o_.output == "json") std::cout << (rows_ ? "\n]\n" : "[]\n");
    std::cout.flush();
  }

 private:
  static const std::vector<std::string>& csv_fields() {
    static const std::vector<std::string> f = {
        "build_commit", "build_number", "cpu_info", "backends", "model_filename", "model_type", "model_size",
        "model_n_params", "n_batch", "n_ubatch", "n_threads", "type_k", "type_v", "n_gpu_layers", "flash_attn",
        "embeddings", "n_prompt", "n_gen", "n_depth", "n_parallel", "test", "test_time", "avg_ns", "stddev_ns",
        "avg_ts", "stddev_ts", "load_ms", "load_to_first_token_ms"};
    return f;
  }
  const Options& o_;
  std::string cpu_ = cpu_info();
  int rows_ = 0;
};

void bench_model(const Options& o, const std::string& path, Printer& print) {
  using namespace tessel;
  const double t_start = now_ns();
  auto reg = make_registry();
  auto file = open_model_file(*reg, path);
  auto codecs = load_codecs(*reg);
  ModelRun run;
  run.path = path;
  for (const auto& t : file->tensors) { run.size += t.data.size(); run.params += size_t(t.n_elements()); }
  run.type = model_type(*file, run.params);
  int max_ctx = 16;
  for (int p : o.n_prompt)
    for (int g : o.n_gen) max_ctx = std::max(max_ctx, p + g);
  for (int n : o.parallel)
    for (int g : o.n_gen) max_ctx = std::max(max_ctx, n * (o.npp + g));
  for (const std::string& v : o.pg) max_ctx = std::max(max_ctx, parse_pg(v).first + parse_pg(v).second);
  const int max_depth = *std::max_element(o.depth.begin(), o.depth.end());
  max_ctx += max_depth;
  RuntimeOptions ro = o.runtime;
  ro.threads = o.threads.front() > 0 ? o.threads.front() : int(std::max(1u, std::thread::hardware_concurrency()));
  ro.n_batch = o.embed ? o.texts * o.text_len : std::max(o.runtime.n_batch, 1);
  ro.n_ctx = o.embed ? o.texts * o.text_len : max_ctx;
  auto model = load_model(*reg, file, codecs, ro);
  const int64_t n_vocab = model->hparams().n_vocab;
  std::mt19937 rng(1234);
  auto random_token = [&] { return TokenId(rng() % uint32_t(std::max<int64_t>(n_vocab, 1))); };
  bool first_done = false;

  for (int threads_opt : o.threads) {
    ro.threads = threads_opt > 0 ? threads_opt : int(std::max(1u, std::thread::hardware_concurrency()));
    auto ctx = model->new_context(ro);
    Outputs out;
    out.want_logits = model->hparams().has_logits;
    out.want_hidden = !out.want_logits;
    if (!first_done) {
      // Load to first token: open, map, build the model, then one token's
      // forward (which also packs the weights it multiplies).
      run.load_ms = (now_ns() - t_start) / 1e6;
      Batch b;
      b.add_token(random_token(), 0, 0, true);
      model->forward(b, *ctx, out);
      ctx->clear();
      run.first_ms = (now_ns() - t_start) / 1e6;
      first_done = true;
    }
    double bandwidth = 0, roofline = 0;
    if (o.roofline) {
      ThreadPool pool(ro.threads);
      bandwidth = read_bandwidth(pool);
      roofline = bandwidth / double(bytes_per_token(*file));
    }
    auto measure = [&](Result r, const std::function<double()>& pass) {
      if (!o.no_warmup) pass();  // warm-up, as llama-bench does
      for (int k = 0; k < o.reps; ++k) r.ns.push_back(pass());
      print.row(run, ro.threads, ro.n_batch, r, bandwidth, roofline);
    };
    // Prefill seq tokens [from, from + n) of sequences 0..n_seq-1, n_batch rows at a time.
    auto prefill = [&](int n, int n_seq, int from = 0) {
      std::vector<std::pair<int, int>> rows;  // (seq, pos)
      for (int s = 0; s < n_seq; ++s)
        for (int i = from; i < from + n; ++i) rows.push_back({s, i});
      for (size_t done = 0; done < rows.size();) {
        Batch b;
        const size_t take = std::min(size_t(ro.n_batch), rows.size() - done);
        for (size_t i = done; i < done + take; ++i)
          b.add_token(random_token(), rows[i].second, rows[i].first, rows[i].second == from + n - 1);
        model->forward(b, *ctx, out);
        done += take;
      }
    };
    // n steps of one new token for each of n_seq sequences (after npp tokens each).
    auto decode = [&](int n, int n_seq, int npp) {
      for (int i = 0; i < n; ++i) {
        Batch b;
        for (int s = 0; s < n_seq; ++s) b.add_token(random_token(), npp + i, s, true);
        model->forward(b, *ctx, out);
      }
    };
    auto timed = [](const std::function<void()>& f) {
      const double t0 = now_ns();
      f();
      return now_ns() - t0;
    };

    if (o.embed) {
      Result r{"embed " + std::to_string(o.texts) + "x" + std::to_string(o.text_len), 0, 0, o.texts, 1, {}, double(o.texts)};
      measure(r, [&] {
        ctx->clear();
        Batch b;
        for (int s = 0; s < o.texts; ++s)
          for (int i = 0; i < o.text_len; ++i) b.add_token(random_token(), i, s, true);
        Outputs eo;
        eo.want_logits = false;
        eo.want_hidden = true;
        return timed([&] { model->forward(b, *ctx, eo); });
      });
    } else {
      // -d D: the cache holds D tokens (filled untimed) before the timed part, as llama-bench's "@ dD" tests.
      for (int d : o.depth) {
        auto at_depth = [&](std::string name, int p, int g, double units) {
          Result r{d > 0 ? name + " @ d" + std::to_string(d) : name, p, g, 0, 1, {}, units};
          r.n_depth = d;
          return r;
        };
        auto fill = [&] {
          ctx->clear();
          if (d > 0) prefill(d, 1);
        };
        for (int p : o.n_prompt)
          if (p > 0) measure(at_depth("pp" + std::to_string(p), p, 0, double(p)), [&] {
              fill();
              return timed([&] { prefill(p, 1, d); });
            });
        for (int g : o.n_gen)
          if (g > 0) measure(at_depth("tg" + std::to_string(g), 0, g, double(g)), [&] {
              fill();
              return timed([&] { decode(g, 1, d); });
            });
        // llama-bench's -pg: a prompt, then generation, timed as one.
        for (const std::string& v : o.pg) {
          const std::pair<int, int> pair = parse_pg(v);
          const int pp = pair.first, tg = pair.second;
          measure(at_depth("pp" + std::to_string(pp) + "+tg" + std::to_string(tg), pp, tg, double(pp + tg)), [&] {
            fill();
            return timed([&] {
              if (pp > 0) prefill(pp, 1, d);
              decode(tg, 1, d + pp);
            });
          });
        }
      }
      // llama-batched-bench's S_TG: N sequences of npp prompt tokens, then
      // n_gen steps decoding one token of each; only the steps are timed.
      for (int np : o.parallel)
        for (int g : o.n_gen)
          if (g > 0) {
            Result r{"pp" + std::to_string(o.npp) + "+tg" + std::to_string(g) + " x" + std::to_string(np),
                     o.npp, g, 0, np, {}, double(g) * np};
            measure(r, [&] {
              ctx->clear();
              if (o.npp > 0) prefill(o.npp, np);
              return timed([&] { decode(g, np, o.npp); });
            });
          }
    }
    print.model_done(run, ro.threads, bandwidth, roofline, bytes_per_token(*file));
  }
}

int run_bench(Options o) {
  using tessel::Error;
  if (o.json) o.output = "json";
  if (o.output != "md" && o.output != "json" && o.output != "jsonl" && o.output != "csv")
    throw Error("-o " + o.output + ": expected md, json, jsonl or csv");
  if (o.reps < 1) throw Error("-r must be at least 1");
  for (int v : o.n_prompt) if (v < 0) throw Error("-p " + std::to_string(v) + ": must be >= 0");
  for (int v : o.n_gen) if (v < 0) throw Error("-n " + std::to_string(v) + ": must be >= 0");
  for (int v : o.threads) if (v < 0) throw Error("-t " + std::to_string(v) + ": must be >= 0");
  for (int v : o.depth) if (v < 0) throw Error("-d " + std::to_string(v) + ": must be >= 0");
  if (o.depth.empty()) o.depth = {0};
  for (int v : o.parallel) if (v < 1) throw Error("--parallel " + std::to_string(v) + ": must be >= 1");
  if (o.npp < 0) throw Error("--npp " + std::to_string(o.npp) + ": must be >= 0");
  if (o.threads.empty()) o.threads = {0};
  for (const std::string& v : o.pg) parse_pg(v);  // a bad -pg fails before any model loads
  o.runtime.n_batch = o.batch;
  o.compat.apply("bench", o.runtime);
  Printer print(o);
  for (const auto& m : o.models) bench_model(o, m, print);
  print.finish();
  return 0;
}

tessel::host::Command bench_cmd{
    "bench", "Measure prompt processing and generation speed (llama-bench style)", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->models, "Model file(s); repeat -m or separate with commas")
          ->required()->delimiter(',');
      app.add_option("-p,--n-prompt", o->n_prompt, "Prompt tokens, a comma list (pp tests; 0 skips)")
          ->delimiter(',')->capture_default_str();
      app.add_option("-n,--n-gen", o->n_gen, "Generated tokens, a comma list (tg tests; 0 skips)")
          ->delimiter(',')->capture_default_str();
      app.add_option("-t,--threads", o->threads, "Threads, a comma list (0: all cores)")
          ->delimiter(',')->capture_default_str();
      app.add_option("-r,--repetitions", o->reps, "Repetitions per test (after one warm-up)")->capture_default_str();
      app.add_option("-b,--batch-size", o->batch, "Prompt batch size: tokens per forward pass unless -ub is smaller")
          ->capture_default_str();
      o->compat.add_runtime_options(app);
      app.add_option("-d,--n-depth", o->depth, "Tokens already in the KV cache before each test, a comma list")
          ->delimiter(',')->capture_default_str();
      app.add_option("--pg", o->pg, "(-pg PP,TG) Prompt of PP tokens then TG generated, timed together (repeatable)");
      app.add_flag("--no-warmup", o->no_warmup, "Skip the warm-up run before each test");
      const char* cpu_only = "tessel runs on the CPU only";
      for (const auto& [names, shown] : std::vector<std::pair<std::string, std::string>>{
               {"--n-gpu-layers", "-ngl"}, {"--device", "-dev"}, {"--split-mode", "-sm"}, {"--main-gpu", "-mg"},
               {"--tensor-split", "-ts"}, {"--no-kv-offload", "-nkvo"}})
        o->compat.add_ignored_option(app, names, shown, cpu_only)->delimiter(',');
      o->compat.add_ignored_option(app, "--flash-attn", "-fa", "tessel has one CPU attention path (no flash-attention switch)")
          ->delimiter(',');
      o->compat.add_ignored_option(app, "--mmap", "-mmp", "tessel always memory-maps the weights")->delimiter(',');
      o->compat.add_ignored_option(app, "--load-mode", "-lm", "tessel always memory-maps the weights")->delimiter(',');
      o->compat.add_ignored_flag(app, "--progress", "--progress", "rows are printed as each test finishes");
      app.add_option("-o,--output", o->output, "Output format: md, json, jsonl or csv")->capture_default_str();
      app.add_flag("--json", o->json, "Same as -o json");
      app.add_option("--parallel", o->parallel,
                     "Sequences decoding together, a comma list (llama-batched-bench's -npl): aggregate t/s")
          ->delimiter(',');
      app.add_option("--npp", o->npp, "Prompt tokens per sequence before --parallel decoding")->capture_default_str();
      app.add_flag("--roofline", o->roofline,
                   "Also measure read bandwidth and print the decode roofline (bandwidth / weight bytes per token)");
      app.add_flag("--embed", o->embed, "Embedding mode: texts/s for --texts texts of --text-len tokens");
      app.add_option("--texts", o->texts, "Texts per batch in --embed mode")
          ->capture_default_str()
          ->check(CLI::Range(1, 1 << 16));
      app.add_option("--text-len", o->text_len, "Tokens per text in --embed mode")
          ->capture_default_str()
          ->check(CLI::Range(1, 1 << 16));
      return [o] { return run_bench(*o); };
    }};

}  // namespace
