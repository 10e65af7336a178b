// PCRE2 over llama.cpp's text representations; see regex_split.hpp for why.
#define PCRE2_CODE_UNIT_WIDTH 0
#include "regex_split.hpp"

#include <pcre2.h>

#include <cstdint>

#include "tessel/error.hpp"
#include "tessel/vocab.hpp"

namespace tessel::bpe {
namespace {

// Bytes standing for non-ASCII code points in the collapsed text (llama.cpp's values).
constexpr uint8_t kOther = 0xD0, kNumber = 0xD1, kLetter = 0xD2, kPunct = 0xD3, kMark = 0xD4,
                  kSymbol = 0xD5;
// Kimi-K2 only: Han ideographs, split by whether they are letters.
constexpr uint8_t kHanLetter = 0xD6, kHanOther = 0xD7;

uint8_t collapse_cpt(uint32_t c) {
  if (c < 128) return uint8_t(c);
  const utf8::Flags f = utf8::flags(c);
  if (f.is_whitespace) return 0x0B;  // std::regex's \s only knows ASCII whitespace
  if (f.is_number) return kNumber;
  if (f.is_letter) return kLetter;
  if (f.is_punctuation) return kPunct;
  if (f.is_accent_mark) return kMark;
  if (f.is_symbol) return kSymbol;
  return kOther;
}

// llama.cpp's unicode_cpt_is_han.
bool is_han(uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0x2CEB0 && c <= 0x2EBEF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0x2F800 && c <= 0x2FA1F);
}

// \p{...} names llama.cpp rewrites, with the byte and the ASCII members of each.
struct Category {
  const char* name;
  uint8_t byte;
  const char* ascii;
};
constexpr Category kCategories[] = {
    {"\\p{N}", kNumber, "0-9"},
    {"\\p{L}", kLetter, "A-Za-z"},
    {"\\p{P}", kPunct, "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}"},
    {"\\p{M}", kMark, ""},
    {"\\p{S}", kSymbol, "\\$\\+<->^`\\|"},
    {"\\p{Lu}", kLetter, "A-Za-z"},
    {"\\p{Ll}", kLetter, "A-Za-z"},
    {"\\p{Lt}", kLetter, "A-Za-z"},
    {"\\p{Lm}", kLetter, "A-Za-z"},
    {"\\p{Lo}", kLetter, "A-Za-z"},
};

bool uses_categories(const std::string& rx) {
  for (const auto& c : kCategories)
    if (rx.find(c.name) != std::string::npos) return true;
  return false;
}

// llama.cpp's regex rewrite for the collapsed text, including its way of
// tracking [...] (an unescaped '[' opens, an unescaped ']' closes).
std::string collapse_regex(const std::string& rx, const std::string& source) {
  for (unsigned char ch : rx)
    if (ch >= 0x80)
      throw Error(source + ": pre-tokenizer regex '" + rx +
                  "' mixes Unicode categories and non-ASCII characters (not supported)");
  std::string out;
  bool inside = false;
  for (size_t i = 0; i < rx.size(); ++i) {
    if (rx[i] == '[' && (i == 0 || rx[i - 1] != '\\')) {
      out += '[';
      inside = true;
      continue;
    }
    if (inside && rx[i] == ']' && rx[i - 1] != '\\') {
      out += ']';
      inside = false;
      continue;
    }
    if (rx[i] == '\\' && i + 3 < rx.size() && rx[i + 1] == 'p' && rx[i + 2] == '{') {
      const size_t close = rx.find('}', i + 3);
      if (close != std::string::npos && close <= i + 10) {
        const std::string pat = rx.substr(i, close - i + 1);
        for (const auto& c : kCategories) {
          if (pat != c.name) continue;
          if (!inside) out += '[';
          out += char(c.byte);
          out += c.ascii;
          if (!inside) out += ']';
          i = close;
          goto next;
        }
      }
    }
    out += rx[i];
  next:;
  }
  return out;
}

// Kimi-K2's hand-written splitter as a regex over the Kimi-collapsed text:
// Han runs, then llama3-like words of non-Han letters with optional
// contractions, digits by three, punctuation, whitespace.
const std::string& kimi_regex() {
  static const std::string rx = [] {
    const std::string L = "\xD2\xD6" "A-Za-z", X = "\xD2" "A-Za-z", N = "\xD1" "0-9",
                      H = "\xD6\xD7";
    return "[" + H + "]+|[^\\r\\n" + L + N + "]?[" + X +
           "]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[" + N +
           "]{1,3}| ?[^\\s" + L + N + "]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  }();
  return rx;
}

constexpr uint32_t kCompileOptions = PCRE2_DOLLAR_ENDONLY | PCRE2_NO_AUTO_CAPTURE;

// The two PCRE2 code-unit widths behind one interface.
struct P8 {
  using Code = pcre2_code_8;
  using Unit = PCRE2_UCHAR8;
  static Code* compile(const Unit* p, size_t n, int* err, PCRE2_SIZE* off) {
    return pcre2_compile_8(p, n, kCompileOptions, err, off, nullptr);
  }
  static void jit(Code* c) { pcre2_jit_compile_8(c, PCRE2_JIT_COMPLETE); }
  static void free(Code* c) { pcre2_code_free_8(c); }
  static std::string message(int e) {
    PCRE2_UCHAR8 buf[256];
    pcre2_get_error_message_8(e, buf, sizeof buf);
    return reinterpret_cast<const char*>(buf);
  }
  struct Local {
    pcre2_match_data_8* md = pcre2_match_data_create_8(1, nullptr);
    pcre2_match_context_8* mc = pcre2_match_context_create_8(nullptr);
    pcre2_jit_stack_8* js = pcre2_jit_stack_create_8(32 * 1024, 64 << 20, nullptr);
    Local() {
      pcre2_jit_stack_assign_8(mc, nullptr, js);
      pcre2_set_heap_limit_8(mc, 512 * 1024);  // KiB
    }
    ~Local() {
      pcre2_jit_stack_free_8(js);
      pcre2_match_context_free_8(mc);
      pcre2_match_data_free_8(md);
    }
    int match(const Code* c, const Unit* s, size_t n, size_t at, uint32_t opt) {
      return pcre2_match_8(c, s, n, at, opt, md, mc);
    }
    const PCRE2_SIZE* ovector() const { return pcre2_get_ovector_pointer_8(md); }
  };
  static Local& local() {
    thread_local Local l;
    return l;
  }
};

struct P32 {
  using Code = pcre2_code_32;
  using Unit = PCRE2_UCHAR32;
  static Code* compile(const Unit* p, size_t n, int* err, PCRE2_SIZE* off) {
    return pcre2_compile_32(p, n, kCompileOptions, err, off, nullptr);
  }
  static void jit(Code* c) { pcre2_jit_compile_32(c, PCRE2_JIT_COMPLETE); }
  static void free(Code* c) { pcre2_code_free_32(c); }
  static std::string message(int e) {
    PCRE2_UCHAR32 buf[256];
    pcre2_get_error_message_32(e, buf, 256);
    std::string s;
    for (size_t i = 0; i < 256 && buf[i]; ++i) s += char(buf[i] < 128 ? buf[i] : '?');
    return s;
  }
  struct Local {
    pcre2_match_data_32* md = pcre2_match_data_create_32(1, nullptr);
    pcre2_match_context_32* mc = pcre2_match_context_create_32(nullptr);
    pcre2_jit_stack_32* js = pcre2_jit_stack_create_32(32 * 1024, 64 << 20, nullptr);
    Local() {
      pcre2_jit_stack_assign_32(mc, nullptr, js);
      pcre2_set_heap_limit_32(mc, 512 * 1024);
    }
    ~Local() {
      pcre2_jit_stack_free_32(js);
      pcre2_match_context_free_32(mc);
      pcre2_match_data_free_32(md);
    }
    int match(const Code* c, const Unit* s, size_t n, size_t at, uint32_t opt) {
      return pcre2_match_32(c, s, n, at, opt, md, mc);
    }
    const PCRE2_SIZE* ovector() const { return pcre2_get_ovector_pointer_32(md); }
  };
  static Local& local() {
    thread_local Local l;
    return l;
  }
};

enum class Repr { Collapsed, Kimi, Wide };

}  // namespace

// The text of one split call in the representations the steps ask for, built on demand.
struct Splitter::Text {
  std::vector<uint32_t> cpts;
  std::string collapsed, kimi;
  std::vector<uint32_t> wide;
  bool has_collapsed = false, has_kimi = false, has_wide = false;

