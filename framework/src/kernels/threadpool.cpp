#include "tessel/threadpool.hpp"

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

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = int(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  n_threads_ = threads;
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run(int64_t n, int64_t chunks, Thunk thunk, void* ctx) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    n_ = n;
    chunks_ = chunks;
    thunk_ = thunk;
    ctx_ = ctx;
    pending_.store(int(chunks - 1));
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_cv_.notify_all();  // no syscall when every worker is still spinning
  std::exception_ptr mine;
  try {
    thunk(ctx, 0, n / chunks);  // chunk 0 on the calling thread
  } catch (...) {
    mine = std::current_exception();
  }
  for (int i = 0; i < kSpin && pending_.load(std::memory_order_acquire) != 0; ++i) TESSEL_PAUSE();
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return pending_.load() == 0; });
  std::exception_ptr err = mine ? mine : error_;
  error_ = nullptr;
  if (err) std::rethrow_exception(err);
}

void ThreadPool::worker(int index) {
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
    if (index >= chunks) continue;
    std::exception_ptr err;
    try {
      thunk(ctx, n * index / chunks, n * (index + 1) / chunks);
    } catch (...) {
      err = std::current_exception();
    }
    if (err) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = err;
    }
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mu_);  // the caller checks pending_ under mu_
      done_cv_.notify_one();
    }
  }
}

}  // namespace tessel
