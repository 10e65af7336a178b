// The commands of llama.cpp's tool READMEs, retyped against tessel: the
// llama.cpp binary name becomes `tessel SUB` and every flag stays as typed.
// Each case names the llama.cpp command it retypes and checks that tessel runs
// it and gives the same kind of result (docs/llama-cpp-users.md has the table).
// The llama.cpp binaries are not needed here; llama_reference_test.cpp
// compares with them where the reference build exists.
#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support.hpp"

using namespace tessel::test;
using nlohmann::json;

namespace {

std::string stories() { return shared_path("models/stories260K.gguf").string(); }
std::string bert() { return shared_path("golden/models/bert-synth.gguf").string(); }
std::string vocab(const std::string& name) { return shared_path("models/vocab/ggml-vocab-" + name + ".gguf").string(); }

RunResult ok(const std::vector<std::string>& args, const std::optional<std::string>& input = std::nullopt) {
  RunResult r = run_tessel_input(args, input);
  INFO("tessel " << [&] {
    std::string s;
    for (const auto& a : args) s += a + " ";
    return s;
  }() << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return r;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// The greedy continuation of `tessel generate` (without the echoed prompt).
std::string continuation(const std::vector<std::string>& extra, const std::string& n = "16") {
  std::vector<std::string> args = {"generate", "-m", stories(), "-n", n, "--temp", "0", "--no-display-prompt"};
  args.insert(args.end(), extra.begin(), extra.end());
  return ok(args).out;
}

}  // namespace

TEST_CASE("llama-cli -m M -p TEXT -n N --temp 0, with -c -b -t -f -e -s and the samplers") {
  // llama-completion -m M -no-cnv -p "Once upon a time" -n 16 --temp 0
  const auto plain = ok({"generate", "-m", stories(), "-no-cnv", "-p", "Once upon a time", "-n", "16", "--temp", "0"});
  CHECK_THAT(plain.out, Catch::StartsWith("Once upon a time") && Catch::EndsWith("\n"));
  CHECK(plain.out.size() > std::string("Once upon a time\n").size());
  CHECK_THAT(plain.err, Catch::Contains("sampler seed: "));
  const std::string greedy = plain.out.substr(std::string("Once upon a time").size());

  // ... -c 256 -b 32 -t 1 and the prompt from a file (-f) give the same greedy text.
  const auto file = temp_dir() / "prompt.txt";
  write_text(file, "Once upon a time\n");
  CHECK(continuation({"-f", file.string(), "-c", "256", "-b", "32", "-t", "1"}) == greedy);
  CHECK(ok({"generate", "-m", stories(), "-p", "Once upon a time", "--ctx-size", "256", "--batch-size", "32",
            "--threads", "2", "--predict", "16", "--temperature", "0"}).out == plain.out);

  // -e (on by default): \n in -p is a newline.
  CHECK(continuation({"-e", "-p", "Once upon\\na time"}) == continuation({"-p", "Once upon\na time"}));

  // --top-k 40 --top-p 0.9 --min-p 0.05 --repeat-penalty 1.1 -s 42: seeded sampling repeats itself.
  const std::vector<std::string> sampled = {"-p", "Once upon a time", "--temp", "0.8", "--top-k", "40", "--top-p",
                                            "0.9", "--min-p", "0.05", "--repeat-penalty", "1.1", "-s", "42"};
  const auto a = continuation(sampled);
  CHECK(a == continuation(sampled));
  CHECK(a.size() > 1);
}

TEST_CASE("llama-cli -r STOP, --log-disable and the GPU / memory options tessel accepts and ignores") {
  // -r "girl": generation stops before the stop text.
  const auto stopped = continuation({"-p", "Once upon a time", "-r", "girl"}, "64");
  CHECK(stopped.find("girl") == std::string::npos);
  CHECK(stopped.size() < continuation({"-p", "Once upon a time"}, "64").size());

  // --log-disable: stdout alone, nothing on stderr.
  const auto quiet = ok({"generate", "-m", stories(), "-p", "Once upon a time", "-n", "8", "--temp", "0",
                         "--log-disable"});
  CHECK(quiet.err.empty());
  CHECK_THAT(quiet.out, Catch::StartsWith("Once upon a time"));

  // -ngl 99 -fa on --mlock --no-mmap --no-warmup -tb 2: one note each, the same text.
  const std::string base = continuation({"-p", "Once upon a time"});
  std::vector<std::string> args = {"generate", "-m", stories(), "-p", "Once upon a time", "-n", "16", "--temp", "0",
                                   "--no-display-prompt", "-ngl", "99", "-fa", "on", "--mlock", "--no-mmap",
                                   "--no-warmup", "-tb", "2"};
  auto r = ok(args);
  CHECK(r.out == base);
  CHECK(count_of(r.err, " ignored: ") == 6);
  CHECK_THAT(r.err, Catch::Contains("-ngl ignored: tessel runs on the CPU only") && Catch::Contains("-fa ignored"));
  // Older llama.cpp's bare -fa, and -ngl all.
  r = ok({"generate", "-m", stories(), "-p", "Hi", "-n", "2", "-fa", "-ngl", "all"});
  CHECK(count_of(r.err, " ignored: ") == 2);
  // With --log-disable the notes go too.
  r = ok({"generate", "-m", stories(), "-p", "Hi", "-n", "2", "-ngl", "99", "--log-disable"});
  CHECK(r.err.empty());

  // -ub (the physical batch) and -ctk/-ctv f16|f32 are tessel settings; other KV types are refused.
  CHECK(continuation({"-p", "Once upon a time", "-b", "64", "-ub", "4", "-ctk", "f16", "-ctv", "f16"}) == base);
  CHECK(ok({"generate", "-m", stories(), "-p", "Once", "-n", "4", "-ctk", "f32", "-ctv", "f32"}).out.size() > 4);
  const auto q8 = run_tessel({"generate", "-m", stories(), "-p", "Once", "-n", "4", "-ctk", "q8_0"});
  CHECK(q8.exit_code == 2);
  CHECK_THAT(q8.err, Catch::Contains("q8_0") && Catch::Contains("tessel generate --help"));
  const auto mixed = run_tessel({"generate", "-m", stories(), "-p", "Once", "-n", "4", "-ctk", "f32", "-ctv", "f16"});
  CHECK(mixed.exit_code == 2);
  CHECK_THAT(mixed.err, Catch::Contains("same"));
}

TEST_CASE("llama-cli: every GPU / memory option of the table is accepted with one note each, -v is --verbose") {
  const std::vector<std::vector<std::string>> options = {
      {"-ngl", "99"}, {"-fa", "auto"}, {"--mlock"}, {"--no-mmap"}, {"--mmap"},
      {"-lm", "mmap"}, {"--no-warmup"}, {"-tb", "2"}, {"-dev", "none"}, {"-sm", "none"}, {"-mg", "0"},
      {"-ts", "3,1"}, {"-nkvo"}, {"--numa", "distribute"}, {"-co", "off"}};
  std::vector<std::string> args = {"generate", "-m", stories(), "-p", "Once upon a time", "-n", "16", "--temp", "0",
                                   "--no-display-prompt"};
  for (const auto& o : options) args.insert(args.end(), o.begin(), o.end());
  const auto r = ok(args);
  CHECK(r.out == continuation({"-p", "Once upon a time"}));
  CHECK(count_of(r.err, " ignored: ") == options.size());
  // The other samplers and stops of the table run (and a fixed seed repeats itself).
  const std::vector<std::string> sampled = {"-p", "Once upon a time", "--temp", "0.9", "--ignore-eos",
                                            "--repeat-last-n", "32", "--presence-penalty", "0.1",
                                            "--frequency-penalty", "0.1", "--typical", "0.9", "-s", "3"};
  CHECK(continuation(sampled, "24") == continuation(sampled, "24"));
  const auto verbose = ok({"generate", "-m", stories(), "-p", "Hi", "-n", "1", "-v"});
  CHECK_THAT(verbose.err, Catch::Contains("architecture plugin 'llama'"));
}

TEST_CASE("llama-cli / llama-completion chat: -cnv, -st, -sys, --chat-template chatml, -no-cnv; tessel chat -p -st") {
  const std::vector<std::string> chat = {"-p", "Hi", "--chat-template", "chatml"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), chat.begin(), chat.end());
    return continuation(extra, "8");
  };
  // llama-completion -cnv / -st: one chat turn, as tessel's --chat.
  const std::string turn = with({"--chat"});
  CHECK(with({"-cnv"}) == turn);
  CHECK(with({"-st"}) == turn);
  CHECK(with({"-cnv", "-st"}) == turn);
  // -no-cnv: the plain completion even with a template named.
  CHECK(with({"-no-cnv"}) == continuation({"-p", "Hi"}, "8"));
  // -sys: a system message (chat mode).
  const std::string sys = with({"-sys", "Be brief."});
  CHECK(sys != turn);
  CHECK(with({"-cnv", "-sys", "Be brief.", "--jinja"}) == sys);

