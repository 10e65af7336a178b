// Streaming text output for generation: a token may end in the middle of a
// UTF-8 character (byte-fallback tokens) or in the middle of a stop string, so
// bytes are held back until they can be printed for sure.
#include <algorithm>

#include "generate.hpp"

namespace tessel::generate {

size_t utf8_complete_prefix(const std::string& s) {
  const size_t n = s.size();
  // Walk back over at most 3 continuation bytes to the lead byte of the last character.
  size_t j = n;
  int cont = 0;
  while (j > 0 && cont < 4 && (static_cast<unsigned char>(s[j - 1]) & 0xC0) == 0x80) {
    --j;
    ++cont;
  }
  if (j == 0 || cont >= 4) return n;  // no lead byte in reach: pass the bytes through
  const unsigned char lead = static_cast<unsigned char>(s[j - 1]);
  size_t need = 1;
  if ((lead & 0xE0) == 0xC0) need = 2;
  else if ((lead & 0xF0) == 0xE0) need = 3;
  else if ((lead & 0xF8) == 0xF0) need = 4;
  else return n;  // ASCII or an invalid lead: nothing is waiting for more bytes
  const size_t have = size_t(cont) + 1;
  return have < need ? j - 1 : n;
}

TextStream::TextStream(std::ostream& out, std::vector<std::string> stops) : out_(out) {
  for (auto& s : stops)
    if (!s.empty()) stops_.push_back(std::move(s));
}

void TextStream::emit(const std::string& s) {
  if (s.empty()) return;
  out_ << s;
  out_.flush();
  printed_ += s;
}

bool TextStream::push(const std::string& piece) {
  if (stopped_) return true;
  partial_ += piece;
  const size_t complete = utf8_complete_prefix(partial_);
  held_.append(partial_, 0, complete);
  partial_.erase(0, complete);

  // The earliest stop string wins; print only what comes before it.
  size_t stop_at = std::string::npos;
  for (const auto& s : stops_) stop_at = std::min(stop_at, held_.find(s));
  if (stop_at != std::string::npos) {
    emit(held_.substr(0, stop_at));
    held_.clear();
    partial_.clear();
    stopped_ = true;
    return true;
  }
  // Keep the longest tail that a stop string could still start with.
  size_t keep = 0;
  for (const auto& s : stops_) {
    for (size_t len = std::min(s.size() - 1, held_.size()); len > keep; --len) {
      if (held_.compare(held_.size() - len, len, s, 0, len) == 0) {
        keep = len;
        break;
      }
    }
  }
  emit(held_.substr(0, held_.size() - keep));
  held_.erase(0, held_.size() - keep);
  return false;
}

void TextStream::finish() {
  if (stopped_) return;
  emit(held_ + partial_);
  held_.clear();
  partial_.clear();
}

}  // namespace tessel::generate
