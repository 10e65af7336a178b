// The lexer. Written from llama.cpp's observable behaviour (common/jinja/lexer.cpp
// at the reference commit), quirks included, since templates depend on every
// byte of whitespace it keeps or drops.
#include "jinja/lexer.hpp"

#include <cctype>
#include <string_view>
#include <utility>

namespace tessel::jinja {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// Longest first, as the reference matches them.
const std::pair<const char*, Tok> kSymbols[] = {
    {"{%-", Tok::OpenStmt}, {"-%}", Tok::CloseStmt}, {"{{-", Tok::OpenExpr}, {"-}}", Tok::CloseExpr},
    {"{%", Tok::OpenStmt},  {"%}", Tok::CloseStmt},  {"{{", Tok::OpenExpr},  {"}}", Tok::CloseExpr},
    {"(", Tok::OpenParen},  {")", Tok::CloseParen},  {"{", Tok::OpenBrace},  {"}", Tok::CloseBrace},
    {"[", Tok::OpenBracket}, {"]", Tok::CloseBracket}, {",", Tok::Comma},    {".", Tok::Dot},
    {":", Tok::Colon},      {"|", Tok::Pipe},        {"<=", Tok::Comparison}, {">=", Tok::Comparison},
    {"==", Tok::Comparison}, {"!=", Tok::Comparison}, {"<", Tok::Comparison}, {">", Tok::Comparison},
    {"+", Tok::Additive},   {"-", Tok::Additive},    {"~", Tok::Additive},   {"*", Tok::Multiplicative},
    {"/", Tok::Multiplicative}, {"%", Tok::Multiplicative}, {"=", Tok::Equals},
};

void lstrip(std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  s.erase(0, b == std::string::npos ? s.size() : b);
}
void rstrip(std::string& s) {
  size_t e = s.find_last_not_of(" \t\r\n");
  s.erase(e == std::string::npos ? 0 : e + 1);
}

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      const Tok last = toks_.empty() ? Tok::CloseStmt : toks_.back().type;
      if (last == Tok::CloseStmt || last == Tok::CloseExpr || last == Tok::Comment) {
        if (text_segment()) continue;
      }
      if (at('{') && next_is("#", 1)) {
        comment();
        continue;
      }
      if (at('-') && (last == Tok::OpenExpr || last == Tok::OpenStmt)) {
        if (++pos_ >= src_.size()) break;
      }
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
      if (pos_ >= src_.size()) break;
      inside_tag();
    }
    return std::move(toks_);
  }

 private:
  char at_pos(size_t p) const { return p < src_.size() ? src_[p] : '\0'; }
  bool at(char c) const { return at_pos(pos_) == c; }
  // The character `n` after the current one is one of `chars` (and not the last of the source).
  bool next_is(const char* chars, size_t n) const {
    if (pos_ + n >= src_.size()) return false;
    for (const char* c = chars; *c; ++c)
      if (src_[pos_ + n] == *c) return true;
    return false;
  }

  // Text up to the next tag; returns true when a token was added.
  bool text_segment() {
    bool rstrip_prev = false, prev_eats_newline = false;
    if (pos_ > 3) {
      const char c0 = src_[pos_ - 3], c1 = src_[pos_ - 2], c2 = src_[pos_ - 1];
      rstrip_prev = c0 == '-' && (c1 == '%' || c1 == '}' || c1 == '#') && c2 == '}';
      prev_eats_newline = (c1 == '#' || c1 == '%' || c1 == '-') && c2 == '}';
    }
    const size_t start = pos_;
    size_t end = start;
    while (pos_ < src_.size() && !(at('{') && next_is("%{#", 1))) end = ++pos_;
    // lstrip_blocks: spaces between a line start and `{%` / `{#` go.
    if (at('{') && next_is("%#-", 1)) {
      for (size_t cur = end; cur > start; --cur) {
        const char c = src_[cur - 1];
        if (cur == 1) {
          end = 0;
          break;
        }
        if (c == '\n') {
          end = cur;
          break;
        }
        if (!is_space(c)) break;
      }
    }
    std::string text = src_.substr(start, end - start);
    if (prev_eats_newline && !text.empty() && text.front() == '\n') text.erase(0, 1);  // trim_blocks
    if (rstrip_prev) lstrip(text);
    if (at('{') && next_is("{%#", 1) && next_is("-", 2)) rstrip(text);
    if (text.empty()) return false;
    toks_.push_back({Tok::Text, std::move(text), start});
    return true;
  }

  void comment() {
    const size_t start = pos_;
    pos_ += 2;
    std::string body;
    while (!(at('#') && next_is("}", 1))) {
      if (pos_ + 2 >= src_.size()) throw SyntaxError("missing end of comment tag '#}'", start);
      body += src_[pos_++];
    }
    pos_ += 2;
    toks_.push_back({Tok::Comment, std::move(body), start});
  }

  std::string digits() {
    std::string out;
    while (pos_ < src_.size() && is_digit(src_[pos_])) out += src_[pos_++];
    return out;
  }
  std::string number() {
    std::string num = digits();
    if (at('.') && is_digit(at_pos(pos_ + 1))) {
      ++pos_;
      num += "." + digits();
    }
    return num;
  }

  std::string quoted(char quote, size_t start) {
    std::string out;
    ++pos_;
    while (true) {
      if (pos_ >= src_.size()) throw SyntaxError("unterminated string literal", start);
      const char c = src_[pos_++];
      if (c == quote) return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= src_.size()) throw SyntaxError("unexpected end of input after escape character", start);
      const char e = src_[pos_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\\': case '\'': case '"': out += e; break;
        default: throw SyntaxError(std::string("unknown escape character \\") + e, pos_ - 2);
      }
    }
  }

  void inside_tag() {
    const size_t start = pos_;
    const char ch = src_[pos_];
    const bool closing = ch == '-' && next_is("%}", 1);
    if (!closing && (ch == '-' || ch == '+')) {
      const Tok last = toks_.empty() ? Tok::Eof : toks_.back().type;
      if (last == Tok::Text || last == Tok::Eof)
        throw SyntaxError(std::string("unexpected character '") + ch + "'", pos_);
      const bool binary = last == Tok::Ident || last == Tok::Number || last == Tok::String ||
                          last == Tok::CloseParen || last == Tok::CloseBracket;
      if (!binary) {
        ++pos_;
        const std::string num = number();
        toks_.push_back({num.empty() ? Tok::Unary : Tok::Number, std::string(1, ch) + num, start});
        return;
      }
    }
    for (const auto& [sym, type] : kSymbols) {
      // Most symbols differ in their first character: a char test before the
      // string compare (this loop was the lexer's main cost for every token).
      if (sym[0] != ch) continue;
      const std::string_view s = sym;
      if (s == "}}" && brace_depth_ > 0) continue;  // `}}` closing a dict literal
      if (src_.compare(pos_, s.size(), s) != 0) continue;
      toks_.push_back({type, std::string(s), start});
      if (type == Tok::OpenExpr) brace_depth_ = 0;
      if (type == Tok::OpenBrace) ++brace_depth_;
      if (type == Tok::CloseBrace) --brace_depth_;
      pos_ += s.size();
      return;
    }
    if (ch == '\'' || ch == '"') {
      toks_.push_back({Tok::String, quoted(ch, start), start});
      return;
    }
    if (is_digit(ch)) {
      toks_.push_back({Tok::Number, number(), start});
      return;
    }
    if (is_word(ch)) {
      std::string word;
      while (pos_ < src_.size() && is_word(src_[pos_])) word += src_[pos_++];
      toks_.push_back({Tok::Ident, std::move(word), start});
      return;
    }
    throw SyntaxError(std::string("unexpected character '") + ch + "'", pos_);
  }

  std::string src_;
  size_t pos_ = 0;
  long brace_depth_ = 0;
  std::vector<Token> toks_;
};

}  // namespace

Lexed tokenize(const std::string& source) {
  Lexed out;
  std::string& src = out.source;
  src.reserve(source.size());
  for (size_t k = 0; k < source.size(); ++k) {
    if (source[k] == '\r') {
      src += '\n';
      if (k + 1 < source.size() && source[k + 1] == '\n') ++k;
    } else {
      src += source[k];
    }
  }
  if (!source.empty() && source.back() == '\n') src.pop_back();
  try {
    out.tokens = Lexer(src).run();
  } catch (const SyntaxError& e) {
    throw SyntaxError(line_col(src, e.pos) + ": " + e.what(), e.pos);
  }
  return out;
}

std::string line_col(const std::string& source, size_t pos) {
  size_t line = 1, col = 1;
  for (size_t k = 0; k < pos && k < source.size(); ++k) {
    if (source[k] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

}  // namespace tessel::jinja
