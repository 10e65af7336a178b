// VocabTokenizer: llama.cpp's tokenize_impl / token_to_piece / detokenize
// around a plugin's fragment tokenizer.
#include "tessel/error.hpp"
#include "tessel/vocab.hpp"

namespace tessel {

VocabTokenizer::VocabTokenizer(Vocab vocab) : vocab_(std::move(vocab)) {}

void VocabTokenizer::init_linefeed() {
  if (vocab_.type == VocabType::SPM || vocab_.type == VocabType::WPM) return;  // set by load
  if (vocab_.type == VocabType::None) return;
  std::vector<TokenId> ids;
  tokenize_fragment("\n", true, ids);
  vocab_.special.nl = ids.empty() ? vocab_.special.pad : ids[0];
}

std::vector<TokenId> VocabTokenizer::encode(std::string_view text, EncodeOptions opts) const {
  const Vocab& v = vocab_;
  const SpecialTokens& s = v.special;
  if (v.type == VocabType::None) return {};
  auto need = [&](TokenId id, const char* what) {
    if (id < 0) throw Error(v.source + ": the tokenizer must add a " + what + " token but has none");
    return id;
  };

  std::vector<TokenId> out;
  // WPM always wraps in [CLS] ... [SEP] with add_special; the others follow add_bos/add_eos.
  if (opts.add_special) {
    if (v.type == VocabType::WPM) out.push_back(need(s.bos, "BOS/CLS"));
    else if (s.add_bos && v.type != VocabType::RWKV) out.push_back(need(s.bos, "BOS"));
  }

  const std::vector<Vocab::Fragment> frags = v.partition(text, opts.parse_special);
  bool after_special = true;  // the first fragment counts as following a special token
  std::string piece;
  for (const auto& f : frags) {
    if (f.token >= 0) {
      out.push_back(f.token);
      after_special = true;
      continue;
    }
    piece.assign(text.substr(f.offset, f.length));
    tokenize_fragment(piece, after_special, out);
    after_special = false;
  }

  if (opts.add_special) {
    if (v.type == VocabType::WPM) out.push_back(need(s.sep, "SEP"));
    else if (s.add_eos && v.type != VocabType::RWKV) out.push_back(need(s.eos, "EOS"));
  }
  return out;
}

namespace {

// llama.cpp's llama_decode_text: GPT-2 byte-level text back to bytes.
std::string decode_gpt2(const std::string& text) {
  std::string out;
  size_t off = 0;
  while (off < text.size()) {
    uint32_t cpt = utf8::decode(text, off);
    std::string ch = utf8::from_cpt(cpt);
    int b = utf8::gpt2_to_byte(ch);
    if (b >= 0) {
      out.push_back(char(b));
    } else {
      out += "[UNK_BYTE_0x";
      static const char* hex = "0123456789abcdef";
      for (unsigned char c : ch) { out.push_back(hex[c >> 4]); out.push_back(hex[c & 15]); }
      out += text + "]";
    }
  }
  return out;
}

}  // namespace

std::string VocabTokenizer::token_to_piece(TokenId id, int lstrip, bool special) const {
  const Vocab& v = vocab_;
  const uint32_t attr = v.attr(id);  // throws on a bad id
  constexpr uint32_t attr_special = kAttrUnknown | kAttrControl;
  if (!special && (attr & attr_special)) return {};

  const std::string& text = v.tokens[size_t(id)].text;
  std::string result;
  bool have = false;
  switch (v.type) {
    case VocabType::SPM:
    case VocabType::WPM:
    case VocabType::UGM:
    case VocabType::BPE:
      if (attr & (attr_special | kAttrUserDefined)) {
        result = text;
        have = true;
      } else if (attr & kAttrNormal) {
        result = text;
        if (v.type != VocabType::BPE || v.escape_whitespaces)
          replace_all(result, "\xe2\x96\x81", " ");
        else
          result = decode_gpt2(text);
        have = true;
      } else if (attr & kAttrByte) {
        result.assign(1, char(v.token_to_byte(id)));
        have = true;
      }
      break;
    default:
      result = text;
      have = true;
      break;
  }
  if (!have) return {};
  size_t skip = 0;
  while (int(skip) < lstrip && skip < result.size() && result[skip] == ' ') ++skip;
  return result.substr(skip);
}

std::string VocabTokenizer::decode(std::span<const TokenId> ids, DecodeOptions opts) const {
  const Vocab& v = vocab_;
  if (v.type == VocabType::None) return {};
  const SpecialTokens& s = v.special;
  bool remove_space = v.add_space_prefix;
  size_t begin = 0, end = ids.size();
  if (opts.remove_special && s.add_bos && end > begin && ids[begin] == s.bos) {
    remove_space = false;
    ++begin;
  }
  if (opts.remove_special && s.add_eos && end > begin && ids[end - 1] == s.eos) --end;

  std::string text;
  for (size_t i = begin; i < end; ++i) {
    text += token_to_piece(ids[i], remove_space ? 1 : 0, opts.unparse_special);
    remove_space = false;
  }
  if (!v.clean_spaces || text.empty()) return text;

  // llama.cpp's three clean-up passes, in place.
  // 1: " ?", " !", " .", " ," lose the space.
  std::string a;
  a.reserve(text.size());
  a.push_back(text[0]);
  for (size_t i = 1; i < text.size(); ++i) {
    char x = text[i];
    if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) a.pop_back();
    a.push_back(x);
  }
  // 2: a lone apostrophe between spaces, " ' ", loses both spaces.
  std::string b;
  b.reserve(a.size());
  b.push_back(a[0]);
  for (size_t i = 1; i < a.size(); ++i) {
    char x = a[i];
    if (x == '\'' && i + 1 < a.size() && a[i - 1] == ' ' && a[i + 1] == ' ') {
      b.pop_back();
      // llama.cpp overwrites the next space with NUL and steps over it, so
      // it is dropped and the following character sees a NUL before it.
      a[i + 1] = '\0';
      b.push_back(x);
      ++i;
      continue;
    }
    b.push_back(x);
  }
  // 3: " 's", " 'm", " 're", " 've" lose the space.
  std::string c;
  c.reserve(b.size());
  c.push_back(b[0]);
  for (size_t i = 1; i < b.size(); ++i) {
    char x = b[i];
    if (b[i - 1] == ' ' && x == '\'' && i + 1 < b.size()) {
      char x1 = b[i + 1];
      if (x1 == 's' || x1 == 'm') {
        c.pop_back();
      } else if (x1 != 't' && x1 != 'd' && i + 2 < b.size()) {
        char x2 = b[i + 2];
        if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) c.pop_back();
      }
    }
    c.push_back(x);
  }
  return c;
}

}  // namespace tessel
