// Bad checkpoints end in one tessel::Error naming the file and the key or
// tensor: header length past EOF, bad JSON, unknown dtype, shape vs byte
// size, out-of-range and overlapping offsets, a missing shard, a config.json
// without a key the architecture needs, a tensor with no GGUF name.
#include <catch2/catch.hpp>

#include "checkpoint_writer.hpp"
#include "safetensors.hpp"
#include "support.hpp"
#include "tessel/error.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using st_test::Tensor;

namespace {

std::span<const std::byte> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string header_error(const std::string& image) {
  try {
    tessel::safetensors::parse_header(bytes_of(image), "x.safetensors");
  } catch (const tessel::Error& e) {
    const std::string m = e.what();
    CHECK(m.rfind("x.safetensors: ", 0) == 0);
    CHECK(m.find('\n') == std::string::npos);
    return m;
  }
  FAIL("no error");
  return {};
}

std::string with_header(const std::string& header, size_t data_bytes) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + std::string(data_bytes, '\0');
}

Tensor vec(const std::string& name, size_t n) {
  return st_test::f32_tensor(name, {int64_t(n)}, std::vector<float>(n, 1.0f));
}

// A minimal llama checkpoint: 1 layer, n_embd 8, 2 heads, vocab 4.
fs::path tiny_llama(json config = {}) {
  const fs::path dir = tessel::test::temp_dir() / "tiny";
  fs::create_directories(dir);
  json c = {{"architectures", {"LlamaForCausalLM"}}, {"hidden_size", 8}, {"num_hidden_layers", 1},
            {"intermediate_size", 16}, {"num_attention_heads", 2}, {"num_key_value_heads", 2},
            {"vocab_size", 4}, {"rms_norm_eps", 1e-5}, {"max_position_embeddings", 64}};
  for (const auto& [k, v] : config.items()) {
    if (v.is_null()) c.erase(k);
    else c[k] = v;
  }
  st_test::write_json(dir / "config.json", c);
  auto mat = [](const std::string& n, int64_t r, int64_t k) {
    std::vector<float> v(size_t(r * k));
    for (size_t i = 0; i < v.size(); ++i) v[i] = float(i);
    return st_test::f32_tensor(n, {r, k}, v);
  };
  st_test::write_safetensors(dir / "model.safetensors",
                             {mat("model.embed_tokens.weight", 4, 8), vec("model.norm.weight", 8),
                              vec("model.layers.0.input_layernorm.weight", 8),
                              mat("model.layers.0.self_attn.q_proj.weight", 8, 8),
                              mat("model.layers.0.self_attn.k_proj.weight", 8, 8),
                              mat("model.layers.0.self_attn.v_proj.weight", 8, 8),
                              mat("model.layers.0.self_attn.o_proj.weight", 8, 8),
                              vec("model.layers.0.post_attention_layernorm.weight", 8),
                              mat("model.layers.0.mlp.gate_proj.weight", 16, 8),
                              mat("model.layers.0.mlp.up_proj.weight", 16, 8),
                              mat("model.layers.0.mlp.down_proj.weight", 8, 16)});
  return dir;
}

std::string open_error(const fs::path& dir) {
  try {
    tessel::safetensors::open_checkpoint(dir);
  } catch (const tessel::Error& e) {
    const std::string m = e.what();
    CHECK(m.find('\n') == std::string::npos);
    return m;
  }
  FAIL("no error");
  return {};
}

}  // namespace

TEST_CASE("a well-formed header parses with offsets relative to the data section") {
  const std::vector<Tensor> ts = {vec("a", 3), st_test::f32_tensor("b", {2, 2}, {1, 2, 3, 4})};
  const std::string img = st_test::image(st_test::header_json(ts), ts);
  const auto h = tessel::safetensors::parse_header(bytes_of(img), "x.safetensors");
  REQUIRE(h.tensors.size() == 2);
  CHECK(h.tensors[0].name == "a");
  CHECK(h.tensors[1].shape == std::vector<int64_t>{2, 2});
  CHECK(h.tensors[1].begin == 12);
  CHECK(h.tensors[1].end == 28);
  CHECK(h.data_start + 28 == img.size());
  CHECK(h.metadata.at("format") == "pt");
}

TEST_CASE("header errors name the file, the tensor and what was expected") {
  CHECK_THAT(header_error("abc"), Catch::Contains("8-byte header length"));
  std::string big(8, '\0');
  big[0] = char(0xff);
  big[1] = char(0xff);
  CHECK_THAT(header_error(big + "{}"), Catch::Contains("header length 65535 runs past the end of the file"));
  CHECK_THAT(header_error(with_header("{not json", 0)), Catch::Contains("not valid JSON"));
  CHECK_THAT(header_error(with_header("[1]", 0)), Catch::Contains("not a JSON object"));
  CHECK_THAT(header_error(with_header(std::string(20, '[') + std::string(20, ']'), 0)), Catch::Contains("nests deeper"));
  CHECK_THAT(header_error(with_header(R"({"w":{"dtype":"Q9","shape":[1],"data_offsets":[0,1]}})", 1)),
             Catch::Contains("tensor 'w': unknown dtype 'Q9'"));
  CHECK_THAT(header_error(with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("tensor 'w': dtype F32 and shape [3] need 12 bytes but data_offsets span 8"));
  CHECK_THAT(header_error(with_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8)),
             Catch::Contains("tensor 'w': data_offsets end 16 is past the data section (8 bytes)"));
  CHECK_THAT(header_error(with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8)),
             Catch::Contains("end before they begin"));
  CHECK_THAT(header_error(with_header(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 8)),
             Catch::Contains("not a non-negative integer"));
  CHECK_THAT(header_error(with_header(
                 R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)),
             Catch::Contains("tensors 'a' [0, 8) and 'b' [4, 12) overlap"));
  CHECK_THAT(header_error(with_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 8)),
             Catch::Contains("is too large"));
  CHECK_THAT(header_error(with_header(R"({"w":{"dtype":"F32","shape":[1]}})", 8)), Catch::Contains("data_offsets"));
}

