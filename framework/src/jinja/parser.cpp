// Recursive-descent parser with llama.cpp's precedence (lowest first):
// ternary/select, or, and, not, comparison and `in` (one level), + - ~,
// * / %, `is` tests, `|` filters, unary - +, member access and calls, primary.
// true/false/none are plain identifiers resolved at run time, as there.
#include <algorithm>
#include <initializer_list>

#include "jinja/ast.hpp"
#include "jinja/lexer.hpp"

namespace tessel::jinja {

const char* node_name(Node kind) {
  switch (kind) {
    case Node::Text: return "text";
    case Node::Comment: return "comment";
    case Node::If: return "if statement";
    case Node::For: return "for loop";
    case Node::Set: return "set statement";
    case Node::Macro: return "macro";
    case Node::CallBlock: return "call block";
    case Node::FilterBlock: return "filter block";
    case Node::Break: return "break";
    case Node::Continue: return "continue";
    case Node::Noop: return "generation block";
    case Node::Str: return "string literal";
    case Node::Int: return "integer literal";
    case Node::Float: return "float literal";
    case Node::Ident: return "identifier";
    case Node::Array: return "list literal";
    case Node::Tuple: return "tuple";
    case Node::Dict: return "dict literal";
    case Node::Member: return "member access";
    case Node::Slice: return "slice";
    case Node::Blank: return "empty subscript";
    case Node::Call: return "call";
    case Node::Kwarg: return "keyword argument";
    case Node::Spread: return "*argument";
    case Node::Filter: return "filter";
    case Node::Test: return "test";
    case Node::Unary: return "unary operator";
    case Node::Binary: return "binary operator";
    case Node::Ternary: return "conditional expression";
    case Node::Select: return "conditional expression";
  }
  return "?";
}

namespace {

class Parser {
 public:
  explicit Parser(const std::vector<Token>& toks) : toks_(toks) {}

  AstList program() {
    AstList out;
    while (cur_ < toks_.size()) out.push_back(any());
    return out;
  }

 private:
  const Token& peek(size_t k = 0) const {
    static const Token eof{Tok::Eof, "", 0};
    if (cur_ + k < toks_.size()) return toks_[cur_ + k];
    if (!toks_.empty()) {
      static thread_local Token end;
      end = {Tok::Eof, "", toks_.back().pos};
      return end;
    }
    return eof;
  }
  bool is(Tok t) const { return peek().type == t; }
  bool is_ident(const char* name) const { return is(Tok::Ident) && peek().text == name; }
  [[noreturn]] void fail(const std::string& what) const {
    const Token& t = peek();
    throw SyntaxError(what + (t.type == Tok::Eof ? " (got end of template)" : " (got '" + t.text + "')"),
                      t.pos);
  }
  const Token& next() {
    if (cur_ >= toks_.size()) fail("unexpected end of template");
    return toks_[cur_++];
  }
  void expect(Tok t, const char* what) {
    if (!is(t)) fail(std::string("expected ") + what);
    ++cur_;
  }
  void expect_ident(const char* name) {
    if (!is_ident(name)) fail(std::string("expected '") + name + "'");
    ++cur_;
  }
  bool at_stmt(std::initializer_list<const char*> names) const {
    if (peek().type != Tok::OpenStmt || peek(1).type != Tok::Ident) return false;
    return std::any_of(names.begin(), names.end(), [&](const char* n) { return peek(1).text == n; });
  }
  AstPtr node(Node kind, size_t tok_index) const {
    auto n = std::make_unique<Ast>();
    n->kind = kind;
    n->pos = tok_index < toks_.size() ? toks_[tok_index].pos : (toks_.empty() ? 0 : toks_.back().pos);
    return n;
  }
  // Statements until one of `ends` opens; fails at the end of the template.
  AstList block_until(std::initializer_list<const char*> ends, const char* owner, size_t owner_tok) {
    AstList out;
    while (!at_stmt(ends)) {
      if (cur_ >= toks_.size())
        throw SyntaxError(std::string("unclosed ") + owner + ": expected {% " + *ends.begin() + " %}",
                          toks_[owner_tok].pos);
      out.push_back(any());
    }
    return out;
  }
  void end_tag(const char* name) {
    expect(Tok::OpenStmt, "{%");
    expect_ident(name);
    expect(Tok::CloseStmt, "%}");
  }

  AstPtr any() {
    Nest nest(*this);
    const size_t at = cur_;
    switch (peek().type) {
      case Tok::Comment: {
        auto n = node(Node::Comment, at);
        ++cur_;
        return n;
      }
      case Tok::Text: {
        auto n = node(Node::Text, at);
        n->str = next().text;
        return n;
      }
      case Tok::OpenStmt: return statement();
      case Tok::OpenExpr: {
        ++cur_;
        auto e = expression();
        expect(Tok::CloseExpr, "}}");
        return e;
      }
      default: fail("unexpected token");
    }
  }

