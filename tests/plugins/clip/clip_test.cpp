// The clip architecture (mmproj-tinygemma3) and the image input adapter:
// decoding + preprocessing, the vision encoder op by op, the projected rows,
// and the mixed text + image prompt through gemma3-synth-128 (mtmd-gemma3).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <utility>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>  // a legal JPEG to start from

#include "image.hpp"
#include "mm_support.hpp"
#include "tessel/error.hpp"
#include "tessel/vision.hpp"

using namespace mm_test;
using tessel::test::shared_path;

namespace {

const char* kMmproj = "models/mmproj/mmproj-tinygemma3.gguf";

std::shared_ptr<tessel::VisionModel> projector() {
  static auto vm = tessel::inputs::load_projector(registry(), shared_path(kMmproj), 2);
  return vm;
}


// grad32.png's bytes and the offset of its first IDAT chunk (its length field).
std::pair<std::string, size_t> grad32_png_bytes() {
  std::ifstream in(shared_path("golden/mtmd-gemma3/images/grad32.png"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t idat = bytes.find("IDAT");
  REQUIRE(idat != std::string::npos);
  return {bytes, idat - 4};
}

// A folder of crafted image files, removed at the end of the test.
struct ScratchFiles {
  std::filesystem::path dir;
  explicit ScratchFiles(const std::string& tag)
      : dir(std::filesystem::temp_directory_path() / ("tessel-" + tag + "-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir);
  }
  ~ScratchFiles() { std::filesystem::remove_all(dir); }
  std::filesystem::path write(const std::string& name, const std::string& bytes) const {
    std::ofstream(dir / name, std::ios::binary) << bytes;
    return dir / name;
  }
};

// A legal JPEG of side x side pixels (stb_image_write's) to craft from.
std::string encode_jpeg(int side) {
  std::vector<uint8_t> rgb(size_t(side) * side * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = uint8_t(i * 7 % 251);
  std::string jpeg;
  auto append = [](void* to, void* data, int n) { static_cast<std::string*>(to)->append(static_cast<char*>(data), size_t(n)); };
  REQUIRE(stbi_write_jpg_to_func(append, &jpeg, side, side, 3, rgb.data(), 90));
  return jpeg;
}

}  // namespace

TEST_CASE("clip: mmproj-tinygemma3 hyperparameters") {
  const auto& v = projector()->vision();
  CHECK(v.projector == "gemma3");
  CHECK(v.image_size == 32);
  CHECK(v.patch_size == 2);
  CHECK(v.n_embd == 128);
  CHECK(v.n_merge == 1);
  CHECK(v.n_embd_out == 128);
  CHECK(v.n_output_rows() == 256);
  CHECK(projector()->decode_non_causal());
}

TEST_CASE("image: decoding and letterbox preprocessing match llama.cpp's pixels") {
  for (const char* c : {"grad32", "stripes48x40"}) {
    INFO(c);
    const auto img = tessel::inputs::load_image(
        shared_path(std::string("golden/mtmd-gemma3/images/") + c + ".png"));
    const auto bitmap = floats(std::string("mtmd-gemma3/") + c + ".bitmap_rgb.npy");
    REQUIRE(bitmap.size() == img.data.size());
    for (size_t i = 0; i < bitmap.size(); ++i) REQUIRE(float(img.data[i]) == bitmap[i]);
    const auto px = tessel::inputs::preprocess_letterbox(img, projector()->vision());
    const auto ref = floats(std::string("mtmd-gemma3/") + c + ".pixels.npy");
    REQUIRE(px.size() == ref.size());
    CHECK(tessel::test::max_abs_diff(px.data(), ref.data(), px.size()) <= 1e-6f);
  }
}

// stb_image's PGM/PPM header reader overflows an int on a long number
// (undefined behaviour; image fuzz target, #18): load_image refuses the file
// first, naming it, and a header that fits still decodes.
TEST_CASE("image: a PPM header number beyond 32 bits is refused before stb_image reads it") {
  const ScratchFiles files("ppm");
  auto write = [&](const std::string& name, const std::string& bytes) { return files.write(name, bytes); };
  const std::string pixels(6, '\x40');
  for (const char* header : {"P6\n12512012250 1\n255\n", "P6 2 # comment\n 99999999999 255\n",
                             "P5 1 1 4294967296\n"}) {
    INFO(header);
    const auto bad = write("bad.ppm", header + pixels);
    REQUIRE_THROWS_WITH(tessel::inputs::load_image(bad),
                        Catch::Contains("bad.ppm") && Catch::Contains("more digits than fit in 32 bits"));
  }
  // 16-bit grey: stb_image 2.27 overflows its buffer converting it to RGB.
  REQUIRE_THROWS_WITH(tessel::inputs::load_image(write("grey16.pgm", "P5 2 1 65535\n" + std::string(4, '\x40'))),
                      Catch::Contains("grey16.pgm") && Catch::Contains("16-bit greyscale PGM"));
  const auto img = tessel::inputs::load_image(write("good.ppm", "P6\n# c\n2 1\n255\n" + pixels));
  CHECK(img.nx == 2);
  CHECK(img.ny == 1);
  CHECK(img.data == std::vector<uint8_t>(6, 0x40));
}

// stb_image reports a top-down BMP's height as negative: "16,000,000 x -8"
// (128 megapixels, decoded from a 54-byte file since stb reads zeros past the
// end) slipped under the 64-megapixel limit (image fuzz campaign, #18).
TEST_CASE("image: a top-down BMP counts its height's magnitude against the pixel limit") {
  const ScratchFiles files("bmp");
  auto bmp = [&](const std::string& name, int32_t w, int32_t h) {
    std::string b = "BM";
    auto u32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) b += char((v >> (8 * i)) & 0xff); };
    auto u16 = [&](uint16_t v) { b += char(v & 0xff), b += char(v >> 8); };
    const uint32_t row = (uint32_t(w) * 3 + 3) / 4 * 4;
    const uint32_t pixels = w <= 4 ? row * uint32_t(h < 0 ? -h : h) : 0;  // big ones: header only
    u32(54 + pixels), u32(0), u32(54);                                    // file header
    u32(40), u32(uint32_t(w)), u32(uint32_t(h)), u16(1), u16(24), u32(0), u32(pixels), u32(2835), u32(2835),
        u32(0), u32(0);
    b += std::string(pixels, '\x40');
    return files.write(name, b);
  };
  int nx = 0, ny = 0;
  REQUIRE(tessel::inputs::probe_image(bmp("huge.bmp", 16000000, -8), &nx, &ny));
  CHECK(nx == 16000000);
  CHECK(ny == 8);
  REQUIRE_THROWS_WITH(tessel::inputs::load_image(files.dir / "huge.bmp"),
                      Catch::Contains("huge.bmp") && Catch::Contains("16000000 x 8 pixels, more than the 67108864"));
  const auto img = tessel::inputs::load_image(bmp("small.bmp", 2, -3));  // a legal top-down BMP still decodes
  CHECK(img.nx == 2);
  CHECK(img.ny == 3);
  CHECK(img.data == std::vector<uint8_t>(18, 0x40));
}

// stb_image sizes its IDAT buffer from the chunk's declared length before
// reading: a PNG declaring a 1 GiB IDAT made it allocate 2 GiB (image fuzz
// target in CI, #18). A chunk that runs past the file's end is refused first.
TEST_CASE("image: a PNG chunk longer than the file is refused before stb_image reads it") {
  auto [bytes, chunk] = grad32_png_bytes();
  bytes.replace(chunk, 4, std::string("\x40\0\0\0", 4));  // 1 GiB
  const ScratchFiles files("png-big");
  REQUIRE_THROWS_WITH(tessel::inputs::load_image(files.write("big-idat.png", bytes)),
                      Catch::Contains("big-idat.png: PNG chunk at byte") && Catch::Contains("declares 1073741824 bytes"));
}

// An empty IDAT chunk is legal PNG; stb_image meets it with memcpy(NULL, p,
// 0), which the sanitizer builds let pass for stb alone (stb_image_impl.cpp;
// image fuzz campaign, #18). Under ASan + UBSan this test fails without that.
TEST_CASE("image: a PNG whose first IDAT chunk is empty decodes like the original") {
  const auto png = shared_path("golden/mtmd-gemma3/images/grad32.png");
  auto [bytes, chunk] = grad32_png_bytes();
  bytes.insert(chunk, std::string("\0\0\0\0IDAT\x35\xaf\x06\x1e", 12));  // length 0, type, CRC
  const ScratchFiles files("png");
  const auto want = tessel::inputs::load_image(png);
  const auto got = tessel::inputs::load_image(files.write("empty-idat.png", bytes));
  CHECK(got.nx == want.nx);
  CHECK(got.ny == want.ny);
  CHECK(got.data == want.data);
}

// stb_image 2.27 trusts a JPEG Huffman table's 16 code counts; more than 256
// in all overran the table inside its decoder (image fuzz campaign, #18). The
// JPEG here is stb_image_write's, so a legal one is at hand: bytes that only
// look like such a table inside an APP1 payload must not be refused.
TEST_CASE("image: a JPEG Huffman table with more than 256 codes is refused before stb_image builds it") {
  const std::string jpeg = encode_jpeg(16);
  const size_t dht = jpeg.find("\xff\xc4");
  REQUIRE(dht != std::string::npos);
  const ScratchFiles files("jpeg");
  auto write = [&](const std::string& name, const std::string& bytes) { return files.write(name, bytes); };
  const auto want = tessel::inputs::load_image(write("plain.jpg", jpeg));
  CHECK(want.nx == 16);

  const std::string fake_dht = "\xff\xc4\x00\x40\x00" + std::string(16, '\x40');
  std::string app1 = "Exif" + std::string(2, '\0') + fake_dht;
  app1 = "\xff\xe1" + std::string(1, char((app1.size() + 2) >> 8)) + char((app1.size() + 2) & 0xff) + app1;
  std::string with_app1 = jpeg;
  with_app1.insert(2, app1);
  const auto got = tessel::inputs::load_image(write("app1.jpg", with_app1));
  CHECK(got.data == want.data);

  std::string bad = jpeg;
  bad.replace(dht + 5, 16, std::string(16, '\x20'));  // the first table: 16 x 32 = 512 codes
  REQUIRE_THROWS_WITH(tessel::inputs::load_image(write("bad.jpg", bad)),
                      Catch::Contains("bad.jpg: JPEG Huffman table at byte " + std::to_string(dht)) &&
                          Catch::Contains("lists 512 codes; a table holds at most 256"));
}

// stb_image takes any number of 0xFF fill bytes before a JPEG's SOI. Read
// from a FILE*, its format probes rewound only within their first 128-byte
// buffer: when the file ended inside the buffer they had reached, the JPEG
// decoder read that buffer's stale tail. The image fuzz campaign's file
// (291 fill bytes, then a DHT listing 13 codes, then EOF) so had 0xFF bytes
// for code counts and overran stb's Huffman table (UBSan in the sanitizer
// suite, #18). load_image decodes from memory, where every probe rewinds.
TEST_CASE("image: a JPEG after 0xFF fill bytes decodes from the bytes in the file") {
  const std::string jpeg = encode_jpeg(8);
  const ScratchFiles files("jpeg-fill");
  auto write = [&](const std::string& name, const std::string& bytes) { return files.write(name, bytes); };
  const auto want = tessel::inputs::load_image(write("plain.jpg", jpeg));
  const auto got = tessel::inputs::load_image(write("fill.jpg", std::string(300, '\xff') + jpeg));
  CHECK(got.nx == want.nx);
  CHECK(got.ny == want.ny);
  CHECK(got.data == want.data);

  const std::string found = std::string(291, '\xff') + "\xd8\xff\xc4\x7f" + std::string(3, '\0') + "\x0d";
  REQUIRE_THROWS_WITH(tessel::inputs::load_image(write("found.jpg", found)),
                      Catch::Contains("found.jpg: cannot read the image"));
  REQUIRE_THROWS_WITH(tessel::inputs::load_image(files.dir / "missing.jpg"),
                      Catch::Contains("missing.jpg: no such file; expected an image file"));
  REQUIRE_THROWS_WITH(tessel::inputs::load_image(files.dir), Catch::Contains(": not a regular file; expected an image file"));
}

TEST_CASE("clip: the vision encoder op by op (grad32_vision_layers)") {
  const auto px = floats("mtmd-gemma3/grad32.pixels.npy");
  Collect sink;
  const auto rows = projector()->encode(px, 32, 32, &sink);
  const std::map<std::string, std::string> pairs = {
      {"patch_bias", "patch_bias"}, {"pos_embed", "pos_embed"},   {"kqv_out-0", "kqv_out-0"},
      {"attn_out-0", "attn_out-0"}, {"ffn_out-0", "ffn_out-0"},   {"layer_out-0", "layer_out-0"},
      {"layer_out-1", "layer_out-1"}, {"layer_out-2", "layer_out-2"},
      {"layer_out-3", "layer_out-3"}, {"norm_w", "norm_w"},       {"norm_b", "norm_b"},
      {"image_embd", "node_159"}};
  for (const auto& [ours, file] : pairs) {
    INFO(ours);
    REQUIRE(sink.t.count(ours));
    const auto ref = floats("mtmd-gemma3/grad32_vision_layers/" + file + ".npy");
    check_rows(sink.t[ours], ref, 128, 0.9999);
  }
}

TEST_CASE("image: projected rows match image_embd (cosine >= 0.9999 per row)") {
  for (const char* c : {"grad32", "stripes48x40"}) {
    INFO(c);
    size_t n = 0;
    const auto rows = tessel::inputs::project_image(
        *projector(), shared_path(std::string("golden/mtmd-gemma3/images/") + c + ".png"), &n);
    CHECK(n == 256);
    check_rows(rows, floats(std::string("mtmd-gemma3/") + c + ".image_embd.npy"), 128, 0.9999);
  }
}

TEST_CASE("mixed prompt: text + image chunks, positions and logits as mtmd (grad32)") {
  Loaded& l = load("golden/models/gemma3-synth-128.gguf");
  const auto meta = read_json(shared_path("golden/mtmd-gemma3/grad32.json"));
  const auto segs = tessel::split_media_prompt(
      meta["prompt"].get<std::string>(), {shared_path("golden/mtmd-gemma3/images/grad32.png")},
      shared_path(kMmproj));
  const auto chunks = tessel::assemble_prompt(registry(), segs, adapter_context(l));
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[0].tokens == meta["chunks"][0]["token_ids"].get<std::vector<tessel::TokenId>>());
  CHECK(chunks[1].n_rows == 256);
  CHECK_FALSE(chunks[1].causal);
  CHECK(chunks[2].tokens == meta["chunks"][2]["token_ids"].get<std::vector<tessel::TokenId>>());
  CHECK(tessel::prompt_rows(chunks) == 312);

  const size_t n_vocab = size_t(l.model->hparams().n_vocab);
  tessel::PromptDecodeOptions o;
  o.all_logits = true;
  const auto all = tessel::decode_prompt(*l.model, *l.ctx, chunks, o);
  CHECK(all.n_past == 312);
  REQUIRE(all.positions.size() == 312);
  CHECK(all.positions[300] == 300);
  const auto ref_all = floats("mtmd-gemma3/grad32.all_logits.npy");
  check_rows(all.logits, ref_all, n_vocab, 0.9999);
  check_top1(all.logits, ref_all, n_vocab);

  l.ctx->clear();
  const auto last = tessel::decode_prompt(*l.model, *l.ctx, chunks, {});
  const auto ref_last = floats("mtmd-gemma3/grad32.last_logits.npy");
  check_rows(last.logits, ref_last, n_vocab, 0.9999);
  CHECK(tessel::test::max_abs_diff(last.logits.data(), ref_last.data(), n_vocab) <= 0.03f);
}

TEST_CASE("image-embed end to end; a bad image is a one-line error naming the file") {
  const auto dir = tessel::test::temp_dir();
  auto r = tessel::test::run_tessel({"image-embed", "--mmproj", shared_path(kMmproj).string(),
                                     "--image",
                                     shared_path("golden/mtmd-gemma3/images/stripes48x40.png").string(),
                                     "-o", (dir / "rows.npy").string()});
  REQUIRE(r.exit_code == 0);
  const auto rows = tessel::read_npy(dir / "rows.npy");
  CHECK(rows.shape == std::vector<int64_t>{256, 128});
  check_rows(rows.as_floats(), floats("mtmd-gemma3/stripes48x40.image_embd.npy"), 128, 0.9999);

  tessel::test::write_text(dir / "bad.png", "not an image at all");
  r = tessel::test::run_tessel({"image-embed", "--mmproj", shared_path(kMmproj).string(),
                                "--image", (dir / "bad.png").string(), "-o",
                                (dir / "x.npy").string()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("bad.png"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK_FALSE(std::filesystem::exists(dir / "x.npy"));
}

TEST_CASE("tessel logits --mmproj --image and --embd end to end") {
  const auto dir = tessel::test::temp_dir();
  auto r = tessel::test::run_tessel(
      {"logits", "-m", shared_path("golden/models/gemma3-synth-128.gguf").string(), "--mmproj",
       shared_path(kMmproj).string(), "--image",
       shared_path("golden/mtmd-gemma3/images/grad32.png").string(), "-p",
       "Here is a picture: <__media__> What colors do you see?", "-o", (dir / "l.npy").string()});
  REQUIRE(r.exit_code == 0);
  check_rows(tessel::read_npy(dir / "l.npy").as_floats(), floats("mtmd-gemma3/grad32.all_logits.npy"),
             512, 0.9999);
  r = tessel::test::run_tessel(
      {"logits", "-m", shared_path("models/stories260K.gguf").string(), "--embd",
       shared_path("golden/stories260K/embd-input/once.embd_input.npy").string(), "-o",
       (dir / "e.npy").string()});
  REQUIRE(r.exit_code == 0);
  check_rows(tessel::read_npy(dir / "e.npy").as_floats(),
             floats("stories260K/embd-input/once.embd_logits.npy"), 512, 0.99999);
}
