// tessel::ChatTemplate: llama.cpp's chat layer over the engine — capability
// probes (common/jinja/caps.cpp), message normalisation and the workarounds of
// common_chat_templates_apply_jinja, the globals it sets, and the BOS/EOS strip
// of common_chat_template_direct_apply_impl.
#include "tessel/jinja.hpp"

#include "jinja/eval.hpp"
#include "jinja/lexer.hpp"
#include "jinja/render_error.hpp"
#include "tessel/json_file.hpp"
#include "tessel/error.hpp"

namespace tessel {

using ojson = nlohmann::ordered_json;
using namespace jinja;

struct ChatTemplate::Impl {
  std::string source;
  Program prog;
  ChatTemplateCaps caps;
};

namespace {

[[noreturn]] void fail_at(const Program& prog, size_t pos, const std::string& msg) {
  throw Error("chat template " + line_col(prog.source, pos) + ": " + msg);
}

Context make_context(const ojson& globals, std::time_t now, bool stats) {
  Context ctx;
  ctx.state->now = now ? now : std::time(nullptr);
  ctx.state->stats = stats;
  for (auto it = globals.begin(); it != globals.end(); ++it) {
    try {
      ctx.set(it.key(), from_json(it.value()));
    } catch (const RenderError& e) {
      throw Error("chat template input '" + it.key() + "': " + e.what());
    }
  }
  return ctx;
}

std::string run(const Program& prog, Context& ctx) {
  try {
    return execute(prog, ctx);
  } catch (const PositionedError& e) {
    fail_at(prog, e.pos, "in " + e.construct + ": " + e.what());
  } catch (const RenderError& e) {  // raised outside any statement: writing the output
    throw Error(std::string("chat template: ") + e.what());
  }
}

// Renders a probe conversation with usage tracking; `inspect` sees the
// context's values (and whether rendering worked) afterwards.
template <class F>
void probe(const Program& prog, ojson messages, F inspect, ojson tools = ojson::array()) {
  ojson globals = {{"messages", std::move(messages)}, {"tools", std::move(tools)}, {"bos_token", ""},
                   {"eos_token", ""}, {"add_generation_prompt", true}};
  const ValueArena arena;  // first: it outlives the context and empties what the render left tied up
  Context ctx = make_context(globals, 0, true);
  ValuePtr msgs = ctx.get("messages");
  bool ok = true;
  std::string out;
  try {
    out = execute(prog, ctx);
  } catch (const std::exception&) {
    ok = false;
  }
  inspect(*msgs, ok, out);
}

// llama.cpp's tool-call probe conversation: a call whose arguments are an
// object {"arg": "value"}, its result, and one function in `tools`.
ojson tool_call_probe() {
  const ojson call = {{"id", "call00001"},
                      {"type", "function"},
                      {"function", {{"name", "tool1"}, {"arguments", {{"arg", "value"}}}}}};
  return ojson::array({{{"role", "user"}, {"content", "User message"}},
                       {{"role", "assistant"}, {"content", ""}, {"tool_calls", ojson::array({call})}},
                       {{"role", "tool"}, {"content", "Tool response"}, {"tool_call_id", "call00001"}},
                       {{"role", "assistant"}, {"content", "The tool response was 'tool response'"}},
                       {{"role", "user"}, {"content", "User message"}}});
}

ojson tool_probe_tools() {
  const ojson params = {{"type", "object"},
                        {"properties", {{"arg", {{"type", "string"}, {"description", "Arg description"}}}}},
                        {"required", ojson::array({"arg"})}};
  return ojson::array({{{"name", "tool"},
                        {"type", "function"},
                        {"function", {{"name", "tool1"}, {"description", "Tool description"}, {"parameters", params}}}}});
}

ChatTemplateCaps detect_caps(const Program& prog) {
  ChatTemplateCaps caps;
  const std::string marker = "STRING_MARKER";
  bool checks_string = false;
  auto as_array = [](const Value& v) { return v.ops.count("selectattr") || v.ops.count("array_access"); };
  probe(prog, ojson::array({{{"role", "user"}, {"content", marker}}}),
        [&](const Value& msgs, bool ok, const std::string& out) {
          const Value& content = *msgs.items[0]->get("content");
          checks_string = content.ops.count("test_is_string") > 0;
          const bool array_use = as_array(content);
          if (array_use) caps.typed_content = true;
          if (!ok || (array_use && out.find(marker) == std::string::npos)) caps.string_content = false;
        });
  if (checks_string) {
    probe(prog, ojson::array({{{"role", "user"}, {"content", ojson::array()}}}),
          [&](const Value& msgs, bool ok, const std::string&) {
            if (ok && as_array(*msgs.items[0]->get("content"))) caps.typed_content = true;
          });
  }
  probe(prog, ojson::array({{{"role", "system"}, {"content", "System message"}}, {{"role", "user"}, {"content", "User message"}}}),
        [&](const Value& msgs, bool, const std::string&) {
          if (!msgs.items[0]->get("content")->used) caps.system_role = false;
        });
  // A template that reads a call's arguments as an object (arguments.arg, or
  // the whole object through tojson / items) gets them parsed from OpenAI's
  // JSON string before rendering (llama.cpp's supports_object_arguments).
  probe(
      prog, tool_call_probe(),
      [&](const Value& msgs, bool ok, const std::string&) {
        if (!ok) return;
        const ValuePtr calls = msgs.items[1]->get("tool_calls");
        if (!calls || !calls->used || calls->items.empty()) return;
        const ValuePtr fn = calls->items[0]->get("function");
        const ValuePtr args = fn ? fn->get("arguments") : nullptr;
        const ValuePtr arg = args ? args->get("arg") : nullptr;
        if (arg && arg->used) caps.object_arguments = true;
      },
      tool_probe_tools());
  return caps;
}

std::string json_str(const ojson& j, const std::string& where) {
  if (!j.is_string()) throw Error(where + ": expected a string, got " + j.dump());
  return j.get<std::string>();
}

// Messages as llama-server rebuilds them (common_chat_msgs_parse_oaicompat, then
// to_json_oaicompat): known fields only, in a fixed order, content never null.
ojson normalize(const ojson& messages, const ChatTemplateCaps& caps, bool map_developer) {
  if (!messages.is_array()) throw Error("messages: expected an array of {role, content} objects");
  ojson out = ojson::array();
  for (size_t k = 0; k < messages.size(); ++k) {
    const ojson& m = messages[k];
    const std::string where = "messages[" + std::to_string(k) + "]";
    if (!m.is_object()) throw Error(where + ": expected an object, got " + m.dump());
    if (!m.contains("role")) throw Error(where + ": missing 'role'");
    if (!m.contains("content") && !m.contains("tool_calls")) throw Error(where + ": expected 'content' or 'tool_calls'");
    ojson msg = {{"role", json_str(m["role"], where + ".role")}};
    if (map_developer && msg["role"] == "developer") msg["role"] = "system";
    const ojson content = m.value("content", ojson());
    if (content.is_string() && !content.get<std::string>().empty()) {
      msg["content"] = content;
    } else if (content.is_array() && !content.empty()) {
      ojson parts = ojson::array();
      for (const auto& p : content) {
        const std::string type = p.is_object() && p.contains("type") ? json_str(p["type"], where + ".content[].type") : "";
        if (type != "text" && type != "media_marker")
          throw Error(where + ": unsupported content part " + p.dump() + " (expected type text)");
        parts.push_back({{"type", type}, {"text", json_str(p.value("text", ojson()), where + ".content[].text")}});
      }
      msg["content"] = parts;
    } else if (!content.is_null() && !content.is_string() && !content.is_array()) {
      throw Error(where + ".content: expected a string or an array of parts, got " + content.dump());
    } else {
      msg["content"] = "";
    }
    for (const char* key : {"reasoning_content", "name", "tool_call_id"})
      if (m.contains(key) && !json_str(m[key], where + "." + key).empty()) msg[key] = m[key];
    if (m.contains("tool_calls") && m["tool_calls"].is_array() && !m["tool_calls"].empty()) {
      ojson calls = ojson::array();
      for (const auto& tc : m["tool_calls"]) {
        if (!tc.is_object() || !tc.contains("function") || !tc["function"].contains("name"))
          throw Error(where + ".tool_calls: expected {type: function, function: {name, arguments}}");
        const ojson& fn = tc["function"];
        ojson args = fn.value("arguments", ojson(""));
        if (!args.is_string()) args = args.dump();
        // OpenAI sends the arguments as a JSON string; a template that reads
        // them as an object gets them parsed (llama.cpp's func_args_not_string),
        // and a string that is not JSON is an error there too.
        if (caps.object_arguments) {
          const std::string text = args.get<std::string>();
          args = json_nesting_within(text) ? ojson::parse(text, nullptr, false) : ojson(ojson::value_t::discarded);
          if (args.is_discarded())
            throw Error(where + ".tool_calls[" + std::to_string(calls.size()) +
                        "].function.arguments is not valid JSON (the template reads it as an object): " +
                        (text.size() > 80 ? text.substr(0, 80) + "..." : text));
        }
        ojson call = {{"type", "function"}, {"function", {{"name", fn["name"]}, {"arguments", args}}}};
        if (tc.contains("id")) call["id"] = tc["id"];
        calls.push_back(call);
      }
      msg["tool_calls"] = calls;
    }
    // Adapt content to what the template takes.
    ojson& c = msg["content"];
    if (caps.typed_content && !caps.string_content && c.is_string())
      c = ojson::array({{{"type", "text"}, {"text", c.get<std::string>()}}});
    else if (caps.string_content && !caps.typed_content && c.is_array())
      c = concat_content_parts(c);
    out.push_back(std::move(msg));
  }
  if (!caps.system_role && !out.empty() && out[0]["role"] == "system") {
    // Merged into the next message, or dropped when alone (llama.cpp's workaround).
    if (out.size() > 1 && out[0]["content"].is_string() && out[1]["content"].is_string())
      out[1]["content"] = out[0]["content"].get<std::string>() + "\n" + out[1]["content"].get<std::string>();
    out.erase(out.begin());
  }
  return out;
}

// Older Gemma 4 templates read tool results from the calling model turn
// (`tool_responses`), not from role "tool" messages: llama.cpp folds
// assistant(tool_calls) -> tool... -> assistant(text) into one assistant
// message for them (workaround::convert_tool_responses_gemma4). A result that
// parses as JSON is passed as that value; its name is the matching call's.
bool needs_gemma4_tool_fold(const std::string& source) {
  return source.find("'<|tool_call>call:'") != std::string::npos &&
         source.find("{#- OpenAI Chat Completions:") == std::string::npos;
}

ojson fold_gemma4_tool_turns(const ojson& messages) {
  auto has_calls = [](const ojson& m) {
    return m.contains("tool_calls") && m["tool_calls"].is_array() && !m["tool_calls"].empty();
  };
  auto has_content = [](const ojson& m) {
    if (!m.contains("content") || m["content"].is_null()) return false;
    const ojson& c = m["content"];
    return (c.is_string() && !c.get<std::string>().empty()) || (c.is_array() && !c.empty());
  };
  auto role_of = [](const ojson& m) { return m.value("role", std::string()); };
  ojson out = ojson::array();
  for (size_t i = 0; i < messages.size();) {
    const ojson& first = messages[i];
    if (role_of(first) != "assistant" || !has_calls(first)) {
      out.push_back(first);
      ++i;
      continue;
    }
    ojson calls = first["tool_calls"], responses = ojson::array(), content, reasoning;
    if (first.contains("reasoning_content") && first["reasoning_content"].is_string())
      reasoning = first["reasoning_content"];
    for (++i; i < messages.size() && role_of(messages[i]) == "tool"; ++i) {
      const ojson& tool = messages[i];
      ojson response;
      if (tool.contains("content")) {
        response = tool["content"];
        if (response.is_string()) {
          const std::string& text = response.get_ref<const std::string&>();
          ojson parsed = json_nesting_within(text) ? ojson::parse(text, nullptr, false) : ojson(ojson::value_t::discarded);
          if (!parsed.is_discarded()) response = std::move(parsed);
        }
      }
      std::string name;
      if (responses.size() < calls.size() && calls[responses.size()].contains("function"))
        name = calls[responses.size()]["function"].value("name", std::string());
      if (name.empty()) name = tool.value("tool_call_id", std::string());
      responses.push_back({{"name", name}, {"response", response}});
    }
    if (i < messages.size() && role_of(messages[i]) == "assistant" && !has_calls(messages[i]) &&
        has_content(messages[i]))
      content = messages[i++]["content"];
    ojson msg = {{"role", "assistant"}, {"tool_calls", calls}};
    if (!responses.empty()) msg["tool_responses"] = responses;
    if (!content.is_null()) msg["content"] = content;
    if (!reasoning.is_null()) msg["reasoning_content"] = reasoning;
    out.push_back(std::move(msg));
  }
  return out;
}

std::string format_time(std::time_t t, const char* fmt) {
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  return std::strftime(buf, sizeof buf, fmt, &tm) ? buf : "";
}

}  // namespace

std::string concat_content_parts(const ojson& parts) {
  std::string text;
  bool after_media = false;
  for (const auto& p : parts) {
    const std::string type = p.value("type", "");
    bool newline;
    if (type == "text") {
      newline = !after_media && !text.empty();
      after_media = false;
    } else if (type == "media_marker") {
      newline = false;
      after_media = true;
    } else {
      continue;
    }
    if (newline) text += '\n';
    text += p.value("text", "");
  }
  return text;
}

ChatTemplate::ChatTemplate(std::string source) {
  auto impl = std::make_shared<Impl>();
  try {
    impl->prog = parse(source);
  } catch (const SyntaxError& e) {
    throw Error(std::string("chat template ") + e.what());  // already "line L, column C: ..."
  }
  impl->source = std::move(source);
  impl->caps = detect_caps(impl->prog);
  impl_ = std::move(impl);
}

const std::string& ChatTemplate::source() const { return impl_->source; }
const ChatTemplateCaps& ChatTemplate::caps() const { return impl_->caps; }

std::string ChatTemplate::render(const nlohmann::json& messages, const ChatTemplateOptions& opt) const {
  return render(ojson::parse(messages.dump()), opt);
}

std::string ChatTemplate::render(const ojson& messages_in, const ChatTemplateOptions& opt) const {
  const ojson& messages =
      messages_in.is_object() && messages_in.contains("messages") ? messages_in["messages"] : messages_in;
  const bool gpt_oss = impl_->source.find("<|channel|>") != std::string::npos;
  const std::time_t now = opt.now ? opt.now : std::time(nullptr);
  ojson normalized = normalize(messages, impl_->caps, !gpt_oss);
  if (needs_gemma4_tool_fold(impl_->source)) normalized = fold_gemma4_tool_turns(normalized);
  ojson globals = {{"messages", std::move(normalized)},
                   {"bos_token", opt.bos_token},
                   {"eos_token", opt.eos_token},
                   {"enable_thinking", opt.enable_thinking},
                   {"datetime", format_time(now, "%b %d %Y")},
                   {"date_string", format_time(now, "%d %b %Y")}};
  globals["preserve_reasoning"] = opt.preserve_reasoning;
  if (opt.extra.is_object())
    for (auto it = opt.extra.begin(); it != opt.extra.end(); ++it) globals[it.key()] = it.value();
  if (opt.add_generation_prompt) globals["add_generation_prompt"] = true;
  // Names a template may read for these settings (llama.cpp's caps_apply_*);
  // a global of the same name still wins.
  ojson derived = ojson::object();
  if (globals["preserve_reasoning"].is_boolean()) {
    const bool keep = globals["preserve_reasoning"].get<bool>();
    derived = {{"preserve_thinking", keep}, {"clear_thinking", !keep}, {"truncate_history_thinking", !keep},
               {"drop_thinking", !keep}};
  }
  if (globals.contains("reasoning_effort") && globals["reasoning_effort"].is_string() &&
      !globals["reasoning_effort"].get<std::string>().empty())
    derived["reasoning_strength"] = globals["reasoning_effort"];
  for (auto it = derived.begin(); it != derived.end(); ++it)
    if (!globals.contains(it.key())) globals[it.key()] = it.value();
  const ValueArena arena;  // first: it outlives the context and empties what the render left tied up
  Context ctx = make_context(globals, now, false);
  std::string out = run(impl_->prog, ctx);
  const std::string &bos = opt.bos_token, &eos = opt.eos_token;
  if (opt.strip_bos && out.compare(0, bos.size(), bos) == 0) out.erase(0, bos.size());
  if (opt.strip_eos && out.size() >= eos.size() && out.compare(out.size() - eos.size(), eos.size(), eos) == 0)
    out.erase(out.size() - eos.size());
  return out;
}

std::string render_chat_template(const std::string& source, const ojson& messages, const ChatTemplateOptions& opt) {
  return ChatTemplate(source).render(messages, opt);
}

int chat_template_fuzz_one(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const size_t nul = bytes.find('\0');
  const std::string source = bytes.substr(0, nul);
  ojson messages = ojson::array({{{"role", "system"}, {"content", "sys"}},
                                 {{"role", "user"}, {"content", "hi"}},
                                 {{"role", "assistant"}, {"content", "hello"}},
                                 {{"role", "user"}, {"content", "bye"}}});
  if (nul != std::string::npos) {
    const std::string text = bytes.substr(nul + 1);
    if (!json_nesting_within(text)) return 0;  // as every reader of outside JSON refuses it
    messages = ojson::parse(text, nullptr, false);
    if (messages.is_discarded()) return 0;
  }
  try {
    ChatTemplateOptions opt;
    opt.now = 1700000000;
    ChatTemplate(source).render(messages, opt);
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace tessel