  AstPtr statement() {
    expect(Tok::OpenStmt, "{%");
    if (!is(Tok::Ident)) fail("expected a statement name");
    const size_t at = cur_;
    const std::string name = next().text;
    AstPtr n;
    if (name == "set") {
      n = node(Node::Set, at);
      n->a = sequence(false);
      if (is(Tok::Equals)) {
        ++cur_;
        n->b = sequence(false);
      } else {
        expect(Tok::CloseStmt, "%}");
        n->body = block_until({"endset"}, "set block", at);
        expect(Tok::OpenStmt, "{%");
        expect_ident("endset");
      }
      expect(Tok::CloseStmt, "%}");
    } else if (name == "if") {
      n = if_rest(at);
      end_tag("endif");
    } else if (name == "macro") {
      n = node(Node::Macro, at);
      auto id = primary();
      if (id->kind != Node::Ident) throw SyntaxError("macro name must be an identifier", id->pos);
      n->str = id->str;
      n->list = arguments();
      expect(Tok::CloseStmt, "%}");
      LoopScope outside(*this, 0);  // a macro body is a function of its own
      n->body = block_until({"endmacro"}, "macro", at);
      end_tag("endmacro");
    } else if (name == "for") {
      n = node(Node::For, at);
      n->a = sequence(true);
      expect_ident("in");
      n->b = expression();
      expect(Tok::CloseStmt, "%}");
      {
        LoopScope inside(*this, loops_ + 1);
        n->body = block_until({"endfor", "else"}, "for loop", at);
      }
      if (at_stmt({"else"})) {  // runs when nothing was looped over: outside the loop
        cur_ += 2;
        expect(Tok::CloseStmt, "%}");
        n->alt = block_until({"endfor"}, "for loop", at);
      }
      end_tag("endfor");
    } else if (name == "break" || name == "continue") {
      // As in Jinja2, where such a template fails to compile; here a loop
      // signal would otherwise escape the render (chat-template fuzz target).
      if (loops_ == 0) throw SyntaxError("'" + name + "' outside a for loop", toks_[at].pos);
      expect(Tok::CloseStmt, "%}");
      n = node(name == "break" ? Node::Break : Node::Continue, at);
    } else if (name == "call") {
      n = node(Node::CallBlock, at);
      if (is(Tok::OpenParen)) n->list = arguments();
      auto callee = primary();
      if (callee->kind != Node::Ident) throw SyntaxError("call block expects a macro name", callee->pos);
      auto call = node(Node::Call, at);
      call->a = std::move(callee);
      call->list = arguments();
      n->a = std::move(call);
      expect(Tok::CloseStmt, "%}");
      LoopScope outside(*this, 0);  // the body is the macro `caller`
      n->body = block_until({"endcall"}, "call block", at);
      end_tag("endcall");
    } else if (name == "filter") {
      n = node(Node::FilterBlock, at);
      n->a = primary();
      if (n->a->kind == Node::Ident && is(Tok::OpenParen)) n->a = call(std::move(n->a));
      expect(Tok::CloseStmt, "%}");
      n->body = block_until({"endfilter"}, "filter block", at);
      end_tag("endfilter");
    } else if (name == "generation" || name == "endgeneration") {
      // transformers' assistant-mask markers: no output.
      n = node(Node::Noop, at);
      expect(Tok::CloseStmt, "%}");
    } else {
      throw SyntaxError("unknown statement '" + name + "'", toks_[at].pos);
    }
    return n;
  }

  AstPtr if_rest(size_t at) {
    auto n = node(Node::If, at);
    n->a = expression();
    expect(Tok::CloseStmt, "%}");
    n->body = block_until({"elif", "else", "endif"}, "if statement", at);
    if (at_stmt({"elif"})) {
      const size_t elif_at = cur_ + 1;
      cur_ += 2;
      n->alt.push_back(if_rest(elif_at));
    } else if (at_stmt({"else"})) {
      cur_ += 2;
      expect(Tok::CloseStmt, "%}");
      n->alt = block_until({"endif"}, "if statement", at);
    }
    return n;
  }

  // `a, b` becomes a tuple; a single item stays itself.
  AstPtr sequence(bool primary_only) {
    const size_t at = cur_;
    AstList items;
    items.push_back(primary_only ? primary() : expression());
    const bool tuple = is(Tok::Comma);
    while (is(Tok::Comma)) {
      ++cur_;
      items.push_back(primary_only ? primary() : expression());
    }
    if (!tuple) return std::move(items[0]);
    auto n = node(Node::Tuple, at);
    n->list = std::move(items);
    return n;
  }

