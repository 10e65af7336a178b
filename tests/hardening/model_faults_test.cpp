// Models with legal-but-odd layouts run unchanged; models with non-finite
// weights fail clearly instead of printing <unk> streams or `nan` JSON.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "gguf.hpp"
#include "support.hpp"
#include "tessel/config.hpp"
#include "tessel/embedding.hpp"
#include "tessel/metadata.hpp"

namespace fs = std::filesystem;
using Catch::Contains;
using tessel::test::run_tessel;
using tessel::test::shared_path;
using tessel::test::temp_dir;

namespace {

// Rewrites `src` to `dst` with `edit` applied to the metadata and the bytes of
// the tensor named `tensor` (if any).
void rewrite(const fs::path& src, const fs::path& dst, const std::string& tensor,
             const std::function<void(std::vector<std::byte>&)>& edit_tensor,
             const std::function<void(tessel::Metadata&)>& edit_meta = {}) {
  auto f = tessel::gguf::read_file(src);
  tessel::Metadata meta = f->meta;
  if (edit_meta) edit_meta(meta);
  auto tensors = tessel::gguf::tensors_to_write(*f);
  std::vector<std::byte> copy;
  for (auto& t : tensors) {
    if (t.name != tensor) continue;
    copy.assign(t.data.begin(), t.data.end());
    edit_tensor(copy);
    t.data = copy;
  }
  tessel::gguf::write_file(dst, meta, tensors);
}

void fill_nan(std::vector<std::byte>& bytes) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (size_t i = 0; i + 4 <= bytes.size(); i += 4) std::memcpy(bytes.data() + i, &nan, 4);
}

}  // namespace

TEST_CASE("general.alignment 1 (misaligned tensors) generates exactly what the aligned file does") {
  fs::path dir = temp_dir();
  const fs::path src = shared_path("models/stories260K.gguf");
  rewrite(src, dir / "packed.gguf", "", {}, [](tessel::Metadata& m) {
    m.set("general.alignment", tessel::MetaValue::of_u32(1));
  });
  const std::vector<std::string> args{"-p", "Once upon a time", "-n", "16", "--temp", "0", "-t", "1"};
  auto ref_args = args, odd_args = args;
  ref_args.insert(ref_args.begin(), {"generate", "-m", src.string()});
  odd_args.insert(odd_args.begin(), {"generate", "-m", (dir / "packed.gguf").string()});
  auto ref = run_tessel(ref_args);
  auto odd = run_tessel(odd_args);
  REQUIRE(ref.exit_code == 0);
  CHECK(odd.exit_code == 0);
  CHECK(odd.out == ref.out);
}

TEST_CASE("NaN weights in a K-quant model fail with a clear error, exit 1") {
  fs::path dir = temp_dir();
  rewrite(shared_path("golden/models/llama-synth-Q4_K_M.gguf"), dir / "nan.gguf", "blk.0.attn_norm.weight", fill_nan);
  auto r = run_tessel({"generate", "-m", (dir / "nan.gguf").string(), "-p", "Once upon a time", "-n", "4"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("blk.0.attn_norm.weight") && Contains("non-finite"));
}

TEST_CASE("embed never writes nan: a model with NaN weights fails instead") {
  fs::path dir = temp_dir();
  rewrite(shared_path("golden/models/bert-synth.gguf"), dir / "nan.gguf", "token_embd_norm.weight", fill_nan);
  for (const char* format : {"json", "jsonl", "txt"}) {
    auto r = run_tessel({"embed", "-m", (dir / "nan.gguf").string(), "-p", "hello", "--format", format});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("non-finite"));
    CHECK_THAT(r.out, !Contains("nan"));
  }
  auto r = run_tessel({"embed", "-m", (dir / "nan.gguf").string(), "-p", "hello", "--format", "npy", "-o",
                       (dir / "out.npy").string()});
  CHECK(r.exit_code == 1);
  CHECK_FALSE(fs::exists(dir / "out.npy"));
}

TEST_CASE("embedding writers refuse non-finite values in every format, writing nothing") {
  fs::path dir = temp_dir();
  tessel::embed::Result r;
  r.rows = 1;
  r.cols = 3;
  r.data = {0.5f, std::numeric_limits<float>::quiet_NaN(), 0.25f};
  for (const char* format : {"json", "jsonl", "txt", "npy"}) {
    tessel::EmbedSpec spec;
    spec.output = format;
    spec.out_path = (dir / (std::string("out.") + format)).string();
    CHECK_THROWS_WITH(tessel::embed::write_results({r}, {"text"}, spec), Contains("non-finite"));
    CHECK_FALSE(fs::exists(spec.out_path));
  }
  r.data[1] = std::numeric_limits<float>::infinity();
  tessel::EmbedSpec spec;
  spec.output = "json";
  spec.out_path = (dir / "inf.json").string();
  CHECK_THROWS_WITH(tessel::embed::write_results({r}, {"text"}, spec), Contains("non-finite"));
}
