// Unit tests of the shared vocabulary core (tessel/vocab.hpp) on small
// in-memory vocabularies, and of the SPM merge order.
#include <catch2/catch.hpp>

#include "bpe_tokenizer.hpp"
#include "spm.hpp"
#include "wpm.hpp"
#include "tessel/error.hpp"
#include "tessel/vocab.hpp"

namespace {

using tessel::Metadata;
using tessel::MetaValue;
using tessel::TokenId;
using tessel::Vocab;

// Vocab::load with every model the tokenizer plugins declare.
Vocab load_vocab(const Metadata& m) {
  std::vector<tessel::VocabModel> all;
  for (auto models : {std::span<const tessel::VocabModel>(tessel::spm::kModels),
                      std::span<const tessel::VocabModel>(tessel::wpm::kModels),
                      std::span<const tessel::VocabModel>(tessel::bpe::kModels)})
    all.insert(all.end(), models.begin(), models.end());
  return Vocab::load(m, all);
}

enum : int32_t { N = 1, UNK = 2, CTRL = 3, USER = 4, BYTE = 6 };

Metadata make_meta(const std::string& model, std::vector<std::string> tokens, std::vector<int32_t> types,
                   std::vector<float> scores = {}) {
  Metadata m;
  m.source = "test.gguf";
  m.set("tokenizer.ggml.model", MetaValue::of_string(model));
  if (scores.empty()) scores.assign(tokens.size(), 0.0f);
  m.set("tokenizer.ggml.tokens", MetaValue::of_strings(std::move(tokens)));
  m.set("tokenizer.ggml.token_type", MetaValue::of_i32s(types));
  m.set("tokenizer.ggml.scores", MetaValue::of_f32s(scores));
  return m;
}

// A tokenizer that looks each byte up, to exercise VocabTokenizer's decode.
class ByteTok : public tessel::VocabTokenizer {
 public:
  using VocabTokenizer::VocabTokenizer;

 protected:
  void tokenize_fragment(const std::string& text, bool, std::vector<TokenId>& out) const override {
    for (char c : text) out.push_back(vocab_.find(std::string(1, c)));
  }
};

}  // namespace

TEST_CASE("utf8 decode follows llama.cpp on invalid input") {
  using namespace tessel::utf8;
  CHECK(to_cpts("a\xC3\xA9\xE2\x96\x81\xF0\x9F\xA6\x99") == std::vector<uint32_t>{'a', 0xE9, 0x2581, 0x1F999});
  CHECK(to_cpts("\xE2\x82") == std::vector<uint32_t>{0xFFFD, 0xFFFD});       // truncated
  CHECK(to_cpts("\x80z") == std::vector<uint32_t>{0xFFFD, 'z'});             // stray continuation
  CHECK(to_cpts("\xFF\xC3(") == std::vector<uint32_t>{0xFFFD, 0xFFFD, '('});  // bad lead, bad continuation
  CHECK(len('\xF0') == 4);
  CHECK(len('\x80') == 1);
  CHECK(from_cpt(0x110000) == "\xEF\xBF\xBD");
  CHECK(nfd_first(0xE9) == 'e');
  CHECK(to_lower('A') == 'a');
  CHECK(flags(0x3000).is_whitespace);
  CHECK(flags('!').is_punctuation);
  CHECK(flags('$').is_symbol);
  CHECK(flags(0x0301).is_accent_mark);
  CHECK(byte_to_gpt2(' ') == "\xC4\xA0");  // Ġ
  CHECK(gpt2_to_byte("\xC4\xA0") == ' ');
  CHECK(gpt2_to_byte("xy") == -1);
}

TEST_CASE("vocab defaults and overrides per tokenizer model") {
  Metadata m = make_meta("llama", {"<unk>", "<s>", "</s>", "a"}, {UNK, CTRL, CTRL, N});
  Vocab v = load_vocab(m);
  CHECK(v.type == tessel::VocabType::SPM);
  CHECK(v.special.bos == 1);
  CHECK(v.special.eos == 2);
  CHECK(v.special.unk == 0);
  CHECK(v.special.add_bos);
  CHECK_FALSE(v.special.add_eos);
  CHECK(v.add_space_prefix);
  CHECK(v.eog_ids.count(2) == 1);  // </s> by text and as EOS
  CHECK(v.special_cache == std::vector<TokenId>{0, 2, 1});  // longest text first
  m.set("tokenizer.ggml.add_bos_token", MetaValue::of_bool(false));
  m.set("tokenizer.ggml.eos_token_id", MetaValue::of_u32(3));
  m.set("tokenizer.ggml.add_space_prefix", MetaValue::of_bool(false));
  Vocab w = load_vocab(m);
  CHECK_FALSE(w.special.add_bos);
  CHECK(w.special.eos == 3);
  CHECK_FALSE(w.add_space_prefix);

  Metadata bm = make_meta("bert", {"[PAD]", "[CLS]", "[SEP]"}, {CTRL, CTRL, CTRL});
  // BERT adds [CLS]/[SEP]; their default ids (101/102) are outside this vocabulary.
  CHECK_THROWS_WITH(load_vocab(bm), Catch::Contains("add_bos_token"));
  bm.set("tokenizer.ggml.bos_token_id", MetaValue::of_u32(1));
  bm.set("tokenizer.ggml.seperator_token_id", MetaValue::of_u32(2));
  Vocab b = load_vocab(bm);
  CHECK(b.type == tessel::VocabType::WPM);
  CHECK(b.special.add_sep);
  CHECK(b.special.sep == 2);
  CHECK(b.special.mask == -1);
  CHECK(b.special.pad == 0);
  CHECK(b.special.nl == 0);  // WPM's linefeed is the pad token
}

