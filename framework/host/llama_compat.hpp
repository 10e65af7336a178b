#pragma once
// llama.cpp options a retyped llama-cli / llama-embedding / llama-bench
// command carries that tessel either maps onto its own settings or accepts
// and ignores because they mean nothing on its CPU-only runtime (GPU offload,
// flash attention, mmap/mlock, warm-up). An ignored option that was given
// prints one line on stderr saying why ("tessel generate: -ngl ignored:
// tessel runs on the CPU only"), unless --log-disable; the command runs as if
// it were absent. docs/llama-cpp-users.md lists every mapping.
#include <CLI/CLI.hpp>
#include <deque>
#include <string>
#include <vector>

#include "tessel/architecture.hpp"

namespace tessel::host {

class LlamaCompat {
 public:
  // GPU placement (-ngl -dev -sm -mg -ts -nkvo), -fa, --mlock, --mmap/--no-mmap,
  // -lm, --numa, --no-warmup, -tb: accepted, ignored with a note.
  void add_ignored_model_options(CLI::App& app);
  // -ub N (llama.cpp's physical batch, what tessel's -b is: rows per forward
  // pass; with -b also given, the smaller one, as llama.cpp caps -ub at -b)
  // and -ctk/-ctv f16|f32 (tessel's KV cache type, one for K and V). Call
  // after -b is added.
  void add_runtime_options(CLI::App& app);
  // An ignored option with its own reason (`names` as CLI11 spells them,
  // `shown` the spelling llama.cpp users type, e.g. "-cnv").
  CLI::Option* add_ignored_flag(CLI::App& app, const std::string& names, const std::string& shown,
                                const std::string& why);
  CLI::Option* add_ignored_option(CLI::App& app, const std::string& names, const std::string& shown,
                                  const std::string& why);

  // Prints the notes for the ignored options given ("tessel SUB: X ignored: why")
  // and applies -ub / -ctk / -ctv to `runtime`. Throws UsageError for a KV
  // type tessel has not got.
  void apply(const std::string& sub, RuntimeOptions& runtime) const;

 private:
  struct Ignored {
    CLI::Option* option;
    std::string shown, why;
  };
  std::vector<Ignored> ignored_;
  // Values of ignored options: never read, but CLI11 needs somewhere to put
  // them (a deque keeps their addresses stable as options are added).
  std::deque<std::vector<std::string>> values_;
  CLI::Option* batch_ = nullptr;
  CLI::Option* ubatch_ = nullptr;
  CLI::Option* type_k_ = nullptr;
  CLI::Option* type_v_ = nullptr;
  int ubatch_value_ = 0;
  std::string type_k_value_, type_v_value_;
};

// llama.cpp spells some options with one dash and several letters (-ngl, -fa,
// -cnv); CLI11 knows only -x and --long, so main() renames these before parsing.
const std::vector<std::pair<std::string, std::string>>& llama_spellings();

}  // namespace tessel::host
