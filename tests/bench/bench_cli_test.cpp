// `tessel bench` reports as llama-bench does (--json fields, --embed, load
// times, --roofline) and `tessel synth` writes a model any reader loads.
// No timing is asserted: benchmarks live in bench/, not in tests.
#include <catch2/catch.hpp>

#include <algorithm>
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

TEST_CASE("tessel bench: comma lists, llama-bench's JSON fields and model naming, --parallel") {
  const auto model = shared_path("golden/models/llama-synth-Q4_0.gguf").string();
  const json list = bench_json({"-m", model, "-p", "8,16", "-n", "2,3", "-t", "1,2", "-r", "1",
                                "--parallel", "2", "--npp", "4"});
  // per thread count: pp8 pp16 tg2 tg3, then --parallel 2 for each -n
  REQUIRE(list.size() == 12);
  CHECK(list[0]["test"] == "pp8");
  CHECK(list[1]["test"] == "pp16");
  CHECK(list[2]["test"] == "tg2");
  CHECK(list[3]["test"] == "tg3");
  CHECK(list[4]["n_parallel"] == 2);
  CHECK(list[4]["n_gen"] == 2);
  CHECK(list[4]["n_prompt"] == 4);
  CHECK(list[0]["n_threads"] == 1);
  CHECK(list[6]["n_threads"] == 2);
  for (const json& r : list) {
    for (const char* f : {"build_commit", "cpu_info", "type_k", "type_v", "n_ubatch", "samples_ns", "test_time",
                          "avg_ns", "stddev_ns", "model_type", "model_size", "model_n_params", "n_parallel"})
      CHECK(r.contains(f));
    CHECK(r["samples_ns"].size() == 1);
    CHECK(r["type_k"] == "f16");
    // "llama <size> <file type>" as llama-bench names models
    CHECK(r["model_type"].get<std::string>().rfind("llama ", 0) == 0);
  }
  CHECK(list[4]["avg_ts"].get<double>() > 0);
}

TEST_CASE("tessel bench -o csv and md print a header and one line per test") {
  const auto model = shared_path("models/stories260K.gguf").string();
  RunResult r = run_tessel({"bench", "-m", model, "-p", "4", "-n", "2", "-r", "1", "-o", "csv"}, 300);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 3);
  CHECK(r.out.rfind("build_commit,", 0) == 0);
  r = run_tessel({"bench", "-m", model, "-p", "4", "-n", "2", "-r", "1"}, 300);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("| model | size | params | backend | threads | test | t/s |") != std::string::npos);
  CHECK(r.out.find("| pp4 |") != std::string::npos);
  r = run_tessel({"bench", "-m", model, "-o", "xml"});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("xml") != std::string::npos);
  r = run_tessel({"bench", "--help"});
  CHECK(r.out.find("512") != std::string::npos);  // defaults are shown
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
