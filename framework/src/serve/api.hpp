#pragma once
// The OpenAI-compatible request/response shapes: reading request fields (a
// wrong type is a 400 naming the field; unknown fields are ignored, as OpenAI
// does) and building the JSON of completions, chat completions and their
// streamed chunks.
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "serve/engine.hpp"
#include "tessel/config.hpp"
#include "tessel/tokenizer.hpp"

namespace tessel::serve {

// Ordered, as llama-server's: the key order of a request survives into what
// a chat template prints (tools' parameters through tojson), and responses
// list their keys in the order they are built.
using json = nlohmann::ordered_json;

// An error answered with OpenAI's {"error": {"message", "type", "code"}}.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
  int status;
};

// "invalid_request_error", "authentication_error", ... for an HTTP status.
const char* error_type(int status);
json error_body(int status, const std::string& message);
// Compact JSON text; bytes that are not UTF-8 (a token may end mid-character)
// become U+FFFD instead of throwing.
std::string dump_json(const json& j);

// Parses a request body; malformed JSON or a non-object is a 400.
json parse_body(const std::string& body);

// Field readers: absent or null gives nullopt; a wrong type or a value out of
// range throws ApiError 400 naming the field and what was expected.
std::optional<double> number_field(const json& body, const char* name, double lo, double hi);
std::optional<int64_t> int_field(const json& body, const char* name, int64_t lo, int64_t hi);
std::optional<bool> bool_field(const json& body, const char* name);
std::optional<std::string> string_field(const json& body, const char* name);

// Sampling and stopping fields shared by /v1/completions and /v1/chat/completions,
// on top of the server's defaults. The seed defaults to a random one.
GenerateSpec generation_fields(const json& body, const GenerateSpec& defaults);

// `prompt` of a completion request: text (tokenized with BOS and special
// tokens, as llama-server does) or token ids (checked against the vocabulary).
std::vector<TokenId> completion_prompt(const json& body, const Tokenizer& tok);

// The logprobs the request asks for: -1 none, else the number of alternatives.
int chat_logprobs(const json& body);
int completion_logprobs(const json& body);

// Results collected from the engine for one request.
struct Collected {
  std::string text;
  std::vector<Piece> pieces;  // with a token (id >= 0), for logprobs
  Finish finish = Finish::None;
  size_t n_prompt = 0, n_generated = 0;
};

struct ResponseMeta {
  std::string id;      // "chatcmpl-..." / "cmpl-..."
  std::string model;
  int64_t created = 0;
};

// OpenAI's finish_reason: "stop" or "length".
std::string finish_reason(Finish f);
json usage_json(size_t n_prompt, size_t n_generated);
// Chat logprobs {"content": [{token, logprob, bytes, top_logprobs}]}.
json chat_logprobs_json(const std::vector<Piece>& pieces, const Tokenizer& tok);
// Completion logprobs {tokens, token_logprobs, top_logprobs, text_offset}.
json completion_logprobs_json(const std::vector<Piece>& pieces, const Tokenizer& tok);

json chat_response(const ResponseMeta& m, const Collected& c, const json* logprobs);
json chat_chunk(const ResponseMeta& m, const json& delta, const json& finish_reason,
                const json* logprobs = nullptr);
json completion_response(const ResponseMeta& m, const Collected& c, const json* logprobs);
json completion_chunk(const ResponseMeta& m, const std::string& text, const json& finish_reason,
                      const json* logprobs = nullptr);

}  // namespace tessel::serve
