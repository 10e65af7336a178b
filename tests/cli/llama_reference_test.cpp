// The same retyped commands run by llama.cpp's own tools (the reference build,
// TESSEL_REF_BIN) and by tessel, outputs compared: llama-tokenize's listings
// and id lists byte for byte, llama-embedding's vectors to a tolerance and its
// display's shape, the new llama-cli's single-turn reply (its -o transcript)
// against `tessel chat -st`, and llama-bench's JSON fields. Registered only
// where the reference build exists (label "reference").
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstring>
#include <functional>
#include <sstream>
#include <tuple>

#include "support.hpp"

using namespace tessel::test;
using nlohmann::json;

namespace {

const std::filesystem::path kRefBin = TESSEL_REF_BIN;

std::string stories() { return shared_path("models/stories260K.gguf").string(); }
std::string bert() { return shared_path("golden/models/bert-synth.gguf").string(); }
std::string vocab(const std::string& name) { return shared_path("models/vocab/ggml-vocab-" + name + ".gguf").string(); }

// The same arguments to llama.cpp's `tool` and to `tessel sub`; both must succeed.
// llama-embedding prints its results through llama.cpp's asynchronous log,
// which this build does not always flush before exiting (12 runs of one
// command: 9 whole outputs, 1 cut short, 2 empty): `complete` says whether
// the reference output is whole, and the reference is run again until it is.
std::pair<RunResult, RunResult> both(const std::string& tool, const std::string& sub,
                                     const std::vector<std::string>& args,
                                     const std::optional<std::string>& input = std::nullopt,
                                     const std::function<bool(const std::string&)>& complete = nullptr) {
  RunResult ref = run_program(kRefBin / tool, args, input, 300);
  for (int attempt = 1; complete && ref.exit_code == 0 && !complete(ref.out) && attempt < 10; ++attempt)
    ref = run_program(kRefBin / tool, args, input, 300);
  std::vector<std::string> t = {sub};
  t.insert(t.end(), args.begin(), args.end());
  RunResult ours = run_tessel_input(t, input, 300);
  std::string shown;
  for (const auto& a : args) shown += " '" + a + "'";
  INFO(tool << shown << "\nllama.cpp stderr: " << ref.err << "\ntessel stderr: " << ours.err);
  REQUIRE(ref.exit_code == 0);
  REQUIRE(ours.exit_code == 0);
  return {ref, ours};
}

size_t count_lines_with(const std::string& s, const std::string& prefix) {
  std::istringstream in(s);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.rfind(prefix, 0) == 0;
  return n;
}

// llama-embedding's display of the texts joined by "<#sep#>" is whole: a line
// per embedding, then (two texts or more) the similarity matrix down to the
// last text's row.
bool display_complete(const std::string& s, const std::string& texts) {
  const size_t n = size_t(std::count(texts.begin(), texts.end(), '#')) / 2 + 1;
  if (count_lines_with(s, "embedding ") != n) return false;
  if (n == 1) return true;
  const std::string last = texts.substr(texts.rfind('>') + 1);
  const size_t end = s.find_last_not_of(" \n");
  return end != std::string::npos && end + 1 >= last.size() &&
         s.compare(end + 1 - last.size(), last.size(), last) == 0;
}

}  // namespace

TEST_CASE("llama.cpp reference: llama-tokenize and tessel tokenize print the same for the same command") {
  const std::vector<std::string> models = {stories(), vocab("llama-spm"), vocab("llama-bpe"), vocab("qwen2"),
                                           vocab("gpt-2"), vocab("phi-3"), vocab("bert-bge")};
  const std::vector<std::string> texts = {"Hello world", " leading space and\\ttab", "<s>Hi\\nthere</s>",
                                          "<|im_start|>user\\nHi<|im_end|>", "naïve café 東京"};
  for (const auto& model : models)
    for (const auto& text : texts) {
      INFO(model << " -p " << text);
      for (const std::vector<std::string>& flags :
           std::vector<std::vector<std::string>>{{"--ids", "--log-disable"}, {"--ids", "--no-bos"}, {"--show-count"}}) {
        std::vector<std::string> args = {"-m", model, "-p", text};
        args.insert(args.end(), flags.begin(), flags.end());
        const auto [ref, ours] = both("llama-tokenize", "tokenize", args);
        CHECK(ours.out == ref.out);
      }
    }
  // -f FILE and --stdin
  const auto file = temp_dir() / "text.txt";
  write_text(file, "Once upon a time\nthere was\n");
  auto [ref, ours] = both("llama-tokenize", "tokenize", {"-m", stories(), "-f", file.string(), "--ids"});
  CHECK(ours.out == ref.out);
  std::tie(ref, ours) = both("llama-tokenize", "tokenize", {"-m", stories(), "--stdin", "--ids"},
                             std::string("Once upon a time\n"));
  CHECK(ours.out == ref.out);
}

