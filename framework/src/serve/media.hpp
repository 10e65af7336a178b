#pragma once
// Bytes that travel inside JSON: base64 (embeddings' encoding_format, images'
// data URLs), and image bytes handed to the image input adapter, which reads
// files.
#include <filesystem>
#include <string>
#include <string_view>

namespace tessel::serve {

std::string base64_encode(const void* data, size_t n);
// Standard alphabet, '=' padding optional, whitespace ignored; throws
// ApiError 400 naming `field` on any other character.
std::string base64_decode(std::string_view text, const std::string& field);

// The bytes of a `data:[<type>][;base64],<data>` URL (llama-server's form of
// an uploaded image). Other URLs (http...) are refused: this server never
// downloads anything. Throws ApiError 400 naming `field`.
std::string data_url_bytes(const std::string& url, const std::string& field);

// A private temporary file holding `bytes`, deleted with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& bytes);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace tessel::serve
