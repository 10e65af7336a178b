#include <catch2/catch.hpp>

#include "support.hpp"
#include "tessel/error.hpp"
#include "tessel/format.hpp"
#include "tessel/registry.hpp"

namespace fs = std::filesystem;
using tessel::Error;
using tessel::Registry;
using Catch::Matchers::Contains;

static fs::path tp(const char* dir) { return fs::path(TEST_PLUGINS_DIR) / dir; }
static fs::path so(const char* dir, const char* name) { return tp(dir) / name; }

TEST_CASE("registry loads a plugin and reads its descriptor") {
  Registry reg;
  reg.load_file(so("good", "tessel-format-testfmt.so"));
  auto list = reg.plugins_of("format");
  REQUIRE(list.size() == 1);
  CHECK(list[0].name == "testfmt");
  CHECK(list[0].version == "1.2.3");
  CHECK(list[0].summary == "registry test format");
  CHECK(list[0].handles == std::vector<std::string>{"testfmt"});
  CHECK(reg.find_handler("format", "testfmt") != nullptr);
  CHECK(reg.find_handler("format", "gguf") == nullptr);
}

TEST_CASE("registry discovers plugins in an added search path") {
  Registry reg;
  reg.add_search_path(tp("good"));
  reg.discover();
  bool found = false;
  for (const auto& p : reg.plugins()) found |= p.kind == "format" && p.name == "testfmt";
  CHECK(found);
}

TEST_CASE("objects keep their library loaded after the registry is gone") {
  std::shared_ptr<tessel::WeightFormat> fmt;
  {
    Registry reg;
    reg.load_file(so("good", "tessel-format-testfmt.so"));
    fmt = reg.create<tessel::WeightFormat>("format", "testfmt");
  }
  // The registry (and its handle on the library) is gone; the virtual call must still work.
  CHECK(fmt->can_open("x.testfmt"));
  auto file = fmt->open("x.testfmt");
  CHECK(file->meta.get_string("general.architecture") == "test");
}

TEST_CASE("a missing plugin name lists the ones of that kind") {
  Registry reg;
  reg.load_file(so("good", "tessel-format-testfmt.so"));
  REQUIRE_THROWS_WITH(reg.create<tessel::WeightFormat>("format", "nope"),
                      Contains("no format plugin named 'nope'") && Contains("available: testfmt"));
  REQUIRE_THROWS_WITH(reg.create<tessel::WeightFormat>("codec", "x"), Contains("available: none"));
}

TEST_CASE("an api_version mismatch names both numbers") {
  Registry reg;
  std::string want = "api_version " + std::to_string(tessel::kApiVersion + 98) +
                     " does not match this tessel's api_version " + std::to_string(tessel::kApiVersion);
  REQUIRE_THROWS_WITH(reg.load_file(so("badapi", "tessel-format-future.so")), Contains(want));
}

TEST_CASE("a library that is not a tessel plugin is refused") {
  Registry reg;
  REQUIRE_THROWS_WITH(reg.load_file(so("notplugin", "tessel-format-impostor.so")),
                      Contains("not a tessel plugin") && Contains("tessel-format-impostor.so"));
}

TEST_CASE("two plugins with the same kind and name are refused, naming both files") {
  Registry reg;
  reg.load_file(so("good", "tessel-format-testfmt.so"));
  REQUIRE_THROWS_WITH(reg.load_file(so("dup", "tessel-format-testfmt-copy.so")),
                      Contains("two format plugins named 'testfmt'") &&
                          Contains("tessel-format-testfmt.so") && Contains("tessel-format-testfmt-copy.so"));
}

TEST_CASE("a file that is not a shared library at all is refused") {
  fs::path dir = tessel::test::temp_dir();
  fs::path bogus = dir / "tessel-format-text.so";
  tessel::test::write_text(bogus, "this is not ELF\n");
  Registry reg;
  REQUIRE_THROWS_WITH(reg.load_file(bogus), Contains("tessel-format-text.so") && Contains("cannot load"));
  fs::remove_all(dir);
}

TEST_CASE("TESSEL_PLUGIN_PATH is searched") {
  setenv("TESSEL_PLUGIN_PATH", (std::string("/nonexistent:") + tp("good").string()).c_str(), 1);
  auto paths = Registry::default_search_paths();
  unsetenv("TESSEL_PLUGIN_PATH");
  CHECK(std::find(paths.begin(), paths.end(), tp("good")) != paths.end());
}