  const std::string& get_collapsed() {
    if (!has_collapsed) {
      collapsed.resize(cpts.size());
      for (size_t i = 0; i < cpts.size(); ++i) collapsed[i] = char(collapse_cpt(cpts[i]));
      has_collapsed = true;
    }
    return collapsed;
  }
  const std::string& get_kimi() {
    if (!has_kimi) {
      kimi = get_collapsed();
      for (size_t i = 0; i < cpts.size(); ++i)
        if (is_han(cpts[i])) kimi[i] = char(uint8_t(kimi[i]) == kLetter ? kHanLetter : kHanOther);
      has_kimi = true;
    }
    return kimi;
  }
  const std::vector<uint32_t>& get_wide() {
    if (!has_wide) {
      wide = cpts;
      for (auto& c : wide)
        if (c > 0x7F && utf8::is_whitespace(c)) c = 0x0B;
      has_wide = true;
    }
    return wide;
  }
};

struct Splitter::Step {
  virtual ~Step() = default;
  // Splits every piece in `in` (code-point lengths covering the text) into `out`.
  virtual void apply(Text& t, const std::vector<size_t>& in, std::vector<size_t>& out) const = 0;
};

namespace {

// One regex, matched inside each piece the way std::regex_iterator walks a
// range: text between matches is a piece, and after an empty match it looks
// for a non-empty one at the same place before moving one character on.
template <class P>
class RegexStep : public Splitter::Step {
 public:
  RegexStep(const std::vector<typename P::Unit>& pattern, Repr repr, std::string shown,
            const std::string& source)
      : repr_(repr), shown_(std::move(shown)), source_(source) {
    int err = 0;
    PCRE2_SIZE off = 0;
    code_ = P::compile(pattern.data(), pattern.size(), &err, &off);
    if (!code_)
      throw Error(source + ": pre-tokenizer regex '" + shown_ + "' does not compile: " +
                  P::message(err) + " at offset " + std::to_string(off));
    P::jit(code_);  // falls back to the interpreter when JIT is unavailable
  }
  ~RegexStep() override { P::free(code_); }

