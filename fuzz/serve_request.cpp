// The server's request parsing: the input is an HTTP request body as
// /v1/chat/completions and /v1/completions receive it. Everything a handler
// reads from a body before the engine sees it runs here: the JSON parse, the
// model/stream/stream_options fields, the sampling and stop fields, chat
// messages (text and image data-URL parts) rendered through a built-in chat
// template or the Jinja chatml llama.cpp falls back to, and tokenized, a
// completion prompt (text or token ids checked against the vocabulary), and
// logprobs. Each must either work or throw ApiError / tessel::Error (which
// the server answers as 4xx); anything else would be a 500 or a crash.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "serve/api.hpp"
#include "serve/chat_request.hpp"
#include "tessel/chat.hpp"
#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"

namespace {

// stories260K's vocabulary (SentencePiece, 512 tokens): small and fast.
struct Vocab {
  std::shared_ptr<tessel::Registry> reg = tessel::make_registry();
  std::shared_ptr<tessel::ModelFile> file =
      tessel::open_model_file(*reg, std::string(TESSEL_FUZZ_SHARED) + "/models/stories260K.gguf");
  std::shared_ptr<tessel::Tokenizer> tok = tessel::make_tokenizer(*reg, file);
};

Vocab& vocab() {
  static Vocab v;
  return v;
}

// Every built-in format, and the model's own (Jinja chatml: stories260K has no template).
const std::vector<tessel::ChatFormat>& formats() {
  static const std::vector<tessel::ChatFormat> all = [] {
    std::vector<tessel::ChatFormat> v;
    for (const auto& name : tessel::chat_template_names()) {
      tessel::ChatFormat f;
      f.name = name;
      v.push_back(f);
    }
    v.push_back(tessel::resolve_chat_format("auto", "", vocab().file->meta, vocab().tok.get()));
    return v;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessel::serve;
  const tessel::Tokenizer& tok = *vocab().tok;
  const std::string body_text(reinterpret_cast<const char*>(data), size);
  // Both endpoints read the same body independently, as the server would.
  try {
    const json body = parse_body(body_text);
    (void)string_field(body, "model");
    (void)bool_field(body, "stream");
    if (auto it = body.find("stream_options"); it != body.end() && it->is_object())
      (void)bool_field(*it, "include_usage");
    (void)generation_fields(body, tessel::GenerateSpec{});
    (void)chat_logprobs(body);
    const auto& all = formats();
    const ChatPrompt prompt = chat_prompt(body, all[size % all.size()], true);
    (void)tok.encode(prompt.text, tessel::EncodeOptions{true, true});
  } catch (const ApiError&) {
  } catch (const tessel::Error&) {
  }
  try {
    const json body = parse_body(body_text);
    (void)completion_logprobs(body);
    (void)completion_prompt(body, tok);
  } catch (const ApiError&) {
  } catch (const tessel::Error&) {
  }
  return 0;
}
