#include "serve/chat_request.hpp"

#include "serve/api.hpp"
#include "serve/media.hpp"
#include "tessel/error.hpp"
#include "tessel/jinja.hpp"
#include "tessel/prompt.hpp"

namespace tessel::serve {
namespace {

using ojson = nlohmann::ordered_json;

ApiError bad(const std::string& field, const std::string& expected) {
  return ApiError(400, "'" + field + "' " + expected);
}

bool is_role(const std::string& r) {
  return r == "system" || r == "user" || r == "assistant" || r == "tool" || r == "developer";
}

// One message checked and copied for the template; image parts become
// llama.cpp's media_marker parts and their bytes go to `images`.
ojson message(const json& m, const std::string& at, bool images_allowed, std::vector<std::string>& images) {
  if (!m.is_object()) throw bad(at, "must be an object {role, content}");
  auto role_it = m.find("role");
  if (role_it == m.end() || !role_it->is_string())
    throw bad(at + ".role", "must be a string (system, user, assistant or tool)");
  const std::string role = role_it->get<std::string>();
  if (!is_role(role)) throw bad(at + ".role", "must be system, user, assistant or tool, got '" + role + "'");
  ojson out = m;
  auto content = m.find("content");
  const bool has_calls = m.contains("tool_calls") && !m["tool_calls"].is_null();
  if (content == m.end() || content->is_null()) {
    if (role != "assistant" && !has_calls) throw bad(at + ".content", "is required");
    if (content == m.end() && !has_calls) out["content"] = "";
    return out;
  }
  if (content->is_string()) return out;
  if (!content->is_array()) throw bad(at + ".content", "must be a string or a list of content parts");
  ojson parts = ojson::array();
  for (size_t j = 0; j < content->size(); ++j) {
    const json& part = (*content)[j];
    const std::string pat = at + ".content[" + std::to_string(j) + "]";
    const json* type = part.is_object() && part.contains("type") ? &part["type"] : nullptr;
    if (!type || !type->is_string()) throw bad(pat + ".type", "must be a string (text or image_url)");
    if (*type == "text") {
      if (!part.contains("text") || !part["text"].is_string()) throw bad(pat + ".text", "must be a string");
      parts.push_back({{"type", "text"}, {"text", part["text"].get<std::string>()}});
    } else if (*type == "image_url") {
      if (!images_allowed)
        throw ApiError(400, "'" + pat + "' is an image, but no multimodal projector is loaded (start the server "
                            "with --mmproj MMPROJ.gguf)");
      const json* url = part.contains("image_url") ? &part["image_url"] : nullptr;
      if (url && url->is_object() && url->contains("url")) url = &(*url)["url"];
      if (!url || !url->is_string()) throw bad(pat + ".image_url.url", "must be a string (a data URL)");
      images.push_back(data_url_bytes(url->get<std::string>(), pat + ".image_url.url"));
      parts.push_back({{"type", "media_marker"}, {"text", kMediaMarker}});
    } else {
      throw bad(pat + ".type", "must be text or image_url, got '" + type->get<std::string>() + "'");
    }
  }
  out["content"] = parts;
  return out;
}

// The request's `tools` as llama-server hands them to the template
// (common_chat_tools_parse_oaicompat, then ..._to_json_oaicompat): each one
// rebuilt as {type: function, function: {name, description, parameters}}.
ojson tools_for_template(const json& tools) {
  if (!tools.is_array()) throw bad("tools", "must be a list of {type: function, function: {name, ...}}");
  ojson out = ojson::array();
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& t = tools[i];
    const std::string at = "tools[" + std::to_string(i) + "]";
    if (!t.is_object() || !t.contains("type") || t["type"] != "function")
      throw bad(at + ".type", "must be \"function\"");
    const json* fn = t.contains("function") ? &t["function"] : nullptr;
    if (!fn || !fn->is_object()) throw bad(at + ".function", "must be an object {name, description, parameters}");
    if (!fn->contains("name") || !(*fn)["name"].is_string()) throw bad(at + ".function.name", "must be a string");
    const json description = fn->value("description", json(""));
    if (!description.is_string()) throw bad(at + ".function.description", "must be a string");
    out.push_back({{"type", "function"},
                   {"function", {{"name", (*fn)["name"]},
                                 {"description", description},
                                 {"parameters", fn->value("parameters", json::object())}}}});
  }
  return out;
}

std::string text_of(const ojson& m) {
  const ojson& c = m["content"];
  return c.is_string() ? c.get<std::string>() : concat_content_parts(c);
}

}  // namespace

ChatPrompt chat_prompt(const json& body, const ChatFormat& format, bool images_allowed) {
  auto msgs = body.find("messages");
  if (msgs == body.end() || msgs->is_null()) throw bad("messages", "is required (a list of {role, content})");
  if (!msgs->is_array() || msgs->empty()) throw bad("messages", "must be a non-empty list of {role, content}");
  ChatPrompt out;
  ojson messages = ojson::array();
  for (size_t i = 0; i < msgs->size(); ++i)
    messages.push_back(message((*msgs)[i], "messages[" + std::to_string(i) + "]", images_allowed, out.images));

  bool add_generation_prompt = bool_field(body, "add_generation_prompt").value_or(true);
  // llama-server continues a trailing assistant message (prefill_assistant):
  // the rest is rendered with the generation prompt, then that message's text.
  std::string prefill;
  if (messages.back()["role"] == "assistant") {
    if (messages.size() >= 2 && messages[messages.size() - 2]["role"] == "assistant")
      throw bad("messages", "may not end with two assistant messages (the last one is continued)");
    prefill = text_of(messages.back());
    messages.erase(messages.size() - 1);
    add_generation_prompt = true;
  }

  const json* tools = body.contains("tools") && !body["tools"].is_null() ? &body["tools"] : nullptr;
  if (format.name != "jinja") {
    if (tools && !(tools->is_array() && tools->empty()))
      throw ApiError(400, "'tools' needs a Jinja chat template (this server formats chats as '" + format.name +
                              "'; start it with --chat-template auto or --chat-template-file)");
    std::vector<ChatMessage> chat;
    for (const auto& m : messages) {
      const std::string role = m["role"].get<std::string>();
      chat.push_back({role == "developer" ? "system" : role, text_of(m)});
    }
    out.text = format.apply(chat, add_generation_prompt) + prefill;
    return out;
  }
  ChatTemplateOptions opt = format.options;
  opt.add_generation_prompt = add_generation_prompt;
  if (auto kw = body.find("chat_template_kwargs"); kw != body.end() && !kw->is_null()) {
    if (!kw->is_object()) throw bad("chat_template_kwargs", "must be an object");
    opt.extra = *kw;
    if (auto it = kw->find("enable_thinking"); it != kw->end()) {
      if (!it->is_boolean()) throw bad("chat_template_kwargs.enable_thinking", "must be true or false");
      opt.enable_thinking = it->get<bool>();
    }
  }
  if (tools) {
    ojson list = tools_for_template(*tools);
    if (!list.empty()) opt.extra["tools"] = std::move(list);  // none: no `tools` global, as llama.cpp
  }
  if (auto effort = string_field(body, "reasoning_effort")) {
    if (*effort == "none") opt.enable_thinking = false;
    else if (!effort->empty()) opt.extra["reasoning_effort"] = *effort;
  }
  try {
    out.text = format.jinja->render(messages, opt) + prefill;
  } catch (const Error& e) {
    throw ApiError(400, format.origin + ": " + e.what());
  }
  return out;
}

}  // namespace tessel::serve
