// read -> write -> compare: the writer must reproduce every shared GGUF byte
// for byte (metadata order, value types, tensor offsets, padding).
#include <catch2/catch.hpp>
#include <filesystem>

#include "gguf.hpp"
#include "support.hpp"

using namespace tessel;
namespace fs = std::filesystem;

namespace {
std::vector<fs::path> shared_ggufs() {
  std::vector<fs::path> files;
  for (const auto& dir : {test::shared_path("models"), test::shared_path("golden/models")})
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file() && e.path().extension() == ".gguf") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}
}  // namespace

TEST_CASE("round trip is byte-identical for every shared GGUF") {
  auto files = shared_ggufs();
  REQUIRE(files.size() >= 30);
  fs::path dir = test::temp_dir();
  for (const auto& p : files) {
    INFO(p.string());
    auto f = gguf::read_file(p);
    fs::path out = dir / p.filename();
    auto tensors = gguf::tensors_to_write(*f);
    gguf::write_file(out, f->meta, tensors);
    std::string a = test::read_text(p), b = test::read_text(out);
    REQUIRE(a.size() == b.size());
    CHECK(a == b);
    // Read back: same layout as the original.
    auto g = gguf::read_file(out);
    CHECK(g->data_offset == f->data_offset);
    CHECK(g->tensors.size() == f->tensors.size());
    fs::remove(out);
  }
  // Nothing but the outputs was left in the folder (no temp files).
  CHECK(fs::is_empty(dir));
  fs::remove_all(dir);
}
