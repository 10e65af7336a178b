#pragma once
// `tessel serve`: the OpenAI-compatible HTTP server (cpp-httplib) in front of
// the continuous-batching Engine. Listens first (GET /health answers 503 while
// the model loads), then loads the model; SIGTERM/SIGINT stop accepting
// connections, let in-flight requests finish, and return 0.
#include "tessel/config.hpp"

namespace tessel::serve {

// Runs until SIGTERM/SIGINT. spec.serve holds the HTTP options, spec.runtime
// the context (split among spec.serve.slots) and threads, spec.generate the
// default sampling settings.
int run_server(const PipelineSpec& spec);

}  // namespace tessel::serve
