// `tessel convert-tokenizer` on Gemma 3's tokenizer.json (shared/models/tokenizers/gemma3),
// then the gemma3 suites through the converted GGUF. The expected ids were made
// by the transformers.js port of HF tokenizers (add_special_tokens=false); see
// shared/models/MANIFEST.md and docs/tokenizers.md.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <sstream>

#include "support.hpp"
#include "tessel/hf_tokenizer.hpp"
#include "tessel/vocab.hpp"
#include "tok_support.hpp"

namespace {

using namespace tessel::test;
namespace fs = std::filesystem;

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

// Decompresses tokenizer.json.xz with the xz tool into a fresh temp folder.
fs::path unpack_gemma3(const fs::path& dir) {
  const fs::path xz = shared_path("models/tokenizers/gemma3/tokenizer.json.xz");
  const fs::path json = dir / "tokenizer.json";
  const std::string cmd = "xz -dc '" + xz.string() + "' > '" + json.string() + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  REQUIRE(fs::file_size(json) > 30'000'000);
  return json;
}

}  // namespace

namespace {
// Removes the unpacked 33 MB tokenizer.json and the GGUF when the test ends.
struct RemoveDir {
  fs::path dir;
  ~RemoveDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};
}  // namespace

TEST_CASE("convert-tokenizer gemma3 and its suites") {
  const fs::path dir = temp_dir();
  RemoveDir cleanup{dir};
  const fs::path json = unpack_gemma3(dir);
  const fs::path gguf = dir / "gemma3.gguf";
  const fs::path config = shared_path("models/tokenizers/gemma3/tokenizer_config.json");
  RunResult conv = run_tessel({"convert-tokenizer", json.string(), gguf.string(), "--config", config.string()}, 300);
  INFO("stderr: " << conv.err);
  REQUIRE(conv.exit_code == 0);

  // The layout llama.cpp's converter would give a Gemma SPM vocabulary.
  auto tok = load_tokenizer(gguf);
  auto* vt = dynamic_cast<const tessel::VocabTokenizer*>(tok.get());
  REQUIRE(vt != nullptr);
  const tessel::Vocab& v = vt->vocab();
  CHECK(v.model == "llama");
  CHECK(v.size() == 262145);  // 262,144 BPE pieces + <image_soft_token> (added, id 262144)
  CHECK(v.special.bos == 2);
  CHECK(v.special.eos == 106);  // tokenizer_config.json's eos_token, <end_of_turn>
  CHECK(v.special.unk == 3);
  CHECK(v.special.pad == 0);
  CHECK(v.special.add_bos);
  CHECK_FALSE(v.special.add_eos);
  CHECK_FALSE(v.add_space_prefix);  // Gemma's normalizer prepends nothing
  CHECK(v.attr(105) & tessel::kAttrControl);      // <start_of_turn>: special added token
  CHECK(v.attr(4) & tessel::kAttrUserDefined);    // <mask>: non-special added token
  CHECK(v.attr(3) & tessel::kAttrUnknown);
  CHECK(v.attr(v.find("<0x41>")) & tessel::kAttrByte);
  CHECK(tok->is_eog(106));
  CHECK(tok->encode("Hello world") == std::vector<tessel::TokenId>{2, 9259, 1902});

  // The 46 standard strings: exact.
  const fs::path inp = shared_path("models/tokenizers/gemma3/gemma3.inp");
  RunResult r = run_tessel({"tokenize", "-m", gguf.string(), "--suite", inp.string()});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == read_text(shared_path("models/tokenizers/gemma3/gemma3.out")));

  // The 18 extra strings. The last one is "<start_of_turn>user\nhi<end_of_turn>":
  // HF always splits special added tokens out of the text (id 105/106), while
  // llama.cpp does so only with parse_special. So with the suite's usual
  // parse_special=false every case but the last matches and the last keeps
  // <start_of_turn> as text; with --parse-special all 18 match HF.
  const fs::path extra = shared_path("models/tokenizers/gemma3/gemma3-extra.inp");
  const auto want = lines(read_text(shared_path("models/tokenizers/gemma3/gemma3-extra.out")));
  REQUIRE(want.size() == 18);
  RunResult plain = run_tessel({"tokenize", "-m", gguf.string(), "--suite", extra.string()});
  REQUIRE(plain.exit_code == 0);
  const auto got = lines(plain.out);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i + 1 < want.size(); ++i) {
    INFO("extra case " << i);
    CHECK(got[i] == want[i]);
  }
  CHECK(got.back() != want.back());
  CHECK(got.back().find(" 105 ") == std::string::npos);
  RunResult parsed = run_tessel({"tokenize", "-m", gguf.string(), "--suite", extra.string(), "--parse-special"});
  REQUIRE(parsed.exit_code == 0);
  CHECK(lines(parsed.out) == want);
}

