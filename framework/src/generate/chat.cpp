// Chat templates: detection by the same substring checks, in the same order, as
// llama.cpp's llm_chat_detect_template (so a template llama.cpp files under some
// other family is never mistaken for one of ours), and formatting that reproduces
// llm_chat_apply_template's strings byte for byte.
#include "tessel/chat.hpp"

#include "chat_formats.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "tessel/error.hpp"

namespace tessel {
namespace {

using chat_formats::trim;

// Every name llama.cpp accepts as a template name (llm_chat_template_from_str).
const std::vector<std::string>& llama_cpp_names() {
  static const std::vector<std::string> names = {
      "chatml", "llama2", "llama2-sys", "llama2-sys-bos", "llama2-sys-strip", "mistral-v1",
      "mistral-v3", "mistral-v3-tekken", "mistral-v7", "mistral-v7-tekken", "phi3", "phi4",
      "falcon3", "zephyr", "monarch", "gemma", "orion", "openchat", "vicuna", "vicuna-orca",
      "deepseek", "deepseek2", "deepseek3", "deepseek-ocr", "command-r", "llama3", "chatglm3",
      "chatglm4", "glmedge", "minicpm", "exaone3", "exaone4", "exaone-moe", "rwkv-world",
      "granite", "granite-4.0", "granite-4.1", "gigachat", "megrez", "yandex", "bailing",
      "bailing-think", "bailing2", "llama4", "smolvlm", "hunyuan-moe", "gpt-oss", "hunyuan-dense",
      "hunyuan-vl", "kimi-k2", "seed_oss", "grok-2", "pangu-embedded", "solar-open"};
  return names;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

const std::vector<std::string>& chat_template_names() {
  static const std::vector<std::string> names = {
      "llama2", "llama2-sys", "llama2-sys-bos", "llama2-sys-strip", "chatml",
      "zephyr", "gemma",      "llama3",         "phi3"};
  static const std::vector<std::string> all = [] {
    std::vector<std::string> v = names;
    v.insert(v.end(), chat_formats::names().begin(), chat_formats::names().end());
    return v;
  }();
  return all;
}

std::string detect_chat_template(const std::string& t) {
  const auto& names = llama_cpp_names();
  if (std::find(names.begin(), names.end(), t) != names.end()) return t;
  auto has = [&](const char* s) { return t.find(s) != std::string::npos; };
  if (has("<|im_start|>"))
    return has("<|im_sep|>") ? "phi4" : has("<end_of_utterance>") ? "smolvlm" : "chatml";
  if (t.rfind("mistral", 0) == 0 || has("[INST]")) {
    if (has("[SYSTEM_PROMPT]")) return "mistral-v7";
    if (has("' [INST] ' + system_message") || has("[AVAILABLE_TOOLS]")) {
      if (has(" [INST]")) return "mistral-v1";
      if (has("\"[INST]\"")) return "mistral-v3-tekken";
      return "mistral-v3";
    }
    if (has("content.strip()")) return "llama2-sys-strip";
    if (has("bos_token + '[INST]")) return "llama2-sys-bos";
    if (has("<<SYS>>")) return "llama2-sys";
    return "llama2";
  }
  if (has("<|assistant|>") && has("<|end|>")) return "phi3";
  if (has("[gMASK]<sop>")) return "chatglm4";
  if (has("<|assistant|>") && has("<|user|>")) return has("</s>") ? "falcon3" : "glmedge";
  if (has("<|{{ item['role'] }}|>") && has("<|begin_of_image|>")) return "glmedge";
  if (has("<|user|>") && has("<|endoftext|>")) return "zephyr";
  if (has("bos_token + message['role']")) return "monarch";
  if (has("<start_of_turn>")) return "gemma";
  if (has("'\\n\\nAssistant: ' + eos_token")) return "orion";
  if (has("GPT4 Correct ")) return "openchat";
  if (has("USER: ") && has("ASSISTANT: ")) return has("SYSTEM: ") ? "vicuna-orca" : "vicuna";
  if (has("### Instruction:") && has("<|EOT|>")) return "deepseek";
  if (has("<|START_OF_TURN_TOKEN|>") && has("<|USER_TOKEN|>")) return "command-r";
  if (has("<|start_header_id|>") && has("<|end_header_id|>")) return "llama3";
  // Later llama.cpp families (chatglm3, minicpm, deepseek2/3, exaone, granite, ...)
  // can't shadow any template tessel formats, so they all end up as unsupported.
  if (has("[gMASK]sop")) return "chatglm3";
  if (has("<|start_of_role|>")) return "granite";
  if (has("<|header_start|>") && has("<|header_end|>")) return "llama4";
  return "";
}

std::string resolve_chat_template(const std::string& option, const Metadata& meta) {
  const auto& ours = chat_template_names();
  const std::string hint = "pass --chat-template NAME (generate.chat_template) with one of: " +
                           join(ours) + ", or none";
  if (option == "none") return option;
  if (option != "auto") {
    if (std::find(ours.begin(), ours.end(), option) != ours.end()) return option;
    throw Error("unknown chat template '" + option + "': expected auto, none, " + join(ours));
  }
  const MetaValue* v = meta.find("tokenizer.chat_template");
  // No template in the file: llama.cpp's tools fall back to chatml
  // (common_chat_templates_init), so tessel does the same.
  if (!v) return "chatml";
  if (v->type != MetaType::STRING)
    throw Error(meta.source + ": tokenizer.chat_template is not a string; " + hint);
  if (trim(v->str).empty()) return "chatml";
  const std::string name = detect_chat_template(v->str);
  if (name.empty())
    throw Error(meta.source + ": tokenizer.chat_template is not a template tessel recognises; " + hint);
  if (std::find(ours.begin(), ours.end(), name) == ours.end())
    throw Error(meta.source + ": tokenizer.chat_template looks like llama.cpp's '" + name +
                "' template, which tessel does not format; " + hint);
  return name;
}

std::string apply_chat_template(const std::string& name, std::span<const ChatMessage> chat,
                                bool add_ass) {
  std::ostringstream ss;
  if (name == "chatml") {
    for (const auto& m : chat) ss << "<|im_start|>" << m.role << "\n" << m.content << "<|im_end|>\n";
    if (add_ass) ss << "<|im_start|>assistant\n";
  } else if (name == "llama2" || name == "llama2-sys" || name == "llama2-sys-bos" ||
             name == "llama2-sys-strip") {
    // Plain llama2 has no <<SYS>> block: a system message becomes a line of the first turn.
    // -bos repeats <s> before later turns, -strip trims every message.
    // There is no generation prompt: a user turn already ends with [/INST].
    const bool sys_block = name != "llama2";
    const bool bos_inside = name == "llama2-sys-bos";
    const bool strip = name == "llama2-sys-strip";
    bool inside_turn = true;  // the leading BOS comes from the tokenizer, not from here
    ss << "[INST] ";
    for (const auto& m : chat) {
      const std::string content = strip ? trim(m.content) : m.content;
      if (!inside_turn) {
        inside_turn = true;
        ss << (bos_inside ? "<s>[INST] " : "[INST] ");
      }
      if (m.role == "system") {
        if (sys_block) ss << "<<SYS>>\n" << content << "\n<</SYS>>\n\n";
        else ss << content << "\n";
      } else if (m.role == "user") {
        ss << content << " [/INST]";
      } else {
        ss << content << "</s>";
        inside_turn = false;
      }
    }
  } else if (name == "zephyr") {
    for (const auto& m : chat) ss << "<|" << m.role << "|>\n" << m.content << "<|endoftext|>\n";
    if (add_ass) ss << "<|assistant|>\n";
  } else if (name == "gemma") {
    // Gemma has no system role: the system text is merged into the next user turn.
    std::string system;
    for (const auto& m : chat) {
      if (m.role == "system") {
        system += trim(m.content);
        continue;
      }
      const std::string role = m.role == "assistant" ? "model" : m.role;
      ss << "<start_of_turn>" << role << "\n";
      if (!system.empty() && role != "model") {
        ss << system << "\n\n";
        system.clear();
      }
      ss << trim(m.content) << "<end_of_turn>\n";
    }
    if (add_ass) ss << "<start_of_turn>model\n";
  } else if (name == "llama3") {
    for (const auto& m : chat)
      ss << "<|start_header_id|>" << m.role << "<|end_header_id|>\n\n" << trim(m.content) << "<|eot_id|>";
    if (add_ass) ss << "<|start_header_id|>assistant<|end_header_id|>\n\n";
  } else if (name == "phi3") {
    for (const auto& m : chat) ss << "<|" << m.role << "|>\n" << m.content << "<|end|>\n";
    if (add_ass) ss << "<|assistant|>\n";
  } else if (auto other = chat_formats::apply(name, chat, add_ass)) {
    ss << *other;
  } else {
    throw Error("unknown chat template '" + name + "': expected one of " + join(chat_template_names()));
  }
  return ss.str();
}

}  // namespace tessel
