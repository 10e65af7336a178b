#include "serve/api.hpp"

#include <cmath>

#include "tessel/json_file.hpp"
#include "tessel/sampler.hpp"

namespace tessel::serve {
namespace {

ApiError bad(const std::string& field, const std::string& expected) {
  return ApiError(400, "'" + field + "' " + expected);
}

const json* present(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string range_text(double lo, double hi) {
  auto num = [](double v) {
    if (v == std::floor(v) && std::abs(v) < 1e15) return std::to_string(int64_t(v));
    std::string s = std::to_string(v);
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    return s;
  };
  return num(lo) + ".." + num(hi);
}

std::vector<int> bytes_of(const std::string& s) {
  std::vector<int> out;
  for (unsigned char c : s) out.push_back(int(c));
  return out;
}

}  // namespace

const char* error_type(int status) {
  switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 404: return "not_found_error";
    case 413: return "invalid_request_error";
    case 503: return "unavailable_error";
    default: return status >= 400 && status < 500 ? "invalid_request_error" : "server_error";
  }
}

json error_body(int status, const std::string& message) {
  return {{"error", {{"message", message}, {"type", error_type(status)}, {"code", status}}}};
}

std::string dump_json(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json parse_body(const std::string& body) {
  if (!json_nesting_within(body))
    throw ApiError(400, "the request body nests JSON deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) throw ApiError(400, "the request body is not valid JSON");
  if (!j.is_object()) throw ApiError(400, "the request body must be a JSON object");
  return j;
}

std::optional<double> number_field(const json& body, const char* name, double lo, double hi) {
  const json* v = present(body, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) throw bad(name, "must be a number");
  const double d = v->get<double>();
  if (!(d >= lo && d <= hi)) throw bad(name, "must be in " + range_text(lo, hi) + ", got " + v->dump());
  return d;
}

std::optional<int64_t> int_field(const json& body, const char* name, int64_t lo, int64_t hi) {
  const json* v = present(body, name);
  if (!v) return std::nullopt;
  int64_t i = 0;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX))
      throw bad(name, "must be in " + range_text(double(lo), double(hi)) + ", got " + v->dump());
    i = v->get<int64_t>();
  } else if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
             std::abs(v->get<double>()) < 9e15) {
    i = int64_t(v->get<double>());
  } else {
    throw bad(name, "must be an integer");
  }
  if (i < lo || i > hi) throw bad(name, "must be in " + range_text(double(lo), double(hi)) + ", got " + v->dump());
  return i;
}

std::optional<bool> bool_field(const json& body, const char* name) {
  const json* v = present(body, name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw bad(name, "must be true or false");
  return v->get<bool>();
}

std::optional<std::string> string_field(const json& body, const char* name) {
  const json* v = present(body, name);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw bad(name, "must be a string");
  return v->get<std::string>();
}

GenerateSpec generation_fields(const json& body, const GenerateSpec& defaults) {
  GenerateSpec g = defaults;
  g.max_tokens = -1;  // as OpenAI: until the model stops or the slot is full
  g.sampler.seed = kRandomSeed;
  g.stop.clear();
  constexpr int64_t kMaxTokens = 1 << 30;
  for (const char* name : {"max_tokens", "max_completion_tokens", "n_predict"})
    if (auto v = int_field(body, name, -1, kMaxTokens)) g.max_tokens = int(*v);
  auto& s = g.sampler;
  if (auto v = number_field(body, "temperature", 0, 100)) s.temperature = float(*v);
  if (auto v = number_field(body, "top_p", 0, 1)) s.top_p = float(*v);
  if (auto v = int_field(body, "top_k", 0, 1 << 30)) s.top_k = int(*v);
  if (auto v = number_field(body, "min_p", 0, 1)) s.min_p = float(*v);
  if (auto v = number_field(body, "typical_p", 0, 1)) s.typical_p = float(*v);
  if (auto v = number_field(body, "presence_penalty", -2, 2)) s.presence_penalty = float(*v);
  if (auto v = number_field(body, "frequency_penalty", -2, 2)) s.frequency_penalty = float(*v);
  if (auto v = number_field(body, "repeat_penalty", 0, 100)) s.repeat_penalty = float(*v);
  if (auto v = int_field(body, "repeat_last_n", -1, 1 << 30)) s.repeat_last_n = int(*v);
  if (auto v = int_field(body, "seed", -1, INT64_MAX)) s.seed = *v < 0 ? kRandomSeed : uint64_t(*v);
  if (auto v = bool_field(body, "ignore_eos")) g.ignore_eos = *v;
  if (auto n = int_field(body, "n", 1, 1 << 30); n && *n != 1)
    throw bad("n", "must be 1 (this server returns one choice per request), got " + std::to_string(*n));
  if (const json* stop = present(body, "stop")) {
    if (stop->is_string()) {
      g.stop.push_back(stop->get<std::string>());
    } else if (stop->is_array()) {
      for (const auto& e : *stop) {
        if (!e.is_string()) throw bad("stop", "must be a string or a list of strings");
        g.stop.push_back(e.get<std::string>());
      }
    } else {
      throw bad("stop", "must be a string or a list of strings");
    }
  }
  return g;
}

std::vector<TokenId> completion_prompt(const json& body, const Tokenizer& tok) {
  const json* p = present(body, "prompt");
  if (!p) throw bad("prompt", "is required (text or a list of token ids)");
  const json* one = p;
  if (p->is_array() && !p->empty() && (p->front().is_string() || p->front().is_array())) {
    if (p->size() != 1) throw bad("prompt", "must be one prompt (this server returns one choice per request)");
    one = &p->front();
  }
  std::vector<TokenId> ids;
  if (one->is_string()) {
    ids = tok.encode(one->get<std::string>(), EncodeOptions{true, true});
  } else if (one->is_array()) {
    for (const auto& e : *one) {
      if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() >= int64_t(tok.vocab_size()))
        throw bad("prompt", "token ids must be integers in 0.." + std::to_string(tok.vocab_size() - 1) +
                                ", got " + e.dump());
      ids.push_back(TokenId(e.get<int64_t>()));
    }
  } else {
    throw bad("prompt", "must be a string, a list of token ids, or a list holding one of them");
  }
  if (ids.empty()) throw bad("prompt", "is empty after tokenization");
  return ids;
}

