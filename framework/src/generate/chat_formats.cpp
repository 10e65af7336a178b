// The rest of llama.cpp's built-in chat templates (llm_chat_apply_template),
// so every name `llama-cli --chat-template NAME` accepts is accepted here too.
// chat.cpp formats the common families itself and asks this file for the others.
//
// Most of these templates wrap each message in a role-dependent prefix and
// suffix, so they are rows of a table; the few whose output depends on a
// message's position are written out below the table.
#include "chat_formats.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace tessel::chat_formats {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

namespace {

// How one role's message is written; `pre` may name the role as {role},
// {Role} (first letter upper case) or {ROLE} (upper case, user as HUMAN).
struct Turn {
  const char* pre = nullptr;  // nullptr: messages with this role are left out
  const char* suf = "";
  bool trim = false;
};

struct Format {
  const char* name;
  const char* begin;  // before the first message
  Turn system, user, assistant, other;
  const char* generation;  // opens the assistant's turn ("" : the template has none)
  const char* begin_without_system = "";  // before the first message when it is not a system message
};

std::string expand(const char* pre, const std::string& role) {
  std::string out = pre;
  auto replace = [&](const std::string& key, const std::string& value) {
    for (size_t at = out.find(key); at != std::string::npos; at = out.find(key, at + value.size()))
      out.replace(at, key.size(), value);
  };
  std::string cap = role, upper = role == "user" ? "HUMAN" : role;
  if (!cap.empty()) cap[0] = char(std::toupper(static_cast<unsigned char>(cap[0])));
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return char(std::toupper(c)); });
  replace("{role}", role);
  replace("{Role}", cap);
  replace("{ROLE}", upper);
  return out;
}

const Turn kSame{"", ""};
Turn all(const char* pre, const char* suf, bool trim = false) { return Turn{pre, suf, trim}; }

