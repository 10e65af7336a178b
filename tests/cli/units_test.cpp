// The command line's small helpers: llama.cpp's escape processing and the
// shared progress line.
#include <catch2/catch.hpp>

#include "tessel/progress.hpp"
#include "text_args.hpp"

using tessel::host::process_escapes;

TEST_CASE("escapes are processed as llama.cpp's string_process_escapes does") {
  CHECK(process_escapes("a\\nb\\tc\\rd") == "a\nb\tc\rd");
  CHECK(process_escapes("q\\'q\\\"q\\\\q") == "q'q\"q\\q");
  CHECK(process_escapes("\\x41\\x4a!") == "AJ!");
  CHECK(process_escapes("\\x4") == "\\x4");          // one digit: kept as written
  CHECK(process_escapes("\\xZZ") == "\\xZZ");
  CHECK(process_escapes("\\q and \\") == "\\q and \\");  // unknown pair and a lone trailing backslash
  CHECK(process_escapes("plain") == "plain");
}

TEST_CASE("the progress line shows the bar, counts, rate and time left, cut to one line") {
  const std::string half = tessel::Progress::format("embed", 50, 100, "texts", 10.0, "");
  CHECK_THAT(half, Catch::StartsWith("embed [============            ] 50/100 texts"));
  CHECK_THAT(half, Catch::Contains("5.00/s") && Catch::Contains("ETA 0:10"));
  const std::string done = tessel::Progress::format("quantize", 7, 7, "tensors", 2.0, "blk.0.attn_q.weight");
  CHECK_THAT(done, Catch::Contains("7/7 tensors") && Catch::Contains("0:02") && Catch::EndsWith("blk.0.attn_q.weight"));
  CHECK_THAT(done, !Catch::Contains("ETA"));
  const std::string start = tessel::Progress::format("x", 0, 0, "", 0.0, "");
  CHECK(start == "x [========================] 0/0");
  CHECK(tessel::Progress::format("x", 1, 2, "", 1.0, std::string(300, 'n')).size() == 100);
  tessel::Progress off("quiet", 3, "things", false);  // disabled: draws nothing, finishing is harmless
  off.update(3);
  off.finish();
  CHECK_FALSE(off.enabled());
}
