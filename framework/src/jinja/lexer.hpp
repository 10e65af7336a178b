#pragma once
// Tokens of a chat template, cut the way llama.cpp's jinja lexer cuts them,
// including its whitespace rules: one trailing newline dropped, lstrip_blocks
// and trim_blocks on (as transformers sets them for chat templates), `{%-` /
// `-%}` trimming, \r\n folded to \n.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessel::jinja {

// A lexing or parsing failure at byte `pos` of the (normalised) source.
struct SyntaxError : std::runtime_error {
  size_t pos;
  SyntaxError(const std::string& msg, size_t p) : std::runtime_error(msg), pos(p) {}
};

enum class Tok {
  Text, Number, String, Ident, Equals, OpenParen, CloseParen, OpenStmt, CloseStmt, OpenExpr,
  CloseExpr, OpenBracket, CloseBracket, OpenBrace, CloseBrace, Comma, Dot, Colon, Pipe,
  Additive, Multiplicative, Comparison, Unary, Comment, Eof
};

struct Token {
  Tok type;
  std::string text;
  size_t pos;
};

struct Lexed {
  std::vector<Token> tokens;
  std::string source;  // after newline normalisation; positions refer to it
};

Lexed tokenize(const std::string& source);

// "line L, column C" of byte `pos`.
std::string line_col(const std::string& source, size_t pos);

}  // namespace tessel::jinja
