// llama.cpp's WPM session (llm_tokenizer_wpm_session), written against tessel::Vocab.
#include "wpm.hpp"

#include "tessel/error.hpp"

namespace tessel::wpm {
namespace {

// CJK ideograph blocks as llama.cpp (and HF's BertPreTokenizer) list them.
bool is_chinese_char(uint32_t c) {
  return (c >= 0x04E00 && c <= 0x09FFF) || (c >= 0x03400 && c <= 0x04DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) ||
         (c >= 0x2B920 && c <= 0x2CEAF) ||  // 0x2B820 in Unicode, 0x2B920 in HF's Rust code
         (c >= 0x0F900 && c <= 0x0FAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

class Factory : public TokenizerFactory {
 public:
  std::unique_ptr<Tokenizer> create(const ModelFile& file) const override {
    return make_tokenizer(file);
  }
};

}  // namespace

std::vector<std::string> WpmTokenizer::preprocess(std::string_view text, bool lowercase,
                                                  bool strip_accents) {
  std::vector<std::string> words(1);
  size_t off = 0;
  while (off < text.size()) {
    uint32_t cpt = utf8::decode(text, off);
    if (strip_accents) cpt = utf8::nfd_first(cpt);
    const utf8::Flags f = utf8::flags(cpt);
    if (f.is_whitespace) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    if (cpt == 0 || cpt == 0xFFFD || f.is_control) continue;
    if (strip_accents && f.is_accent_mark) continue;
    const uint32_t out = lowercase ? utf8::to_lower(cpt) : cpt;
    if (f.is_punctuation || (cpt < 0x7F && f.is_symbol) || is_chinese_char(cpt)) {
      if (!words.back().empty()) words.emplace_back();
      utf8::append(words.back(), out);  // a word of its own
      words.emplace_back();
    } else {
      utf8::append(words.back(), out);
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

WpmTokenizer::WpmTokenizer(Vocab vocab) : VocabTokenizer(std::move(vocab)) { init_linefeed(); }

void WpmTokenizer::tokenize_fragment(const std::string& text, bool /*after_special*/,
                                     std::vector<TokenId>& out) const {
  const Vocab& v = vocab_;
  for (const std::string& word : preprocess(text, v.lowercase, v.strip_accents)) {
    if (word.empty()) continue;
    const std::string w = "\xe2\x96\x81" + word;  // the phantom space of a word start
    const std::string_view wv(w);
    const size_t n = w.size();
    const size_t start = out.size();
    // Longest match from each position, by bytes like llama.cpp (a cut inside
    // a UTF-8 sequence simply finds no token).
    for (size_t i = 0; i < n; ++i) {
      bool match = false;
      for (size_t j = std::min(n, i + size_t(v.max_token_len) + 1); j > i; --j) {
        TokenId id = v.find(wv.substr(i, j - i));
        if (id >= 0) {
          out.push_back(id);
          match = true;
          i = j - 1;
          break;
        }
      }
      if (!match) {  // the word cannot be covered: drop its pieces
        out.resize(start);
        break;
      }
    }
    if (out.size() == start) {
      if (v.special.unk < 0)
        throw Error(v.source + ": WordPiece word '" + word + "' has no pieces and the vocabulary "
                    "has no unknown token (tokenizer.ggml.unknown_token_id)");
      out.push_back(v.special.unk);
    }
  }
}

std::unique_ptr<Tokenizer> make_tokenizer(const ModelFile& file) {
  Vocab v = Vocab::load(file.meta, kModels);
  return std::make_unique<WpmTokenizer>(std::move(v));
}

std::unique_ptr<TokenizerFactory> make_factory() { return std::make_unique<Factory>(); }

}  // namespace tessel::wpm
