// llama.cpp options tessel maps or accepts and ignores (see llama_compat.hpp).
#include "llama_compat.hpp"

#include <algorithm>
#include <iostream>

#include "command.hpp"
#include "tessel/log.hpp"

namespace tessel::host {
namespace {

const char* const kGroup = "llama.cpp options (accepted; ignored on tessel's CPU runtime, with a note)";
const char* const kCpuOnly = "tessel runs on the CPU only";

// "(-ngl) " for llama.cpp's one-dash spellings, which --help does not list.
std::string shown_as(const std::string& shown) { return shown.rfind("--", 0) == 0 ? "" : "(" + shown + ") "; }

}  // namespace

CLI::Option* LlamaCompat::add_ignored_flag(CLI::App& app, const std::string& names, const std::string& shown,
                                           const std::string& why) {
  const std::string help = shown_as(shown) + "Ignored: " + why;
  CLI::Option* o = app.add_flag(names, help)->group(kGroup);
  ignored_.push_back({o, shown, why});
  return o;
}

CLI::Option* LlamaCompat::add_ignored_option(CLI::App& app, const std::string& names, const std::string& shown,
                                             const std::string& why) {
  CLI::Option* o =
      app.add_option(names, values_.emplace_back(), shown_as(shown) + "Ignored: " + why)->group(kGroup);
  ignored_.push_back({o, shown, why});
  return o;
}

void LlamaCompat::add_ignored_model_options(CLI::App& app) {
  add_ignored_option(app, "--n-gpu-layers,--gpu-layers", "-ngl", kCpuOnly);
  add_ignored_option(app, "--device", "-dev", kCpuOnly);
  add_ignored_option(app, "--split-mode", "-sm", kCpuOnly);
  add_ignored_option(app, "--main-gpu", "-mg", kCpuOnly);
  add_ignored_option(app, "--tensor-split", "-ts", kCpuOnly);
  add_ignored_flag(app, "--no-kv-offload", "-nkvo", kCpuOnly);
  // -fa took no value in older llama.cpp and takes on|off|auto now: both are accepted.
  add_ignored_option(app, "--flash-attn", "-fa", "tessel has one CPU attention path (no flash-attention switch)")
      ->expected(0, 1)
      ->check(CLI::IsMember({"on", "off", "auto", "1", "0", "true", "false", "enabled", "disabled"}));
  const std::string mapped = "tessel always memory-maps the weights (read-only, shared with the page cache)";
  add_ignored_flag(app, "--mmap", "--mmap", mapped);
  add_ignored_flag(app, "--no-mmap", "--no-mmap", mapped);
  add_ignored_flag(app, "--mlock", "--mlock", mapped + "; it does not lock them in RAM");
  add_ignored_option(app, "--load-mode", "-lm", mapped);
  add_ignored_option(app, "--numa", "--numa", "tessel does no NUMA placement");
  add_ignored_flag(app, "--no-warmup", "--no-warmup", "tessel does no warm-up run");
  add_ignored_option(app, "--threads-batch", "-tb", "tessel uses -t threads for the prompt and for generation");
}

void LlamaCompat::add_runtime_options(CLI::App& app) {
  batch_ = app.get_option_no_throw("--batch-size");
  ubatch_ = app.add_option("--ubatch-size", ubatch_value_,
                           "(-ub) llama.cpp's physical batch: rows per forward pass (the smaller of -b and -ub)")
                ->check(CLI::PositiveNumber);
  type_k_ = app.add_option("--cache-type-k", type_k_value_, "(-ctk) KV cache type: f16 (default) or f32")
                ->check(CLI::IsMember({"f16", "f32"}));
  type_v_ = app.add_option("--cache-type-v", type_v_value_, "(-ctv) KV cache type: f16 (default) or f32; as -ctk")
                ->check(CLI::IsMember({"f16", "f32"}));
}

void LlamaCompat::apply(const std::string& sub, RuntimeOptions& runtime) const {
  if (!quiet())
    for (const Ignored& i : ignored_)
      if (i.option->count()) std::cerr << "tessel " << sub << ": " << i.shown << " ignored: " << i.why << "\n";
  if (ubatch_ && ubatch_->count())
    runtime.n_batch = batch_ && batch_->count() ? std::min(runtime.n_batch, ubatch_value_) : ubatch_value_;
  const bool k = type_k_ && type_k_->count(), v = type_v_ && type_v_->count();
  if (k && v && type_k_value_ != type_v_value_)
    throw UsageError("-ctk " + type_k_value_ + " and -ctv " + type_v_value_ +
                     ": tessel keeps K and V in one type; give the same one");
  if (k || v) runtime.kv_f16 = (k ? type_k_value_ : type_v_value_) == "f16";
}

const std::vector<std::pair<std::string, std::string>>& llama_spellings() {
  static const std::vector<std::pair<std::string, std::string>> s = {
      {"-sys", "--system-prompt"}, {"-sysf", "--system-prompt-file"}, {"-ngl", "--n-gpu-layers"},
      {"-np", "--parallel"},       {"-fa", "--flash-attn"},           {"-ub", "--ubatch-size"},
      {"-tb", "--threads-batch"},  {"-ctk", "--cache-type-k"},        {"-ctv", "--cache-type-v"},
      {"-cnv", "--conversation"},  {"-no-cnv", "--no-conversation"},  {"-st", "--single-turn"},
      {"-lm", "--load-mode"},      {"-dev", "--device"},              {"-sm", "--split-mode"},
      {"-mg", "--main-gpu"},       {"-ts", "--tensor-split"},         {"-nkvo", "--no-kv-offload"},
      {"-mmp", "--mmap"},          {"-pg", "--pg"},                   {"-embd", "--embeddings"},
      {"-co", "--color"},          {"-sp", "--special"}};
  return s;
}

}  // namespace tessel::host