TEST_CASE("llama.cpp reference: llama-embedding and tessel embed give the same vectors and display") {
  // Without --log-disable: this llama-embedding prints its results through its
  // log, so --log-disable leaves its stdout empty (tessel's keeps the result).
  for (const char* pooling : {"mean", "cls", "last"}) {
    INFO(pooling);
    const auto [ref, ours] = both("llama-embedding", "embed",
                                  {"-m", bert(), "--pooling", pooling, "--embd-normalize", "2",
                                   "--embd-output-format", "array", "-p", "Hello world\\nA second text"},
                                  std::nullopt, [](const std::string& s) { return json::accept(s); });
    const json a = json::parse(ref.out), b = json::parse(ours.out);
    REQUIRE(a.size() == 2);
    REQUIRE(b.size() == a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      const auto x = a[i].get<std::vector<float>>(), y = b[i].get<std::vector<float>>();
      REQUIRE(x.size() == y.size());
      CHECK(max_abs_diff(x.data(), y.data(), x.size()) < 1e-3f);
    }
  }
  // The README's separator example with the default display, and one text:
  // the same text once digits and signs are masked (values differ in the last places).
  auto masked = [](std::string s) {
    for (char& c : s) {
      if (c >= '0' && c <= '9') c = '9';
      if (c == '-') c = ' ';
    }
    return s;
  };
  for (const char* texts : {"Castle<#sep#>Stronghold<#sep#>Dog<#sep#>Cat", "Castle"}) {
    INFO(texts);
    const auto [ref, ours] = both("llama-embedding", "embed",
                                  {"-p", texts, "--pooling", "mean", "--embd-separator", "<#sep#>", "--embd-normalize",
                                   "2", "--embd-output-format", "", "-m", bert()},
                                  std::nullopt, [&](const std::string& s) { return display_complete(s, texts); });
    CHECK(masked(ours.out) == masked(ref.out));
    CHECK_THAT(ours.out, Catch::Contains("embedding 0: "));
  }
}

TEST_CASE("llama.cpp reference: llama-cli -st and tessel chat -st give the same reply") {
  const auto transcript = temp_dir() / "llama-cli.txt";
  const std::vector<std::string> common = {"-m", stories(), "-sys", "Be brief.", "-p", "Hi", "-st", "--temp", "0",
                                           "-n", "12", "--chat-template", "chatml"};
  std::vector<std::string> ref_args = common;
  for (const char* a : {"--simple-io", "--no-show-timings", "-o"}) ref_args.push_back(a);
  ref_args.push_back(transcript.string());
  const RunResult ref = run_program(kRefBin / "llama-cli", ref_args, std::string(), 300);
  INFO("llama-cli: " << ref.err);
  REQUIRE(ref.exit_code == 0);
  std::vector<std::string> ours_args = {"chat"};
  ours_args.insert(ours_args.end(), common.begin(), common.end());
  const RunResult ours = run_tessel(ours_args);
  INFO(ours.err);
  REQUIRE(ours.exit_code == 0);
  const std::string t = read_text(transcript);
  const size_t at = t.find("Assistant:\n");
  REQUIRE(at != std::string::npos);
  std::string reply = t.substr(at + 11);
  while (!reply.empty() && reply.back() == '\n') reply.pop_back();
  std::string got = ours.out;
  while (!got.empty() && got.back() == '\n') got.pop_back();
  CHECK(got == reply);
}

TEST_CASE("llama.cpp reference: tessel bench -o json has every field llama-bench -o json has") {
  const auto [ref, ours] = both("llama-bench", "bench",
                                {"-m", stories(), "-p", "8", "-n", "2", "-r", "1", "-t", "1", "-o", "json", "-fa", "0",
                                 "-ngl", "0", "-lm", "mmap", "-b", "8", "-ub", "8", "-d", "0,8"});
  // The same tests, compared in one order (depth, prompt, gen).
  auto sorted = [](json rows) {
    std::vector<json> v(rows.begin(), rows.end());
    auto key = [](const json& r) {
      return std::tuple(r["n_depth"].get<int>(), r["n_prompt"].get<int>(), r["n_gen"].get<int>());
    };
    std::sort(v.begin(), v.end(), [&](const json& x, const json& y) { return key(x) < key(y); });
    return v;
  };
  const auto a = sorted(json::parse(ref.out)), b = sorted(json::parse(ours.out));
  REQUIRE(a.size() == 4);
  REQUIRE(b.size() == 4);
  for (size_t i = 0; i < a.size(); ++i) {
    for (const auto& [key, value] : a[i].items()) {
      INFO(key);
      CHECK(b[i].contains(key));
    }
    for (const char* same : {"n_prompt", "n_gen", "n_batch", "n_ubatch", "n_threads", "model_size", "model_n_params",
                             "type_k", "type_v", "cpu_info", "backends", "model_filename", "n_depth"}) {
      INFO(same);
      CHECK(b[i][same] == a[i][same]);
    }
  }
}
