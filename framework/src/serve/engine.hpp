#pragma once
// The serving engine: continuous batching over one model and one
// multi-sequence context. Each request gets a slot (a sequence id in the KV
// cache); every step runs ONE forward pass holding one token from each slot
// that is generating plus prompt rows of newly admitted slots, then samples
// every slot's next token with its own sampler (own seed, own penalty window).
// Rows are computed independently of their neighbours (the codecs' dot
// products and the attention are row-count independent, and the KV cache
// keeps each sequence's cells in order), so a request gives the same text
// alone or beside others.
//
// The HTTP side submits Jobs and reads their pieces; the engine thread is the
// only one that touches the model and the context.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tessel/architecture.hpp"
#include "tessel/config.hpp"
#include "tessel/input.hpp"
#include "tessel/tokenizer.hpp"

namespace tessel::serve {

using Clock = std::chrono::steady_clock;

struct TokenLogprob {
  TokenId id = 0;
  float logprob = 0.0f;
};

// One generated token as it reaches the client.
struct Piece {
  TokenId id = 0;
  std::string text;                 // bytes the text stream released with this token (may be empty)
  float logprob = 0.0f;             // only when the job asked for logprobs
  std::vector<TokenLogprob> top;    // the job's top_logprobs most likely tokens
};

enum class Finish { None, Stop, Length, Cancelled, Error };
const char* finish_name(Finish f);  // "stop", "length", "cancelled", "error"

// One request's generation, shared between its HTTP handler and the engine.
struct Job {
  // Set before submit: the prompt as token ids, or as chunks (text tokens and
  // image rows, in order, as assemble_prompt makes them). Token chunks share
  // the step's batch with other slots; an image chunk is decoded in a forward
  // pass of its own (it may be non-causal, and a batch holds tokens or rows,
  // never both).
  std::vector<TokenId> prompt;
  std::vector<BatchChunk> chunks;   // when set, `prompt` is ignored
  GenerateSpec gen;                 // max_tokens (-1: until the slot is full), stop, ignore_eos, sampler
  int top_logprobs = -1;            // < 0: no logprobs; 0..20: logprob of the token plus that many alternatives

  // Written by the engine, read under `m`.
  std::mutex m;
  std::condition_variable cv;
  std::deque<Piece> pieces;         // not yet taken by the handler
  Finish finish = Finish::None;
  std::string error;
  size_t n_prompt = 0, n_generated = 0;
  Clock::time_point t_submit, t_first, t_done;

  // Set by the handler (client gone); the engine frees the slot at its next step.
  std::atomic<bool> cancelled{false};

  // Waits up to `timeout` for pieces or the end; moves the pieces into `out`.
  // Returns true once the job has finished and every piece has been taken.
  bool wait(std::vector<Piece>& out, std::chrono::milliseconds timeout);
};

struct EngineOptions {
  int n_slots = 1;
  int n_batch = 512;          // rows per forward pass (decode rows + prompt rows)
  size_t max_queue = 64;      // jobs waiting for a slot; more are refused (HTTP 503)
};

struct EngineStats {
  size_t queued = 0, busy = 0, slots = 0;
  uint64_t jobs_done = 0, prompt_tokens = 0, generated_tokens = 0, forward_passes = 0;
  double ttft_seconds_sum = 0, job_seconds_sum = 0;
};

class QueueFull : public std::exception {
 public:
  const char* what() const noexcept override { return "the request queue is full"; }
};

class Engine {
 public:
  // `ctx` must have been made with runtime.n_seq == opts.n_slots.
  Engine(Model& model, Context& ctx, const Tokenizer& tok, EngineOptions opts);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Cells one slot may use (the context split evenly among the slots).
  int32_t slot_context() const { return slot_ctx_; }
  // Queues a job. Throws QueueFull when max_queue jobs already wait, and
  // tessel::Error when the engine is stopping.
  void submit(const std::shared_ptr<Job>& job);
  // Lets queued and running jobs finish, then ends the engine thread.
  void drain();
  EngineStats stats() const;

 private:
  struct Slot;
  void loop();
  void step(std::vector<Slot>& slots);
  void start(Slot& s, std::shared_ptr<Job> job);
  void decode_rows(Slot& s);  // the slot's image chunk, in a pass of its own
  // Rows taken from a slot's prompt: its chunk position moves on, and the slot
  // generates once the whole prompt is in the cache.
  static void advance(Slot& s, size_t rows);
  void after_logits(Slot& s, const float* logits);
  void finish(Slot& s, Finish why, const std::string& error = {});

  Model& model_;
  Context& ctx_;
  const Tokenizer& tok_;
  EngineOptions opts_;
  int32_t slot_ctx_ = 0;
  size_t n_vocab_ = 0;

  mutable std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;
  size_t in_flight_ = 0;  // submitted and not finished
  EngineStats stats_;
  std::thread thread_;
};

}  // namespace tessel::serve
