// Image decoding (stb_image) and llama.cpp's clip preprocessing for Gemma 3
// (checked against the golden pixels.npy of a 48x40 image: bit-exact).
#include <stb/stb_image.h>  // implemented in stb_image_impl.cpp

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "image.hpp"
#include "tessel/output_file.hpp"
#include "tessel/error.hpp"

namespace tessel::inputs {
namespace {

// One axis of Pillow's BILINEAR resampling (a triangle filter widened by the
// scale when shrinking, so it antialiases), with its 22-bit fixed-point
// weights; llama.cpp's clip preprocessing resizes this way.
struct Taps {
  std::vector<int> first;        // first source pixel of each output pixel
  std::vector<int> count;        // how many source pixels
  std::vector<int32_t> weight;   // [out][ksize] fixed point
  int ksize = 0;
};
constexpr int kPrecisionBits = 32 - 8 - 2;

Taps taps(int in, int out) {
  Taps t;
  const double scale = double(in) / double(out);
  const double fs = std::max(scale, 1.0), support = 1.0 * fs;
  t.ksize = int(std::ceil(support)) * 2 + 1;
  t.first.resize(size_t(out));
  t.count.resize(size_t(out));
  t.weight.assign(size_t(out) * size_t(t.ksize), 0);
  std::vector<double> w(size_t(t.ksize));
  for (int o = 0; o < out; ++o) {
    const double center = (o + 0.5) * scale;
    const int lo = std::max(int(center - support + 0.5), 0);
    const int hi = std::min(int(center + support + 0.5), in);
    double sum = 0.0;
    for (int x = 0; x < hi - lo; ++x) {
      const double d = std::abs((x + lo - center + 0.5) / fs);
      w[size_t(x)] = d < 1.0 ? 1.0 - d : 0.0;
      sum += w[size_t(x)];
    }
    for (int x = 0; x < hi - lo; ++x) {
      const double v = sum != 0.0 ? w[size_t(x)] / sum : 0.0;
      t.weight[size_t(o) * t.ksize + x] = int32_t(v < 0 ? v * (1 << kPrecisionBits) - 0.5
                                                         : v * (1 << kPrecisionBits) + 0.5);
    }
    t.first[size_t(o)] = lo;
    t.count[size_t(o)] = hi - lo;
  }
  return t;
}

uint8_t clip8(int32_t v) { return uint8_t(std::clamp(v >> kPrecisionBits, 0, 255)); }

// Horizontal pass then vertical pass, each rounding to u8 (as Pillow does).
RgbImage resize_bilinear(const RgbImage& src, int tw, int th) {
  RgbImage cur = src;
  if (tw != src.nx) {
    const Taps t = taps(src.nx, tw);
    RgbImage h;
    h.nx = tw, h.ny = cur.ny;
    h.data.resize(size_t(tw) * h.ny * 3);
    for (int y = 0; y < cur.ny; ++y)
      for (int x = 0; x < tw; ++x)
        for (int c = 0; c < 3; ++c) {
          int32_t ss = 1 << (kPrecisionBits - 1);
          for (int i = 0; i < t.count[size_t(x)]; ++i)
            ss += int32_t(cur.data[(size_t(y) * cur.nx + t.first[size_t(x)] + i) * 3 + c]) *
                  t.weight[size_t(x) * t.ksize + i];
          h.data[(size_t(y) * tw + x) * 3 + c] = clip8(ss);
        }
    cur = std::move(h);
  }
  if (th != src.ny) {
    const Taps t = taps(src.ny, th);
    RgbImage v;
    v.nx = cur.nx, v.ny = th;
    v.data.resize(size_t(cur.nx) * th * 3);
    for (int y = 0; y < th; ++y)
      for (int x = 0; x < cur.nx; ++x)
        for (int c = 0; c < 3; ++c) {
          int32_t ss = 1 << (kPrecisionBits - 1);
          for (int i = 0; i < t.count[size_t(y)]; ++i)
            ss += int32_t(cur.data[(size_t(t.first[size_t(y)] + i) * cur.nx + x) * 3 + c]) *
                  t.weight[size_t(y) * t.ksize + i];
          v.data[(size_t(y) * cur.nx + x) * 3 + c] = clip8(ss);
        }
    cur = std::move(v);
  }
  return cur;
}

}  // namespace

// 64 megapixels: far beyond any projector's input size, small enough to decode.
constexpr int64_t kMaxImagePixels = int64_t(1) << 26;

namespace {

// Image files are read into memory whole and decoded from there. stb_image
// 2.27's FILE* reader rewinds between format probes only within its first
// 128-byte buffer: once a probe has read past it (a JPEG's SOI after 300
// bytes of 0xFF fill), the next decoder sees stale buffer bytes, so no check
// made on the file could predict what stb read (image fuzz campaign, #18: a
// "JPEG" whose DHT counts were 0x0D then stale 0xFF fill overran stb's
// Huffman table). From memory every probe rewinds to byte 0.
constexpr uint64_t kMaxImageFileBytes = uint64_t(512) << 20;

std::string read_image_file(const std::filesystem::path& file) {
  std::error_code ec;
  // A FIFO or device would block or never end: only regular files are read.
  if (!std::filesystem::is_regular_file(file, ec))
    throw Error(file.string() + ": " + (std::filesystem::exists(file, ec) ? "not a regular file" : "no such file") +
                "; expected an image file (PNG, JPEG, BMP, GIF, TGA, PSD, HDR or PNM)");
  const uint64_t size = std::filesystem::file_size(file, ec);
  if (ec) throw Error(file.string() + ": cannot read the image (" + ec.message() + ")");
  if (size > kMaxImageFileBytes)
    throw Error(file.string() + ": image file is " + std::to_string(size) + " bytes, more than the " +
                std::to_string(kMaxImageFileBytes >> 20) + " MiB this reader accepts");
  std::ifstream in(file, std::ios::binary);
  std::string bytes(size, '\0');
  if (!in.read(bytes.data(), std::streamsize(size)))
    throw Error(file.string() + ": cannot read the image (" + std::strerror(errno) + ")");
  return bytes;
}

const stbi_uc* as_stbi(const std::string& bytes) { return reinterpret_cast<const stbi_uc*>(bytes.data()); }

// stb_image 2.27 (Debian 12) reads a PGM/PPM header's width, height and
// maximum value into an int with value * 10 + digit and no overflow check:
// "P6 9999999999 1 255" is undefined behaviour inside stbi_info (UBSan, image
// fuzz target, #18). This walks the header exactly as stbi__pnm_info does
// (get8 gives 0 past the end; a digit is only taken while bytes remain) and
// refuses a number that would not fit.
void check_pnm_header(const std::string& name, const std::string& bytes) {
  if (bytes.size() < 2 || bytes[0] != 'P' || (bytes[1] != '5' && bytes[1] != '6')) return;
  const char kind = bytes[1];
  size_t pos = 2;
  auto at_eof = [&] { return pos >= bytes.size(); };
  auto get8 = [&] { return pos < bytes.size() ? bytes[pos++] : '\0'; };
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
  char c = get8();
  for (const char* what : {"width", "height", "maximum value"}) {
    for (;;) {  // whitespace and # comments
      while (!at_eof() && is_space(c)) c = get8();
      if (at_eof() || c != '#') break;
      while (!at_eof() && c != '\n' && c != '\r') c = get8();
    }
    int64_t value = 0;
    while (!at_eof() && c >= '0' && c <= '9') {
      value = value * 10 + (c - '0');
      if (value > INT32_MAX)
        throw Error(name + ": the PGM/PPM header's " + what + " has more digits than fit in 32 bits");
      c = get8();
    }
    // stb_image 2.27 turns 16-bit grey into RGB with its 8-bit converter,
    // then reads twice the buffer it allocated (ASan: heap-buffer-overflow
    // in stbi__convert_16_to_8; image fuzz campaign replay, #18).
    if (kind == '5' && std::string(what) == "maximum value" && value > 255)
      throw Error(name + ": 16-bit greyscale PGM (maximum value " + std::to_string(value) +
                  ") is not supported; expected a maximum value of at most 255");
  }
}

// stb_image 2.27 grows its IDAT buffer to a chunk's declared length before
// reading it: a 100-byte PNG declaring a 1 GiB chunk made it allocate 2 GiB
// (image fuzz target, #18). No chunk of a real file runs past its end.
void check_png_chunks(const std::string& name, const std::string& bytes) {
  if (bytes.compare(0, 8, "\x89PNG\r\n\x1a\n", 8) != 0) return;
  const uint64_t size = bytes.size();
  for (uint64_t pos = 8; pos + 8 <= size;) {
    const auto* h = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
    const uint64_t length = uint64_t(h[0]) << 24 | uint64_t(h[1]) << 16 | uint64_t(h[2]) << 8 | h[3];
    if (length > size - pos - 8)
      throw Error(name + ": PNG chunk at byte " + std::to_string(pos) + " declares " + std::to_string(length) +
                  " bytes, more than the " + std::to_string(size - pos - 8) + " left in the file");
    if (std::memcmp(h + 4, "IEND", 4) == 0) return;
    pos += 12 + length;
  }
}

// stb_image 2.27 builds a JPEG Huffman table without checking that its 16
// code counts add up to at most 256: the symbols then overrun the table's
// arrays inside the decoder's heap block (UBSan, image fuzz campaign, #18;
// stb 2.28 added the check). This follows the markers the way stb reads them
// (segment lengths, 0xFF fill, scan data up to the next marker that is not a
// stuffed byte or a restart) and reads every DHT segment as stb would, so
// bytes that merely look like a DHT inside an APP payload are skipped.
void check_jpeg_huffman_tables(const std::string& name, const std::string& bytes) {
  size_t pos = 0;
  auto get8 = [&]() -> unsigned { return pos < bytes.size() ? uint8_t(bytes[pos++]) : 0u; };
  auto get16 = [&] { const unsigned hi = get8(); return hi << 8 | get8(); };
  if (get8() != 0xff) return;  // every JPEG starts with a marker
  unsigned m = 0xff;
  while (m == 0xff && pos < bytes.size()) m = get8();
  if (m != 0xd8) return;  // not a JPEG to stb_image
  while (pos < bytes.size()) {
    if (get8() != 0xff) continue;  // padding, or scan data
    const size_t at = pos - 1;
    m = get8();
    while (m == 0xff && pos < bytes.size()) m = get8();
    if (m == 0x00 || (m >= 0xd0 && m <= 0xd8)) continue;  // stuffed byte, restart, stray SOI
    if (m == 0xd9) return;                                 // end of image
    if (m == 0xdd || m == 0xdc) {                          // DRI, DNL: fixed size
      pos += 4;
      continue;
    }
    const bool known = m == 0xc4 || m == 0xdb || m == 0xda || (m >= 0xc0 && m <= 0xc2) ||  // DHT DQT SOS SOF
                       (m >= 0xe0 && m <= 0xef) || m == 0xfe;                            // APPn COM
    if (!known) return;  // stb_image stops at an unknown marker
    const size_t start = pos;
    const unsigned length = get16();
    if (length < 2) return;  // stb_image refuses it
    if (m == 0xc4) {
      for (long left = long(length) - 2; left > 0;) {
        const unsigned q = get8();
        if (q >> 4 > 1 || (q & 15) > 3) return;  // stb_image refuses the table
        unsigned codes = 0;
        for (int i = 0; i < 16; ++i) codes += get8();
        if (codes > 256)
          throw Error(name + ": JPEG Huffman table at byte " + std::to_string(at) + " lists " +
                      std::to_string(codes) + " codes; a table holds at most 256");
        pos += codes;
        left -= 17 + long(codes);
      }
    }
    pos = start + length;  // stb reads a scan's data from the end of its header
  }
}

// The header checks above, then stb_image's size probe on the same bytes.
bool probe_bytes(const std::string& name, const std::string& bytes, int* nx, int* ny) {
  check_pnm_header(name, bytes);
  check_png_chunks(name, bytes);
  check_jpeg_huffman_tables(name, bytes);
  int nc = 0;
  if (!stbi_info_from_memory(as_stbi(bytes), int(bytes.size()), nx, ny, &nc)) return false;
  // stb_image 2.27 reports a top-down BMP's height as negative (its loader
  // takes the absolute value later), so "width x -height" passed the pixel
  // limit below and a 54-byte BMP could make stbi_load fill gigabytes
  // (image fuzz campaign, #18): sizes are magnitudes here.
  auto magnitude = [](int v) { return int(std::min<int64_t>(std::llabs(int64_t(v)), INT32_MAX)); };
  *nx = magnitude(*nx), *ny = magnitude(*ny);
  return true;
}

}  // namespace

bool probe_image(const std::filesystem::path& file, int* nx, int* ny) {
  return probe_bytes(file.string(), read_image_file(file), nx, ny);
}

RgbImage load_image(const std::filesystem::path& file) {
  int nx = 0, ny = 0, nc = 0;
  note_input(file);
  const std::string bytes = read_image_file(file);
  // A few header bytes can claim a 100,000 x 100,000 image: check the size
  // before stb_image allocates it.
  if (probe_bytes(file.string(), bytes, &nx, &ny) && int64_t(nx) * int64_t(ny) > kMaxImagePixels)
    throw Error(file.string() + ": image is " + std::to_string(nx) + " x " + std::to_string(ny) +
                " pixels, more than the " + std::to_string(kMaxImagePixels) + " this reader accepts");
  unsigned char* p = stbi_load_from_memory(as_stbi(bytes), int(bytes.size()), &nx, &ny, &nc, 3);
  if (!p)
    throw Error(file.string() + ": cannot read the image (" +
                std::string(stbi_failure_reason() ? stbi_failure_reason() : "unknown error") +
                "); expected PNG, JPEG, BMP, GIF, TGA, PSD, HDR or PNM");
  RgbImage img;
  img.nx = nx, img.ny = ny;
  img.data.assign(p, p + size_t(nx) * size_t(ny) * 3);
  stbi_image_free(p);
  return img;
}

std::vector<float> preprocess_letterbox(const RgbImage& img, const VisionHParams& v) {
  const int S = int(v.image_size);
  if (img.nx <= 0 || img.ny <= 0) throw Error("preprocess: empty image");
  RgbImage sq;
  if (img.nx == S && img.ny == S) {
    sq = img;
  } else {
    // Aspect-preserving fit (sizes rounded up, clamped), centred on black.
    const float scale = std::min(float(S) / float(img.nx), float(S) / float(img.ny));
    const int w = std::min(int(std::ceil(float(img.nx) * scale)), S);
    const int h = std::min(int(std::ceil(float(img.ny) * scale)), S);
    const RgbImage r = resize_bilinear(img, w, h);
    sq.nx = sq.ny = S;
    sq.data.assign(size_t(S) * S * 3, 0);
    const int ox = (S - r.nx) / 2, oy = (S - r.ny) / 2;
    for (int y = 0; y < r.ny; ++y)
      for (int x = 0; x < r.nx; ++x) {
        const int dx = x + ox, dy = y + oy;
        if (dx < 0 || dy < 0 || dx >= S || dy >= S) continue;
        std::memcpy(&sq.data[(size_t(dy) * S + dx) * 3], &r.data[(size_t(y) * r.nx + x) * 3], 3);
      }
  }
  std::vector<float> out(size_t(3) * S * S);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < S * S; ++i)
      out[size_t(c) * S * S + i] =
          (float(sq.data[size_t(i) * 3 + c]) / 255.0f - v.image_mean[c]) / v.image_std[c];
  return out;
}

}  // namespace tessel::inputs