  void apply(Splitter::Text& t, const std::vector<size_t>& in,
             std::vector<size_t>& out) const override {
    const typename P::Unit* subject = units(t);
    size_t start = 0;
    for (size_t len : in) {
      pieces(subject + start, len, out);
      start += len;
    }
  }

 private:
  const typename P::Unit* units(Splitter::Text& t) const {
    if constexpr (sizeof(typename P::Unit) == 1) {
      const std::string& s = repr_ == Repr::Kimi ? t.get_kimi() : t.get_collapsed();
      return reinterpret_cast<const typename P::Unit*>(s.data());
    } else {
      return reinterpret_cast<const typename P::Unit*>(t.get_wide().data());
    }
  }

  void pieces(const typename P::Unit* s, size_t len, std::vector<size_t>& out) const {
    auto& m = P::local();
    size_t pos = 0, last = 0;
    bool after_empty = false;
    for (;;) {
      const uint32_t opts = after_empty ? (PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED) : 0;
      const int rc = m.match(code_, s, len, pos, opts);
      if (rc == PCRE2_ERROR_NOMATCH) {
        if (!after_empty || pos >= len) break;
        ++pos;
        after_empty = false;
        continue;
      }
      if (rc < 0)
        throw Error(source_ + ": pre-tokenizer regex '" + shown_ + "' failed on a " +
                    std::to_string(len) + "-character piece: " + P::message(rc));
      const PCRE2_SIZE* ov = m.ovector();
      const size_t b = ov[0], e = ov[1];
      if (b > last) out.push_back(b - last);
      if (e > b) out.push_back(e - b);
      last = e;
      after_empty = e == b;
      pos = e;
    }
    if (last < len) out.push_back(len - last);
  }