TEST_CASE("the tiny llama checkpoint opens as GGUF names with permuted q/k") {
  const auto f = tessel::safetensors::open_checkpoint(tiny_llama());
  CHECK(f->meta.get_string("general.architecture") == "llama");
  CHECK(f->meta.get_int("llama.embedding_length") == 8);
  CHECK(f->meta.get_int("llama.rope.dimension_count") == 4);
  const auto& q = f->get("blk.0.attn_q.weight");
  CHECK(q.ne[0] == 8);
  CHECK(q.ne[1] == 8);
  CHECK_FALSE(q.file_mapped);
  // Head 0 has rows 0..3 = [x0, x1 | y0, y1]; GGUF interleaves them: 0, 2, 1, 3.
  const float* rows = reinterpret_cast<const float*>(q.data.data());
  for (int r = 0; r < 8; ++r) {
    const int head = r / 4, i = (r % 4) / 2, j = r % 2;
    CHECK(rows[r * 8] == float((head * 4 + j * 2 + i) * 8));
  }
  const auto& v = f->get("blk.0.attn_v.weight");
  CHECK(v.file_mapped);  // untouched tensors are views of the mapping
  CHECK(f->find("model.embed_tokens.weight") == nullptr);
  CHECK(f->find("token_embd.weight") != nullptr);
}

TEST_CASE("checkpoint errors name the file and the key") {
  CHECK_THAT(open_error(tiny_llama({{"hidden_size", nullptr}})),
             Catch::Contains("config.json: missing key 'hidden_size' (needed for llama)"));
  CHECK_THAT(open_error(tiny_llama({{"num_attention_heads", "eight"}})),
             Catch::Contains("key 'num_attention_heads' is \"eight\"; expected an integer"));
  CHECK_THAT(open_error(tiny_llama({{"architectures", {"FooForCausalLM"}}})),
             Catch::Contains("architectures[0] 'FooForCausalLM' has no mapping"));
  CHECK_THAT(open_error(tiny_llama({{"num_attention_heads", 3}})),
             Catch::Contains("has 8 rows; expected a multiple of 2 x llama.attention.head_count (3)"));

  {  // a shard the index names is missing
    const fs::path dir = tiny_llama();
    st_test::write_json(dir / "model.safetensors.index.json",
                        {{"weight_map", {{"model.norm.weight", "model-00001-of-00002.safetensors"},
                                         {"lm_head.weight", "model-00002-of-00002.safetensors"}}}});
    CHECK_THAT(open_error(dir), Catch::Contains("model.safetensors.index.json: shard 'model-00001-of-00002.safetensors'"));
    CHECK_THAT(open_error(dir), Catch::Contains("is missing"));
  }
  {  // a tensor the mapping does not know
    const fs::path dir = tiny_llama();
    st_test::write_safetensors(dir / "model.safetensors", {vec("model.mystery.weight", 2)});
    CHECK_THAT(open_error(dir), Catch::Contains("tensor 'model.mystery.weight' has no GGUF name in the llama mapping"));
  }
  {  // a truncated shard
    const fs::path dir = tiny_llama();
    st_test::write_bytes(dir / "model.safetensors", std::string("\x10\0\0\0\0\0\0\0{}", 10));
    CHECK_THAT(open_error(dir), Catch::Contains("model.safetensors: header length 16 runs past the end of the file"));
  }
  {  // an integer dtype where a weight belongs
    const fs::path dir = tiny_llama();
    Tensor t{"model.norm.weight", "I32", {2}, std::vector<std::byte>(8)};
    st_test::write_safetensors(dir / "model.safetensors", {t});
    CHECK_THAT(open_error(dir), Catch::Contains("tensor 'model.norm.weight' has dtype I32; expected F32, F16 or BF16"));
  }
}

TEST_CASE("the checkpoint folder is picked by format auto, and a plain folder is refused by name") {
  const fs::path dir = tiny_llama();
  auto r = tessel::test::run_tessel({"inspect", "--tensors", dir.string()});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("blk.0.attn_q.weight"));
  CHECK_THAT(r.out, Catch::Contains("format      safetensors"));
  CHECK_THAT(r.out, Catch::Contains("file size   4.01 KiB"));  // the folder's files, not an error code
  const fs::path empty = tessel::test::temp_dir();
  r = tessel::test::run_tessel({"inspect", empty.string()});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("is a directory, and no format plugin recognises it"));
}