const std::vector<Format>& table() {
  static const std::vector<Format> formats = [] {
    std::vector<Format> f;
    auto uniform = [&](const char* name, const char* begin, Turn t, const char* gen) {
      f.push_back(Format{name, begin, t, t, t, t, gen});
    };
    uniform("phi4", "", all("<|im_start|>{role}<|im_sep|>", "<|im_end|>"), "<|im_start|>assistant<|im_sep|>");
    uniform("falcon3", "", all("<|{role}|>\n", "\n"), "<|assistant|>\n");
    f.push_back(Format{"openchat", "", all("", "<|end_of_turn|>"), all("GPT4 Correct {Role}: ", "<|end_of_turn|>"),
                       all("GPT4 Correct {Role}: ", "<|end_of_turn|>"),
                       all("GPT4 Correct {Role}: ", "<|end_of_turn|>"), "GPT4 Correct Assistant:"});
    f.push_back(Format{"vicuna", "", all("", "\n\n"), all("USER: ", "\n"), all("ASSISTANT: ", "</s>\n"), {},
                       "ASSISTANT:"});
    f.push_back(Format{"vicuna-orca", "", all("SYSTEM: ", "\n"), all("USER: ", "\n"),
                       all("ASSISTANT: ", "</s>\n"), {}, "ASSISTANT:"});
    f.push_back(Format{"deepseek", "", all("", ""), all("### Instruction:\n", "\n"),
                       all("### Response:\n", "\n<|EOT|>\n"), {}, "### Response:\n"});
    f.push_back(Format{"command-r", "", all("<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>", "<|END_OF_TURN_TOKEN|>", true),
                       all("<|START_OF_TURN_TOKEN|><|USER_TOKEN|>", "<|END_OF_TURN_TOKEN|>", true),
                       all("<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>", "<|END_OF_TURN_TOKEN|>", true), {},
                       "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>"});
    uniform("chatglm3", "[gMASK]sop", all("<|{role}|>\n ", ""), "<|assistant|>");
    uniform("chatglm4", "[gMASK]<sop>", all("<|{role}|>\n", ""), "<|assistant|>\n");
    uniform("glmedge", "", all("<|{role}|>\n", ""), "<|assistant|>");
    f.push_back(Format{"minicpm", "", all("", "", true), all("<用户>", "<AI>", true), all("", "", true),
                       all("", "", true), ""});
    f.push_back(Format{"deepseek2", "", all("", "\n\n"), all("User: ", "\n\n"),
                       all("Assistant: ", "<｜end▁of▁sentence｜>"), {}, "Assistant:"});
    f.push_back(Format{"deepseek3", "", all("", "\n\n"), all("<｜User｜>", ""),
                       all("<｜Assistant｜>", "<｜end▁of▁sentence｜>"), {}, "<｜Assistant｜>"});
    uniform("deepseek-ocr", "", kSame, "");
    f.push_back(Format{"exaone3", "", all("[|system|]", "[|endofturn|]\n", true), all("[|user|]", "\n", true),
                       all("[|assistant|]", "[|endofturn|]\n", true), {}, "[|assistant|]"});
    f.push_back(Format{"exaone4", "", all("[|system|]", "[|endofturn|]\n", true), all("[|user|]", "\n", true),
                       all("[|assistant|]", "[|endofturn|]\n", true), all("[|tool|]", "[|endofturn|]\n", true),
                       "[|assistant|]"});
    uniform("exaone-moe", "", all("<|{role}|>\n", "<|endofturn|>\n", true), "<|assistant|>\n");
    for (const char* granite : {"granite", "granite-4.0", "granite-4.1"})
      uniform(granite, "", all("<|start_of_role|>{role}<|end_of_role|>", "<|end_of_text|>\n"),
              "<|start_of_role|>assistant<|end_of_role|>");
    uniform("megrez", "", all("<|role_start|>{role}<|role_end|>", "<|turn_end|>"),
            "<|role_start|>assistant<|role_end|>");
    f.push_back(Format{"yandex", "", {}, all(" Пользователь: ", "\n\n"), all(" Ассистент: ", "\n\n"), {},
                       " Ассистент:[SEP]"});
    uniform("bailing", "", all("<role>{ROLE}</role>", ""), "<role>ASSISTANT</role>");
    uniform("bailing-think", "", all("<role>{ROLE}</role>", ""), "<role>ASSISTANT</role><think>");
    {
      Format b{"bailing2", "", {}, {}, {}, {}, "<role>ASSISTANT</role>",
               "<role>SYSTEM</role>detailed thinking off<|role_end|>"};
      b.system = b.user = b.assistant = b.other = all("<role>{ROLE}</role>", "<|role_end|>");
      f.push_back(b);
    }
    uniform("llama4", "", all("<|header_start|>{role}<|header_end|>\n\n", "<|eot|>", true),
            "<|header_start|>assistant<|header_end|>\n\n");
    f.push_back(Format{"smolvlm", "<|im_start|>", all("", "\n\n"), all("User: ", "<end_of_utterance>\n"),
                       all("Assistant: ", "<end_of_utterance>\n"), all("Assistant: ", "<end_of_utterance>\n"),
                       "Assistant:"});
    f.push_back(Format{"hunyuan-moe", "", all("<|startoftext|>", "<|extra_4|>"),
                       all("<|startoftext|>", "<|extra_0|>"), all("", "<|eos|>"),
                       all("<|startoftext|>", "<|extra_0|>"), ""});
    {
      Format g{"gpt-oss", "", {}, {}, all("<|start|>assistant<|message|>", "<|return|>"), {}, "<|start|>assistant"};
      g.system = g.user = g.other = all("<|start|>{role}<|message|>", "<|end|>");
      f.push_back(g);
    }
    f.push_back(Format{"kimi-k2", "", all("<|im_system|>system<|im_middle|>", "<|im_end|>"),
                       all("<|im_user|>user<|im_middle|>", "<|im_end|>"),
                       all("<|im_assistant|>assistant<|im_middle|>", "<|im_end|>"),
                       all("<|im_system|>tool<|im_middle|>", "<|im_end|>"),
                       "<|im_assistant|>assistant<|im_middle|>"});
    {
      Format s{"seed_oss", "", {}, {}, all("<seed:bos>assistant\n", "<seed:eos>", true), {}, "<seed:bos>assistant\n"};
      s.system = s.user = s.other = all("<seed:bos>{role}\n", "<seed:eos>");
      f.push_back(s);
    }
    f.push_back(Format{"grok-2", "", all("System: ", "<|separator|>\n\n", true),
                       all("Human: ", "<|separator|>\n\n", true), all("Assistant: ", "<|separator|>\n\n"), {},
                       "Assistant:"});
    f.push_back(Format{"pangu-embedded", "", all("[unused9]系统：", "[unused10]"), all("[unused9]用户：", "[unused10]"),
                       all("[unused9]助手：", "[unused10]"), all("[unused9]工具：", "[unused10]"), "[unused9]助手：",
                       "[unused9]系统：[unused10]"});
    uniform("solar-open", "", all("<|begin|>{role}<|content|>", "<|end|>"), "<|begin|>assistant");
    return f;
  }();
  return formats;
}

const Format* find_format(const std::string& name) {
  for (const Format& f : table())
    if (name == f.name) return &f;
  return nullptr;
}

void apply_table(const Format& f, std::span<const ChatMessage> chat, bool add_ass, std::ostream& ss) {
  ss << f.begin;
  if (chat.empty() || chat.front().role != "system") ss << f.begin_without_system;
  for (const ChatMessage& m : chat) {
    const Turn& t = m.role == "system"      ? f.system
                    : m.role == "user"      ? f.user
                    : m.role == "assistant" ? f.assistant
                                            : f.other;
    if (!t.pre) continue;
    ss << expand(t.pre, m.role) << (t.trim ? trim(m.content) : m.content) << t.suf;
  }
  if (add_ass) ss << f.generation;
}