int chat_logprobs(const json& body) {
  const bool want = bool_field(body, "logprobs").value_or(false);
  const auto top = int_field(body, "top_logprobs", 0, 20);
  if (top && !want) throw bad("top_logprobs", "needs 'logprobs': true");
  return want ? int(top.value_or(0)) : -1;
}

int completion_logprobs(const json& body) {
  const auto n = int_field(body, "logprobs", 0, 20);
  return n ? int(*n) : -1;
}

std::string finish_reason(Finish f) { return f == Finish::Length ? "length" : "stop"; }

json usage_json(size_t n_prompt, size_t n_generated) {
  return {{"prompt_tokens", n_prompt}, {"completion_tokens", n_generated},
          {"total_tokens", n_prompt + n_generated}};
}

json chat_logprobs_json(const std::vector<Piece>& pieces, const Tokenizer& tok) {
  json content = json::array();
  for (const auto& p : pieces) {
    if (p.id < 0) continue;
    const std::string t = tok.piece(p.id);
    json top = json::array();
    for (const auto& a : p.top) {
      const std::string at = tok.piece(a.id);
      top.push_back({{"token", at}, {"logprob", a.logprob}, {"bytes", bytes_of(at)}});
    }
    content.push_back({{"token", t}, {"logprob", p.logprob}, {"bytes", bytes_of(t)}, {"top_logprobs", top}});
  }
  return {{"content", content}};
}

json completion_logprobs_json(const std::vector<Piece>& pieces, const Tokenizer& tok) {
  json tokens = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  size_t offset = 0;
  for (const auto& p : pieces) {
    if (p.id < 0) continue;
    const std::string t = tok.piece(p.id);
    tokens.push_back(t);
    lps.push_back(p.logprob);
    json top = json::object();
    for (const auto& a : p.top) top[tok.piece(a.id)] = a.logprob;
    tops.push_back(top);
    offsets.push_back(offset);
    offset += t.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

json chat_response(const ResponseMeta& m, const Collected& c, const json* logprobs) {
  json choice = {{"index", 0},
                 {"message", {{"role", "assistant"}, {"content", c.text}}},
                 {"logprobs", logprobs ? *logprobs : json(nullptr)},
                 {"finish_reason", finish_reason(c.finish)}};
  return {{"id", m.id}, {"object", "chat.completion"}, {"created", m.created}, {"model", m.model},
          {"choices", json::array({choice})}, {"usage", usage_json(c.n_prompt, c.n_generated)}};
}

json chat_chunk(const ResponseMeta& m, const json& delta, const json& finish_reason, const json* logprobs) {
  json choice = {{"index", 0}, {"delta", delta}, {"logprobs", logprobs ? *logprobs : json(nullptr)},
                 {"finish_reason", finish_reason}};
  return {{"id", m.id}, {"object", "chat.completion.chunk"}, {"created", m.created}, {"model", m.model},
          {"choices", json::array({choice})}};
}

json completion_response(const ResponseMeta& m, const Collected& c, const json* logprobs) {
  json choice = {{"index", 0}, {"text", c.text}, {"logprobs", logprobs ? *logprobs : json(nullptr)},
                 {"finish_reason", finish_reason(c.finish)}};
  return {{"id", m.id}, {"object", "text_completion"}, {"created", m.created}, {"model", m.model},
          {"choices", json::array({choice})}, {"usage", usage_json(c.n_prompt, c.n_generated)}};
}

json completion_chunk(const ResponseMeta& m, const std::string& text, const json& finish_reason,
                      const json* logprobs) {
  json choice = {{"index", 0}, {"text", text}, {"logprobs", logprobs ? *logprobs : json(nullptr)},
                 {"finish_reason", finish_reason}};
  return {{"id", m.id}, {"object", "text_completion"}, {"created", m.created}, {"model", m.model},
          {"choices", json::array({choice})}};
}

}  // namespace tessel::serve
