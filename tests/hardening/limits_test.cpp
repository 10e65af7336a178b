// Upper bounds and value checks: context and KV cache against memory, threads
// against cores, sampler values, NaN logits.
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

#include "support.hpp"
#include "tessel/error.hpp"
#include "tessel/kv_cache.hpp"
#include "tessel/sampler.hpp"
#include "tessel/threadpool.hpp"

using Catch::Contains;
using tessel::test::run_tessel;
using tessel::test::shared_path;
using tessel::test::temp_dir;
using tessel::test::write_text;

namespace {

long max_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

std::string stories() { return shared_path("models/stories260K.gguf").string(); }

}  // namespace

TEST_CASE("a KV cache larger than the machine's memory is refused, saying how much it needs") {
  // 64 layers x 2^24 cells x 4096 values x 2 bytes x 2 = 16 TiB.
  CHECK_THROWS_WITH(tessel::KvCache(64, int64_t(1) << 24, 4096, 4096, true),
                    Contains("KV cache") && Contains("GiB") && Contains("smaller context"));
}

TEST_CASE("the KV cache is allocated lazily: an unused large context costs no memory") {
  const long before = max_rss_kib();
  // 2 x 2 layers x 2^18 cells x 512 values x 2 bytes = 1 GiB if zero-filled up front.
  tessel::KvCache kv(2, int64_t(1) << 18, 512, 512, true);
  std::vector<float> row(512, 1.0f);
  std::vector<int32_t> pos{0}, seq{0};
  const std::vector<int64_t> cells = kv.allocate(pos, seq);
  kv.store(0, cells, row.data(), row.data());
  CHECK(kv.used() == 1);
  CHECK(max_rss_kib() - before < 256 * 1024);  // far below the 1 GiB an eager cache touches
}

TEST_CASE("thread pools never start more than a sane multiple of the cores") {
  tessel::ThreadPool pool(100000);
  CHECK(pool.size() == tessel::max_useful_threads());
  CHECK(tessel::max_useful_threads() >= 8);
  CHECK(tessel::max_useful_threads() <= 4 * int(std::thread::hardware_concurrency()) + 8);
}

TEST_CASE("-c and -t beyond their limits fail on one line naming the flag") {
  auto r = run_tessel({"generate", "-m", stories(), "-p", "Once", "-n", "2", "-c", "100000000"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("-c") && Contains("100000000"));
  r = run_tessel({"generate", "-m", stories(), "-p", "Once", "-n", "2", "-t", "5000"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("-t") && Contains("5000") && Contains("cores"));
  r = run_tessel({"generate", "-m", stories(), "-p", "Once", "-n", "2", "-t", "1000"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("-t") && Contains("1000"));
}

TEST_CASE("a pipeline config's runtime.threads beyond the limit fails on one line naming the key") {
  const auto dir = temp_dir();
  write_text(dir / "many-threads.yaml", "task: generate\nmodel: { path: " + stories() +
                                            " }\ninputs:\n  - { adapter: tokens, text: Once }\n"
                                            "runtime: { threads: 100000 }\ngenerate: { max_tokens: 2 }\n");
  auto r = run_tessel({"run", (dir / "many-threads.yaml").string()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("many-threads.yaml") && Contains("runtime.threads") && Contains("100000"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("sampler values: NaN, infinities and out-of-range probabilities are refused") {
  auto refused = [](auto set, const char* key) {
    tessel::SamplerSpec s;
    set(s);
    CHECK_THROWS_WITH(tessel::Sampler(s, 128), Contains(key));
  };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  refused([&](auto& s) { s.temperature = nan; }, "temperature");
  refused([&](auto& s) { s.temperature = inf; }, "temperature");
  refused([&](auto& s) { s.top_p = 1.5f; }, "top_p");
  refused([&](auto& s) { s.top_p = nan; }, "top_p");
  refused([&](auto& s) { s.min_p = -0.1f; }, "min_p");
  refused([&](auto& s) { s.typical_p = 2.0f; }, "typical_p");
  refused([&](auto& s) { s.repeat_penalty = nan; }, "repeat_penalty");
  refused([&](auto& s) { s.repeat_penalty = 0.0f; }, "repeat_penalty");
  refused([&](auto& s) { s.frequency_penalty = inf; }, "frequency_penalty");
  refused([&](auto& s) { s.presence_penalty = nan; }, "presence_penalty");
  tessel::SamplerSpec fine;
  fine.temperature = -1.0f;  // greedy, as llama.cpp
  fine.top_p = 1.0f;
  fine.min_p = 0.0f;
  CHECK_NOTHROW(tessel::Sampler(fine, 128));
}

TEST_CASE("NaN logits are an error naming the cause, not a stream of token 0") {
  tessel::SamplerSpec s;
  tessel::Sampler sampler(s, 16);
  std::vector<float> logits(8, 0.5f);
  logits[3] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(sampler.sample(logits), Contains("NaN"));
  logits[3] = -std::numeric_limits<float>::infinity();  // a banned token is fine
  CHECK_NOTHROW(sampler.sample(logits));
}

TEST_CASE("generate --temp nan and unbounded top-p fail on one line naming the flag") {
  auto r = run_tessel({"generate", "-m", stories(), "-p", "Once", "-n", "2", "--temp", "nan"});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Contains("--temp"));
  r = run_tessel({"generate", "-m", stories(), "-p", "Once", "-n", "2", "--top-p", "7"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("--top-p"));
}
