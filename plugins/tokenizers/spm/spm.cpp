// llama.cpp's SPM session (llm_tokenizer_spm_session), written against tessel::Vocab.
#include "spm.hpp"

#include <queue>
#include <unordered_map>

#include "tessel/error.hpp"

namespace tessel::spm {
namespace {

struct Symbol {
  int prev, next;
  const char* text;
  size_t n;
};

struct Bigram {
  int left, right;
  float score;
  size_t size;
};

// Highest score first; on a tie the leftmost pair (llama.cpp's comparator).
struct BigramLess {
  bool operator()(const Bigram& l, const Bigram& r) const {
    return l.score < r.score || (l.score == r.score && l.left > r.left);
  }
};

class Session {
 public:
  explicit Session(const Vocab& v) : vocab_(v) {}

  void tokenize(const std::string& text, std::vector<TokenId>& out) {
    // One symbol per UTF-8 character (a truncated tail keeps what is left).
    size_t offs = 0;
    int index = 0;
    symbols_.reserve(text.size());
    while (offs < text.size()) {
      Symbol s;
      s.text = text.data() + offs;
      s.n = std::min(utf8::len(text[offs]), text.size() - offs);
      offs += s.n;
      s.prev = index - 1;
      s.next = offs == text.size() ? -1 : index + 1;
      ++index;
      symbols_.push_back(s);
    }
    for (int i = 1; i < int(symbols_.size()); ++i) try_add_bigram(i - 1, i);

    while (!queue_.empty()) {
      Bigram b = queue_.top();
      queue_.pop();
      Symbol& l = symbols_[size_t(b.left)];
      Symbol& r = symbols_[size_t(b.right)];
      // Stale: one side was merged away or grew since this pair was queued.
      if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;
      l.n += r.n;
      r.n = 0;
      l.next = r.next;
      if (r.next >= 0) symbols_[size_t(r.next)].prev = b.left;
      try_add_bigram(l.prev, b.left);
      try_add_bigram(b.left, l.next);
    }

    if (symbols_.empty()) return;
    for (int i = 0; i != -1; i = symbols_[size_t(i)].next) resegment(symbols_[size_t(i)], out);
  }

 private:
  void resegment(const Symbol& s, std::vector<TokenId>& out) {
    std::string_view text(s.text, s.n);
    TokenId id = vocab_.find(text);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
    auto it = rev_merge_.find(text);
    if (it == rev_merge_.end()) {
      // Never formed a token: emit its bytes.
      for (size_t j = 0; j < s.n; ++j) {
        const uint8_t byte = uint8_t(s.text[j]);
        TokenId b = vocab_.byte_to_token(byte);
        if (b < 0) b = vocab_.special.unk;
        if (b < 0)
          throw Error(vocab_.source + ": SPM vocabulary has no byte token <0x" + hex(byte) +
                      "> and no unknown token to stand for it");
        out.push_back(b);
      }
      return;
    }
    resegment(symbols_[size_t(it->second.first)], out);
    resegment(symbols_[size_t(it->second.second)], out);
  }

  void try_add_bigram(int left, int right) {
    if (left == -1 || right == -1) return;
    const Symbol& l = symbols_[size_t(left)];
    const Symbol& r = symbols_[size_t(right)];
    // Adjacent live symbols are contiguous in the text.
    std::string_view text(l.text, l.n + r.n);
    TokenId id = vocab_.find(text);
    if (id < 0) return;
    queue_.push(Bigram{left, right, vocab_.tokens[size_t(id)].score, text.size()});
    rev_merge_[text] = {left, right};
  }

  static std::string hex(uint8_t b) {
    static const char* h = "0123456789ABCDEF";
    return {h[b >> 4], h[b & 15]};
  }

  const Vocab& vocab_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Bigram, std::vector<Bigram>, BigramLess> queue_;
  std::unordered_map<std::string_view, std::pair<int, int>> rev_merge_;
};

class Factory : public TokenizerFactory {
 public:
  std::unique_ptr<Tokenizer> create(const ModelFile& file) const override {
    return make_tokenizer(file);
  }
};

}  // namespace

SpmTokenizer::SpmTokenizer(Vocab vocab) : VocabTokenizer(std::move(vocab)) { init_linefeed(); }

void SpmTokenizer::tokenize_fragment(const std::string& text, bool after_special,
                                     std::vector<TokenId>& out) const {
  std::string t;
  t.reserve(text.size() + 8);
  if (vocab_.add_space_prefix && after_special) t = " ";
  t += text;
  replace_all(t, " ", "\xe2\x96\x81");
  Session(vocab_).tokenize(t, out);
}

std::unique_ptr<Tokenizer> make_tokenizer(const ModelFile& file) {
  Vocab v = Vocab::load(file.meta, kModels);
  return std::make_unique<SpmTokenizer>(std::move(v));
}

std::unique_ptr<TokenizerFactory> make_factory() { return std::make_unique<Factory>(); }

}  // namespace tessel::spm
