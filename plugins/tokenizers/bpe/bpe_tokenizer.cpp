#include "bpe_tokenizer.hpp"

#include <algorithm>
#include <unordered_map>

#include "tessel/error.hpp"

namespace tessel::bpe {

// ---- merges ----------------------------------------------------------------

int32_t Merges::intern(std::string_view s) {
  const TokenId t = vocab_->find(s);
  if (t >= 0) return t;
  auto it = extra_.find(s);
  if (it != extra_.end()) return it->second;
  const int32_t id = int32_t(vocab_->size() + extra_.size());
  extra_.emplace(std::string(s), id);
  return id;
}

int32_t Merges::id_of(std::string_view s) const {
  const TokenId t = vocab_->find(s);
  if (t >= 0) return t;
  auto it = extra_.find(s);
  return it == extra_.end() ? -1 : it->second;
}

void Merges::load(const std::vector<std::string>& lines, const Vocab& vocab) {
  vocab_ = &vocab;
  size_t cap = 16;
  while (cap < lines.size() * 2) cap <<= 1;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  std::string joined;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const size_t sp = line.find(' ', 1);
    // llama.cpp keeps a line without a separator as an ("", "") pair no symbol can form.
    if (sp == std::string::npos) continue;
    const std::string_view a(line.data(), sp), b(line.data() + sp + 1, line.size() - sp - 1);
    if (b.empty()) continue;  // no symbol is empty either
    joined.assign(a).append(b);
    const int32_t ia = intern(a), ib = intern(b), iab = intern(joined);
    const uint64_t k = key(ia, ib);
    for (size_t j = hash(k) & mask_;; j = (j + 1) & mask_) {
      if (slots_[j].key == k) break;  // an earlier line has the pair: it keeps its rank
      if (slots_[j].key == kEmpty) {
        slots_[j] = {k, Rule{int32_t(i), iab}};
        ++n_rules_;
        break;
      }
    }
  }
}

// ---- tokenizer ---------------------------------------------------------------

namespace {

Vocab load_vocab(const ModelFile& file) {
  return Vocab::load(file.meta, kModels, [](Vocab& v) {
    apply_pre_defaults(find_pre_tokenizer(v.pre, v.source), v);
  });
}

}  // namespace

BpeTokenizer::BpeTokenizer(const ModelFile& file) : VocabTokenizer(load_vocab(file)) {
  pre_ = &find_pre_tokenizer(vocab_.pre, vocab_.source);
  splitter_ = std::make_unique<Splitter>(pre_->regexes, vocab_.source);
  // Kimi-K2 vocabularies come without merges; every other BPE vocabulary needs them.
  static const std::vector<std::string> kNone;
  const bool has_merges = file.meta.has("tokenizer.ggml.merges");
  if (!has_merges && pre_->name != "kimi-k2")
    throw Error(vocab_.source + ": tokenizer.ggml.merges is missing (a BPE vocabulary needs its merges)");
  merges_.load(has_merges ? file.meta.get_strings("tokenizer.ggml.merges") : kNone, vocab_);
  gpt2_char_id_.assign(0x144, -1);
  for (int b = 0; b < 256; ++b) {
    size_t off = 0;
    const uint32_t cp = utf8::decode(utf8::byte_to_gpt2(uint8_t(b)), off);
    if (cp < gpt2_char_id_.size()) gpt2_char_id_[cp] = merges_.id_of(utf8::byte_to_gpt2(uint8_t(b)));
    if (pre_->byte_encode) {
      byte_token_[b] = vocab_.find(std::string(1, char(b)));
    } else {
      static const char* hex = "0123456789ABCDEF";
      const char buf[7] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>', 0};
      byte_token_[b] = vocab_.find(buf);
    }
  }
  init_linefeed();
}

std::vector<std::string> BpeTokenizer::words(const std::string& text) const {
  std::vector<std::string> w;
  if (vocab_.escape_whitespaces) {
    std::string t = text;
    replace_all(t, " ", "\xE2\x96\x81");
    splitter_->split(t, pre_->byte_encode, w);
  } else {
    splitter_->split(text, pre_->byte_encode, w);
  }
  return w;
}

