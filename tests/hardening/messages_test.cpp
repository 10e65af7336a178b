// Commands that write refuse their own inputs and stream to devices; bad
// files, flags, configs and plugins give one clear line and a non-zero exit.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "gguf.hpp"
#include "support.hpp"
#include "tessel/json_file.hpp"

namespace fs = std::filesystem;
using Catch::Contains;
using tessel::test::read_text;
using tessel::test::run_tessel;
using tessel::test::RunResult;
using tessel::test::shared_path;
using tessel::test::temp_dir;
using tessel::test::write_text;

namespace {

std::string stories() { return shared_path("models/stories260K.gguf").string(); }
std::string bert() { return shared_path("golden/models/bert-synth.gguf").string(); }

bool one_line(const std::string& s) { return std::count(s.begin(), s.end(), '\n') == 1; }

// A /dev/full-like device in `dir` when we may make one (root), else /dev/full.
fs::path full_device(const fs::path& dir) {
  fs::path dev = dir / "full";
  if (::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 7)) == 0) return dev;
  return "/dev/full";
}

void expect_error(const RunResult& r, int code, const std::string& a, const std::string& b = "") {
  CHECK(r.exit_code == code);
  CHECK_THAT(r.err, Contains(a) && Contains(b));
  CHECK(one_line(r.err));
}

}  // namespace

TEST_CASE("quantize refuses to write over its input, directly or through a link") {
  fs::path dir = temp_dir();
  fs::copy_file(stories(), dir / "in.gguf");
  const std::string before = read_text(dir / "in.gguf");
  fs::create_symlink(dir / "in.gguf", dir / "link.gguf");
  for (const char* out : {"in.gguf", "link.gguf"}) {
    auto r = run_tessel({"quantize", (dir / "in.gguf").string(), (dir / out).string(), "F16"});
    expect_error(r, 1, "same file as the input");
  }
  CHECK(read_text(dir / "in.gguf") == before);
}

TEST_CASE("quantize --token-embedding-type / --output-tensor-type errors name the tensor") {
  fs::path dir = temp_dir();
  const std::string out = (dir / "out.gguf").string();
  // stories260K's rows are 64 values: Q4_K's 256-value blocks don't fit them.
  expect_error(run_tessel({"quantize", stories(), out, "F16", "--token-embedding-type", "Q4_K"}), 1,
               "--token-embedding-type Q4_K: tensor token_embd.weight", "block size 256");
  expect_error(run_tessel({"quantize", stories(), out, "F16", "--output-tensor-type", "Q6_K"}), 1,
               "--output-tensor-type Q6_K: tensor output.weight", "block size 256");
  expect_error(run_tessel({"quantize", stories(), out, "F16", "--token-embedding-type", "Q9_9"}), 1,
               "'Q9_9' for token_embd.weight");
  CHECK_FALSE(fs::exists(out));
  // A type that fits is taken as given.
  auto r = run_tessel({"quantize", stories(), out, "F16", "--token-embedding-type", "Q4_0"});
  CHECK(r.exit_code == 0);
  auto written = tessel::gguf::read_file(out);
  CHECK(written->get("token_embd.weight").type == tessel::TypeId::Q4_0);
}

TEST_CASE("quantize to a device streams into it and reports a full device") {
  fs::path dir = temp_dir();
  fs::path dev = full_device(dir);
  auto r = run_tessel({"quantize", stories(), dev.string(), "F16"});
  expect_error(r, 1, dev.string(), "No space left");
  CHECK(fs::is_character_file(dev));
  r = run_tessel({"quantize", stories(), "/dev/null", "F16"});
  CHECK(r.exit_code == 0);
  CHECK(fs::is_character_file("/dev/null"));
}

