#pragma once
// A small fixed thread pool for the kernels. parallel_for splits [0, n) into
// one contiguous chunk per thread; chunks are claimed, not assigned, so the
// calling thread runs whatever chunks no worker has started yet (a worker the
// OS has not scheduled costs nothing), and a pool of 1 thread runs everything
// inline. No allocation per call.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace tessel {

// The most threads worth running here: 4 x the cores, at least 8. More only
// spin against each other (-t 1000 made 5 tokens take 12 s); configs and flags
// asking for more are refused, and a pool never starts more.
int max_useful_threads();

class ThreadPool {
 public:
  // threads <= 0: std::thread::hardware_concurrency(); capped at max_useful_threads().
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // fn(begin, end) over disjoint chunks of [0, n); at most size() chunks, each
  // at least `grain` long. Returns when every chunk is done; an exception
  // thrown by a chunk is rethrown here (the first one). Not reentrant.
  template <class F>
  void parallel_for(int64_t n, F&& fn, int64_t grain = 1) {
    if (n <= 0) return;
    int64_t chunks = n_threads_;
    if (grain < 1) grain = 1;
    if (n / grain < chunks) chunks = n / grain > 0 ? n / grain : 1;
    if (chunks <= 1) { fn(int64_t(0), n); return; }
    using Fn = std::remove_reference_t<F>;  // F is a reference for an lvalue callable
    auto thunk = [](void* ctx, int64_t b, int64_t e) { (*static_cast<Fn*>(ctx))(b, e); };
    run(n, chunks, thunk, const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using Thunk = void (*)(void*, int64_t, int64_t);
  void run(int64_t n, int64_t chunks, Thunk thunk, void* ctx);
  void worker();
  // Claims and runs chunks of job `job` until none is left; false if the
  // job is no longer current (a late worker must not touch a newer job).
  void work_on(uint32_t job, int64_t n, int64_t chunks, Thunk thunk, void* ctx);

  int n_threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  // Atomics so a job start and its end are seen while spinning (workers and
  // the caller spin briefly before sleeping: decode runs hundreds of short
  // parallel_for calls per token, and a futex wake-up per call cost more
  // than the work). Job fields are written under mu_ before generation_ moves.
  std::atomic<uint64_t> generation_{0};
  // (job id << 32) | next chunk to claim: a claim only succeeds for the
  // current job. done_ counts finished chunks of the current job.
  std::atomic<uint64_t> claim_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<bool> stop_{false};
  // the current job
  int64_t n_ = 0, chunks_ = 0;
  Thunk thunk_ = nullptr;
  void* ctx_ = nullptr;
  std::exception_ptr error_;
};

}  // namespace tessel