void BpeTokenizer::tokenize_fragment(const std::string& text, bool /*after_special*/,
                                     std::vector<TokenId>& out) const {
  const std::vector<std::string> ws = words(text);
  if (ws.size() < 64) {
    for (const std::string& w : ws) tokenize_word(w, out);
    return;
  }
  // Long texts repeat their words: remember each word's tokens for this call.
  std::unordered_map<std::string_view, std::pair<size_t, size_t>> seen;
  seen.reserve(ws.size() / 4);
  for (const std::string& w : ws) {
    if (w.size() > 64) {
      tokenize_word(w, out);
      continue;
    }
    auto [it, fresh] = seen.try_emplace(w, out.size(), 0);
    if (fresh) {
      tokenize_word(w, out);
      it->second.second = out.size() - it->second.first;
    } else {
      const auto [from, n] = it->second;
      for (size_t i = 0; i < n; ++i) {
        const TokenId id = out[from + i];
        out.push_back(id);
      }
    }
  }
}

int32_t BpeTokenizer::symbol_id(std::string_view ch) const {
  if (pre_->byte_encode) {
    // GPT-2 characters are U+0021..U+0143: one or two UTF-8 bytes.
    const auto b0 = uint8_t(ch[0]);
    uint32_t cp = b0;
    if (ch.size() == 2 && (b0 & 0xE0) == 0xC0) cp = ((b0 & 0x1Fu) << 6) | (uint8_t(ch[1]) & 0x3Fu);
    else if (ch.size() != 1) return merges_.id_of(ch);
    if (cp < gpt2_char_id_.size()) return gpt2_char_id_[cp];
  }
  return merges_.id_of(ch);
}

void BpeTokenizer::emit_unknown(std::string_view text, std::vector<TokenId>& out) const {
  // llama.cpp looks each byte of the symbol's text up on its own and drops
  // the bytes that are no token.
  for (unsigned char b : text)
    if (byte_token_[b] >= 0) out.push_back(byte_token_[b]);
}

namespace {

struct Symbol {
  int32_t prev, next;
  uint32_t off, n;
  int32_t id;  // interned string id, -1 when no token or merge mentions it
};

struct Bigram {
  int32_t rank;
  int32_t left, right;
  uint32_t size;
  int32_t merged;
};

// Lowest rank first; on a tie the leftmost pair (llama.cpp's llm_bigram_bpe::comparator).
struct Later {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

void BpeTokenizer::tokenize_word(std::string_view word, std::vector<TokenId>& out) const {
  if (word.empty()) return;
  if (vocab_.ignore_merges || (pre_->newline_words_whole &&
                               word.find_first_not_of('\n') == std::string::npos)) {
    const TokenId whole = vocab_.find(word);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }

  // One symbol per UTF-8 character (a truncated sequence at the end is one symbol).
  thread_local std::vector<Symbol> sym;
  thread_local std::vector<Bigram> heap;
  sym.clear();
  heap.clear();
  for (size_t off = 0; off < word.size();) {
    const size_t n = std::min(word.size() - off, utf8::len(word[off]));
    const int32_t i = int32_t(sym.size());
    sym.push_back({i - 1, off + n == word.size() ? -1 : i + 1, uint32_t(off), uint32_t(n),
                   symbol_id(word.substr(off, n))});
    off += n;
  }

  // A binary heap on a reused vector (std::priority_queue cannot lend its storage back).
  auto add = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0 || sym[l].id < 0 || sym[r].id < 0) return;
    if (const Merges::Rule* rule = merges_.find(sym[l].id, sym[r].id)) {
      heap.push_back({rule->rank, l, r, sym[l].n + sym[r].n, rule->merged});
      std::push_heap(heap.begin(), heap.end(), Later{});
    }
  };
  for (int32_t i = 1; i < int32_t(sym.size()); ++i) add(i - 1, i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), Later{});
    const Bigram bg = heap.back();
    heap.pop_back();
    Symbol& l = sym[bg.left];
    Symbol& r = sym[bg.right];
    // Stale: one side was merged away, or the right side grew (left can only
    // grow by swallowing `r`), so the pair no longer spells the merge.
    if (l.n == 0 || r.n == 0 || l.n + r.n != bg.size) continue;
    l.n += r.n;
    l.id = bg.merged;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = bg.left;
    add(l.prev, bg.left);
    add(bg.left, l.next);
  }

  const int32_t n_vocab = int32_t(vocab_.size());
  for (int32_t i = 0; i != -1; i = sym[i].next) {
    const Symbol& s = sym[i];
    if (s.n == 0) continue;
    if (s.id >= 0 && s.id < n_vocab)
      out.push_back(s.id);
    else
      emit_unknown(word.substr(s.off, s.n), out);
  }
}

}  // namespace tessel::bpe