TEST_CASE("embed, logits, convert-tokenizer and image-embed refuse an output that is one of their inputs") {
  fs::path dir = temp_dir();
  write_text(dir / "texts.txt", "a cat\na dog\n");
  auto r = run_tessel({"embed", "-m", bert(), "-f", (dir / "texts.txt").string(), "-o", (dir / "texts.txt").string()});
  expect_error(r, 1, "same file as the input");
  CHECK(read_text(dir / "texts.txt") == "a cat\na dog\n");

  fs::copy_file(stories(), dir / "m.gguf");
  r = run_tessel({"logits", "-m", (dir / "m.gguf").string(), "-p", "Once", "-o", (dir / "m.gguf").string()});
  expect_error(r, 1, "same file as the input");
  CHECK(read_text(dir / "m.gguf") == read_text(stories()));

  // A tokenizer.json that converts, so only the same-file check can refuse it.
  const std::string tok =
      R"({"model": {"type": "BPE", "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "\u2581": 3, "a": 4, "b": 5, "ab": 6},)"
      R"( "merges": ["a b"], "byte_fallback": true, "unk_token": "<unk>"},)"
      R"( "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"}]}})";
  write_text(dir / "tokenizer.json", tok);
  r = run_tessel({"convert-tokenizer", (dir / "tokenizer.json").string(), (dir / "vocab.gguf").string()});
  CHECK(r.exit_code == 0);
  r = run_tessel({"convert-tokenizer", (dir / "tokenizer.json").string(), (dir / "tokenizer.json").string()});
  expect_error(r, 1, "same file as the input");
  CHECK(read_text(dir / "tokenizer.json") == tok);

  const std::string mmproj = shared_path("models/mmproj/mmproj-tinygemma3.gguf").string();
  const fs::path png = shared_path("golden/mtmd-gemma3/images/grad32.png");
  fs::copy_file(png, dir / "img.png");
  r = run_tessel({"image-embed", "--mmproj", mmproj, "--image", (dir / "img.png").string(), "-o",
                  (dir / "img.png").string()});
  expect_error(r, 1, "same file as the input");
  CHECK(read_text(dir / "img.png") == read_text(png));
}

TEST_CASE("embed -o to a full device, to a folder, and to stdout") {
  fs::path dir = temp_dir();
  auto r = run_tessel({"embed", "-m", bert(), "-p", "hello", "-o", full_device(dir).string()});
  expect_error(r, 1, "No space left");
  r = run_tessel({"embed", "-m", bert(), "-p", "hello", "-o", dir.string()});
  expect_error(r, 1, "is a folder");
  r = run_tessel({"embed", "-m", bert(), "-p", "hello", "--format", "json", "-o", "/dev/stdout"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("\"embedding\""));
}

TEST_CASE("a FIFO as the model path fails at once instead of blocking") {
  fs::path dir = temp_dir();
  REQUIRE(::mkfifo((dir / "model.gguf").c_str(), 0600) == 0);
  auto r = run_tessel({"generate", "-m", (dir / "model.gguf").string(), "-p", "x", "-n", "1"}, 30);
  expect_error(r, 1, "not a regular file");
}

TEST_CASE("a plugin that throws a non-std exception is reported, not an abort") {
  fs::path dir = temp_dir();
  write_text(dir / "c.yaml", "model: { path: " + stories() + ", format: throws-int }\n"
                             "plugins: { path: [" + std::string(HARDENING_PLUGINS_DIR) + "/throws] }\n");
  auto r = run_tessel({"run", (dir / "c.yaml").string()});
  expect_error(r, 70, "not a std::exception");
}

TEST_CASE("a broken plugin file is skipped with the loader's reason; other commands still work") {
  fs::path dir = temp_dir();
  write_text(dir / "tessel-format-broken.so", "this is not an ELF file");
  auto r = run_tessel({"plugins", "--plugin-path", dir.string()});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("tessel-format-broken.so") && Contains("skipping"));
  CHECK_THAT(r.err, !Contains("Bad file descriptor"));
  CHECK_THAT(r.out, Contains("gguf"));
}

TEST_CASE("embed with an empty prompt says so; blank lines separate texts") {
  auto r = run_tessel({"embed", "-m", bert(), "-p", ""});
  expect_error(r, 2, "-p", "no text");  // a usage mistake: exit 2, as every flag error
  r = run_tessel({"embed", "-m", bert(), "-p", "a cat\n\na dog", "--format", "jsonl"});
  CHECK(r.exit_code == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 2);
}

TEST_CASE("configs: duplicate keys, --set errors and unknown adapter params are named") {
  fs::path dir = temp_dir();
  write_text(dir / "dup.yaml", "model: " + stories() + "\nruntime: { threads: 1 }\nruntime: { threads: 2 }\n");
  auto r = run_tessel({"run", (dir / "dup.yaml").string()});
  expect_error(r, 1, "runtime", "given twice");

  write_text(dir / "ok.yaml", "model: " + stories() + "\ngenerate: { max_tokens: 1 }\n");
  r = run_tessel({"run", (dir / "ok.yaml").string(), "--set", "runtime.batch=-1"});
  expect_error(r, 1, "--set runtime.batch");

  write_text(dir / "param.yaml", "model: " + stories() + "\ngenerate: { max_tokens: 1 }\n"
                                 "inputs:\n  - { adapter: tokens, text: Once, params: { bogus: 1 } }\n");
  r = run_tessel({"run", (dir / "param.yaml").string()});
  expect_error(r, 1, "unknown parameter 'bogus'");
}