  // Nesting is bounded so that a hostile template cannot overflow the stack.
  struct Nest {
    Parser& p;
    explicit Nest(Parser& parser) : p(parser) {
      if (++p.depth_ > 256) throw SyntaxError("template nested deeper than 256 levels", p.peek().pos);
    }
    ~Nest() { --p.depth_; }
  };
  // How many for loops enclose the statement being parsed (within the
  // innermost macro or call block), for break / continue.
  struct LoopScope {
    Parser& p;
    int saved;
    LoopScope(Parser& parser, int loops) : p(parser), saved(parser.loops_) { p.loops_ = loops; }
    ~LoopScope() { p.loops_ = saved; }
  };

  AstPtr expression() {
    Nest nest(*this);
    return ternary();
  }

  AstPtr ternary() {
    auto value = logical_or();
    if (!is_ident("if")) return value;
    const size_t at = cur_++;
    auto cond = logical_or();
    if (is_ident("else")) {
      const size_t else_at = cur_++;
      auto n = node(Node::Ternary, else_at);
      n->a = std::move(cond);
      n->b = std::move(value);
      n->c = ternary();
      return n;
    }
    auto n = node(Node::Select, at);
    n->a = std::move(value);
    n->b = std::move(cond);
    return n;
  }

  AstPtr binary(AstPtr left, size_t at, std::string op, AstPtr right) {
    auto n = node(Node::Binary, at);
    n->str = std::move(op);
    n->a = std::move(left);
    n->b = std::move(right);
    return n;
  }

  AstPtr logical_or() {
    auto left = logical_and();
    while (is_ident("or")) {
      const size_t at = cur_++;
      left = binary(std::move(left), at, "or", logical_and());
    }
    return left;
  }
  AstPtr logical_and() {
    auto left = logical_not();
    while (is_ident("and")) {
      const size_t at = cur_++;
      left = binary(std::move(left), at, "and", logical_not());
    }
    return left;
  }
  AstPtr logical_not() {
    if (!is_ident("not")) return comparison();
    Nest nest(*this);
    auto n = node(Node::Unary, cur_++);
    n->str = "not";
    n->a = logical_not();
    return n;
  }
  AstPtr comparison() {
    auto left = additive();
    while (true) {
      const size_t at = cur_;
      std::string op;
      if (is_ident("not") && peek(1).type == Tok::Ident && peek(1).text == "in") {
        op = "not in";
        cur_ += 2;
      } else if (is_ident("in") || is(Tok::Comparison)) {
        op = next().text;
      } else {
        return left;
      }
      left = binary(std::move(left), at, op, additive());
    }
  }
  AstPtr additive() {
    auto left = multiplicative();
    while (is(Tok::Additive)) {
      const size_t at = cur_;
      std::string op = next().text;
      left = binary(std::move(left), at, op, multiplicative());
    }
    return left;
  }
  AstPtr multiplicative() {
    auto left = test();
    while (is(Tok::Multiplicative)) {
      const size_t at = cur_;
      std::string op = next().text;
      left = binary(std::move(left), at, op, test());
    }
    return left;
  }
  AstPtr test() {
    auto operand = filter();
    while (is_ident("is")) {
      auto n = node(Node::Test, cur_++);
      if (is_ident("not")) {
        ++cur_;
        n->flag = true;
      }
      n->b = primary();
      if (is(Tok::OpenParen)) n->b = call(std::move(n->b));
      n->a = std::move(operand);
      operand = std::move(n);
    }
    return operand;
  }
  AstPtr filter() {
    auto operand = unary();
    while (is(Tok::Pipe)) {
      auto n = node(Node::Filter, cur_++);
      n->b = primary();
      if (is(Tok::OpenParen)) n->b = call(std::move(n->b));
      n->a = std::move(operand);
      operand = std::move(n);
    }
    return operand;
  }
  AstPtr unary() {
    if (!is(Tok::Unary)) return call_member();
    Nest nest(*this);
    auto n = node(Node::Unary, cur_);
    n->str = next().text;
    n->a = unary();
    return n;
  }
  AstPtr call_member() {
    auto m = member(primary());
    return is(Tok::OpenParen) ? call(std::move(m)) : std::move(m);
  }
  AstPtr call(AstPtr callee) {
    auto n = node(Node::Call, cur_);
    n->a = std::move(callee);
    n->list = arguments();
    auto m = member(std::move(n));
    return is(Tok::OpenParen) ? call(std::move(m)) : std::move(m);
  }
  AstList arguments() {
    expect(Tok::OpenParen, "(");
    AstList args;
    while (!is(Tok::CloseParen)) {
      if (is(Tok::Eof)) fail("expected )");
      const size_t at = cur_;
      AstPtr arg;
      if (is(Tok::Multiplicative) && peek().text == "*") {
        ++cur_;
        arg = node(Node::Spread, at);
        arg->a = expression();
      } else {
        arg = expression();
        if (is(Tok::Equals)) {
          auto kw = node(Node::Kwarg, cur_++);
          if (arg->kind != Node::Ident) throw SyntaxError("keyword argument name must be an identifier", arg->pos);
          kw->a = std::move(arg);
          kw->b = expression();
          arg = std::move(kw);
        }
      }
      args.push_back(std::move(arg));
      if (is(Tok::Comma)) ++cur_;
    }
    ++cur_;
    return args;
  }
  AstPtr member(AstPtr object) {
    const size_t at = cur_;
    while (is(Tok::Dot) || is(Tok::OpenBracket)) {
      const bool computed = next().type == Tok::OpenBracket;
      auto n = node(Node::Member, at);
      n->flag = computed;
      n->a = std::move(object);
      if (computed) {
        n->b = subscript();
        expect(Tok::CloseBracket, "]");
      } else {
        n->b = primary();
      }
      object = std::move(n);
    }
    return object;
  }
  // [x], [a:b], [a:b:c], [:b], [::-1]
  AstPtr subscript() {
    const size_t at = cur_;
    AstList parts;
    bool slice = false;
    while (!is(Tok::CloseBracket)) {
      if (is(Tok::Eof)) fail("expected ]");
      if (is(Tok::Colon)) {
        parts.push_back(nullptr);
        ++cur_;
        slice = true;
      } else {
        parts.push_back(expression());
        if (is(Tok::Colon)) {
          ++cur_;
          slice = true;
        }
      }
    }
    if (slice) {
      auto n = node(Node::Slice, at);
      if (parts.size() > 0) n->a = std::move(parts[0]);
      if (parts.size() > 1) n->b = std::move(parts[1]);
      if (parts.size() > 2) n->c = std::move(parts[2]);
      return n;
    }
    if (parts.empty()) return node(Node::Blank, at);
    return std::move(parts[0]);
  }

