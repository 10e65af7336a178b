// The host binary as a user meets it: help, version, plugins, run, bad flags.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support.hpp"

using Catch::Matchers::Contains;
using tessel::test::run_tessel;

static int count_lines(const std::string& s) { return int(std::count(s.begin(), s.end(), '\n')); }

TEST_CASE("tessel --help and --version") {
  auto r = run_tessel({"--help"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("plugins") && Contains("run"));
  auto v = run_tessel({"--version"});
  CHECK(v.exit_code == 0);
  CHECK_THAT(v.out, Contains("tessel 0."));
  auto h = run_tessel({"run", "--help"});
  CHECK(h.exit_code == 0);
  CHECK_THAT(h.out, Contains("--set"));
}

TEST_CASE("tessel plugins --json lists the built plugins with kind, name, version and file") {
  auto r = run_tessel({"plugins", "--json"});
  REQUIRE(r.exit_code == 0);
  auto list = nlohmann::json::parse(r.out);
  REQUIRE(list.is_array());
  REQUIRE(!list.empty());
  for (const auto& p : list) {
    CHECK(p.contains("kind"));
    CHECK(p.contains("name"));
    CHECK(p.contains("version"));
    CHECK(std::filesystem::exists(p["file"].get<std::string>()));
  }
}

TEST_CASE("an unknown flag or subcommand is one line on stderr and a non-zero exit") {
  auto r = run_tessel({"plugins", "--bogus"});
  CHECK(r.exit_code == 2);
  CHECK(count_lines(r.err) == 1);
  CHECK_THAT(r.err, Contains("--bogus"));
  auto s = run_tessel({"dance"});
  CHECK(s.exit_code != 0);
  CHECK(count_lines(s.err) == 1);
}

TEST_CASE("tessel run reports config errors on one line naming file:line:column") {
  auto dir = tessel::test::temp_dir();
  tessel::test::write_text(dir / "c.yaml", "model: { path: m.gguf }\nruntime: { treads: 2 }\n");
  auto r = run_tessel({"run", (dir / "c.yaml").string()});
  CHECK(r.exit_code == 1);
  CHECK(count_lines(r.err) == 1);
  CHECK_THAT(r.err, Contains("c.yaml:2:12: 'runtime.treads' is not a known key"));
  auto m = run_tessel({"run", (dir / "missing.yaml").string()});
  CHECK(m.exit_code == 1);
  CHECK_THAT(m.err, Contains("missing.yaml: cannot open config file"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("every shipped config validates") {
  auto configs = tessel::test::source_dir() / "configs";
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(configs)) {
    if (e.path().extension() != ".yaml") continue;
    ++n;
    // Configs for models users download name them by environment variable.
    auto r = run_tessel({"run", "--check", e.path().string()}, 60,
                        {"TINYLLAMA_GGUF=/x.gguf", "EMBEDDINGGEMMA_GGUF=/x.gguf", "BGE_SMALL_GGUF=/x.gguf"});
    INFO(e.path().string() << ": " << r.err);
    CHECK(r.exit_code == 0);
  }
  CHECK(n > 0);
}
