#include "tessel/threadpool.hpp"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TESSEL_PAUSE() _mm_pause()
#else
#define TESSEL_PAUSE() ((void)0)
#endif

namespace tessel {
namespace {
// ~50-100 us of pause instructions: covers the gap between the kernels of one
// decode step, short enough not to burn a shared core while idle.
constexpr int kSpin = 4000;
}  // namespace

int max_useful_threads() {
  return std::max(8, 4 * int(std::thread::hardware_concurrency()));
}

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = int(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  threads = std::min(threads, max_useful_threads());
  n_threads_ = threads;
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::work_on(uint32_t job, int64_t n, int64_t chunks, Thunk thunk, void* ctx) {
  uint64_t cur = claim_.load(std::memory_order_acquire);
  for (;;) {
    if (uint32_t(cur >> 32) != job) return;
    const int64_t c = int64_t(cur & 0xFFFFFFFFu);
    if (c >= chunks) return;
    if (!claim_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel)) continue;
    try {
      thunk(ctx, n * c / chunks, n * (c + 1) / chunks);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) {
      std::lock_guard<std::mutex> lock(mu_);  // the caller checks done_ under mu_
      done_cv_.notify_one();
    }
    cur = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::run(int64_t n, int64_t chunks, Thunk thunk, void* ctx) {
  uint32_t job;
  {
    std::lock_guard<std::mutex> lock(mu_);
    n_ = n;
    chunks_ = chunks;
    thunk_ = thunk;
    ctx_ = ctx;
    done_.store(0);
    job = uint32_t(generation_.load() + 1);
    claim_.store(uint64_t(job) << 32, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_cv_.notify_all();  // no syscall when every worker is still spinning
  work_on(job, n, chunks, thunk, ctx);
  for (int i = 0; i < kSpin && done_.load(std::memory_order_acquire) != chunks; ++i) TESSEL_PAUSE();
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return done_.load() == chunks; });
  std::exception_ptr err = error_;
  error_ = nullptr;
  if (err) std::rethrow_exception(err);
}

void ThreadPool::worker() {
  uint64_t seen = 0;
  for (;;) {
    for (int i = 0; i < kSpin && generation_.load(std::memory_order_acquire) == seen && !stop_.load();
         ++i)
      TESSEL_PAUSE();
    int64_t n, chunks;
    Thunk thunk;
    void* ctx;
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
      if (stop_) return;
      seen = generation_.load();
      n = n_; chunks = chunks_; thunk = thunk_; ctx = ctx_;
    }
    work_on(uint32_t(seen), n, chunks, thunk, ctx);
  }
}

}  // namespace tessel