  AstPtr primary() {
    const size_t at = cur_;
    const Token& t = next();
    switch (t.type) {
      case Tok::Number: {
        try {
          if (t.text.find('.') != std::string::npos) {
            auto n = node(Node::Float, at);
            n->f = std::stod(t.text);
            return n;
          }
          auto n = node(Node::Int, at);
          n->i = std::stoll(t.text);
          return n;
        } catch (const std::exception&) {
          throw SyntaxError("number out of range: " + t.text, t.pos);
        }
      }
      case Tok::String: {
        auto n = node(Node::Str, at);
        n->str = t.text;
        while (is(Tok::String)) n->str += next().text;  // 'a' 'b' is 'ab'
        return n;
      }
      case Tok::Ident: {
        auto n = node(Node::Ident, at);
        n->str = t.text;
        return n;
      }
      case Tok::OpenParen: {
        auto e = sequence(false);
        expect(Tok::CloseParen, ")");
        return e;
      }
      case Tok::OpenBracket: {
        auto n = node(Node::Array, at);
        while (!is(Tok::CloseBracket)) {
          if (is(Tok::Eof)) fail("expected ]");
          n->list.push_back(expression());
          if (is(Tok::Comma)) ++cur_;
        }
        ++cur_;
        return n;
      }
      case Tok::OpenBrace: {
        auto n = node(Node::Dict, at);
        while (!is(Tok::CloseBrace)) {
          if (is(Tok::Eof)) fail("expected }");
          auto key = expression();
          expect(Tok::Colon, ":");
          n->pairs.emplace_back(std::move(key), expression());
          if (is(Tok::Comma)) ++cur_;
        }
        ++cur_;
        return n;
      }
      default: throw SyntaxError("unexpected '" + t.text + "' in an expression", t.pos);
    }
  }

  const std::vector<Token>& toks_;
  size_t cur_ = 0;
  int depth_ = 0;
  int loops_ = 0;
};

}  // namespace

Program parse(const std::string& source) {
  Lexed lexed = tokenize(source);
  Program p;
  p.source = std::move(lexed.source);
  try {
    p.body = Parser(lexed.tokens).program();
  } catch (const SyntaxError& e) {
    throw SyntaxError(line_col(p.source, e.pos) + ": " + e.what(), e.pos);
  }
  return p;
}

}  // namespace tessel::jinja