  typename P::Code* code_ = nullptr;
  Repr repr_;
  std::string shown_, source_;
};

// llama.cpp's AFMoE digit splitter (also used for tiny_aya's digit regex):
// a run of \p{N} becomes its leading len%3 digits, then groups of three; the
// text before a run joins its first group, the text after the last run is one piece.
class DigitGroupsStep : public Splitter::Step {
 public:
  void apply(Splitter::Text& t, const std::vector<size_t>& in,
             std::vector<size_t>& out) const override {
    const std::string& c = t.get_collapsed();
    auto is_num = [&](size_t i) {
      const uint8_t b = uint8_t(c[i]);
      return b == kNumber || (b >= '0' && b <= '9');
    };
    size_t start = 0;
    for (size_t len : in) {
      const size_t end = start + len;
      size_t prev = start, pos = start;
      auto emit = [&](size_t to) {
        if (to > prev) out.push_back(to - prev);
        prev = to;
      };
      while (pos < end) {
        if (!is_num(pos)) {
          ++pos;
          continue;
        }
        const size_t first = pos;
        while (pos < end && is_num(pos)) ++pos;
        size_t cur = first;
        if ((pos - first) % 3) emit(cur += (pos - first) % 3);
        while (cur < pos) emit(cur += 3);
      }
      emit(end);
      start = end;
    }
  }
};

std::vector<PCRE2_UCHAR8> bytes_of(const std::string& s) {
  return std::vector<PCRE2_UCHAR8>(s.begin(), s.end());
}

}  // namespace

namespace detail {

bool uses_categories(const std::string& rx) { return tessel::bpe::uses_categories(rx); }
std::string collapse_regex(const std::string& rx, const std::string& source) {
  return tessel::bpe::collapse_regex(rx, source);
}
std::string collapse_text(const std::vector<uint32_t>& cpts) {
  std::string s(cpts.size(), '\0');
  for (size_t i = 0; i < cpts.size(); ++i) s[i] = char(collapse_cpt(cpts[i]));
  return s;
}
bool is_digit_groups(const std::string& rx) {
  return rx == "\\p{AFMoE_digits}" || rx == "\\d{1,3}(?=(?:\\d{3})*\\b)";
}
bool is_custom(const std::string& rx) { return is_digit_groups(rx) || rx == "\\p{Han}+"; }

}  // namespace detail

Splitter::Splitter(const std::vector<std::string>& regexes, const std::string& source)
    : source_(source) {
  for (const std::string& rx : regexes) {
    if (detail::is_digit_groups(rx)) {
      steps_.push_back(std::make_unique<DigitGroupsStep>());
    } else if (rx == "\\p{Han}+") {
      steps_.push_back(
          std::make_unique<RegexStep<P8>>(bytes_of(kimi_regex()), Repr::Kimi, rx, source));
    } else if (uses_categories(rx)) {
      steps_.push_back(std::make_unique<RegexStep<P8>>(bytes_of(collapse_regex(rx, source)),
                                                       Repr::Collapsed, rx, source));
    } else {
      std::vector<uint32_t> cpts = utf8::to_cpts(rx);
      steps_.push_back(std::make_unique<RegexStep<P32>>(
          std::vector<PCRE2_UCHAR32>(cpts.begin(), cpts.end()), Repr::Wide, rx, source));
    }
  }
}

Splitter::~Splitter() = default;

namespace {

std::vector<size_t> run_steps(const std::vector<std::unique_ptr<Splitter::Step>>& steps,
                              Splitter::Text& t) {
  std::vector<size_t> pieces, next;
  if (!t.cpts.empty()) pieces.push_back(t.cpts.size());
  for (const auto& s : steps) {
    next.clear();
    next.reserve(pieces.size() + 16);
    s->apply(t, pieces, next);
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace

std::vector<size_t> Splitter::split_lengths(std::string_view text) const {
  Text t;
  t.cpts = utf8::to_cpts(text);
  return run_steps(steps_, t);
}

void Splitter::split(std::string_view text, bool byte_encode,
                     std::vector<std::string>& words) const {
  Text t;
  t.cpts = utf8::to_cpts(text);
  const std::vector<size_t> pieces = run_steps(steps_, t);
  words.reserve(words.size() + pieces.size());
  std::string raw;
  size_t start = 0;
  for (size_t len : pieces) {
    raw.clear();
    for (size_t i = start; i < start + len; ++i) utf8::append(raw, t.cpts[i]);
    start += len;
    if (!byte_encode) {
      words.push_back(raw);
      continue;
    }
    std::string enc;
    enc.reserve(raw.size() * 2);
    for (unsigned char b : raw) enc += utf8::byte_to_gpt2(b);
    words.push_back(std::move(enc));
  }
}

}  // namespace tessel::bpe