  // The new llama-cli: llama-cli -m M -sys S -p Hi -st --temp 0 -n 8 --chat-template chatml
  const auto single = ok({"chat", "-m", stories(), "-sys", "Be brief.", "-p", "Hi", "-st", "--temp", "0", "-n", "8",
                          "--chat-template", "chatml"});
  CHECK(single.out == sys);
  // Without -st the conversation goes on from stdin after the -p message.
  const auto two = ok({"chat", "-m", stories(), "-p", "Hi", "--temp", "0", "-n", "8", "--chat-template", "chatml"},
                      std::string("Tell me more\n"));
  CHECK_THAT(two.out, Catch::StartsWith(turn));
  CHECK(two.out.size() > turn.size());
  const auto no_message = run_tessel({"chat", "-m", stories(), "-st"});
  CHECK(no_message.exit_code == 2);
  CHECK_THAT(no_message.err, Catch::Contains("-p"));
}

TEST_CASE("llama-embedding --pooling --embd-normalize --embd-output-format --embd-separator --log-disable") {
  // llama-embedding -m M --pooling mean --log-disable -p "Hello World!"
  auto r = ok({"embed", "-m", bert(), "--pooling", "mean", "--log-disable", "-p", "Hello World!"});
  CHECK(r.err.empty());
  CHECK(json::parse(r.out)["embedding"].size() > 0);

  // The README's example: four texts split on <#sep#>, llama-embedding's default display.
  r = ok({"embed", "-p", "Castle<#sep#>Stronghold<#sep#>Dog<#sep#>Cat", "--pooling", "mean", "--embd-separator",
          "<#sep#>", "--embd-normalize", "2", "--embd-output-format", "", "-m", bert(), "--n-gpu-layers", "99",
          "--log-disable"});
  CHECK(r.err.empty());
  for (int i = 0; i < 4; ++i) CHECK_THAT(r.out, Catch::Contains("embedding " + std::to_string(i) + ": "));
  CHECK_THAT(r.out, Catch::Contains("cosine similarity matrix:") && Catch::Contains("Castle") &&
                        Catch::Contains("  1.00 "));
  // One text: every value on its line.
  r = ok({"embed", "-m", bert(), "-p", "Castle", "--embd-output-format", ""});
  const std::string line = r.out.substr(r.out.find("embedding 0: "));
  CHECK(count_of(line, " ") > 16);

  // --pooling cls|last with json / array / json+: one row per text, unit length under --embd-normalize 2.
  for (const char* pooling : {"mean", "cls", "last"}) {
    INFO(pooling);
    r = ok({"embed", "-m", bert(), "--pooling", pooling, "--embd-normalize", "2", "--embd-output-format", "json",
            "-p", "Hello\nWorld"});
    const json j = json::parse(r.out);
    REQUIRE(j["data"].size() == 2);
    double norm = 0;
    for (double v : j["data"][0]["embedding"]) norm += v * v;
    CHECK(std::sqrt(norm) == Approx(1.0).margin(1e-4));
  }
  r = ok({"embed", "-m", bert(), "--embd-output-format", "array", "-p", "Hello\nWorld", "-ngl", "99", "-fa", "off",
          "-ub", "512", "-b", "512", "-c", "512"});
  CHECK(json::parse(r.out).size() == 2);
  CHECK(count_of(r.err, " ignored: ") == 2);
  // --embd-normalize -1|0|1|3 and --pooling none run; 0 scales to the int16 range.
  for (const char* norm : {"-1", "0", "1", "3"}) {
    INFO(norm);
    r = ok({"embed", "-m", bert(), "--embd-normalize", norm, "--embd-output-format", "array", "-p", "Hello"});
    CHECK(json::parse(r.out)[0].size() > 0);
  }
  r = ok({"embed", "-m", bert(), "--embd-normalize", "0", "--embd-output-format", "raw", "-p", "Hello"});
  CHECK_THAT(r.out, Catch::Contains("32760"));
  r = ok({"embed", "-m", bert(), "--pooling", "none", "--embd-output-format", "json", "-p", "Hello world"});
  CHECK(json::parse(r.out)["data"].size() > 1);  // one row per token
  r = ok({"embed", "-m", bert(), "--embd-output-format", "json+", "-p", "Hello\nWorld"});
  CHECK(json::parse(r.out)["cosineSimilarity"].size() == 2);
}

