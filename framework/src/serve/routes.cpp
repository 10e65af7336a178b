// Endpoints: /v1/chat/completions, /v1/completions (plain and streamed as
// server-sent events), /v1/embeddings, /v1/models, /tokenize, /detokenize,
// /apply-template.
#include "serve/routes.hpp"

#include <ctime>

#include "generate/generate.hpp"
#include "serve/chat_request.hpp"
#include "serve/client_watch.hpp"
#include "serve/media.hpp"
#include "tessel/chat.hpp"
#include "tessel/error.hpp"
#include "tessel/prompt.hpp"

namespace tessel::serve {
namespace {

using namespace std::chrono_literals;

void send_json(httplib::Response& res, const json& j) { res.set_content(dump_json(j), "application/json"); }

// A `model` other than the loaded one is a 404, as OpenAI answers it.
void check_model(const json& body, const ServerState& st) {
  const auto m = string_field(body, "model");
  if (!m || m->empty()) return;
  const auto& path = st.spec.model.path;
  if (*m == st.model_id || *m == path.string() || *m == path.filename().string() || *m == path.stem().string())
    return;
  throw ApiError(404, "model '" + *m + "' not found (this server has '" + st.model_id + "')");
}

Engine& engine_of(ServerState& st) {
  if (!st.engine)
    throw ApiError(400, "the loaded model '" + st.model_id + "' is an embedding model without an LM head; "
                        "it serves /v1/embeddings only");
  return *st.engine;
}

std::string new_id(ServerState& st, const char* prefix) {
  return std::string(prefix) + std::to_string(std::time(nullptr)) + "-" + std::to_string(++st.next_id);
}

// Waits for the whole answer. A client that hangs up meanwhile cancels the
// job (its slot is freed at the engine's next step), as a closed stream does.
Collected collect(Job& job, const ClientWatch& client) {
  Collected c;
  for (;;) {
    std::vector<Piece> pieces;
    const bool done = job.wait(pieces, 100ms);
    if (!done && client.gone()) job.cancelled = true;
    for (auto& p : pieces) {
      c.text += p.text;
      if (p.id >= 0) c.pieces.push_back(std::move(p));
    }
    if (done) break;
  }
  std::lock_guard lk(job.m);
  c.finish = job.finish;
  c.n_prompt = job.n_prompt;
  c.n_generated = job.n_generated;
  if (c.finish == Finish::Error) throw ApiError(500, "generation failed: " + job.error);
  return c;
}

struct StreamState {
  std::shared_ptr<Job> job;
  std::shared_ptr<Tokenizer> tok;
  ResponseMeta meta;
  bool chat = false, include_usage = false;
  int logprobs = -1;
};

// Writes the job's pieces as server-sent events until it ends, then
// `data: [DONE]`. A failed write means the client has gone: the job is
// cancelled and its slot freed at the engine's next step.
bool stream_events(const StreamState& s, httplib::DataSink& sink) {
  auto send = [&](const json& j) {
    const std::string ev = "data: " + dump_json(j) + "\n\n";
    return sink.write(ev.data(), ev.size());
  };
  auto gone = [&] {
    s.job->cancelled = true;
    return false;
  };
  if (s.chat && !send(chat_chunk(s.meta, {{"role", "assistant"}, {"content", ""}}, nullptr))) return gone();
  for (;;) {
    std::vector<Piece> pieces;
    const bool done = s.job->wait(pieces, 100ms);
    for (const auto& p : pieces) {
      const bool with_lp = s.logprobs >= 0 && p.id >= 0;
      if (p.text.empty() && !with_lp) continue;
      json lp;
      if (with_lp) lp = s.chat ? chat_logprobs_json({p}, *s.tok) : completion_logprobs_json({p}, *s.tok);
      const bool ok = s.chat ? send(chat_chunk(s.meta, {{"content", p.text}}, nullptr, with_lp ? &lp : nullptr))
                             : send(completion_chunk(s.meta, p.text, nullptr, with_lp ? &lp : nullptr));
      if (!ok) return gone();
    }
    if (!done) continue;
    Finish f;
    std::string error;
    size_t n_prompt, n_gen;
    {
      std::lock_guard lk(s.job->m);
      f = s.job->finish;
      error = s.job->error;
      n_prompt = s.job->n_prompt;
      n_gen = s.job->n_generated;
    }
    bool ok = true;
    if (f == Finish::Error) ok = send(error_body(500, "generation failed: " + error));
    else if (s.chat) ok = send(chat_chunk(s.meta, json::object(), finish_reason(f)));
    else ok = send(completion_chunk(s.meta, "", finish_reason(f)));
    if (ok && s.include_usage && f != Finish::Error) {
      json u = s.chat ? chat_chunk(s.meta, json::object(), nullptr) : completion_chunk(s.meta, "", nullptr);
      u["choices"] = json::array();
      u["usage"] = usage_json(n_prompt, n_gen);
      ok = send(u);
    }
    static const std::string kDone = "data: [DONE]\n\n";
    if (!ok || !sink.write(kDone.data(), kDone.size())) return gone();
    sink.done();
    return true;
  }
}

void generate(ServerState& st, const json& body, std::vector<BatchChunk> prompt, int logprobs, bool chat,
              const httplib::Request& req, httplib::Response& res) {
  Engine& engine = engine_of(st);
  const size_t n_prompt = prompt_rows(prompt);
  if (n_prompt > size_t(engine.slot_context()))
    throw ApiError(400, "the prompt has " + std::to_string(n_prompt) + " tokens but a slot's context holds " +
                            std::to_string(engine.slot_context()) + " (raise -c or lower -np)");
  auto job = std::make_shared<Job>();
  job->chunks = std::move(prompt);
  job->gen = generation_fields(body, st.spec.generate);
  job->top_logprobs = logprobs;
  const bool stream = bool_field(body, "stream").value_or(false);
  bool include_usage = false;
  if (auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) throw ApiError(400, "'stream_options' must be an object");
    include_usage = bool_field(*it, "include_usage").value_or(false);
  }
  ResponseMeta meta{new_id(st, chat ? "chatcmpl-" : "cmpl-"), st.model_id, int64_t(std::time(nullptr))};
  engine.submit(job);
  if (!stream) {
    const ClientWatch client(req);
    const Collected c = collect(*job, client);
    json lp;
    if (logprobs >= 0) lp = chat ? chat_logprobs_json(c.pieces, *st.tok) : completion_logprobs_json(c.pieces, *st.tok);
    send_json(res, chat ? chat_response(meta, c, logprobs >= 0 ? &lp : nullptr)
                        : completion_response(meta, c, logprobs >= 0 ? &lp : nullptr));
    return;
  }
  auto s = std::make_shared<StreamState>();
  s->job = job;
  s->tok = st.tok;
  s->meta = meta;
  s->chat = chat;
  s->include_usage = include_usage;
  s->logprobs = logprobs;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // nginx: pass events through as they come
  res.set_chunked_content_provider(
      "text/event-stream", [s](size_t, httplib::DataSink& sink) { return stream_events(*s, sink); },
      [job](bool success) {
        if (!success) job->cancelled = true;
      });
}

ChatPrompt render_chat(const ServerState& st, const json& body) {
  return chat_prompt(body, st.chat_format, !st.spec.model.mmproj.empty());
}

// The chat prompt as the engine takes it: tokens (BOS and special tokens, as
// llama-server tokenizes it), or, with images, text and image rows exactly as
// `tessel generate --chat --image` assembles them (each text part tokenized on
// its own, the image through the projector).
std::vector<BatchChunk> chat_chunks(ServerState& st, const ChatPrompt& cp) {
  if (cp.images.empty()) return generate::token_prompt(st.tok->encode(cp.text, EncodeOptions{true, true}));
  std::vector<std::unique_ptr<TempFile>> files;
  std::vector<std::filesystem::path> paths;
  for (const auto& bytes : cp.images) {
    files.push_back(std::make_unique<TempFile>(bytes));
    paths.push_back(files.back()->path());
  }
  AdapterContext actx;
  actx.model_file = st.file.get();
  actx.model = st.model.get();
  actx.tokenizer = st.tok.get();
  actx.add_special = true;
  actx.parse_special = true;
  actx.threads = st.spec.runtime.threads;
  std::lock_guard lk(st.media_mutex);  // one projector run at a time; the adapters are reused
  try {
    return assemble_prompt(*st.reg, split_media_prompt(cp.text, paths, st.spec.model.mmproj), actx, &st.adapters);
  } catch (const Error& e) {
    throw ApiError(400, std::string("image content: ") + e.what());
  }
}

void chat_completions(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_body(req.body);
  check_model(body, st);
  engine_of(st);
  const int logprobs = chat_logprobs(body);
  const ChatPrompt cp = render_chat(st, body);
  generate(st, body, chat_chunks(st, cp), logprobs, true, req, res);
}

void completions(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_body(req.body);
  check_model(body, st);
  engine_of(st);
  const int logprobs = completion_logprobs(body);
  generate(st, body, generate::token_prompt(completion_prompt(body, *st.tok)), logprobs, false, req, res);
}

void embeddings(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_body(req.body);
  check_model(body, st);
  if (!st.embedder)
    throw ApiError(400, "the loaded model '" + st.model_id + "' generates text; /v1/embeddings needs an embedding "
                        "model (bert, gemma-embedding...)");
  auto it = body.find("input");
  if (it == body.end() || it->is_null()) throw ApiError(400, "'input' is required (a string, a list of strings or token lists)");
  const json& in = *it;
  std::vector<embed::Input> inputs;
  auto add_text = [&](const json& t) { inputs.push_back({st.tok->encode(t.get<std::string>(), EncodeOptions{true, true}), {}}); };
  auto add_ids = [&](const json& ids) {
    embed::Input x;
    for (const auto& e : ids) {
      if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() >= int64_t(st.tok->vocab_size()))
        throw ApiError(400, "'input' token ids must be integers in 0.." + std::to_string(st.tok->vocab_size() - 1));
      x.tokens.push_back(TokenId(e.get<int64_t>()));
    }
    inputs.push_back(std::move(x));
  };
  if (in.is_string()) add_text(in);
  else if (in.is_array() && !in.empty() && in.front().is_number()) add_ids(in);
  else if (in.is_array() && !in.empty()) {
    for (const auto& e : in) {
      if (e.is_string()) add_text(e);
      else if (e.is_array()) add_ids(e);
      else throw ApiError(400, "'input' must be a string, a list of strings or a list of token lists");
    }
  } else {
    throw ApiError(400, "'input' must be a non-empty string, list of strings or list of token lists");
  }
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].tokens.empty()) throw ApiError(400, "'input' item " + std::to_string(i) + " is empty after tokenization");
  const std::string format = string_field(body, "encoding_format").value_or("float");
  if (format != "float" && format != "base64")
    throw ApiError(400, "'encoding_format' must be float or base64, got '" + format + "'");
  const int64_t width = st.embedder->width();
  const int64_t dims = int_field(body, "dimensions", 1, width).value_or(width);

  std::vector<embed::Result> results;
  {
    std::lock_guard lk(st.embed_mutex);
    results = st.embedder->embed(inputs);
  }
  json data = json::array();
  size_t n_tokens = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    n_tokens += inputs[i].tokens.size();
    const auto& r = results[i];
    std::vector<float> v(r.data.begin(), r.data.begin() + std::min<int64_t>(dims, r.cols));
    if (dims < r.cols) embed::normalize(v.data(), v.data(), dims, 2);  // Matryoshka: truncate, then unit length
    json e = {{"object", "embedding"}, {"index", i}};
    if (format == "base64") e["embedding"] = base64_encode(v.data(), v.size() * sizeof(float));
    else e["embedding"] = v;
    data.push_back(e);
  }
  send_json(res, {{"object", "list"}, {"data", data}, {"model", st.model_id},
                  {"usage", {{"prompt_tokens", n_tokens}, {"total_tokens", n_tokens}}}});
}

