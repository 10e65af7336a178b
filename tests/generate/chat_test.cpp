// Chat templates: the conversation and expected strings of llama.cpp's
// tests/test-chat-template.cpp (legacy, non-Jinja path), and auto detection.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tessel/chat.hpp"
#include "tessel/error.hpp"

using namespace tessel;

namespace {

const std::vector<ChatMessage> conversation = {
    {"system", "You are a helpful assistant"}, {"user", "Hello"},
    {"assistant", "Hi there"},                 {"user", "Who are you"},
    {"assistant", "   I am an assistant   "},  {"user", "Another question"},
};

std::string fmt(const std::string& name) { return apply_chat_template(name, conversation, true); }

Metadata meta_with_template(const std::string& tmpl) {
  Metadata m;
  m.source = "model.gguf";
  m.set("tokenizer.chat_template", MetaValue::of_string(tmpl));
  return m;
}

// Template sources from llama.cpp's test cases.
const char* kOpenHermes =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const char* kMistralOld =
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] "
    "== 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant "
    "roles are supported!') }}{% endif %}{% endfor %}";
const char* kGemma =
    "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}"
    "{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + "
    "'<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";
const char* kLlama3 =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 "
    "%}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}";
const char* kPhi3 =
    "{{ bos_token }}{% for message in messages %}{{'<|' + message['role'] + '|>' + '\\n' + message['content'] + "
    "'<|end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}";
const char* kTinyLlama =  // TinyLlama-1.1B-Chat: llama.cpp files this under glmedge (no "</s>", no "<|endoftext|>")
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + "
    "eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n"
    "{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

}  // namespace

TEST_CASE("chatml (teknium/OpenHermes-2.5-Mistral-7B)") {
  CHECK(fmt("chatml") ==
        "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
        "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n"
        "<|im_start|>assistant\n   I am an assistant   <|im_end|>\n<|im_start|>user\nAnother question<|im_end|>\n"
        "<|im_start|>assistant\n");
}

TEST_CASE("llama2 (mistralai/Mistral-7B-Instruct-v0.2, no system block)") {
  CHECK(fmt("llama2") ==
        "[INST] You are a helpful assistant\nHello [/INST]Hi there</s>[INST] Who are you [/INST]   I am an "
        "assistant   </s>[INST] Another question [/INST]");
}

TEST_CASE("llama2-sys-bos (TheBloke/FusionNet_34Bx2_MoE-AWQ) and llama2-sys-strip (vigogne-2-70b-chat)") {
  CHECK(fmt("llama2-sys-bos") ==
        "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s><s>[INST] Who are you "
        "[/INST]   I am an assistant   </s><s>[INST] Another question [/INST]");
  CHECK(fmt("llama2-sys-strip") ==
        "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s>[INST] Who are you "
        "[/INST]I am an assistant</s>[INST] Another question [/INST]");
  CHECK(fmt("llama2-sys") ==
        "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s>[INST] Who are you "
        "[/INST]   I am an assistant   </s>[INST] Another question [/INST]");
}

TEST_CASE("gemma (google/gemma-7b-it): system merged into the first user turn, content trimmed") {
  CHECK(fmt("gemma") ==
        "<start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n<start_of_turn>model\nHi "
        "there<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\nI am an "
        "assistant<end_of_turn>\n<start_of_turn>user\nAnother question<end_of_turn>\n<start_of_turn>model\n");
}

TEST_CASE("llama3 (Llama-3)") {
  CHECK(fmt("llama3") ==
        "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|><|start_header_id|>"
        "user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|><|start_header_id|>assistant"
        "<|end_header_id|>\n\nI am an assistant<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnother "
        "question<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST_CASE("phi3 (Phi-3-mini/small/medium/vision)") {
  CHECK(fmt("phi3") ==
        "<|system|>\nYou are a helpful assistant<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n"
        "<|user|>\nWho are you<|end|>\n<|assistant|>\n   I am an assistant   <|end|>\n<|user|>\nAnother "
        "question<|end|>\n<|assistant|>\n");
}

TEST_CASE("zephyr") {
  CHECK(fmt("zephyr") ==
        "<|system|>\nYou are a helpful assistant<|endoftext|>\n<|user|>\nHello<|endoftext|>\n<|assistant|>\nHi "
        "there<|endoftext|>\n<|user|>\nWho are you<|endoftext|>\n<|assistant|>\n   I am an assistant   "
        "<|endoftext|>\n<|user|>\nAnother question<|endoftext|>\n<|assistant|>\n");
}

TEST_CASE("one user turn with the generation prompt, and without it") {
  const std::vector<ChatMessage> one = {{"user", "Hi"}};
  CHECK(apply_chat_template("zephyr", one, true) == "<|user|>\nHi<|endoftext|>\n<|assistant|>\n");
  CHECK(apply_chat_template("zephyr", one, false) == "<|user|>\nHi<|endoftext|>\n");
  CHECK(apply_chat_template("llama2", one, true) == "[INST] Hi [/INST]");
  CHECK_THROWS_AS(apply_chat_template("no-such-template", one, true), Error);
}

TEST_CASE("detection follows llama.cpp's substring heuristics") {
  CHECK(detect_chat_template(kOpenHermes) == "chatml");
  CHECK(detect_chat_template(kMistralOld) == "llama2");
  CHECK(detect_chat_template(kGemma) == "gemma");
  CHECK(detect_chat_template(kLlama3) == "llama3");
  CHECK(detect_chat_template(kPhi3) == "phi3");
  CHECK(detect_chat_template("<|user|>{{ m }}<|endoftext|>") == "zephyr");
  CHECK(detect_chat_template(kTinyLlama) == "glmedge");  // <|assistant|> + <|user|> is checked first
  CHECK(detect_chat_template("zephyr") == "zephyr");  // a name is taken as is
  CHECK(detect_chat_template("{{ nothing known }}").empty());
}

TEST_CASE("resolve: auto reads tokenizer.chat_template; no template falls back to chatml") {
  Metadata none;
  none.source = "m.gguf";
  CHECK(resolve_chat_template("auto", none) == "chatml");
  CHECK(resolve_chat_template("auto", meta_with_template(kGemma)) == "gemma");
  CHECK(resolve_chat_template("auto", meta_with_template(kLlama3)) == "llama3");
  CHECK(resolve_chat_template("zephyr", meta_with_template(kGemma)) == "zephyr");
  CHECK(resolve_chat_template("none", none) == "none");
}

TEST_CASE("resolve: unknown templates are errors naming the option") {
  try {
    resolve_chat_template("auto", meta_with_template("{{ something custom }}"));
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("--chat-template NAME"));
    CHECK_THAT(e.what(), Catch::Contains("generate.chat_template"));
    CHECK_THAT(e.what(), Catch::Contains("model.gguf"));
  }
  // Every llama.cpp family is formatted now (chat_formats.cpp): TinyLlama's is glmedge.
  CHECK(resolve_chat_template("auto", meta_with_template(kTinyLlama)) == "glmedge");
  CHECK_THROWS_AS(resolve_chat_template("no-such-template", Metadata{}), Error);
}
