// Pooling, llama.cpp's common_embd_normalize, and the output writers.
#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tessel/embedding.hpp"
#include "tessel/error.hpp"

using namespace tessel;
using namespace tessel::embed;

TEST_CASE("normalize follows common_embd_normalize for every mode") {
  const std::vector<float> v = {3.0f, -4.0f, 0.0f, 12.0f};
  std::vector<float> out(4);
  normalize(v.data(), out.data(), 4, -1);
  CHECK(out == v);
  normalize(v.data(), out.data(), 4, 0);  // max-abs -> 32760
  CHECK(out[3] == Approx(32760.0f));
  CHECK(out[0] == Approx(3.0f * 32760.0f / 12.0f));
  normalize(v.data(), out.data(), 4, 1);  // taxicab: sum |x| = 19
  CHECK(out[1] == Approx(-4.0f / 19.0f));
  normalize(v.data(), out.data(), 4, 2);  // euclidean: 13
  CHECK(out[0] == Approx(3.0f / 13.0f));
  CHECK(out[3] == Approx(12.0f / 13.0f));
  normalize(v.data(), out.data(), 4, 3);  // p-norm
  const double p3 = std::cbrt(27.0 + 64.0 + 1728.0);
  CHECK(out[3] == Approx(12.0 / p3));
  const std::vector<float> zero(4, 0.0f);
  normalize(zero.data(), out.data(), 4, 2);
  CHECK(out == zero);
  CHECK_THROWS_AS(normalize(v.data(), out.data(), 4, -2), Error);
}

TEST_CASE("pooling mean, cls, last pick and average the right rows") {
  const std::vector<float> rows = {1, 2, 3, 4, 5, 6};  // 3 rows of 2
  std::vector<float> out(2);
  pool_rows(rows.data(), 3, 2, Pooling::mean, out.data());
  CHECK(out[0] == Approx(3.0f));
  CHECK(out[1] == Approx(4.0f));
  pool_rows(rows.data(), 3, 2, Pooling::cls, out.data());
  CHECK(out == std::vector<float>{1, 2});
  pool_rows(rows.data(), 3, 2, Pooling::last, out.data());
  CHECK(out == std::vector<float>{5, 6});
  CHECK_THROWS_AS(pool_rows(rows.data(), 3, 2, Pooling::none, out.data()), Error);
}

TEST_CASE("pooling names resolve, auto takes the model's") {
  HParams hp;
  hp.arch = "bert";
  hp.pooling = "cls";
  CHECK(resolve_pooling("auto", hp) == Pooling::cls);
  CHECK(resolve_pooling("mean", hp) == Pooling::mean);
  CHECK_THROWS_WITH(resolve_pooling("avg", hp), Catch::Contains("avg"));
  CHECK_THROWS_WITH(resolve_pooling("rank", hp), Catch::Contains("rank"));
  CHECK(std::string(pooling_name(Pooling::last)) == "last");
}

TEST_CASE("cosine similarity") {
  const std::vector<float> a = {1, 0}, b = {0, 2}, c = {3, 0};
  CHECK(cosine_similarity(a.data(), b.data(), 2) == Approx(0.0f));
  CHECK(cosine_similarity(a.data(), c.data(), 2) == Approx(1.0f));
}

TEST_CASE("json has llama-embedding's shape and one entry per row") {
  Result pooled{1, 3, {0.5f, -0.25f, 1.0f}};
  Result tokens{2, 3, {1, 2, 3, 4, 5, 6}};
  const std::string s = format_json({pooled, tokens}, 2);
  CHECK(s.rfind("{\n  \"object\": \"list\",\n  \"data\": [\n    {\n      \"object\": \"embedding\",\n"
                "      \"index\": 0,\n      \"embedding\": [0.5000000,-0.2500000,1.0000000]\n    },\n", 0) == 0);
  const auto j = nlohmann::json::parse(s);
  REQUIRE(j["data"].size() == 3);
  CHECK(j["data"][2]["index"] == 2);
  CHECK(j["data"][2]["embedding"][2].get<float>() == 6.0f);
  CHECK(format_json({Result{1, 2, {32760.0f, -12.4f}}}, 0).find("[32760,-12]") != std::string::npos);
}

TEST_CASE("jsonl: one object per text, token rows nested, text escaped") {
  Result pooled{1, 2, {0.5f, 1.0f}};
  Result tokens{2, 1, {1, 2}};
  const std::string s = format_jsonl({pooled, tokens}, {"a \"q\"\n", "b"});
  const auto nl = s.find('\n');
  const auto first = nlohmann::json::parse(s.substr(0, nl));
  CHECK(first["text"] == "a \"q\"\n");
  CHECK(first["embedding"] == nlohmann::json::array({0.5, 1.0}));
  const auto second = nlohmann::json::parse(s.substr(nl + 1));
  CHECK(second["embedding"] == nlohmann::json::array({nlohmann::json::array({1.0}), nlohmann::json::array({2.0})}));
  CHECK(format_txt({tokens}) == "1\n2\n");
}

