// `tessel bench` reports as llama-bench does (--json fields, --embed, load
// times, --roofline) and `tessel synth` writes a model any reader loads.
// No timing is asserted: benchmarks live in bench/, not in tests.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support.hpp"

using namespace tessel::test;
using nlohmann::json;

namespace {
json bench_json(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"bench"};
  all.insert(all.end(), args.begin(), args.end());
  all.push_back("--json");
  const RunResult r = run_tessel(all, 300);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}
}  // namespace

TEST_CASE("tessel bench --json: pp and tg results with llama-bench's fields") {
  // Q4_0 goes through the packed kernels on VNNI CPUs, the per-row dots elsewhere.
  const auto model = shared_path("golden/models/llama-synth-Q4_0.gguf").string();
  const json list = bench_json({"-m", model, "-p", "16", "-n", "4", "-r", "2", "-t", "2"});
  REQUIRE(list.is_array());
  REQUIRE(list.size() == 2);
  CHECK(list[0]["test"] == "pp16");
  CHECK(list[0]["n_prompt"] == 16);
  CHECK(list[0]["n_gen"] == 0);
  CHECK(list[1]["test"] == "tg4");
  CHECK(list[1]["n_prompt"] == 0);
  CHECK(list[1]["n_gen"] == 4);
  for (const json& r : list) {
    CHECK(r["n_threads"] == 2);
    CHECK(r["avg_ts"].get<double>() > 0);
    CHECK(r["stddev_ts"].get<double>() >= 0);
    CHECK(r["samples_ts"].size() == 2);
    CHECK(r["load_to_first_token_ms"].get<double>() >= r["load_ms"].get<double>());
  }
}

TEST_CASE("tessel bench --embed: texts/s for a batch of texts") {
  const auto model = shared_path("golden/models/gemma-embedding-synth-Q8_0.gguf").string();
  const json list = bench_json({"-m", model, "--embed", "--texts", "3", "--text-len", "8", "-r", "2"});
  REQUIRE(list.size() == 1);
  CHECK(list[0]["test"] == "embed 3x8");
  CHECK(list[0]["n_texts"] == 3);
  CHECK(list[0]["avg_ts"].get<double>() > 0);
}

TEST_CASE("tessel bench --roofline prints the decode roofline") {
  const auto model = shared_path("models/stories260K.gguf").string();
  const RunResult r = run_tessel({"bench", "-m", model, "-p", "0", "-n", "2", "-r", "1", "--roofline"}, 300);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("| tg2 |") != std::string::npos);
  CHECK(r.out.find("roofline: ") != std::string::npos);
  CHECK(r.out.find("load to first token") != std::string::npos);
}

TEST_CASE("tessel bench: bad values are one line naming them") {
  const auto model = shared_path("models/stories260K.gguf").string();
  RunResult r = run_tessel({"bench", "-m", model, "-r", "0"});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("-r") != std::string::npos);
  r = run_tessel({"bench", "-m", (temp_dir() / "missing.gguf").string()});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("missing.gguf") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("tessel synth writes a quantized model that bench and inspect load") {
  const auto out = temp_dir() / "stories-15m-q4_0.gguf";
  RunResult r = run_tessel({"synth", "--preset", "stories-15m", "--type", "Q4_0", "-o", out.string(), "--seed", "7"}, 300);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(std::filesystem::file_size(out) > 1000000);
  r = run_tessel({"inspect", out.string()});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Q4_0") != std::string::npos);
  const json list = bench_json({"-m", out.string(), "-p", "8", "-n", "2", "-r", "1"});
  CHECK(list.size() == 2);
  r = run_tessel({"synth", "--preset", "no-such-shape", "-o", out.string()});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("no-such-shape") != std::string::npos);
}
