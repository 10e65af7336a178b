#include "serve/engine.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "generate/generate.hpp"
#include "tessel/error.hpp"
#include "tessel/prompt.hpp"
#include "tessel/sampler.hpp"

namespace tessel::serve {

const char* finish_name(Finish f) {
  switch (f) {
    case Finish::Stop: return "stop";
    case Finish::Length: return "length";
    case Finish::Cancelled: return "cancelled";
    case Finish::Error: return "error";
    default: return "none";
  }
}

bool Job::wait(std::vector<Piece>& out, std::chrono::milliseconds timeout) {
  std::unique_lock lk(m);
  cv.wait_for(lk, timeout, [&] { return !pieces.empty() || finish != Finish::None; });
  for (auto& p : pieces) out.push_back(std::move(p));
  pieces.clear();
  return finish != Finish::None;
}

struct Engine::Slot {
  int32_t seq = 0;
  std::shared_ptr<Job> job;
  std::unique_ptr<Sampler> sampler;
  std::ostringstream sink;  // the text stream's output; pieces carry the released bytes
  std::unique_ptr<generate::TextStream> stream;
  size_t prompt_rows = 0;   // rows of the whole prompt
  size_t prompt_done = 0;   // prompt rows decoded so far
  size_t chunk = 0;         // the job's chunk being decoded
  size_t chunk_done = 0;    // rows of it decoded
  int32_t n_past = 0;       // next position
  TokenId next = -1;        // sampled last step, decoded this step
  bool generating = false;  // the prompt is decoded
};

Engine::Engine(Model& model, Context& ctx, const Tokenizer& tok, EngineOptions opts)
    : model_(model), ctx_(ctx), tok_(tok), opts_(opts) {
  if (opts_.n_slots < 1) throw Error("serve: -np must be at least 1, got " + std::to_string(opts_.n_slots));
  if (opts_.n_batch < 1) throw Error("serve: the batch size must be at least 1");
  const auto& hp = model_.hparams();
  if (!hp.has_logits) throw Error("serve: architecture '" + hp.arch + "' has no LM head");
  n_vocab_ = size_t(hp.n_vocab);
  slot_ctx_ = ctx_.n_ctx() / opts_.n_slots;
  if (slot_ctx_ < 1)
    throw Error("serve: a context of " + std::to_string(ctx_.n_ctx()) + " can't be split among " +
                std::to_string(opts_.n_slots) + " slots");
  stats_.slots = size_t(opts_.n_slots);
  thread_ = std::thread([this] { loop(); });
}

Engine::~Engine() { drain(); }

void Engine::submit(const std::shared_ptr<Job>& job) {
  std::lock_guard lk(m_);
  if (stopping_) throw Error("the server is shutting down");
  // max_queue counts the jobs waiting beyond the slots.
  if (in_flight_ >= size_t(opts_.n_slots) + opts_.max_queue) throw QueueFull();
  ++in_flight_;
  job->t_submit = Clock::now();
  if (job->chunks.empty() && !job->prompt.empty()) job->chunks = generate::token_prompt(job->prompt);
  job->n_prompt = prompt_rows(job->chunks);
  queue_.push_back(job);
  stats_.queued = queue_.size();
  cv_.notify_all();
}

void Engine::drain() {
  {
    std::lock_guard lk(m_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

EngineStats Engine::stats() const {
  std::lock_guard lk(m_);
  return stats_;
}

void Engine::loop() {
  std::vector<Slot> slots(size_t(opts_.n_slots));
  for (size_t i = 0; i < slots.size(); ++i) slots[i].seq = int32_t(i);
  for (;;) {
    {
      std::unique_lock lk(m_);
      auto busy = [&] {
        return size_t(std::count_if(slots.begin(), slots.end(), [](const Slot& s) { return s.job != nullptr; }));
      };
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty() || busy() > 0; });
      if (stopping_ && queue_.empty() && busy() == 0) return;
      for (auto& s : slots) {
        if (s.job || queue_.empty()) continue;
        auto job = queue_.front();
        queue_.pop_front();
        lk.unlock();
        start(s, std::move(job));
        lk.lock();
      }
      stats_.queued = queue_.size();
      stats_.busy = busy();
    }
    step(slots);
  }
}

void Engine::start(Slot& s, std::shared_ptr<Job> job) {
  s.job = std::move(job);
  s.prompt_done = s.chunk = s.chunk_done = 0;
  s.prompt_rows = s.job->n_prompt;
  s.n_past = 0;
  s.next = -1;
  s.generating = false;
  s.sink.str("");
  if (s.job->cancelled) return finish(s, Finish::Cancelled);
  if (s.prompt_rows == 0) return finish(s, Finish::Error, "the prompt is empty");
  if (s.prompt_rows > size_t(slot_ctx_))
    return finish(s, Finish::Error,
                  "the prompt has " + std::to_string(s.prompt_rows) +
                      " tokens but a slot's context holds " + std::to_string(slot_ctx_));
  try {
    s.sampler = std::make_unique<Sampler>(s.job->gen.sampler, slot_ctx_);
  } catch (const std::exception& e) {
    return finish(s, Finish::Error, e.what());
  }
  if (s.job->gen.ignore_eos)
    for (size_t t = 0; t < n_vocab_ && t < tok_.vocab_size(); ++t)
      if (tok_.is_eog(TokenId(t))) s.sampler->ban(TokenId(t));
  // As the generate task: prompt tokens enter the penalty window.
  for (const BatchChunk& c : s.job->chunks)
    for (TokenId t : c.tokens) s.sampler->accept(t);
  s.stream = std::make_unique<generate::TextStream>(s.sink, s.job->gen.stop);
}

void Engine::decode_rows(Slot& s) {
  const BatchChunk& c = s.job->chunks[s.chunk];
  const size_t n = c.n_rows;
  const int64_t width = model_.hparams().n_embd;
  if (c.embd.size() != n * size_t(width))
    return finish(s, Finish::Error,
                  "an image chunk of " + std::to_string(n) + " rows holds " + std::to_string(c.embd.size()) +
                      " values; the model's rows are " + std::to_string(width) + " wide");
  Batch batch;
  batch.causal = c.causal;
  batch.embd = c.embd;
  const bool last_chunk = s.chunk + 1 == s.job->chunks.size();
  for (size_t i = 0; i < n; ++i) {
    batch.pos.push_back(s.n_past + int32_t(i));
    batch.seq.push_back(s.seq);
    batch.output.push_back(last_chunk && i + 1 == n ? 1 : 0);
  }
  Outputs out;
  out.want_logits = true;
  try {
    model_.forward(batch, ctx_, out);
  } catch (const std::exception& e) {
    return finish(s, Finish::Error, e.what());
  }
  {
    std::lock_guard lk(m_);
    ++stats_.forward_passes;
  }
  s.n_past += int32_t(n);
  advance(s, n);
  if (!last_chunk) return;
  if (out.rows.empty() || out.logits.size() < n_vocab_) return finish(s, Finish::Error, "the model returned no logits");
  after_logits(s, out.logits.data() + (out.rows.size() - 1) * n_vocab_);
}

void Engine::advance(Slot& s, size_t rows) {
  s.prompt_done += rows;
  s.chunk_done += rows;
  const BatchChunk& c = s.job->chunks[s.chunk];
  if (s.chunk_done == (c.embd.empty() ? c.tokens.size() : c.n_rows)) {
    ++s.chunk;
    s.chunk_done = 0;
  }
  if (s.prompt_done == s.prompt_rows) s.generating = true;
}

void Engine::step(std::vector<Slot>& slots) {
  for (auto& s : slots)
    if (s.job && s.job->cancelled) finish(s, Finish::Cancelled);
  // Image rows first, each chunk in a pass of its own.
  for (auto& s : slots)
    if (s.job && !s.generating && !s.job->chunks[s.chunk].embd.empty()) decode_rows(s);

  // Decode rows first (one per generating slot), then prompt tokens while the
  // batch has room. A slot's prompt may take several steps; one step takes
  // tokens from one of its chunks at most.
  Batch batch;
  std::vector<Slot*> row_slot;
  for (auto& s : slots)
    if (s.job && s.generating) {
      batch.add_token(s.next, s.n_past, s.seq, true);
      row_slot.push_back(&s);
    }
  std::vector<std::pair<Slot*, size_t>> prompt_rows;  // slot, rows taken this step
  for (auto& s : slots) {
    if (!s.job || s.generating) continue;
    const BatchChunk& c = s.job->chunks[s.chunk];
    if (!c.embd.empty()) continue;  // an image chunk: next step
    const size_t room = batch.size() < size_t(opts_.n_batch) ? size_t(opts_.n_batch) - batch.size() : 0;
    const size_t take = std::min(room, c.tokens.size() - s.chunk_done);
    if (take == 0) continue;
    for (size_t i = 0; i < take; ++i) {
      const bool last = s.prompt_done + i + 1 == s.prompt_rows;
      batch.add_token(c.tokens[s.chunk_done + i], s.n_past + int32_t(i), s.seq, last);
      row_slot.push_back(&s);
    }
    prompt_rows.push_back({&s, take});
  }
  if (batch.size() == 0) return;

  Outputs out;
  out.want_logits = true;
  try {
    model_.forward(batch, ctx_, out);
  } catch (const std::exception& e) {
    // A failed pass leaves the cache as it was; the requests in it end with the error.
    for (Slot* s : row_slot)
      if (s->job) finish(*s, Finish::Error, e.what());
    return;
  }
  {
    std::lock_guard lk(m_);
    ++stats_.forward_passes;
  }
  for (auto& s : slots)
    if (s.job && s.generating) ++s.n_past;
  for (auto& [s, take] : prompt_rows) {
    s->n_past += int32_t(take);
    advance(*s, take);
  }
  if (out.logits.size() < out.rows.size() * n_vocab_) {
    for (Slot* s : row_slot)
      if (s->job) finish(*s, Finish::Error, "the model returned no logits");
    return;
  }
  for (size_t i = 0; i < out.rows.size(); ++i) {
    Slot* s = row_slot[size_t(out.rows[i])];
    if (s->job) after_logits(*s, out.logits.data() + i * n_vocab_);
  }
}

namespace {

// log-softmax of the raw logits (what llama-server reports as probabilities
// when it does not ask for post-sampling ones).
std::vector<TokenLogprob> logprobs(const float* logits, size_t n_vocab, TokenId chosen, int top,
                                   float& chosen_logprob) {
  const float mx = *std::max_element(logits, logits + n_vocab);
  double sum = 0;
  for (size_t i = 0; i < n_vocab; ++i) sum += std::exp(double(logits[i]) - mx);
  const double log_z = double(mx) + std::log(sum);
  chosen_logprob = float(double(logits[size_t(chosen)]) - log_z);
  std::vector<TokenLogprob> out;
  if (top <= 0) return out;
  std::vector<TokenId> idx(n_vocab);
  std::iota(idx.begin(), idx.end(), 0);
  const size_t k = std::min(size_t(top), n_vocab);
  std::partial_sort(idx.begin(), idx.begin() + std::ptrdiff_t(k), idx.end(),
                    [&](TokenId a, TokenId b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  for (size_t i = 0; i < k; ++i) out.push_back({idx[i], float(double(logits[size_t(idx[i])]) - log_z)});
  return out;
}

}  // namespace

void Engine::after_logits(Slot& s, const float* logits) {
  Job& job = *s.job;
  if (job.gen.max_tokens == 0) return finish(s, Finish::Length);
  const TokenId id = s.sampler->sample(std::span<const float>(logits, n_vocab_));
  s.sampler->accept(id);
  Piece p;
  p.id = id;
  if (job.top_logprobs >= 0) p.top = logprobs(logits, n_vocab_, id, job.top_logprobs, p.logprob);
  if (tok_.is_eog(id) && !job.gen.ignore_eos) return finish(s, Finish::Stop);
  const size_t before = s.stream->printed().size();
  const bool stopped = s.stream->push(tok_.piece(id));
  p.text = s.stream->printed().substr(before);
  {
    std::lock_guard lk(job.m);
    if (job.n_generated == 0) job.t_first = Clock::now();
    ++job.n_generated;
    job.pieces.push_back(std::move(p));
  }
  job.cv.notify_all();
  if (stopped) return finish(s, Finish::Stop);
  if (job.gen.max_tokens >= 0 && job.n_generated >= size_t(job.gen.max_tokens)) return finish(s, Finish::Length);
  if (s.n_past + 1 > slot_ctx_) return finish(s, Finish::Length);
  s.next = id;
}

void Engine::finish(Slot& s, Finish why, const std::string& error) {
  Job& job = *s.job;
  std::string tail;
  if ((why == Finish::Stop || why == Finish::Length) && s.stream) {
    const size_t before = s.stream->printed().size();
    s.stream->finish();  // what was held back for a stop string that never came
    tail = s.stream->printed().substr(before);
  }
  ctx_.remove_seq(s.seq);
  // Only this thread writes the job's counters and times, so they can be read
  // here without its lock.
  const Clock::time_point done = Clock::now();
  const Clock::time_point first = job.n_generated == 0 ? done : job.t_first;
  // The engine's counters first, the job's end second: a client that has seen
  // its answer finish then finds it in /metrics, and its next request is not
  // refused by a queue that still counts this one (both raced before: the
  // counters lagged the answer by a thread switch).
  {
    std::lock_guard lk(m_);
    ++stats_.jobs_done;
    stats_.prompt_tokens += s.prompt_done;
    stats_.generated_tokens += job.n_generated;
    stats_.ttft_seconds_sum += std::chrono::duration<double>(first - job.t_submit).count();
    stats_.job_seconds_sum += std::chrono::duration<double>(done - job.t_submit).count();
    stats_.busy = stats_.busy > 0 ? stats_.busy - 1 : 0;
    --in_flight_;
  }
  {
    std::lock_guard lk(job.m);
    if (!tail.empty()) {
      Piece p;
      p.id = -1;  // text only: no token of its own
      p.text = std::move(tail);
      job.pieces.push_back(std::move(p));
    }
    job.t_done = done;
    job.t_first = first;
    job.finish = why;
    job.error = error;
  }
  job.cv.notify_all();
  s.job.reset();
  s.sampler.reset();
  s.stream.reset();
  s.generating = false;
}

}  // namespace tessel::serve
