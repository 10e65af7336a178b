#pragma once
// The syntax tree. One node type with a kind tag keeps the parser and the
// evaluator short; the fields each kind uses are listed beside it.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tessel::jinja {

enum class Node {
  // statements
  Text,        // str
  Comment,     // -
  If,          // a=test, body, alt (an elif is an If alone in alt)
  For,         // a=loop var(s), b=iterable (maybe Select), body, alt=else block
  Set,         // a=target, b=value or null with body
  Macro,       // str=name, list=parameters, body
  CallBlock,   // a=Call, list=caller parameters, body
  FilterBlock, // a=filter (Ident or Call), body
  Break, Continue, Noop,
  // expressions
  Str, Int, Float, Ident,   // str / i / f / str
  Array, Tuple,             // list
  Dict,                     // pairs
  Member,                   // a=object, b=property, flag=computed ([...])
  Slice,                    // a,b,c = start, stop, step (each may be null)
  Blank,                    // x[]
  Call,                     // a=callee, list=arguments
  Kwarg,                    // a=Ident key, b=value
  Spread,                   // a
  Filter,                   // a=operand, b=filter (Ident or Call)
  Test,                     // a=operand, b=test (Ident or Call), flag=negated
  Unary,                    // str=op, a
  Binary,                   // str=op, a, b
  Ternary,                  // a=condition, b=then, c=else
  Select,                   // a=value, b=condition (`x if c` without else)
};

struct Ast;
using AstPtr = std::unique_ptr<Ast>;
using AstList = std::vector<AstPtr>;

struct Ast {
  Node kind;
  size_t pos = 0;  // byte offset in the normalised source, for error messages
  std::string str;
  int64_t i = 0;
  double f = 0;
  bool flag = false;
  AstPtr a, b, c;
  AstList list, body, alt;
  std::vector<std::pair<AstPtr, AstPtr>> pairs;
};

const char* node_name(Node kind);  // "for loop", "filter", ... for error messages

struct Program {
  std::string source;
  AstList body;
};

Program parse(const std::string& source);  // throws SyntaxError

}  // namespace tessel::jinja