TEST_CASE("vocab errors name the file and the key") {
  Metadata m = make_meta("llama", {"a", "a"}, {N, N});
  CHECK_THROWS_WITH(load_vocab(m), Catch::Contains("test.gguf") && Catch::Contains("duplicate token 'a'"));
  Metadata u = make_meta("klingon", {"a"}, {N});
  CHECK_THROWS_WITH(load_vocab(u), Catch::Contains("tokenizer.ggml.model") && Catch::Contains("klingon"));
  Metadata s = make_meta("llama", {"<unk>", "<s>", "</s>"}, {UNK, CTRL, CTRL});
  s.set("tokenizer.ggml.scores", MetaValue::of_f32s({0.0f}));
  CHECK_THROWS_WITH(load_vocab(s), Catch::Contains("tokenizer.ggml.scores"));
  Metadata e = make_meta("llama", {"a", "b"}, {N, N});
  e.set("tokenizer.ggml.add_eos_token", MetaValue::of_bool(true));  // eos default 2 is out of range
  CHECK_THROWS_WITH(load_vocab(e), Catch::Contains("add_eos_token"));
}

TEST_CASE("special-token partition: order, parse_special, rstrip") {
  // general.name phi-3 gives every special token rstrip (llama.cpp's name rule).
  Metadata m = make_meta("llama", {"<unk>", "<s>", "</s>", "<|c|>", "<u>", "<|cc|>"},
                         {UNK, CTRL, CTRL, CTRL, USER, CTRL});
  Vocab v = load_vocab(m);
  using F = Vocab::Fragment;
  auto kinds = [](const std::vector<F>& fs) {
    std::vector<TokenId> k;
    for (auto& f : fs) k.push_back(f.token);
    return k;
  };
  const std::string t = "x<u>y<|cc|>z<|c|>";
  CHECK(kinds(v.partition(t, false)) == std::vector<TokenId>{-1, 4, -1});  // user-defined always
  auto p = v.partition(t, true);
  CHECK(kinds(p) == std::vector<TokenId>{-1, 4, -1, 5, -1, 3});  // <|cc|> is not read as <|c|>
  CHECK(t.substr(p[4].offset, p[4].length) == "z");
  CHECK(v.partition("", true).empty());

  m.set("general.name", MetaValue::of_string("Phi-3 mini"));
  Vocab r = load_vocab(m);
  auto q = r.partition("a<|c|>  b", true);
  REQUIRE(q.size() == 3);
  CHECK(std::string("a<|c|>  b").substr(q[2].offset, q[2].length) == "b");
}

TEST_CASE("SPM merges by score, leftmost first on ties, bytes for the rest") {
  const std::string sp = "\xe2\x96\x81";
  std::vector<std::string> toks = {"<unk>", "<s>", "</s>", sp, "a", "b", sp + "a", "ab", "<0x63>"};
  std::vector<int32_t> types = {UNK, CTRL, CTRL, N, N, N, N, N, BYTE};
  // "▁a" scores higher than "ab": "▁ab" splits as ▁a + b.
  tessel::spm::SpmTokenizer tok(load_vocab(make_meta("llama", toks, types, {0, 0, 0, -5, -5, -5, -1, -2, 0})));
  CHECK(tok.encode("ab", {false, false}) == std::vector<TokenId>{6, 5});
  CHECK(tok.encode("ab", {true, false}) == std::vector<TokenId>{1, 6, 5});
  // "ab" scores higher: ▁ + ab.
  tessel::spm::SpmTokenizer tok2(load_vocab(make_meta("llama", toks, types, {0, 0, 0, -5, -5, -5, -2, -1, 0})));
  CHECK(tok2.encode("ab", {false, false}) == std::vector<TokenId>{3, 7});
  // 'c' only exists as a byte token; 'd' has none and becomes <unk>.
  CHECK(tok2.encode("c", {false, false}) == std::vector<TokenId>{3, 8});
  CHECK(tok2.encode("d", {false, false}) == std::vector<TokenId>{3, 0});
  CHECK(tok2.decode(std::vector<TokenId>{3, 7, 8}) == "abc");  // the prefix space is removed
  CHECK(tok2.special().nl == -1);  // no <0x0A> and no pad
}

TEST_CASE("decode applies llama.cpp's clean-up passes for BPE vocabularies") {
  const std::string G = "\xC4\xA0";  // Ġ, the GPT-2 encoding of ' '
  Metadata m = make_meta("gpt2", {"a", G, ",", "'", "s", "b", "<|endoftext|>"}, {N, N, N, N, N, N, CTRL});
  ByteTok tok(load_vocab(m));
  auto ids = [&](std::initializer_list<const char*> ts) {
    std::vector<TokenId> out;
    for (auto t : ts) out.push_back(tok.vocab().find(t));
    return out;
  };
  CHECK(tok.decode(ids({"a", G.c_str(), ","})) == "a,");
  CHECK(tok.decode(ids({"a", G.c_str(), "'", G.c_str(), "b"})) == "a'b");
  CHECK(tok.decode(ids({"a", G.c_str(), "'", "s"})) == "a's");
  CHECK(tok.decode(ids({"a", "<|endoftext|>"})) == "a");
  CHECK(tok.decode(ids({"a", "<|endoftext|>"}), {false, true}) == "a<|endoftext|>");
  CHECK(tok.is_eog(6));
}
