#pragma once
// The vocabulary core every llama.cpp-compatible tokenizer plugin shares.
//
// How a tokenizer plugin uses it:
//   class SpmTokenizer : public tessel::VocabTokenizer {
//    public:
//     explicit SpmTokenizer(const tessel::ModelFile& f)
//         : VocabTokenizer(tessel::Vocab::load(f.meta, kModels)) { init_linefeed(); }
//    protected:
//     void tokenize_fragment(const std::string& text, bool after_special,
//                            std::vector<tessel::TokenId>& out) const override;
//   };
// Vocab::load reads tokenizer.ggml.* exactly as llama.cpp's llama_vocab::load
// does (defaults per tokenizer model, which the plugin declares as
// VocabModels, token types -> attributes, special ids,
// add_* flags, EOG set, special-token cache). VocabTokenizer::encode splits
// the text around special tokens (llama.cpp's tokenizer_st_partition), hands
// each raw fragment to tokenize_fragment, and adds BOS/EOS/SEP the way
// llama.cpp's tokenize_impl does for the vocab type; decode/piece follow
// llama.cpp's token_to_piece and detokenize. A plugin only writes the
// model-specific part (SPM merges, BPE, WordPiece...).
#include <cstdint>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tessel/metadata.hpp"
#include "tessel/tokenizer.hpp"

namespace tessel {

// llama.cpp's llama_vocab_type, chosen from tokenizer.ggml.model.
enum class VocabType { None, SPM, BPE, WPM, UGM, RWKV };

// A tokenizer.ggml.model a tokenizer plugin reads: llama.cpp's vocab type
// for it and its default special ids (the file's keys override them). The
// core has no list of tokenizer models: each plugin declares its own.
struct VocabModel {
  std::string_view name;  // tokenizer.ggml.model
  VocabType type;
  TokenId bos = -1, eos = -1, unk = -1, sep = -1, pad = -1, mask = -1;
  std::string_view pre{};  // non-empty: replaces tokenizer.ggml.pre (gemma4)
};

struct TokenData {
  std::string text;
  float score = 0.0f;
  uint32_t attr = kAttrNormal;  // TokenAttr bits
};

// Lookup of std::string keys by std::string_view without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class Vocab {
 public:
  // Called by load() after the per-model defaults and before the file's
  // explicit add_*/space keys, the place where llama.cpp applies its
  // pre-tokenizer-specific defaults (BPE plugins set clean_spaces, add_bos,
  // ignore_merges... for tokenizer.ggml.pre here).
  using PreDefaults = std::function<void(Vocab&)>;

  // `models`: what the calling plugin reads; any other tokenizer.ggml.model
  // is an error naming it and them. Throws tessel::Error naming meta.source
  // and the key when unusable.
  static Vocab load(const Metadata& meta, std::span<const VocabModel> models,
                    const PreDefaults& pre_defaults = {});

  std::string source;  // file path, for error messages
  std::string model;   // tokenizer.ggml.model
  std::string pre;     // tokenizer.ggml.pre ("" when absent)
  VocabType type = VocabType::SPM;

  std::vector<TokenData> tokens;
  std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>> token_to_id;

  SpecialTokens special;  // bos eos eot eom pad sep cls mask unk nl, add_bos/eos/sep
  TokenId fim_pre = -1, fim_suf = -1, fim_mid = -1, fim_pad = -1, fim_rep = -1, fim_sep = -1;
  std::set<TokenId> eog_ids;

  bool add_space_prefix = false;
  bool remove_extra_whitespaces = false;
  bool clean_spaces = false;        // clean_up_tokenization_spaces on decode
  bool escape_whitespaces = true;   // ' ' <-> U+2581
  bool ignore_merges = false;
  bool treat_whitespace_as_suffix = false;
  bool lowercase = true;            // BertNormalizer (WPM)
  bool strip_accents = true;
  int max_token_len = 0;            // bytes of the longest token text

  // Control, user-defined and unknown tokens, longest text first: the order
  // llama.cpp splits them out of the text in.
  std::vector<TokenId> special_cache;

  size_t size() const { return tokens.size(); }
  bool valid(TokenId id) const { return id >= 0 && size_t(id) < tokens.size(); }
  // -1 when the text is not a token.
  TokenId find(std::string_view text) const;
  uint32_t attr(TokenId id) const;        // throws on an id outside the vocab
  const std::string& text(TokenId id) const;
  float score(TokenId id) const;
  // SPM/UGM: <0xNN>, falling back to the byte itself; BPE/WPM: the GPT-2
  // byte-encoded character. -1 when the vocab has no such token.
  TokenId byte_to_token(uint8_t byte) const;
  // The byte of a <0xNN> byte token.
  uint8_t token_to_byte(TokenId id) const;

