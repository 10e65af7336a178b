#pragma once
// The chat side of a request: OpenAI `messages` (string content, text parts,
// image_url parts) -> the prompt text, through the same chat format `tessel
// template` and `tessel chat` use — by default the model's own Jinja
// tokenizer.chat_template, rendered as llama-server's /apply-template renders
// it (oaicompat_chat_params_parse + common_chat_templates_apply): its
// add_generation_prompt, chat_template_kwargs and reasoning_effort fields,
// and a trailing assistant message continued rather than closed.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessel/chat.hpp"

namespace tessel::serve {

struct ChatPrompt {
  std::string text;                 // the rendered prompt; each image stands in it as kMediaMarker
  std::vector<std::string> images;  // image file bytes (decoded data URLs), in marker order
};

// Throws ApiError 400 naming the field (messages[1].content[0].image_url...),
// or the template's own error. Image parts need `images_allowed` (a
// projector is loaded); they are refused with a 400 otherwise.
ChatPrompt chat_prompt(const nlohmann::ordered_json& body, const ChatFormat& format, bool images_allowed);

}  // namespace tessel::serve