void models(ServerState& st, httplib::Response& res) {
  const HParams& hp = st.model->hparams();
  json meta = {{"n_vocab", hp.n_vocab}, {"n_embd", hp.n_embd}, {"n_ctx_train", hp.n_ctx_train}, {"arch", hp.arch}};
  send_json(res, {{"object", "list"},
                  {"data", json::array({{{"id", st.model_id}, {"object", "model"}, {"created", st.created},
                                         {"owned_by", "tessel"}, {"meta", meta}}})}});
}

void tokenize(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_body(req.body);
  const auto content = string_field(body, "content");
  if (!content) throw ApiError(400, "'content' is required (a string)");
  EncodeOptions opts{bool_field(body, "add_special").value_or(false), bool_field(body, "parse_special").value_or(true)};
  const bool with_pieces = bool_field(body, "with_pieces").value_or(false);
  json tokens = json::array();
  for (TokenId id : st.tok->encode(*content, opts)) {
    if (with_pieces) tokens.push_back({{"id", id}, {"piece", st.tok->piece(id)}});
    else tokens.push_back(id);
  }
  send_json(res, {{"tokens", tokens}});
}

void detokenize(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_body(req.body);
  auto it = body.find("tokens");
  if (it == body.end() || !it->is_array()) throw ApiError(400, "'tokens' is required (a list of token ids)");
  std::vector<TokenId> ids;
  for (const auto& e : *it) {
    if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() >= int64_t(st.tok->vocab_size()))
      throw ApiError(400, "'tokens' must hold integers in 0.." + std::to_string(st.tok->vocab_size() - 1) +
                              ", got " + e.dump());
    ids.push_back(TokenId(e.get<int64_t>()));
  }
  send_json(res, {{"content", st.tok->decode(ids)}});
}

void apply_template(ServerState& st, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_body(req.body);
  engine_of(st);
  send_json(res, {{"prompt", render_chat(st, body).text}});
}

}  // namespace

void add_routes(httplib::Server& svr, ServerState& st, const Wrap& wrap) {
  auto post = [&](const char* path, void (*fn)(ServerState&, const httplib::Request&, httplib::Response&)) {
    svr.Post(path, wrap(true, [&st, fn](const httplib::Request& req, httplib::Response& res) { fn(st, req, res); }));
  };
  for (const char* p : {"/v1/chat/completions", "/chat/completions"}) post(p, chat_completions);
  for (const char* p : {"/v1/completions", "/completions"}) post(p, completions);
  for (const char* p : {"/v1/embeddings", "/embeddings"}) post(p, embeddings);
  post("/tokenize", tokenize);
  post("/detokenize", detokenize);
  post("/apply-template", apply_template);
  for (const char* p : {"/v1/models", "/models"})
    svr.Get(p, wrap(true, [&st](const httplib::Request&, httplib::Response& res) { models(st, res); }));
}

}  // namespace tessel::serve