  // llama.cpp's tokenizer_st_partition: the text as a sequence of raw
  // fragments and special tokens. Without parse_special only user-defined
  // tokens are split out. lstrip/rstrip attributes eat neighbouring spaces.
  struct Fragment {
    TokenId token = -1;        // >= 0: a special token; -1: raw text
    size_t offset = 0, length = 0;
  };
  std::vector<Fragment> partition(std::string_view text, bool parse_special) const;
};

// llama.cpp's tokenize/detokenize around a model-specific fragment tokenizer.
class VocabTokenizer : public Tokenizer {
 public:
  explicit VocabTokenizer(Vocab vocab);

  std::vector<TokenId> encode(std::string_view text, EncodeOptions opts = {}) const override;
  std::string decode(std::span<const TokenId> ids, DecodeOptions opts = {}) const override;
  std::string piece(TokenId id) const override { return token_to_piece(id, 0, true); }
  std::string token_text(TokenId id) const override { return vocab_.text(id); }
  uint32_t attributes(TokenId id) const override { return vocab_.attr(id); }
  size_t vocab_size() const override { return vocab_.size(); }
  const SpecialTokens& special() const override { return vocab_.special; }
  bool is_eog(TokenId id) const override { return id >= 0 && vocab_.eog_ids.count(id) > 0; }

  const Vocab& vocab() const { return vocab_; }
  // llama.cpp's token_to_piece: `lstrip` leading spaces removed; with
  // special=false control/unknown tokens give "".
  std::string token_to_piece(TokenId id, int lstrip, bool special) const;

 protected:
  // Tokenizes one raw-text fragment, appending to `out`. `after_special` is
  // true for the first fragment and for one that follows a special token
  // (SPM adds its space prefix there).
  virtual void tokenize_fragment(const std::string& text, bool after_special,
                                 std::vector<TokenId>& out) const = 0;
  // Sets special().nl as llama.cpp does (SPM: byte token of '\n'; WPM: pad;
  // others: first token of tokenize("\n")). Call at the end of the derived
  // constructor, when tokenize_fragment works.
  void init_linefeed();

  Vocab vocab_;
};

// UTF-8 and Unicode helpers with llama.cpp's semantics (unicode.cpp): invalid
// bytes never throw, they decode to U+FFFD and consume one byte.
namespace utf8 {

// Byte length of the sequence a lead byte starts (1 for stray continuation bytes).
size_t len(char lead);
// Decodes the code point at `offset` and advances; U+FFFD + 1 byte when invalid.
uint32_t decode(std::string_view s, size_t& offset);
std::vector<uint32_t> to_cpts(std::string_view s);
void append(std::string& out, uint32_t cpt);  // invalid code points as U+FFFD
std::string from_cpt(uint32_t cpt);

// llama.cpp's unicode_cpt_flags: general category (Cn = undefined) plus the
// Unicode White_Space property.
struct Flags {
  bool is_undefined = false, is_number = false, is_letter = false, is_separator = false,
       is_accent_mark = false, is_punctuation = false, is_symbol = false, is_control = false,
       is_whitespace = false, is_lowercase = false, is_uppercase = false;
  // Non-zero like llama.cpp's flags.as_uint() (every code point has a category).
  bool any() const {
    return is_undefined || is_number || is_letter || is_separator || is_accent_mark ||
           is_punctuation || is_symbol || is_control || is_whitespace;
  }
};
Flags flags(uint32_t cpt);
bool is_whitespace(uint32_t cpt);
uint32_t to_lower(uint32_t cpt);
// llama.cpp's unicode_cpts_normalize_nfd: each code point becomes the first
// code point of its canonical decomposition (accents are dropped separately).
uint32_t nfd_first(uint32_t cpt);

// GPT-2 byte-level encoding: each byte as one printable code point (UTF-8).
const std::string& byte_to_gpt2(uint8_t byte);
// -1 when `s` is not the encoding of a byte.
int gpt2_to_byte(std::string_view s);

}  // namespace utf8

// Replaces every occurrence of `from` by `to`.
void replace_all(std::string& s, std::string_view from, std::string_view to);

}  // namespace tessel
