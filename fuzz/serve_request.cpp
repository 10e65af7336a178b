// The server's request parsing: the input is an HTTP request body as
// /v1/chat/completions and /v1/completions receive it. Everything a handler
// reads from a body before the engine sees it runs here: the JSON parse, the
// model/stream/stream_options fields, the sampling and stop fields, chat
// messages formatted with a built-in chat template and tokenized, a
// completion prompt (text or token ids checked against the vocabulary), and
// logprobs. Each must either work or throw ApiError / tessel::Error (which
// the server answers as 4xx); anything else would be a 500 or a crash.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "serve/api.hpp"
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

const tessel::Tokenizer& tokenizer() {
  static Vocab v;
  return *v.tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessel::serve;
  const tessel::Tokenizer& tok = tokenizer();
  const std::string body_text(reinterpret_cast<const char*>(data), size);
  // Both endpoints read the same body independently, as the server would.
  try {
    const json body = parse_body(body_text);
    (void)string_field(body, "model");
    (void)bool_field(body, "stream");
    if (auto it = body.find("stream_options"); it != body.end() && it->is_object())
      (void)bool_field(*it, "include_usage");
    (void)generation_fields(body, tessel::GenerateSpec{});
    const auto messages = chat_messages(body);
    (void)chat_logprobs(body);
    const auto& names = tessel::chat_template_names();
    const std::string text = tessel::apply_chat_template(names[size % names.size()], messages, true);
    (void)tok.encode(text, tessel::EncodeOptions{true, true});
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