TEST_CASE("llama-tokenize -m M -p TEXT --ids --log-disable --show-count --no-bos -f FILE --stdin") {
  for (const std::string& model : {stories(), vocab("llama-spm"), vocab("qwen2"), vocab("bert-bge")}) {
    INFO(model);
    const auto ids = ok({"tokenize", "-m", model, "-p", "Hello world", "--ids", "--log-disable"});
    CHECK(ids.err.empty());
    const auto list = json::parse(ids.out).get<std::vector<int>>();
    REQUIRE(!list.empty());
    // The default listing: "    id -> 'piece'" per token, then the count.
    const auto listing = ok({"tokenize", "-m", model, "-p", "Hello world", "--show-count"});
    CHECK(count_of(listing.out, " -> '") == list.size());
    CHECK_THAT(listing.out, Catch::EndsWith("Total number of tokens: " + std::to_string(list.size()) + "\n"));
    // -f FILE (read verbatim) and --stdin give the ids of the same text.
    const auto file = temp_dir() / "text.txt";
    write_text(file, "Hello world");
    CHECK(ok({"tokenize", "-m", model, "-f", file.string(), "--ids"}).out == ids.out);
    CHECK(ok({"tokenize", "-m", model, "--stdin", "--ids"}, std::string("Hello world")).out == ids.out);
    // --no-bos leaves out what the model adds (BOS; CLS/SEP for BERT).
    const auto bare = json::parse(ok({"tokenize", "-m", model, "-p", "Hello world", "--ids", "--no-bos"}).out);
    CHECK(bare.size() <= list.size());
  }
  const auto spm = json::parse(ok({"tokenize", "-m", vocab("llama-spm"), "-p", "Hello", "--ids"}).out);
  const auto spm_bare = json::parse(ok({"tokenize", "-m", vocab("llama-spm"), "-p", "Hello", "--ids", "--no-bos"}).out);
  CHECK(spm.size() == spm_bare.size() + 1);
}

