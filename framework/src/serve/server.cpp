// The HTTP side of `tessel serve`: routing, auth, errors, logging, health,
// metrics, shutdown. Endpoint handlers are in routes.cpp.
#include "serve/server.hpp"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "serve/routes.hpp"
#include "tessel/chat.hpp"
#include "tessel/error.hpp"
#include "tessel/pipeline.hpp"

namespace tessel::serve {
namespace {

// Request timing for the log line, per worker thread (httplib serves a
// connection's requests on one thread, one after another). The pre-routing
// handler marks when a request's handling starts; but httplib answers some
// requests itself before routing (a malformed request line or headers: 400,
// a URI over its limit: 414), and those only reach the logger. Their time is
// counted from when the thread began waiting for them: the connection's start
// or the previous answer on it (the old code reused the previous request's
// start, or the clock's epoch on a fresh thread -- hours).
thread_local Clock::time_point request_start;
thread_local Clock::time_point waiting_since;
thread_local bool request_routed = false;

// httplib's thread pool, with each connection's start noted on its thread.
class TimedTaskQueue : public httplib::TaskQueue {
 public:
  explicit TimedTaskQueue(size_t n) : pool_(n) {}
  void enqueue(std::function<void()> fn) override {
    pool_.enqueue([fn = std::move(fn)] {
      waiting_since = Clock::now();
      request_routed = false;
      fn();
    });
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
};

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(dump_json(error_body(status, message)), "application/json");
}

// /metrics counts requests by endpoint; any other path (a scanner, a typo)
// counts as "other": a client could otherwise add series without bound, or
// put a quote or a newline into a label and break the exposition format.
std::string metrics_path(const std::string& path) {
  static const std::set<std::string> known = {
      "/health", "/metrics", "/v1/models", "/models", "/v1/chat/completions", "/chat/completions",
      "/v1/completions", "/completions", "/v1/embeddings", "/embeddings", "/tokenize", "/detokenize",
      "/apply-template"};
  return known.count(path) ? path : "other";
}

// One line of Prometheus text exposition per sample.
void metric(std::ostringstream& o, const char* name, const char* type, const char* help, double value) {
  o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n" << name << " " << value << "\n";
}

std::string metrics_text(ServerState& st) {
  std::ostringstream o;
  EngineStats e;
  if (st.engine) e = st.engine->stats();
  {
    std::lock_guard lk(st.metrics_mutex);
    o << "# HELP tessel_requests_total HTTP requests answered, by path and status\n"
         "# TYPE tessel_requests_total counter\n";
    for (const auto& [key, n] : st.requests)
      o << "tessel_requests_total{path=\"" << key.first << "\",status=\"" << key.second << "\"} " << n << "\n";
    metric(o, "tessel_request_duration_seconds_sum", "counter", "Seconds spent answering requests",
           st.request_seconds);
    metric(o, "tessel_request_duration_seconds_count", "counter", "Requests timed", double(st.requests_timed));
  }
  metric(o, "tessel_prompt_tokens_total", "counter", "Prompt tokens decoded", double(e.prompt_tokens));
  metric(o, "tessel_generated_tokens_total", "counter", "Tokens generated", double(e.generated_tokens));
  metric(o, "tessel_generations_total", "counter", "Generation requests finished", double(e.jobs_done));
  metric(o, "tessel_forward_passes_total", "counter", "Batched forward passes", double(e.forward_passes));
  metric(o, "tessel_queue_depth", "gauge", "Requests waiting for a slot", double(e.queued));
  metric(o, "tessel_slots_busy", "gauge", "Slots generating", double(e.busy));
  metric(o, "tessel_slots_total", "gauge", "Slots", double(e.slots));
  metric(o, "tessel_time_to_first_token_seconds_sum", "counter", "Seconds from submit to first token",
         e.ttft_seconds_sum);
  metric(o, "tessel_time_to_first_token_seconds_count", "counter", "Generations timed", double(e.jobs_done));
  metric(o, "tessel_ready", "gauge", "1 once the model is loaded", st.ready ? 1 : 0);
  return o.str();
}

// --chat-template-file (serve.chat_template_file, or generate.chat_template_file
// in a config), else generate.chat_template: auto renders the model's own
// template through the Jinja engine, as llama-server does.
ChatFormat chat_format_for(const PipelineSpec& spec, const Metadata& meta, const Tokenizer& tok) {
  const std::string file = !spec.serve.chat_template_file.empty() ? spec.serve.chat_template_file.string()
                                                                  : spec.generate.chat_template_file;
  return resolve_chat_format(spec.generate.chat_template, file, meta, &tok);
}

// The projector is loaded by the image adapter at the first image; here only
// what can be checked cheaply, so a wrong file stops the server at start.
void check_mmproj(ServerState& st) {
  const auto& path = st.spec.model.mmproj;
  if (path.empty()) return;
  auto file = open_model_file(*st.reg, path);
  const std::string arch = file->meta.get_string("general.architecture", "");
  if (arch != "clip")
    throw Error(path.string() + ": general.architecture is '" + arch +
                "', expected 'clip' (--mmproj takes a multimodal projector file)");
}

void load(ServerState& st) {
  const PipelineSpec& spec = st.spec;
  st.reg = make_registry(spec.plugin_paths);
  st.file = open_model_file(*st.reg, spec.model.path, spec.model.format);
  st.tok = make_tokenizer(*st.reg, st.file, spec.tokenizer);
  st.codecs = load_codecs(*st.reg);
  RuntimeOptions rt = spec.runtime;
  rt.n_seq = spec.serve.slots;
  st.model = load_model(*st.reg, st.file, st.codecs, rt, spec.architecture);
  const HParams& hp = st.model->hparams();
  if (hp.has_logits) {
    st.chat_format = chat_format_for(spec, st.file->meta, *st.tok);
    check_mmproj(st);
    st.ctx = st.model->new_context(rt);
    EngineOptions eo;
    eo.n_slots = spec.serve.slots;
    eo.n_batch = spec.runtime.n_batch;
    eo.max_queue = size_t(spec.serve.max_queue);
    st.engine = std::make_unique<Engine>(*st.model, *st.ctx, *st.tok, eo);
  } else {
    embed::Options eo;
    eo.pooling = embed::resolve_pooling(spec.embed.pooling, hp);
    eo.normalize = 2;  // OpenAI's embeddings are unit vectors
    eo.n_batch = spec.runtime.n_batch;
    st.embedder = std::make_unique<embed::Embedder>(*st.model, spec.runtime, eo);
  }
}

// SIGTERM/SIGINT arrive here (blocked in every other thread).
void wait_for_signal(const std::atomic<bool>& done, httplib::Server& svr, ServerState& st) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  const timespec tick{0, 200 * 1000 * 1000};
  while (!done) {
    const int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) {
      std::cerr << "serve: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
                << ": finishing in-flight requests, then exiting\n";
      st.draining = true;
      svr.stop();
      return;
    }
  }
}

}  // namespace

