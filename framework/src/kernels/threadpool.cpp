#include "tessel/threadpool.hpp"

namespace tessel {

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
    pending_ = int(chunks - 1);
    ++generation_;
  }
  start_cv_.notify_all();
  std::exception_ptr mine;
  try {
    thunk(ctx, 0, n / chunks);  // chunk 0 on the calling thread
  } catch (...) {
    mine = std::current_exception();
  }
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return pending_ == 0; });
  std::exception_ptr err = mine ? mine : error_;
  error_ = nullptr;
  if (err) std::rethrow_exception(err);
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    int64_t n, chunks;
    Thunk thunk;
    void* ctx;
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      n = n_; chunks = chunks_; thunk = thunk_; ctx = ctx_;
    }
    if (index >= chunks) continue;
    std::exception_ptr err;
    try {
      thunk(ctx, n * index / chunks, n * (index + 1) / chunks);
    } catch (...) {
      err = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (err && !error_) error_ = err;
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

}  // namespace tessel
