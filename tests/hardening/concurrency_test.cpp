// Under load: eight `generate` processes at once (sampling with a fixed seed,
// two threads each on a 2-core machine) all print exactly what one run alone
// prints. Nothing in a run may depend on timing or on other processes.
#include <catch2/catch.hpp>
#include <future>
#include <vector>

#include "support.hpp"

using tessel::test::run_tessel;
using tessel::test::shared_path;

TEST_CASE("8 concurrent generate runs give identical output") {
  const std::vector<std::string> args{"generate", "-m", shared_path("models/stories260K.gguf").string(),
                                      "-p", "Once upon a time", "-n", "48", "--seed", "7", "-t", "2"};
  const auto alone = run_tessel(args, 300);
  REQUIRE(alone.exit_code == 0);
  REQUIRE(alone.out.size() > 20);
  std::vector<std::future<tessel::test::RunResult>> runs;
  for (int i = 0; i < 8; ++i) runs.push_back(std::async(std::launch::async, [&] { return run_tessel(args, 300); }));
  for (auto& f : runs) {
    const auto r = f.get();
    CHECK(r.exit_code == 0);
    CHECK(r.out == alone.out);
  }
}
