// Choosing between the model's Jinja template and the built-in formatters, and
// the special-token strings a Jinja template sees (llama.cpp's
// common_chat_templates_init: bos_token/eos_token as their text, stripped from
// the rendering when the tokenizer adds them itself).
#include <fstream>
#include <sstream>

#include "tessel/chat.hpp"
#include "tessel/error.hpp"

namespace tessel {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the chat template file for reading");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// llama.cpp's CHATML_TEMPLATE_SRC, rendered for a model without a template.
const char* const kChatmlJinja =
    "{%- for message in messages -%}\n"
    "  {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "  {{- '<|im_start|>assistant\\n' -}}\n"
    "{%- endif -%}";

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

std::string builtin_hint() {
  std::string names;
  for (const auto& n : chat_template_names()) names += (names.empty() ? "" : ", ") + n;
  return " (pass --chat-template NAME to use a built-in format instead: " + names + ")";
}

std::shared_ptr<const ChatTemplate> parse_template(const std::string& source, const std::string& origin) {
  try {
    return std::make_shared<const ChatTemplate>(source);
  } catch (const Error& e) {
    throw Error(origin + ": " + e.what() + builtin_hint());
  }
}

}  // namespace

std::string ChatFormat::apply(std::span<const ChatMessage> chat, bool add_generation_prompt) const {
  if (name == "none") {
    std::string text;
    for (const auto& m : chat) text += m.content;
    return text;
  }
  if (name != "jinja") return apply_chat_template(name, chat, add_generation_prompt);
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  for (const auto& m : chat) messages.push_back({{"role", m.role}, {"content", m.content}});
  ChatTemplateOptions opt = options;
  opt.add_generation_prompt = add_generation_prompt;
  try {
    return jinja->render(messages, opt);
  } catch (const Error& e) {
    throw Error(origin + ": " + e.what() + builtin_hint());
  }
}

ChatFormat resolve_chat_format(const std::string& option, const std::string& template_file,
                               const Metadata& meta, const Tokenizer* tok) {
  ChatFormat f;
  if (tok) {
    const SpecialTokens& sp = tok->special();
    f.options.bos_token = sp.bos >= 0 ? tok->token_text(sp.bos) : "";
    f.options.eos_token = sp.eos >= 0 ? tok->token_text(sp.eos) : "";
    f.options.strip_bos = sp.add_bos;
    f.options.strip_eos = sp.add_eos;
  } else {
    f.options.bos_token = f.options.eos_token = "";
    f.options.strip_bos = f.options.strip_eos = false;
  }
  if (!template_file.empty()) {
    f.name = "jinja";
    f.origin = template_file;
    f.jinja = parse_template(read_file(template_file), f.origin);
    return f;
  }
  if (option == "auto" || option == "jinja") {
    const MetaValue* v = meta.find("tokenizer.chat_template");
    if (v && v->type == MetaType::STRING && !blank(v->str)) {
      f.name = "jinja";
      f.origin = meta.source + ": tokenizer.chat_template";
      f.jinja = parse_template(v->str, f.origin);
      return f;
    }
    // llama.cpp's fallback for a model without a template: chatml, through Jinja.
    f.name = "jinja";
    f.origin = "chatml (" + meta.source + " has no tokenizer.chat_template)";
    f.jinja = parse_template(kChatmlJinja, f.origin);
    return f;
  }
  f.name = resolve_chat_template(option, meta);
  return f;
}

}  // namespace tessel
