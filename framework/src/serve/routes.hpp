#pragma once
// The endpoints of `tessel serve` and the state they share. Handlers throw
// ApiError (or tessel::Error -> 400, QueueFull -> 503); the wrapper in
// server.cpp turns that into OpenAI's error shape, so no request can take the
// server down.
#include <httplib.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "serve/api.hpp"
#include "serve/engine.hpp"
#include "tessel/chat.hpp"
#include "tessel/embedding.hpp"
#include "tessel/input.hpp"
#include "tessel/registry.hpp"

namespace tessel::serve {

// Everything is read-only after loading except the engine (its own lock), the
// embedder (embed_mutex), the image adapters (media_mutex) and the metrics
// (metrics_mutex); no request leaves anything behind for the next one.
struct ServerState {
  PipelineSpec spec;
  std::atomic<bool> ready{false}, draining{false};
  std::shared_ptr<Registry> reg;  // first: outlives every plugin object below
  std::shared_ptr<ModelFile> file;
  std::shared_ptr<Tokenizer> tok;
  std::shared_ptr<CodecSet> codecs;
  std::shared_ptr<Model> model;
  std::unique_ptr<Context> ctx;
  std::unique_ptr<Engine> engine;              // generation models
  std::unique_ptr<embed::Embedder> embedder;   // embedding models
  std::mutex embed_mutex;
  ChatFormat chat_format;  // the model's Jinja template, --chat-template-file, or a built-in one
  std::mutex media_mutex;  // image requests: the adapters below, one projector run at a time
  std::map<std::string, std::shared_ptr<InputAdapter>> adapters;
  std::string model_id;
  int64_t created = 0;  // load time, for /v1/models

  std::mutex metrics_mutex;
  std::map<std::pair<std::string, int>, uint64_t> requests;  // (path, status) -> count
  double request_seconds = 0;
  uint64_t requests_timed = 0;
  std::atomic<uint64_t> next_id{0};
};

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
// Wraps a handler with auth, readiness (needs_model) and error handling.
using Wrap = std::function<Handler(bool needs_model, Handler)>;

void add_routes(httplib::Server& svr, ServerState& st, const Wrap& wrap);

}  // namespace tessel::serve