int run_server(const PipelineSpec& spec) {
  if (spec.serve.slots < 1) throw Error("serve: -np must be at least 1, got " + std::to_string(spec.serve.slots));
  if (spec.serve.port < 0 || spec.serve.port > 65535)
    throw Error("serve: --port must be 0..65535, got " + std::to_string(spec.serve.port));
  // Signals go to one thread; the others inherit the blocked mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ServerState st;
  st.spec = spec;
  st.model_id = spec.serve.alias.empty() ? spec.model.path.filename().string() : spec.serve.alias;

  httplib::Server svr;
  // Debian's cpp-httplib 0.11 listens with a backlog of 5 (compiled into the
  // library): a burst of connections overflows it, and with SYN cookies a
  // client whose first segment arrives before its handshake ACK loses its
  // first byte (the request then parses as garbage). Keep the library's
  // socket options, remember the socket, and listen again with a real
  // backlog once bound (Linux updates a listening socket's backlog).
  std::atomic<int> listen_fd{-1};
  svr.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = int(sock);
  });
  const size_t n_threads = size_t(spec.serve.slots) + size_t(spec.serve.max_queue) + 8;
  svr.new_task_queue = [n_threads] { return new TimedTaskQueue(n_threads); };
  svr.set_payload_max_length(size_t(spec.serve.max_body));
  svr.set_keep_alive_timeout(2);
  svr.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    request_start = Clock::now();
    request_routed = true;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a handler's own error
    if (res.status == 404) send_error(res, 404, "no endpoint " + req.method + " " + req.path);
    else if (res.status == 413) send_error(res, 413, "the request body is larger than the limit (--max-body)");
    else if (res.status == 414) send_error(res, 414, "the URL is longer than the limit of 8192 bytes");
    else if (res.status == 400 && (req.method.empty() || req.path.empty()))
      send_error(res, 400, "malformed HTTP request (request line or headers)");
    else if (res.status == 400)  // e.g. PUT, or a body httplib could not read
      send_error(res, 400, "bad request: " + req.method + " " + req.path +
                               " (this server answers GET, and POST with a JSON body)");
    else send_error(res, res.status, "HTTP error " + std::to_string(res.status));
  });
  svr.set_logger([&st](const httplib::Request& req, const httplib::Response& res) {
    const Clock::time_point now = Clock::now();
    const double secs = std::chrono::duration<double>(now - (request_routed ? request_start : waiting_since)).count();
    request_routed = false;
    waiting_since = now;  // the connection's next request is read from here on
    {
      std::lock_guard lk(st.metrics_mutex);
      ++st.requests[{metrics_path(req.path), res.status}];
      st.request_seconds += secs;
      ++st.requests_timed;
    }
    // One line of six fields whatever the request held: "-" for what httplib
    // could not parse, spaces and control bytes of a decoded path shown as '?', and a
    // long path cut (the line used to be cut instead, losing its newline).
    auto field = [](const std::string& v, size_t max) {
      if (v.empty()) return std::string("-");
      std::string out = v.size() > max ? v.substr(0, max) + "..." : v;
      for (char& c : out)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) c = '?';
      return out;
    };
    char tail[64];
    std::snprintf(tail, sizeof tail, " %d %.1f ms\n", res.status, secs * 1000.0);
    std::cerr << ("serve: " + field(req.remote_addr, 64) + " " + field(req.method, 16) + " " + field(req.path, 256) +
                  tail)
              << std::flush;
  });

  // Every handler: auth, readiness, and errors turned into OpenAI's shape.
  Wrap wrap = [&st](bool needs_model, Handler handler) -> Handler {
    return [&st, needs_model, handler](const httplib::Request& req, httplib::Response& res) {
      try {
        if (!st.spec.serve.api_key.empty() &&
            req.get_header_value("Authorization") != "Bearer " + st.spec.serve.api_key)
          throw ApiError(401, req.has_header("Authorization") ? "invalid API key" : "missing API key (Authorization: Bearer KEY)");
        if (needs_model && !st.ready) throw ApiError(503, "the model is still loading");
        handler(req, res);
      } catch (const ApiError& e) {
        send_error(res, e.status, e.what());
      } catch (const QueueFull& e) {
        send_error(res, 503, std::string(e.what()) + "; try again later");
      } catch (const Error& e) {
        send_error(res, 400, e.what());
      } catch (const std::bad_alloc&) {
        send_error(res, 500, "out of memory");
      } catch (const std::exception& e) {
        send_error(res, 500, std::string("internal error: ") + e.what());
      }
    };
  };
  svr.Get("/health", [&st](const httplib::Request&, httplib::Response& res) {
    if (st.ready && !st.draining) {
      res.set_content(R"({"status":"ok"})", "application/json");
    } else {
      send_error(res, 503, st.draining ? "shutting down" : "the model is still loading");
    }
  });
  svr.Get("/metrics", wrap(false, [&st](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text(st), "text/plain; version=0.0.4");
  }));
  add_routes(svr, st, wrap);

  int port = spec.serve.port;
  if (port == 0) port = svr.bind_to_any_port(spec.serve.host);
  else if (!svr.bind_to_port(spec.serve.host, port)) port = -1;
  if (port > 0 && listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);
  if (port <= 0)
    throw Error("serve: can't listen on " + spec.serve.host + ":" + std::to_string(spec.serve.port) +
                " (address in use or not available)");
  std::cerr << "serve: listening on http://" << spec.serve.host << ":" << port << "\n" << std::flush;

  std::atomic<bool> done{false};
  std::thread signals([&] { wait_for_signal(done, svr, st); });
  std::thread http([&] { svr.listen_after_bind(); });
  int rc = 0;
  try {
    load(st);
    st.created = int64_t(std::time(nullptr));
    st.ready = true;
    const HParams& hp = st.model->hparams();
    std::cerr << "serve: ready: " << st.model_id << " (" << hp.arch << ")";
    if (st.engine)
      std::cerr << ", " << spec.serve.slots << " slot(s) of " << st.engine->slot_context() << " tokens, chat template "
                << (st.chat_format.name == "jinja" ? st.chat_format.origin : st.chat_format.name)
                << (spec.model.mmproj.empty() ? "" : ", images through " + spec.model.mmproj.string());
    else
      std::cerr << ", embeddings only";
    std::cerr << "\n" << std::flush;
  } catch (const std::exception& e) {
    std::cerr << "tessel serve: error: " << e.what() << "\n";
    svr.stop();
    rc = 1;
  }
  http.join();  // returns after stop(): in-flight requests have been answered
  done = true;
  signals.join();
  if (st.engine) st.engine->drain();
  if (rc == 0) std::cerr << "serve: stopped\n";
  return rc;
}

}  // namespace tessel::serve