TEST_CASE("convert-tokenizer refuses what it cannot map") {
  const fs::path dir = temp_dir();
  write_text(dir / "bad.json", "{ not json");
  RunResult r = run_tessel({"convert-tokenizer", (dir / "bad.json").string(), (dir / "o.gguf").string()});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("bad.json") != std::string::npos);
  CHECK(r.err.find("not valid JSON") != std::string::npos);

  // WordPiece splits only as BertPreTokenizer does (llama.cpp's WPM).
  write_text(dir / "wp.json", R"({"pre_tokenizer": {"type": "Whitespace"}, "model": {"type": "WordPiece", "vocab": {"a": 0}}})");
  r = run_tessel({"convert-tokenizer", (dir / "wp.json").string(), (dir / "o.gguf").string()});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("wp.json: pre_tokenizer") != std::string::npos);
  CHECK(r.err.find("BertPreTokenizer") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "o.gguf"));
  write_text(dir / "um.json", R"({"model": {"type": "Unigram", "vocab": []}})");
  r = run_tessel({"convert-tokenizer", (dir / "um.json").string(), (dir / "o.gguf").string()});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("model.type is 'Unigram'") != std::string::npos);

  // A tiny SentencePiece-style BPE converts and tokenizes by merge rank.
  write_text(dir / "tiny.json", R"({
    "added_tokens": [{"id": 0, "content": "<unk>", "special": true},
                     {"id": 1, "content": "<s>", "special": true}],
    "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
    "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}]},
    "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
              "vocab": {"<unk>": 0, "<s>": 1, "<0x61>": 2, "a": 3, "b": 4, "ab": 5, "ba": 6, "\u2581": 7},
              "merges": ["b a", "a b"]}})");
  const fs::path tiny = dir / "tiny.gguf";
  r = run_tessel({"convert-tokenizer", (dir / "tiny.json").string(), tiny.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto tok = load_tokenizer(tiny);
  // "b a" (rank 0) wins over "a b" (rank 1): a + ba.
  CHECK(tok->encode("aba", {false, false}) == std::vector<tessel::TokenId>{3, 6});
  CHECK(tok->encode("ab", {true, false}) == std::vector<tessel::TokenId>{1, 5});
  CHECK(tok->encode("ab ba", {false, false}) == std::vector<tessel::TokenId>{5, 7, 6});
  CHECK(tok->decode(tok->encode("ab ba", {false, false})) == "ab ba");
  // 'c' has no token and no <0x63>: the unknown token, which decodes to nothing.
  CHECK(tok->encode("c", {false, false}) == std::vector<tessel::TokenId>{0});
}

// Ids with no token become [PADn] fillers, one string each: a 343-byte
// tokenizer.json naming id 111111111 took 2.9 GB (tokenizer-json fuzz
// target, #18). Fillers may at most match the listed tokens (+ 1024), from
// the ids or from config.json's vocab_size (safetensors checkpoints).
TEST_CASE("convert-tokenizer refuses ids that would be mostly fillers") {
  const fs::path dir = temp_dir();
  auto json = [](const std::string& top_id) {
    return R"({"normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
               "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>", "merges": [],
               "vocab": {"<unk>": 0, "<s>": )" + top_id + R"(, "a": 2, "b": 3}}})";
  };
  write_text(dir / "huge.json", json("111111111"));
  RunResult r = run_tessel({"convert-tokenizer", (dir / "huge.json").string(), (dir / "o.gguf").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("huge.json: token id 111111111 leaves 111111108 ids without a token for 4 listed") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(dir / "o.gguf"));
  // Up to twice the listed tokens + 1024 still converts, gaps filled.
  write_text(dir / "gaps.json", json("1031"));
  r = run_tessel({"convert-tokenizer", (dir / "gaps.json").string(), (dir / "o.gguf").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(load_tokenizer(dir / "o.gguf")->vocab_size() == 1032);
  // The same bound on a checkpoint's vocab_size.
  CHECK(tessel::import_hf_tokenizer(dir / "gaps.json", {}, 1032).has("tokenizer.ggml.tokens"));
  CHECK_THROWS_WITH(tessel::import_hf_tokenizer(dir / "gaps.json", {}, 1033),
                    Catch::Contains("gaps.json: config.json's vocab_size 1033 would pad 4 listed tokens"));
  fs::remove_all(dir);
}

TEST_CASE("convert-tokenizer imports a WordPiece (BERT) tokenizer.json as llama.cpp's bert vocabulary") {
  const fs::path dir = temp_dir();
  // No tokenizer_config.json: [CLS]/[SEP] come from the post-processor's template.
  write_text(dir / "wp.json", R"({
    "added_tokens": [{"id": 0, "content": "[PAD]", "special": true}, {"id": 1, "content": "[UNK]", "special": true},
                     {"id": 2, "content": "[CLS]", "special": true}, {"id": 3, "content": "[SEP]", "special": true}],
    "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                   "strip_accents": null, "lowercase": true},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}]},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "world": 5, "##s": 6, ",": 7,
                        "cafe": 8}}})");
  const fs::path gguf = dir / "wp.gguf";
  RunResult r = run_tessel({"convert-tokenizer", (dir / "wp.json").string(), gguf.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto tok = load_tokenizer(gguf);
  auto* vt = dynamic_cast<const tessel::VocabTokenizer*>(tok.get());
  REQUIRE(vt != nullptr);
  const tessel::Vocab& v = vt->vocab();
  CHECK(v.model == "bert");
  CHECK(v.tokens[4].text == "\xe2\x96\x81hello");  // word start: the phantom space
  CHECK(v.tokens[6].text == "s");                  // "##s": a continuation
  CHECK(v.tokens[2].text == "[CLS]");              // control tokens keep their text
  CHECK(v.attr(2) & tessel::kAttrControl);
  CHECK(v.special.bos == 2);
  CHECK(v.special.sep == 3);
  CHECK(v.special.unk == 1);
  // Lowercased, accents stripped (strip_accents null follows lowercase), punctuation split off.
  CHECK(tok->encode("Hello, Worlds CAFÉ") == std::vector<tessel::TokenId>{2, 4, 7, 5, 6, 8, 3});
  CHECK(tok->encode("xyz", {false, false}) == std::vector<tessel::TokenId>{1});

  // lowercase false is written out (llama.cpp's default would lowercase).
  write_text(dir / "cased.json", R"({"normalizer": {"type": "BertNormalizer", "lowercase": false},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}]},
    "added_tokens": [{"id": 3, "content": "[CLS]", "special": true}, {"id": 4, "content": "[SEP]", "special": true}],
    "model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "Hello": 1, "hello": 2, "[CLS]": 3, "[SEP]": 4}}})");
  r = run_tessel({"convert-tokenizer", (dir / "cased.json").string(), (dir / "cased.gguf").string()});
  REQUIRE(r.exit_code == 0);
  CHECK(load_tokenizer(dir / "cased.gguf")->encode("Hello hello", {false, false}) == std::vector<tessel::TokenId>{1, 2});
}
