// `tessel embed` and `tessel similarity` end to end on bert-synth / gemma-embedding-synth.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "golden_embed.hpp"

using namespace tessel;
using namespace tessel::test;

namespace {
std::string bert() { return shared_path("golden/models/bert-synth.gguf").string(); }
std::string gemma() { return shared_path("golden/models/gemma-embedding-synth.gguf").string(); }
}  // namespace

TEST_CASE("embed -f FILE: one text per line, jsonl, no progress lines when stderr is not a terminal, same as -p") {
  const auto dir = temp_dir();
  const auto in = dir / "texts.txt";
  write_text(in, "Hello\r\n\nThe quick brown fox jumps over the lazy dog near the river bank.\n");
  const auto out = dir / "out.jsonl";
  auto r = run_tessel({"embed", "-m", bert(), "-f", in.string(), "-o", out.string(), "-t", "2"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, !Catch::Contains("\r"));
  CHECK_THAT(r.err, !Catch::Contains("2/2 texts"));
  // The summary splits the time as llama-embedding does: load (with the
  // packing of weights made on first use), tokenizing, the rows embedded.
  std::smatch m;
  REQUIRE(std::regex_search(r.err, m, std::regex(R"(embed: 2 texts -> 32 values each row \(pooling cls, normalize 2\) )"
                                                 R"(in [0-9.]+ ms: load [0-9.]+ ms \(packing weights [0-9.]+ ms\), )"
                                                 R"(tokenize [0-9.]+ ms, ([0-9]+) rows in [0-9.]+ ms)")));
  CHECK(std::stoi(m[1]) > 2);  // both texts' tokens, not the texts
  const std::string text = read_text(out);
  const auto nl = text.find('\n');
  const auto a = nlohmann::json::parse(text.substr(0, nl));
  const auto b = nlohmann::json::parse(text.substr(nl + 1));
  CHECK(a["text"] == "Hello");
  CHECK(b["index"] == 1);
  // The golden cls/norm2 outputs (bert-synth's default pooling is cls).
  for (const auto& c : golden_cases("bert-synth")) {
    if (c.fa || c.pooling != "cls") continue;
    const auto& j = c.prompt_id == "p1_short" ? a : c.prompt_id == "p2_medium" ? b : nlohmann::json();
    if (j.is_null()) continue;
    const auto got = j["embedding"].get<std::vector<float>>();
    check_rows(got.data(), golden_values(c), 1, 32, 0.99999, 2);
  }
  // Several -p in one call give the same numbers.
  auto r2 = run_tessel({"embed", "-m", bert(), "-p", "Hello", "-p",
                        "The quick brown fox jumps over the lazy dog near the river bank.", "-t", "2"});
  REQUIRE(r2.exit_code == 0);
  CHECK(r2.out == text);
}

TEST_CASE("embed --task query prepends EmbeddingGemma's prompt, --dims truncates and renormalizes") {
  auto with_task = run_tessel({"embed", "-m", gemma(), "-p", "Hello", "--task", "query", "--format", "txt", "-t", "2"});
  auto with_prefix = run_tessel({"embed", "-m", gemma(), "-p", "Hello", "--prefix", "task: search result | query: ",
                                 "--format", "txt", "-t", "2"});
  auto plain = run_tessel({"embed", "-m", gemma(), "-p", "Hello", "--format", "txt", "-t", "2"});
  REQUIRE(with_task.exit_code == 0);
  CHECK(with_task.out == with_prefix.out);
  CHECK(with_task.out != plain.out);
  auto dims = run_tessel({"embed", "-m", gemma(), "-p", "Hello", "--dims", "64", "--format", "jsonl", "-t", "2"});
  REQUIRE(dims.exit_code == 0);
  const auto v = nlohmann::json::parse(dims.out)["embedding"].get<std::vector<float>>();
  REQUIRE(v.size() == 64);
  double n = 0;
  for (float x : v) n += double(x) * x;
  CHECK(std::abs(n - 1.0) < 1e-5);
}

TEST_CASE("similarity prints a symmetric cosine matrix with ones on the diagonal") {
  auto r = run_tessel({"similarity", "-m", bert(), "-p", "Hello", "-p", "Hello", "-p", "A different sentence.", "-t", "2"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<std::vector<double>> m;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::vector<double> row;
    for (int i = 0; i < 3; ++i) { double x; ls >> x; row.push_back(x); }
    m.push_back(row);
  }
  REQUIRE(m.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(m[i][i] == Approx(1.0).margin(1e-4));
    for (int j = 0; j < 3; ++j) CHECK(m[i][j] == Approx(m[j][i]).margin(1e-4));
  }
  CHECK(m[0][1] == Approx(1.0).margin(1e-4));
  CHECK(m[0][2] < 0.9999);
}

TEST_CASE("embed errors name the problem") {
  auto r = run_tessel({"embed", "-m", bert(), "-p", "x", "--format", "npy"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("npy"));
  r = run_tessel({"embed", "-m", bert(), "-p", "x", "--pooling", "avg"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("avg"));
  r = run_tessel({"embed", "-m", bert(), "-f", "/nonexistent/texts.txt"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("/nonexistent/texts.txt"));
  r = run_tessel({"embed", "-m", bert(), "-p", "x", "--task", "code"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("code"));
}
