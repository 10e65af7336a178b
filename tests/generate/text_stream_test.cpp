// Streaming output: complete UTF-8 characters only, stop strings never printed.
#include <catch2/catch.hpp>
#include <sstream>

#include "generate.hpp"

using tessel::generate::TextStream;
using tessel::generate::utf8_complete_prefix;

TEST_CASE("utf8_complete_prefix stops before an unfinished character") {
  CHECK(utf8_complete_prefix("abc") == 3);
  CHECK(utf8_complete_prefix("a\xC3") == 1);
  CHECK(utf8_complete_prefix("a\xC3\xA9") == 3);
  CHECK(utf8_complete_prefix("\xE2\x82") == 0);           // 2 of 3 bytes of €
  CHECK(utf8_complete_prefix("\xE2\x82\xAC") == 3);
  CHECK(utf8_complete_prefix("x\xF0\x9F\x98") == 1);      // 3 of 4 bytes of 😀
  CHECK(utf8_complete_prefix("\xA9\xA9") == 2);           // stray continuation bytes pass through
  CHECK(utf8_complete_prefix("\xC3" "a") == 2);           // broken sequence passes through
}

TEST_CASE("a character split across tokens is printed once complete") {
  std::ostringstream out;
  TextStream s(out, {});
  CHECK_FALSE(s.push("caf"));
  CHECK(out.str() == "caf");
  s.push("\xC3");
  CHECK(out.str() == "caf");
  s.push("\xA9!");
  CHECK(out.str() == "caf\xC3\xA9!");
  s.push("\xF0\x9F");
  s.push("\x98");
  CHECK(out.str() == "caf\xC3\xA9!");
  s.push("\x80");
  CHECK(out.str() == "caf\xC3\xA9!\xF0\x9F\x98\x80");
}

TEST_CASE("finish prints an unfinished tail as is") {
  std::ostringstream out;
  TextStream s(out, {});
  s.push("ok\xE2\x82");
  CHECK(out.str() == "ok");
  s.finish();
  CHECK(out.str() == "ok\xE2\x82");
}

TEST_CASE("a stop string inside one token: text before it is printed, the rest is not") {
  std::ostringstream out;
  TextStream s(out, {"END"});
  CHECK_FALSE(s.push("hello "));
  CHECK(s.push("wENDx"));
  CHECK(s.stopped());
  s.finish();
  CHECK(out.str() == "hello w");
  CHECK(s.printed() == "hello w");
}

TEST_CASE("a stop string split across tokens is held back, then dropped") {
  std::ostringstream out;
  TextStream s(out, {"\nUser:"});
  s.push("Sure.");
  s.push("\nUs");
  CHECK(out.str() == "Sure.");   // "\nUs" could start the stop string
  CHECK(s.push("er: hi"));
  s.finish();
  CHECK(out.str() == "Sure.");
}

TEST_CASE("a held-back prefix that does not become a stop string is printed") {
  std::ostringstream out;
  TextStream s(out, {"STOP"});
  s.push("ST");
  CHECK(out.str().empty());
  s.push("ATE");
  CHECK(out.str() == "STATE");
  s.push("ST");
  s.finish();
  CHECK(out.str() == "STATEST");
}

TEST_CASE("the earliest of several stop strings wins") {
  std::ostringstream out;
  TextStream s(out, {"zz", "b"});
  CHECK(s.push("a b zz"));
  CHECK(out.str() == "a ");
}

TEST_CASE("a multi-byte stop string") {
  std::ostringstream out;
  TextStream s(out, {"\xC3\xA9t\xC3\xA9"});  // "été"
  s.push("un \xC3");
  s.push("\xA9t");
  CHECK(out.str() == "un ");
  CHECK(s.push("\xC3\xA9 chaud"));
  CHECK(out.str() == "un ");
}