TEST_CASE("a very deeply nested YAML config is one clear line") {
  fs::path dir = temp_dir();
  write_text(dir / "deep.yaml", std::string(100000, '[') + std::string(100000, ']') + "\n");
  auto r = run_tessel({"run", (dir / "deep.yaml").string()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("deep.yaml"));
  CHECK_THAT(r.err, !Contains("bad file"));
  CHECK(one_line(r.err));
}

TEST_CASE("convert-tokenizer with wrong JSON types is a user error naming the file") {
  fs::path dir = temp_dir();
  write_text(dir / "tokenizer.json", R"({"model": {"type": 7, "vocab": [1, 2], "merges": "x"}})");
  auto r = run_tessel({"convert-tokenizer", "--no-config", (dir / "tokenizer.json").string(),
                       (dir / "out.gguf").string()});
  expect_error(r, 1, "tokenizer.json");
  CHECK_FALSE(fs::exists(dir / "out.gguf"));
}

TEST_CASE("bench --embed --texts 0 is refused at the flag") {
  auto r = run_tessel({"bench", "-m", bert(), "--embed", "--texts", "0"});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Contains("--texts"));
}

TEST_CASE("a media marker with --mmproj but no image is refused") {
  auto r = run_tessel({"generate", "-m", stories(), "--mmproj",
                       shared_path("models/mmproj/mmproj-tinygemma3.gguf").string(), "-p",
                       "Describe <__media__> please", "-n", "1"});
  expect_error(r, 1, "marker");
}

TEST_CASE("control bytes in names are escaped, keeping the message on one line") {
  auto r = run_tessel({"generate", "-m", "bad\x01name\nsecond.gguf", "-p", "x"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("bad\\x01name\\x0asecond.gguf"));
  CHECK(one_line(r.err));
}

// nlohmann parses nested brackets without recursion, but copying and walking
// the value recurse per level: every reader of outside JSON refuses text
// nesting deeper than 256 levels before parsing it (a 2 MB request body
// killed the server; the same text as a file would kill a command).
TEST_CASE("JSON files nesting a million levels deep fail on one line naming the file") {
  fs::path dir = temp_dir();
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  write_text(dir / "rows.json", deep);
  auto r = run_tessel({"logits", "-m", stories(), "--embd", (dir / "rows.json").string(), "-o",
                       (dir / "out.npy").string()});
  expect_error(r, 1, "rows.json: JSON nests deeper than 256 levels");
  write_text(dir / "tokenizer.json", R"({"model": )" + deep + "}");
  r = run_tessel({"convert-tokenizer", (dir / "tokenizer.json").string(), (dir / "out.gguf").string()});
  expect_error(r, 1, "tokenizer.json: JSON nests deeper than 256 levels");
  CHECK_FALSE(fs::exists(dir / "out.gguf"));
  CHECK(tessel::json_nesting_within(std::string(256, '[') + std::string(256, ']')));
  CHECK_FALSE(tessel::json_nesting_within(std::string(257, '[') + std::string(257, ']')));
  CHECK(tessel::json_nesting_within("[\"" + std::string(1000, '[') + "\"]"));  // brackets in strings don't count
  CHECK(tessel::json_nesting_within(R"(["\"[[[", 1])", 2));
}

// A size the machine cannot hold ends in one line naming the command, not a
// crash or "std::bad_alloc": synth of a 1.1 B-parameter F32 model under a
// 700 MB address-space limit. ASan needs terabytes of address space for its
// shadow and dies on a failed `new` itself, so the sanitizer build says so.
TEST_CASE("running out of memory fails on one line, writing nothing") {
#if defined(__clang__)
#define TESSEL_TEST_ASAN __has_feature(address_sanitizer)
#elif defined(__SANITIZE_ADDRESS__)
#define TESSEL_TEST_ASAN 1
#else
#define TESSEL_TEST_ASAN 0
#endif
#if TESSEL_TEST_ASAN
  WARN("not checked under ASan: its shadow memory needs more than any address-space limit allows");
#else
  fs::path dir = temp_dir();
  const std::string out = (dir / "big.gguf").string();
  const RunResult r = tessel::test::run_program(
      "/bin/sh", {"-c", "ulimit -v 700000 && exec \"$0\" synth --preset tinyllama-1.1b --type F32 -o \"$1\"",
                  TESSEL_BIN, out});
  expect_error(r, 1, "tessel synth: error: out of memory");
  CHECK_FALSE(fs::exists(out));
#endif
}
