// The command line as a llama.cpp user types it: llama-cli / llama-tokenize /
// llama-embedding flags on `tessel generate|tokenize|embed`, the prompt echo
// and seed line, stdin and escapes, and the messages of `tessel` itself.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "support.hpp"

using namespace tessel::test;

namespace tessel::test {
// Defined in support.cpp (declared here so support.hpp, which every test
// includes, stays as it is): run_tessel with `input` as standard input.
RunResult run_tessel_stdin(const std::vector<std::string>& args, const std::string& input, int timeout_seconds = 120) {
  return run_tessel_input(args, input, timeout_seconds);
}
}  // namespace tessel::test

namespace {

std::string stories() { return shared_path("models/stories260K.gguf").string(); }
std::string bert() { return shared_path("golden/models/bert-synth.gguf").string(); }

// Greedy generation of a few tokens, the given extra flags appended.
RunResult greedy(std::vector<std::string> extra, const std::string& prompt = "Once upon a time") {
  std::vector<std::string> args = {"generate", "-m", stories(), "-p", prompt, "-n", "8", "--temp", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_tessel(args);
}

uint64_t seed_of(const std::string& err) {
  std::smatch m;
  REQUIRE(std::regex_search(err, m, std::regex("sampler seed: ([0-9]+)")));
  return std::stoull(m[1]);
}

}  // namespace

TEST_CASE("tessel foo says unknown command foo and usage errors point to tessel SUB --help") {
  auto r = run_tessel({"foo"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("unknown command foo"));
  r = run_tessel({"generate", "-m", stories()});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("-p") && Catch::Contains("tessel generate --help"));
  r = run_tessel({"tokenize", "-m", stories(), "--bogus-flag"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("bogus-flag") && Catch::Contains("tessel tokenize --help"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("tessel --version names the version, commit, compiler and the SIMD path of each weight type") {
  auto r = run_tessel({"--version"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("tessel 0.") && Catch::Contains("\ncommit: ") &&
                        Catch::Contains("\ncompiler: ") && Catch::Contains("SIMD kernels"));
  CHECK_THAT(r.out, Catch::Contains("Q4_0") && Catch::Contains("Q8_0"));
}

TEST_CASE("tessel --verbose logs the plugin of each step and the kernel path of each weight type") {
  // Before the subcommand, as a global flag, and after it.
  for (const auto& r : {run_tessel({"--verbose", "generate", "-m", stories(), "-p", "Hi", "-n", "1"}),
                        run_tessel({"generate", "-m", stories(), "-p", "Hi", "-n", "1", "--verbose"})}) {
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("format plugin 'gguf'") && Catch::Contains("tokenizer plugin '") &&
                          Catch::Contains("architecture plugin 'llama'") && Catch::Contains("kernel F32: "));
  }
  auto quiet = greedy({});
  CHECK_THAT(quiet.err, !Catch::Contains("format plugin"));
}

TEST_CASE("generate echoes the prompt, then the continuation, then a newline, and --no-display-prompt hides the prompt") {
  auto shown = greedy({});
  auto hidden = greedy({"--no-display-prompt"});
  INFO(shown.err);
  REQUIRE(shown.exit_code == 0);
  REQUIRE(hidden.exit_code == 0);
  CHECK_THAT(shown.out, Catch::StartsWith("Once upon a time") && Catch::EndsWith("\n"));
  CHECK_THAT(hidden.out, Catch::EndsWith("\n"));
  CHECK(hidden.out.size() > 1);
  CHECK(shown.out == "Once upon a time" + hidden.out);
}

TEST_CASE("the default seed is random and printed, --seed fixes it") {
  auto a = greedy({}), b = greedy({});
  REQUIRE(a.exit_code == 0);
  CHECK(seed_of(a.err) != seed_of(b.err));
  auto fixed = greedy({"--seed", "7"});
  CHECK(seed_of(fixed.err) == 7);
}

TEST_CASE("the prompt from -p -, -f FILE and escapes in -p all give the same text") {
  const auto plain = greedy({"--no-display-prompt"}, "Once upon\na time");
  REQUIRE(plain.exit_code == 0);
  const auto escaped = greedy({"--no-display-prompt"}, "Once upon\\na time");
  CHECK(escaped.out == plain.out);
  const auto literal = greedy({"--no-escape"}, "Once upon\\na time");
  CHECK_THAT(literal.out, Catch::StartsWith("Once upon\\na time"));

  auto from_stdin = run_tessel_stdin(
      {"generate", "-m", stories(), "-p", "-", "-n", "8", "--temp", "0", "--no-display-prompt"}, "Once upon\na time\n");
  INFO(from_stdin.err);
  CHECK(from_stdin.out == plain.out);
  const auto file = temp_dir() / "prompt.txt";
  write_text(file, "Once upon\na time\n");  // one trailing newline is dropped, as llama.cpp's -f does
  auto from_file = run_tessel({"generate", "-m", stories(), "-f", file.string(), "-n", "8", "--temp", "0",
                               "--no-display-prompt"});
  CHECK(from_file.out == plain.out);
  auto both = run_tessel({"generate", "-m", stories(), "-f", file.string(), "-p", "x"});
  CHECK(both.exit_code == 2);
}

TEST_CASE("generate: -r is a stop string, -ngl is accepted with one line, --chat-template and -sys imply chat") {
  auto stopped = run_tessel({"generate", "-m", stories(), "-p", "Once upon a time", "-n", "64", "--temp", "0",
                             "-r", " girl", "--no-display-prompt"});
  INFO(stopped.err);
  CHECK(stopped.out == ", there was a little\n");

  auto ngl = greedy({"-ngl", "99"});
  CHECK(ngl.exit_code == 0);
  CHECK_THAT(ngl.err, Catch::Contains("CPU only"));

  const auto chat = greedy({"--chat", "--chat-template", "chatml", "--no-display-prompt"}, "Hi");
  const auto implied = greedy({"--chat-template", "chatml", "--no-display-prompt"}, "Hi");
  const auto plain = greedy({"--no-display-prompt"}, "Hi");
  REQUIRE(chat.exit_code == 0);
  CHECK(implied.out == chat.out);
  CHECK(plain.out != chat.out);
  const auto sys = greedy({"-sys", "Be brief.", "--chat-template", "chatml", "--no-display-prompt"}, "Hi");
  const auto sys_long = greedy({"--chat", "--system-prompt", "Be brief.", "--chat-template", "chatml",
                                "--no-display-prompt"}, "Hi");
  CHECK(sys.exit_code == 0);
  CHECK(sys.out == sys_long.out);
  for (const char* name : {"phi4", "deepseek3", "granite", "mistral-v7", "gpt-oss"}) {
    auto r = greedy({"--chat-template", name}, "Hi");
    INFO(name << ": " << r.err);
    CHECK(r.exit_code == 0);
  }
}

TEST_CASE("tokenize parses special tokens and escapes by default, --no-bos, --show-count, --stdin") {
  auto ids = [](const RunResult& r) {
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.out.substr(0, r.out.find('\n'))).get<std::vector<int>>();
  };
  const auto special = ids(run_tessel({"tokenize", "-m", stories(), "-p", "<s>Hi", "--ids"}));
  const auto text = ids(run_tessel({"tokenize", "-m", stories(), "-p", "<s>Hi", "--ids", "--no-parse-special"}));
  REQUIRE(special.size() >= 2);
  CHECK(special[0] == 1);
  CHECK(special[1] == 1);  // <s> in the text is BOS, as generate feeds it
  CHECK(text.size() > special.size());
  const auto no_bos = ids(run_tessel({"tokenize", "-m", stories(), "-p", "Hi", "--ids", "--no-bos"}));
  const auto with_bos = ids(run_tessel({"tokenize", "-m", stories(), "-p", "Hi", "--ids"}));
  CHECK(with_bos.size() == no_bos.size() + 1);

  const auto escaped = ids(run_tessel({"tokenize", "-m", stories(), "-p", "a\\nb", "--ids"}));
  const auto newline = ids(run_tessel({"tokenize", "-m", stories(), "-p", "a\nb", "--ids"}));
  const auto literal = ids(run_tessel({"tokenize", "-m", stories(), "-p", "a\\nb", "--ids", "--no-escape"}));
  CHECK(escaped == newline);
  CHECK(literal != newline);
  CHECK(ids(run_tessel_stdin({"tokenize", "-m", stories(), "--stdin", "--ids"}, "a\nb")) == newline);
  CHECK(ids(run_tessel_stdin({"tokenize", "-m", stories(), "-p", "-", "--ids"}, "a\nb")) == newline);

  auto counted = run_tessel({"tokenize", "-m", stories(), "-p", "Hi", "--show-count"});
  CHECK_THAT(counted.out, Catch::EndsWith("Total number of tokens: " + std::to_string(with_bos.size()) + "\n"));
}

TEST_CASE("embed reads -f - from stdin and writes llama-embedding's array and json+ formats") {
  const std::string texts = "Hello\nA second text.\n";
  const auto file = temp_dir() / "texts.txt";
  write_text(file, texts);
  auto from_file = run_tessel({"embed", "-m", bert(), "-f", file.string(), "-t", "2"});
  auto from_stdin = run_tessel_stdin({"embed", "-m", bert(), "-f", "-", "-t", "2"}, texts);
  INFO(from_stdin.err);
  REQUIRE(from_stdin.exit_code == 0);
  CHECK(from_stdin.out == from_file.out);

  auto array = run_tessel({"embed", "-m", bert(), "-f", file.string(), "--embd-output-format", "array"});
  REQUIRE(array.exit_code == 0);
  const auto rows = nlohmann::json::parse(array.out);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].size() == rows[1].size());

  auto plus = run_tessel({"embed", "-m", bert(), "-f", file.string(), "--embd-output-format", "json+"});
  REQUIRE(plus.exit_code == 0);
  const auto j = nlohmann::json::parse(plus.out);
  CHECK(j["object"] == "list");
  CHECK(j["data"].size() == 2);
  REQUIRE(j["cosineSimilarity"].size() == 2);
  CHECK(j["cosineSimilarity"][0][0].get<double>() == Approx(1.0).margin(0.01));
  CHECK(j["cosineSimilarity"][0][1] == j["cosineSimilarity"][1][0]);

  auto raw = run_tessel({"embed", "-m", bert(), "-f", file.string(), "--embd-output-format", "raw"});
  CHECK(std::count(raw.out.begin(), raw.out.end(), '\n') == 2);
}

TEST_CASE("a text longer than the context: the message names the context and --truncate cuts it") {
  std::string longer;
  for (int i = 0; i < 40; ++i) longer += "word ";
  auto r = run_tessel({"embed", "-m", bert(), "-p", longer, "-c", "16", "-b", "16"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("context of 16 tokens") && Catch::Contains("--truncate"));
  CHECK_THAT(r.err, !Catch::Contains("raise -b"));
  auto cut = run_tessel({"embed", "-m", bert(), "-p", longer, "-c", "16", "-b", "16", "--truncate"});
  INFO(cut.err);
  CHECK(cut.exit_code == 0);
  CHECK_THAT(cut.err, Catch::Contains("cut 1 text to 16 tokens"));
}
