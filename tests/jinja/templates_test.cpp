// Every template in ../shared/chat-templates renders each conversation byte for
// byte as llama.cpp's llama-server /apply-template did (see its README.md):
// bos_token <s>, eos_token </s>, add_generation_prompt on, a leading <s> stripped.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support.hpp"
#include "tessel/error.hpp"
#include "tessel/jinja.hpp"

namespace fs = std::filesystem;
using tessel::test::read_text;
using tessel::test::shared_path;

namespace {

std::vector<fs::path> templates() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(shared_path("chat-templates")))
    if (e.path().extension() == ".jinja") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("every shared chat template renders as llama.cpp does") {
  const fs::path dir = shared_path("chat-templates");
  const auto convs = nlohmann::ordered_json::parse(read_text(dir / "conversations.json"));
  const auto list = templates();
  REQUIRE(list.size() >= 45);
  for (const auto& path : list) {
    const std::string name = path.stem().string();
    for (auto it = convs.begin(); it != convs.end(); ++it) {
      INFO(name << " / " << it.key());
      const fs::path expected_file = dir / "renderings" / (name + "." + it.key() + ".txt");
      REQUIRE(fs::exists(expected_file));
      std::string got;
      try {
        got = tessel::ChatTemplate(read_text(path)).render(it.value());
      } catch (const tessel::Error& e) {
        FAIL_CHECK(e.what());
        continue;
      }
      CHECK(got == read_text(expected_file));
    }
  }
}
