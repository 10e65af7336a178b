// Statement and expression evaluation, following llama.cpp's runtime rule by
// rule (common/jinja/runtime.cpp): what prints, how scopes copy, how `+`, `in`
// and member access treat each kind of value.
#include "jinja/eval.hpp"

#include <climits>
#include <cmath>

#include "jinja/render_error.hpp"

namespace tessel::jinja {
namespace {

// break / continue unwind to their loop carrying what the statements they
// leave had written: an if body is inline in Jinja, so its text before a
// break stays in the output.
struct LoopSignal {
  std::string written;
};
struct BreakSignal : LoopSignal {};
struct ContinueSignal : LoopSignal {};

ValuePtr eval(const Ast& n, Context& ctx);

// What `{{ }}` and text blocks contribute: strings, numbers and booleans print,
// lists print their items one after another, None / undefined / dicts print nothing.
void gather(const Value& v, std::string& out, size_t limit) {
  switch (v.kind) {
    case Kind::String: out += v.s; break;
    case Kind::Int:
    case Kind::Float:
    case Kind::Bool: out += v.to_str(); break;
    case Kind::Array:
    case Kind::Tuple: {
      const ValueNest nest;
      for (const auto& x : v.items) gather(*x, out, limit);
      break;
    }
    default: break;
  }
  if (out.size() > limit) throw RenderError("output larger than " + std::to_string(limit >> 20) + " MiB");
}

ValuePtr run_block(const AstList& stmts, Context& ctx) {
  std::string out;
  for (const auto& s : stmts) gather(*eval(*s, ctx), out, ctx.state->output_limit);
  return make_string(std::move(out));
}

// An if body: what it wrote before a break / continue goes with the signal.
ValuePtr run_inline(const AstList& stmts, Context& ctx) {
  std::string out;
  try {
    for (const auto& s : stmts) gather(*eval(*s, ctx), out, ctx.state->output_limit);
  } catch (LoopSignal& signal) {
    signal.written.insert(0, out);
    throw;
  }
  return make_string(std::move(out));
}

void note(Context& ctx, Value& v, const char* op = nullptr) {
  if (!ctx.state->stats) return;
  v.used = true;
  if (op) v.ops.insert(op);
}

// A builtin of `input` bound to it, or nullptr.
ValuePtr bound_builtin(Context& ctx, const std::string& name, const ValuePtr& input) {
  if (ctx.state->stats) {
    input->used = true;
    input->ops.insert(name);
  }
  const Builtins& table = builtins_for(*input);
  auto it = table.find(name);
  if (it == table.end()) return nullptr;
  return make_func(name, it->second, input);
}

ValuePtr apply_filter(const Ast& filter, ValuePtr input, Context& ctx) {
  const Ast* id = filter.kind == Node::Call ? filter.a.get() : &filter;
  if (id->kind != Node::Ident) throw RenderError("a filter must be a name");
  std::string name = id->str;
  if (name == "count") name = "length";
  else if (name == "d") name = "default";
  else if (name == "e") name = "escape";
  else if (name == "trim") name = "strip";
  Args args;
  args.ctx = &ctx;
  if (filter.kind == Node::Call) {
    for (const auto& a : filter.list) args.v.push_back(eval(*a, ctx));
  } else if (!input->is_undefined() && !input->is_string() &&
             (name == "capitalize" || name == "lower" || name == "replace" || name == "strip" ||
              name == "title" || name == "upper" || name == "wordcount")) {
    input = make_string(input->to_str());
  }
  ValuePtr fn = bound_builtin(ctx, name, input);
  if (!fn) throw RenderError("unknown filter '" + name + "' for " + input->type_name());
  return call_value(*fn, std::move(args));
}

bool test_in(const Value& needle, const Value& haystack, Context& ctx) {
  Args a;
  a.ctx = &ctx;
  a.name = "in";
  a.v = {std::make_shared<Value>(needle), std::make_shared<Value>(haystack)};
  return global_builtins().at("test_is_in")(a)->truthy();
}

ValuePtr binary(const Ast& n, Context& ctx) {
  const std::string& op = n.str;
  ValuePtr l = eval(*n.a, ctx);
  if (op == "and") return l->truthy() ? eval(*n.b, ctx) : l;
  if (op == "or") return l->truthy() ? l : eval(*n.b, ctx);
  ValuePtr r = eval(*n.b, ctx);
  if (op == "==") return make_bool(values_equal(*l, *r));
  if (op == "!=") return make_bool(!values_equal(*l, *r));
  const bool is_in = op == "in" || op == "not in";
  auto membership = [&] { return make_bool(test_in(*l, *r, ctx) == (op == "in")); };
  // None or undefined next to a string concatenates as "" (a llama.cpp workaround).
  auto concat_nothing = [&]() -> ValuePtr {
    const bool l_null = l->is_none() || l->is_undefined(), r_null = r->is_none() || r->is_undefined();
    if ((op == "+" || op == "~") && ((l_null && r->is_string()) || (r_null && l->is_string())))
      return make_string((l_null ? "" : l->s) + (r_null ? "" : r->s));
    return nullptr;
  };
  if (l->is_undefined() || r->is_undefined()) {
    if (r->is_undefined() && is_in) return make_bool(op == "not in");
    if (auto v = concat_nothing()) return v;
    throw RenderError("cannot apply '" + op + "' to an undefined value");
  }
  if (l->is_none() || r->is_none()) {
    if (!r->is_none() && is_in) return membership();
    if (auto v = concat_nothing()) return v;
    throw RenderError("cannot apply '" + op + "' to None");
  }
  if (l->is_number() && r->is_number()) {
    const double a = l->f, b = r->f;
    const bool flt = l->kind == Kind::Float || r->kind == Kind::Float;
    auto number = [&](double v) {
      if (flt) return make_float(v);
      if (!(std::fabs(v) < 9.2e18)) throw RenderError("integer overflow in '" + op + "'");
      return make_int(static_cast<int64_t>(v));
    };
    if (op == "+") return number(a + b);
    if (op == "-") return number(a - b);
    if (op == "*") return number(a * b);
    if (op == "/") return make_float(a / b);
    if (op == "%") {
      const double m = std::fmod(a, b);
      if (!flt && !std::isfinite(m)) throw RenderError("integer modulo by zero");
      return number(m);
    }
    if (op == "<") return make_bool(a < b);
    if (op == ">") return make_bool(a > b);
    if (op == ">=") return make_bool(a >= b);
    if (op == "<=") return make_bool(a <= b);
  }
  if (l->is_array() && r->is_array()) {
    if (op == "+") {
      auto out = make_array(l->items);
      out->items.insert(out->items.end(), r->items.begin(), r->items.end());
      return out;
    }
  } else if (r->is_array() && is_in) {
    return membership();
  }
  if ((l->is_string() || r->is_string()) && (op == "~" || op == "+")) {
    std::string s = l->to_str() + r->to_str();
    if (s.size() > ctx.state->output_limit) throw RenderError("string too long");
    return make_string(std::move(s));
  }
  if (op == "*" && ((l->is_string() && r->kind == Kind::Int) || (l->kind == Kind::Int && r->is_string()))) {
    const std::string& s = l->is_string() ? l->s : r->s;
    const int64_t times = l->is_string() ? r->i : l->i;
    std::string out;
    if (times > 0 && !s.empty() && uint64_t(times) > ctx.state->output_limit / s.size())
      throw RenderError("string repetition too long");
    for (int64_t k = 0; k < times; ++k) out += s;
    return make_string(std::move(out));
  }
  if (l->is_string() && r->is_string() && is_in) return membership();
  if (r->is_object() && is_in) return membership();
  throw RenderError("unknown operator '" + op + "' between " + l->type_name() + " and " + r->type_name());
}

ValuePtr member(const Ast& n, Context& ctx) {
  ValuePtr object = eval(*n.a, ctx);
  ValuePtr prop;
  if (n.flag) {
    if (n.b->kind == Node::Slice) {
      const Ast& s = *n.b;
      int64_t size = object->is_array() ? int64_t(object->items.size())
                     : object->is_string() ? int64_t(object->s.size()) : 0;
      ValuePtr step = s.c ? eval(*s.c, ctx) : make_int(1);
      const bool back = step->as_int() < 0;
      ValuePtr start = s.a ? eval(*s.a, ctx) : make_int(back ? size - 1 : 0);
      ValuePtr stop = s.b ? eval(*s.b, ctx) : make_int(back ? -1 : size);
      ValuePtr fn = bound_builtin(ctx, "slice", object);
      if (!fn) throw RenderError("cannot slice " + object->type_name());
      Args args;
      args.ctx = &ctx;
      args.v = {start, stop, step};
      return call_value(*fn, std::move(args));
    }
    prop = eval(*n.b, ctx);
  } else if (n.b->kind == Node::Int) {
    if (n.b->i < 0) throw RenderError("static member index cannot be negative");
    prop = make_int(n.b->i);
  } else {
    if (n.b->kind != Node::Ident) throw RenderError("expected an attribute name after '.'");
    prop = make_string(n.b->str);
    // As in Jinja, obj.items is the method even when obj has an "items" key.
    if (ValuePtr fn = bound_builtin(ctx, prop->s, object)) return fn;
  }
  ValuePtr val = make_undefined("object_property");
  if (prop->is_undefined()) return val;
  if (prop->kind == Kind::Func || prop->is_array() || prop->is_object())
    throw RenderError(prop->type_name() + " cannot be used as a key");
  if (object->is_undefined()) return val;
  auto lookup_builtin = [&](const std::string& key) {
    if (ValuePtr fn = bound_builtin(ctx, key, object)) val = fn;
  };
  if (object->is_object()) {
    if (ValuePtr v = object->get(*prop)) val = v;
    else if (prop->is_string()) lookup_builtin(prop->s);
  } else if (object->is_array() || object->is_string()) {
    if (prop->kind == Kind::Int) {
      int64_t k = prop->i;
      if (object->is_array()) {
        const int64_t size = int64_t(object->items.size());
        if (k < 0) k += size;
        if (k >= 0 && k < size) val = object->items[size_t(k)];
      } else if (k >= 0 && k < int64_t(object->s.size())) {
        val = make_string(std::string(1, object->s[size_t(k)]));
      }
    } else if (prop->is_string()) {
      lookup_builtin(prop->s);
    } else {
      throw RenderError("cannot index " + object->type_name() + " with " + prop->type_name());
    }
  } else {
    if (!prop->is_string()) throw RenderError("cannot index " + object->type_name() + " with " + prop->type_name());
    lookup_builtin(prop->s);
  }
  if (ctx.state->stats) {
    val->used = object->used = prop->used = true;
    if (prop->kind == Kind::Int) object->ops.insert("array_access");
    else if (prop->is_string()) object->ops.insert("object_access");
  }
  return val;
}

ValuePtr call(const Ast& n, Context& ctx) {
  Args args;
  args.ctx = &ctx;
  for (const auto& a : n.list) args.v.push_back(eval(*a, ctx));
  ValuePtr callee = eval(*n.a, ctx);
  if (callee->kind != Kind::Func) throw RenderError(callee->type_name() + " is not callable");
  return call_value(*callee, std::move(args));
}

ValuePtr test(const Ast& n, Context& ctx) {
  Args args;
  args.ctx = &ctx;
  ValuePtr input = eval(*n.a, ctx);
  args.v.push_back(input);
  const Ast* id = n.b->kind == Node::Call ? n.b->a.get() : n.b.get();
  if (id->kind != Node::Ident) throw RenderError("a test must be a name");
  if (n.b->kind == Node::Call)
    for (const auto& a : n.b->list) args.v.push_back(eval(*a, ctx));
  const std::string name = "test_is_" + id->str;
  auto it = global_builtins().find(name);
  if (it == global_builtins().end()) throw RenderError("unknown test '" + id->str + "'");
  note(ctx, *input, name.c_str());
  args.name = id->str;
  const bool r = it->second(args)->truthy();
  return make_bool(n.flag ? !r : r);
}

ValuePtr unary(const Ast& n, Context& ctx) {
  ValuePtr v = eval(*n.a, ctx);
  if (n.str == "not") return make_bool(!v->truthy());
  if (!v->is_number()) throw RenderError("unary " + n.str + " needs a number, got " + v->type_name());
  if (n.str == "+") return v;
  if (v->kind == Kind::Int && v->i == INT64_MIN) throw RenderError("integer overflow in unary -");
  return v->kind == Kind::Int ? make_int(-v->i) : make_float(-v->f);
}

// Binds a macro's (or caller's) parameters: positional, by keyword, or defaults
// evaluated in the calling scope.
void bind_params(const std::string& name, const AstList& params, const Args& args, Context& scope) {
  for (size_t k = 0; k < params.size(); ++k) {
    const Ast& p = *params[k];
    const Ast* id = p.kind == Node::Kwarg ? p.a.get() : &p;
    if (id->kind != Node::Ident) throw RenderError("parameters of '" + name + "' must be names");
    if (k < args.count()) {
      scope.set(id->str, args.kw_or_pos(id->str, k));
    } else if (p.kind == Node::Kwarg) {
      scope.set(id->str, eval(*p.b, *args.ctx));
    } else {
      throw RenderError("not enough arguments for '" + name + "'");
    }
  }
}

struct DepthGuard {
  Context& ctx;
  explicit DepthGuard(Context& c) : ctx(c) {
    if (++ctx.state->depth > 200) {
      --ctx.state->depth;
      throw RenderError("macro calls nested deeper than 200");
    }
  }
  ~DepthGuard() { --ctx.state->depth; }
};

ValuePtr macro(const Ast& n, Context& ctx) {
  const Ast* def = &n;
  ctx.set(n.str, make_func(n.str, [def](const Args& args) -> ValuePtr {
    DepthGuard guard(*args.ctx);
    Context scope(*args.ctx);
    bind_params(def->str, def->list, args, scope);
    return run_block(def->body, scope);
  }));
  return make_undefined();
}

ValuePtr call_block(const Ast& n, Context& ctx) {
  const Ast& call_expr = *n.a;
  ValuePtr callee = eval(*call_expr.a, ctx);
  if (callee->kind != Kind::Func) throw RenderError(callee->type_name() + " is not callable");
  auto caller_scope = std::make_shared<Context>(ctx);
  const Ast* block = &n;
  Context call_scope(ctx);
  call_scope.set("caller", make_func("caller", [block, caller_scope](const Args& args) -> ValuePtr {
    DepthGuard guard(*caller_scope);
    Context scope(*caller_scope);
    bind_params("caller", block->list, args, scope);
    return run_block(block->body, scope);
  }));
  Args args;
  args.ctx = &call_scope;
  for (const auto& a : call_expr.list) args.v.push_back(eval(*a, ctx));
  return call_value(*callee, std::move(args));
}

void assign(const Ast& target, const ValuePtr& v, Context& ctx) {
  if (target.kind == Node::Ident) {
    ctx.set(target.str, v);
  } else if (target.kind == Node::Tuple) {
    if (!v->is_array()) throw RenderError("cannot unpack " + v->type_name());
    if (v->items.size() != target.list.size())
      throw RenderError(std::string("too ") + (target.list.size() > v->items.size() ? "few" : "many") +
                        " values to unpack");
    for (size_t k = 0; k < target.list.size(); ++k) {
      if (target.list[k]->kind != Node::Ident) throw RenderError("can only unpack into names");
      ctx.set(target.list[k]->str, v->items[k]);
    }
  } else if (target.kind == Node::Member) {
    if (target.flag || target.b->kind != Node::Ident)
      throw RenderError("can only assign to an attribute by name (ns.x)");
    ValuePtr object = eval(*target.a, ctx);
    if (!object->is_object()) throw RenderError("cannot set an attribute of " + object->type_name());
    object->set(target.b->str, v);
  } else {
    throw RenderError(std::string("cannot assign to a ") + node_name(target.kind));
  }
}

ValuePtr for_loop(const Ast& n, Context& ctx) {
  Context scope(ctx);
  const Ast* iter_expr = n.b->kind == Node::Select ? n.b->a.get() : n.b.get();
  const Ast* cond = n.b->kind == Node::Select ? n.b->b.get() : nullptr;
  ValuePtr iterable = eval(*iter_expr, scope);
  note(scope, *iterable, "array_access");
  if (iterable->is_undefined()) iterable = make_array();
  if (!iterable->is_array() && !iterable->is_object())
    throw RenderError("cannot loop over " + iterable->type_name());
  std::vector<ValuePtr> items;
  if (iterable->is_object()) {
    for (const auto& [k, v] : iterable->entries) items.push_back(make_tuple({k, v}));
  } else {
    items = iterable->items;
  }
  const Ast& var = *n.a;
  if (var.kind != Node::Ident && var.kind != Node::Tuple) throw RenderError("loop variable must be a name or names");
  auto bind_item = [&](const ValuePtr& item, Context& c) {
    if (var.kind == Node::Ident) c.set(var.str, iterable->is_object() ? item->items[0] : item);
    else assign(var, item, c);
  };
  std::vector<ValuePtr> selected;
  for (const auto& item : items) {
    if (var.kind == Node::Tuple && !item->is_array()) throw RenderError("cannot unpack " + item->type_name());
    if (cond) {
      Context probe(scope);
      bind_item(item, probe);
      if (!eval(*cond, probe)->truthy()) continue;
    }
    selected.push_back(item);
  }
  std::string out;
  const size_t count = selected.size();
  for (size_t k = 0; k < count; ++k) {
    auto loop = make_object();
    loop->no_builtins = true;
    loop->set("index", make_int(int64_t(k + 1)));
    loop->set("index0", make_int(int64_t(k)));
    loop->set("revindex", make_int(int64_t(count - k)));
    loop->set("revindex0", make_int(int64_t(count - k - 1)));
    loop->set("first", make_bool(k == 0));
    loop->set("last", make_bool(k + 1 == count));
    loop->set("length", make_int(int64_t(count)));
    loop->set("previtem", k > 0 ? selected[k - 1] : make_undefined("previtem"));
    loop->set("nextitem", k + 1 < count ? selected[k + 1] : make_undefined("nextitem"));
    scope.set("loop", loop);
    bind_item(selected[k], scope);
    try {
      for (const auto& s : n.body) gather(*eval(*s, scope), out, ctx.state->output_limit);
    } catch (const ContinueSignal& signal) {
      gather(*make_string(signal.written), out, ctx.state->output_limit);
      continue;
    } catch (const BreakSignal& signal) {
      gather(*make_string(signal.written), out, ctx.state->output_limit);
      break;
    }
  }
  if (count == 0)
    for (const auto& s : n.alt) gather(*eval(*s, ctx), out, ctx.state->output_limit);
  return make_string(std::move(out));
}

ValuePtr eval_node(const Ast& n, Context& ctx) {
  switch (n.kind) {
    case Node::Text:
    case Node::Str: return make_string(n.str);
    case Node::Comment:
    case Node::Noop:
    case Node::Blank: return make_undefined();
    case Node::Int: return make_int(n.i);
    case Node::Float: return make_float(n.f);
    case Node::Ident: {
      if (ValuePtr v = ctx.get(n.str); v && !v->is_undefined()) {
        note(ctx, *v);
        return v;
      }
      auto it = global_builtins().find(n.str);
      if (it != global_builtins().end()) return make_func(n.str, it->second);
      return make_undefined(n.str);
    }
    case Node::Array:
    case Node::Tuple: {
      std::vector<ValuePtr> items;
      for (const auto& x : n.list) items.push_back(eval(*x, ctx));
      return n.kind == Node::Array ? make_array(std::move(items)) : make_tuple(std::move(items));
    }
    case Node::Dict: {
      auto obj = make_object();
      for (const auto& [k, v] : n.pairs) {
        ValuePtr key = eval(*k, ctx);
        obj->set(key, eval(*v, ctx));
      }
      return obj;
    }
    case Node::Member: return member(n, ctx);
    case Node::Call: return call(n, ctx);
    case Node::Kwarg: return make_kwarg(n.a->str, eval(*n.b, ctx));
    case Node::Filter: return apply_filter(*n.b, eval(*n.a, ctx), ctx);
    case Node::Test: return test(n, ctx);
    case Node::Unary: return unary(n, ctx);
    case Node::Binary: return binary(n, ctx);
    case Node::Ternary: return eval(*n.a, ctx)->truthy() ? eval(*n.b, ctx) : eval(*n.c, ctx);
    case Node::Select: return eval(*n.b, ctx)->truthy() ? eval(*n.a, ctx) : make_undefined();
    case Node::If: return run_inline(eval(*n.a, ctx)->truthy() ? n.body : n.alt, ctx);
    case Node::For: return for_loop(n, ctx);
    case Node::Set:
      assign(*n.a, n.b ? eval(*n.b, ctx) : run_block(n.body, ctx), ctx);
      return make_undefined();
    case Node::Macro: return macro(n, ctx);
    case Node::CallBlock: return call_block(n, ctx);
    case Node::FilterBlock: return apply_filter(*n.a, run_block(n.body, ctx), ctx);
    case Node::Break: throw BreakSignal{};
    case Node::Continue: throw ContinueSignal{};
    case Node::Slice: throw RenderError("a slice is only allowed inside [ ]");
    case Node::Spread: throw RenderError("*arguments are not supported");
  }
  throw RenderError("unknown node");
}

// Errors carry the innermost node's position and construct.
ValuePtr eval(const Ast& n, Context& ctx) {
  try {
    return eval_node(n, ctx);
  } catch (const PositionedError&) {
    throw;
  } catch (const std::exception& e) {
    throw PositionedError(e.what(), n.pos, node_name(n.kind));
  }
}

}  // namespace

Context::Context() : state(std::make_shared<RenderState>()) {
  vars["true"] = vars["True"] = make_bool(true);
  vars["false"] = vars["False"] = make_bool(false);
  vars["none"] = vars["None"] = make_none();
}

ValuePtr Context::get(const std::string& name) const {
  auto it = vars.find(name);
  return it == vars.end() ? nullptr : it->second;
}

ValuePtr call_value(const Value& fn, Args args) {
  if (fn.kind != Kind::Func) throw RenderError(fn.type_name() + " is not callable");
  args.name = fn.s;
  if (fn.self) args.v.insert(args.v.begin(), fn.self);
  return fn.fn(args);
}

std::string execute(const Program& prog, Context& ctx) {
  std::string out;
  for (const auto& s : prog.body) gather(*eval(*s, ctx), out, ctx.state->output_limit);
  return out;
}

}  // namespace tessel::jinja