TEST_CASE("llama-bench -p -n -t lists -r -o json|md|csv, -pg, -d, -b/-ub, and -fa -ngl -mmp accepted") {
  // llama-bench -m M -p 16 -n 4 -t 1,2 -r 2 -o json -fa 0 -ngl 0 -mmp 0 -b 16 -ub 8 (tiny: no speed is checked)
  auto r = ok({"bench", "-m", stories(), "-p", "16", "-n", "4", "-t", "1,2", "-r", "2", "-o", "json", "-fa", "0",
               "-ngl", "0", "-mmp", "0", "-b", "16", "-ub", "8"});
  CHECK(count_of(r.err, " ignored: ") == 3);
  const json rows = json::parse(r.out);
  REQUIRE(rows.size() == 4);
  for (const json& row : rows) {
    for (const char* field : {"build_commit", "cpu_info", "model_type", "model_size", "n_batch", "n_ubatch",
                              "n_threads", "type_k", "type_v", "n_gpu_layers", "flash_attn", "test", "avg_ts",
                              "samples_ns", "samples_ts"})
      CHECK(row.contains(field));
    CHECK(row["n_batch"] == 16);
    CHECK(row["n_ubatch"] == 8);
    CHECK(row["samples_ns"].size() == 2);
  }
  CHECK(rows[0]["n_threads"] == 1);
  CHECK(rows[2]["n_threads"] == 2);

  r = ok({"bench", "-m", stories(), "-p", "8", "-n", "2", "-r", "1", "-o", "md", "-pg", "8,2", "--no-warmup"});
  CHECK_THAT(r.out, Catch::StartsWith("| model | size | params | backend | threads | test | t/s |"));
  CHECK_THAT(r.out, Catch::Contains("| pp8 |") && Catch::Contains("| tg2 |") && Catch::Contains("| pp8+tg2 |"));
  // -d: the same tests with the KV cache already holding D tokens; -pg longer than -p/-n fits the context.
  r = ok({"bench", "-m", stories(), "-p", "8", "-n", "2", "-d", "0,32", "-pg", "64,4", "-r", "1", "-o", "jsonl"});
  std::vector<std::string> tests;
  std::vector<int> depths;
  std::string line_of_json;
  for (std::stringstream in(r.out); std::getline(in, line_of_json);) {
    const json row = json::parse(line_of_json);
    tests.push_back(row["test"]);
    depths.push_back(row["n_depth"]);
  }
  CHECK(tests == std::vector<std::string>{"pp8", "tg2", "pp64+tg4", "pp8 @ d32", "tg2 @ d32", "pp64+tg4 @ d32"});
  CHECK(depths == std::vector<int>{0, 0, 0, 32, 32, 32});
  r = ok({"bench", "-m", stories(), "-p", "8", "-n", "0", "-r", "1", "-o", "csv"});
  CHECK_THAT(r.out, Catch::StartsWith("build_commit,"));
  CHECK(count_of(r.out, "\n") == 2);
  const auto bad = run_tessel({"bench", "-m", stories(), "-pg", "8"});
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("-pg 8"));
}
