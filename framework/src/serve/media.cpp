#include "serve/media.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "serve/api.hpp"
#include "tessel/error.hpp"

namespace tessel::serve {
namespace {

const char* const kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;  // '-' and '_': the URL-safe alphabet
  if (c == '/' || c == '_') return 63;
  return -1;
}

}  // namespace

std::string base64_encode(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t v = uint32_t(p[i]) << 16 | (i + 1 < n ? uint32_t(p[i + 1]) << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += i + 1 < n ? kAlphabet[v >> 6 & 63] : '=';
    out += i + 2 < n ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::string base64_decode(std::string_view text, const std::string& field) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const int v = sextet(c);
    if (v < 0 || padding)
      throw ApiError(400, "'" + field + "' is not valid base64 (unexpected '" + std::string(1, c) + "' at offset " +
                              std::to_string(i) + ")");
    acc = acc << 6 | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char(acc >> bits & 0xff);
    }
  }
  return out;
}

std::string data_url_bytes(const std::string& url, const std::string& field) {
  if (url.rfind("data:", 0) != 0)
    throw ApiError(400, "'" + field + "' must be a base64 data URL (data:image/png;base64,...); this server does "
                        "not download images");
  const size_t comma = url.find(',');
  if (comma == std::string::npos) throw ApiError(400, "'" + field + "' is a data URL without a ',' before the data");
  const std::string header = url.substr(5, comma - 5);
  if (header.size() < 7 || header.compare(header.size() - 7, 7, ";base64") != 0)
    throw ApiError(400, "'" + field + "' must be base64-encoded (data:<type>;base64,...), got 'data:" + header + ",'");
  std::string bytes = base64_decode(std::string_view(url).substr(comma + 1), field);
  if (bytes.empty()) throw ApiError(400, "'" + field + "' holds no data");
  return bytes;
}

TempFile::TempFile(const std::string& bytes) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "tessel-serve-image-XXXXXX").string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw Error("can't create a temporary file for an image in " + tmpl + ": " + std::strerror(errno));
  path_ = tmpl;
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      std::filesystem::remove(path_);
      throw Error("can't write the temporary image file " + path_.string() + ": " + why);
    }
    done += size_t(n);
  }
  ::close(fd);
}

TempFile::~TempFile() {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

}  // namespace tessel::serve
