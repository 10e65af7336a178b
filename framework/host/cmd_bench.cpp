// `tessel bench -m MODEL [-p 512] [-n 128] [-t THREADS] [-r REPS] [--json]`:
// prompt processing and generation speed as llama-bench measures them (random
// tokens, one warm-up run, mean and standard deviation over repetitions), and
// `--embed` for embedding models (texts/s for a batch of texts).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "command.hpp"
#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"
#include "tessel/threadpool.hpp"

namespace {

struct Options {
  std::string model;
  int n_prompt = 512, n_gen = 128, threads = 0, reps = 5, batch = 512;
  bool json = false, embed = false, roofline = false;
  int texts = 32, text_len = 16;
};

struct Result {
  std::string test;
  int n_prompt = 0, n_gen = 0, n_texts = 0;
  std::vector<double> ns;       // one per repetition
  double per_rep_units = 0;     // tokens (or texts) each repetition processes
  double avg_ts() const {
    double s = 0;
    for (double v : ns) s += per_rep_units * 1e9 / v;
    return s / double(ns.size());
  }
  double stddev_ts() const {
    if (ns.size() < 2) return 0;
    double m = avg_ts(), s = 0;
    for (double v : ns) s += std::pow(per_rep_units * 1e9 / v - m, 2);
    return std::sqrt(s / double(ns.size() - 1));
  }
  double avg_ns() const {
    double s = 0;
    for (double v : ns) s += v;
    return s / double(ns.size());
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

int run_bench(const Options& o) {
  using namespace tessel;
  if (o.reps < 1) throw Error("-r must be at least 1");
  if (o.n_prompt < 0 || o.n_gen < 0) throw Error("-p and -n must be >= 0");
  const double t_start = now_ns();
  auto reg = make_registry();
  auto file = open_model_file(*reg, o.model);
  auto codecs = load_codecs(*reg);
  RuntimeOptions ro;
  ro.threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  ro.n_batch = o.embed ? o.texts * o.text_len : std::max(o.batch, 1);
  ro.n_ctx = o.embed ? o.texts * o.text_len : std::max(o.n_prompt + o.n_gen, 16);
  auto model = load_model(*reg, file, codecs, ro);
  auto ctx = model->new_context(ro);
  const int64_t n_vocab = model->hparams().n_vocab;
  std::mt19937 rng(1234);
  auto random_token = [&] { return TokenId(rng() % uint32_t(std::max<int64_t>(n_vocab, 1))); };
  Outputs out;
  std::vector<Result> results;
  // Load to first token: open, map, build the model, then one token's forward
  // (which also packs the weights it multiplies).
  const double t_loaded = now_ns();
  {
    Batch b;
    b.add_token(random_token(), 0, 0, true);
    Outputs first;
    first.want_logits = model->hparams().has_logits;
    first.want_hidden = !first.want_logits;
    model->forward(b, *ctx, first);
    ctx->clear();
  }
  const double load_ms = (t_loaded - t_start) / 1e6, first_ms = (now_ns() - t_start) / 1e6;

  auto prompt_pass = [&](int n) {
    ctx->clear();
    for (int done = 0; done < n;) {
      Batch b;
      const int take = std::min(ro.n_batch, n - done);
      for (int i = 0; i < take; ++i) b.add_token(random_token(), done + i, 0, done + i == n - 1);
      model->forward(b, *ctx, out);
      done += take;
    }
  };
  auto gen_pass = [&](int n) {
    ctx->clear();
    for (int i = 0; i < n; ++i) {
      Batch b;
      b.add_token(random_token(), i, 0, true);
      model->forward(b, *ctx, out);
    }
  };
  auto embed_pass = [&] {
    ctx->clear();
    Batch b;
    for (int s = 0; s < o.texts; ++s)
      for (int i = 0; i < o.text_len; ++i) b.add_token(random_token(), i, s, true);
    Outputs eo;
    eo.want_logits = false;
    eo.want_hidden = true;
    model->forward(b, *ctx, eo);
  };
  auto measure = [&](Result r, const std::function<void()>& pass) {
    pass();  // warm-up, as llama-bench does
    for (int k = 0; k < o.reps; ++k) {
      double t0 = now_ns();
      pass();
      r.ns.push_back(now_ns() - t0);
    }
    results.push_back(r);
  };

  if (o.embed) {
    Result r{"embed " + std::to_string(o.texts) + "x" + std::to_string(o.text_len), 0, 0, o.texts, {}, double(o.texts)};
    measure(r, embed_pass);
  } else {
    out.want_logits = model->hparams().has_logits;
    if (o.n_prompt > 0) measure({"pp" + std::to_string(o.n_prompt), o.n_prompt, 0, 0, {}, double(o.n_prompt)},
                                [&] { prompt_pass(o.n_prompt); });
    if (o.n_gen > 0) measure({"tg" + std::to_string(o.n_gen), 0, o.n_gen, 0, {}, double(o.n_gen)},
                             [&] { gen_pass(o.n_gen); });
  }

  double bandwidth = 0, roofline_ts = 0;
  if (o.roofline) {
    ThreadPool pool(ro.threads);
    bandwidth = read_bandwidth(pool);
    roofline_ts = bandwidth / double(bytes_per_token(*file));
  }
  size_t size = 0, params = 0;
  for (const auto& t : file->tensors) { size += t.data.size(); params += size_t(t.n_elements()); }
  const std::string type = file->meta.get_string("general.architecture", "?");
  if (o.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : results) {
      nlohmann::json samples = nlohmann::json::array();
      for (double v : r.ns) samples.push_back(r.per_rep_units * 1e9 / v);
      list.push_back({{"model_filename", o.model}, {"model_type", type}, {"model_size", size},
                      {"model_n_params", params}, {"n_threads", ro.threads}, {"n_batch", ro.n_batch},
                      {"n_prompt", r.n_prompt}, {"n_gen", r.n_gen}, {"n_texts", r.n_texts}, {"test", r.test},
                      {"avg_ns", uint64_t(r.avg_ns())}, {"avg_ts", r.avg_ts()}, {"stddev_ts", r.stddev_ts()},
                      {"samples_ts", samples}, {"load_ms", load_ms}, {"load_to_first_token_ms", first_ms}});
      if (o.roofline) {
        list.back()["read_bandwidth_gbs"] = bandwidth / 1e9;
        list.back()["tg_roofline_ts"] = roofline_ts;
      }
    }
    std::cout << list.dump(2) << "\n";
    return 0;
  }
  std::printf("| model | size | params | threads | test | %s |\n", o.embed ? "texts/s" : "t/s");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: |\n");
  for (const auto& r : results)
    std::printf("| %s | %.2f MiB | %.2f M | %d | %s | %.2f ± %.2f |\n", type.c_str(), double(size) / 1048576.0,
                double(params) / 1e6, ro.threads, r.test.c_str(), r.avg_ts(), r.stddev_ts());
  std::printf("\nload %.0f ms, load to first token %.0f ms\n", load_ms, first_ms);
  if (o.roofline)
    std::printf("roofline: %.1f GB/s read with %d threads / %.1f MB of weights per token = %.1f t/s\n",
                bandwidth / 1e9, ro.threads, double(bytes_per_token(*file)) / 1e6, roofline_ts);
  return 0;
}

tessel::host::Command bench_cmd{
    "bench", "Measure prompt processing and generation speed (llama-bench style)", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "Model file")->required();
      app.add_option("-p,--n-prompt", o->n_prompt, "Prompt tokens (pp test; 0 skips)");
      app.add_option("-n,--n-gen", o->n_gen, "Generated tokens (tg test; 0 skips)");
      app.add_option("-t,--threads", o->threads, "Threads (default: all cores)");
      app.add_option("-r,--repetitions", o->reps, "Repetitions per test");
      app.add_option("-b,--batch-size", o->batch, "Prompt batch size");
      app.add_flag("--json", o->json, "Print llama-bench style JSON");
      app.add_flag("--roofline", o->roofline,
                   "Also measure read bandwidth and print the decode roofline (bandwidth / weight bytes per token)");
      app.add_flag("--embed", o->embed, "Embedding mode: texts/s for --texts texts of --text-len tokens");
      app.add_option("--texts", o->texts, "Texts per batch in --embed mode")->check(CLI::Range(1, 1 << 16));
      app.add_option("--text-len", o->text_len, "Tokens per text in --embed mode")->check(CLI::Range(1, 1 << 16));
      return [o] { return run_bench(*o); };
    }};

}  // namespace