// Mistral's instruction formats: [INST] opens a turn that the assistant's </s> closes.
void apply_mistral(const std::string& name, std::span<const ChatMessage> chat, std::ostream& ss) {
  if (name == "mistral-v7" || name == "mistral-v7-tekken") {
    const char* sp = name == "mistral-v7" ? " " : "";
    for (const ChatMessage& m : chat) {
      if (m.role == "system") ss << "[SYSTEM_PROMPT]" << sp << m.content << "[/SYSTEM_PROMPT]";
      else if (m.role == "user") ss << "[INST]" << sp << m.content << "[/INST]";
      else ss << sp << m.content << "</s>";
    }
    return;
  }
  const std::string lead = name == "mistral-v1" ? " " : "";
  const std::string trail = name == "mistral-v3-tekken" ? "" : " ";
  bool inside = false;
  for (const ChatMessage& m : chat) {
    if (!inside) {
      ss << lead << "[INST]" << trail;
      inside = true;
    }
    if (m.role == "system") {
      ss << m.content << "\n\n";
    } else if (m.role == "user") {
      ss << m.content << lead << "[/INST]";
    } else {
      ss << trail << (name == "mistral-v3" ? trim(m.content) : m.content) << "</s>";
      inside = false;
    }
  }
}

// Templates whose output depends on a message's position in the chat.
bool apply_positional(const std::string& name, std::span<const ChatMessage> chat, bool add_ass,
                      std::ostream& ss) {
  const size_t n = chat.size();
  if (name == "monarch") {  // <s> between messages, the first one's comes from the tokenizer
    for (size_t i = 0; i < n; ++i) ss << (i ? "<s>" : "") << chat[i].role << "\n" << chat[i].content << "</s>\n";
    if (add_ass) ss << "<s>assistant\n";
  } else if (name == "orion") {  // no system role: its text opens the next user message
    std::string system;
    for (const ChatMessage& m : chat) {
      if (m.role == "system") {
        system += m.content;
      } else if (m.role == "user") {
        ss << "Human: ";
        if (!system.empty()) ss << system << "\n\n";
        system.clear();
        ss << m.content << "\n\nAssistant: </s>";
      } else {
        ss << m.content << "</s>";
      }
    }
  } else if (name == "rwkv-world") {  // the generation prompt follows only a final user message
    for (size_t i = 0; i < n; ++i) {
      const ChatMessage& m = chat[i];
      if (m.role == "system") ss << "System: " << trim(m.content) << "\n\n";
      else if (m.role == "user") ss << "User: " << trim(m.content) << "\n\n" << (i + 1 == n ? "Assistant:" : "");
      else if (m.role == "assistant") ss << "Assistant: " << trim(m.content) << "\n\n";
    }
  } else if (name == "gigachat") {  // a leading system message is merged into the opening <s>
    const bool sys = n && chat[0].role == "system";
    ss << "<s>";
    if (sys) ss << chat[0].content << "<|message_sep|>";
    for (size_t i = sys ? 1 : 0; i < n; ++i) {
      if (chat[i].role == "user")
        ss << "user<|role_sep|>" << chat[i].content << "<|message_sep|>available functions<|role_sep|>[]<|message_sep|>";
      else if (chat[i].role == "assistant")
        ss << "assistant<|role_sep|>" << chat[i].content << "<|message_sep|>";
    }
    if (add_ass) ss << "assistant<|role_sep|>";
  } else if (name == "hunyuan-dense" || name == "hunyuan-vl") {  // only a first system message counts
    const bool vl = name == "hunyuan-vl";
    if (vl) ss << "<｜hy_begin▁of▁sentence｜>";
    for (size_t i = 0; i < n; ++i) {
      const ChatMessage& m = chat[i];
      if (i == 0 && m.role == "system") ss << m.content << "<｜hy_place▁holder▁no▁3｜>";
      else if (m.role == "user") ss << (vl ? "" : "<｜hy_User｜>") << m.content << (vl ? "<｜hy_User｜>" : "<｜hy_Assistant｜>");
      else if (m.role == "assistant")
        ss << (vl ? "" : "<｜hy_Assistant｜>") << m.content << (vl ? "<｜hy_Assistant｜>" : "<｜hy_place▁holder▁no▁2｜>");
    }
  } else {
    return false;
  }
  return true;
}

}  // namespace

const std::vector<std::string>& names() {
  static const std::vector<std::string> list = [] {
    std::vector<std::string> v = {"mistral-v1", "mistral-v3", "mistral-v3-tekken", "mistral-v7", "mistral-v7-tekken",
                                  "monarch",    "orion",      "rwkv-world",        "gigachat",   "hunyuan-dense",
                                  "hunyuan-vl"};
    for (const Format& f : table()) v.push_back(f.name);
    return v;
  }();
  return list;
}

std::optional<std::string> apply(const std::string& name, std::span<const ChatMessage> chat, bool add_ass) {
  std::ostringstream ss;
  if (name.rfind("mistral-", 0) == 0 && std::find(names().begin(), names().end(), name) != names().end())
    apply_mistral(name, chat, ss);
  else if (const Format* f = find_format(name)) apply_table(*f, chat, add_ass, ss);
  else if (!apply_positional(name, chat, add_ass, ss)) return std::nullopt;
  return ss.str();
}

}  // namespace tessel::chat_formats
