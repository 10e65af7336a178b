#pragma once
// Every failure a user can cause is a tessel::Error whose message names the
// file, key, tensor or value and what was expected. The host prints it on one
// line and exits non-zero; plugins never print or exit themselves.
#include <stdexcept>
#include <string>

namespace tessel {

// Control bytes (a NUL or newline inside a tensor name or key read from a
// file) would truncate or break the one-line message: they are shown as \xNN.
inline std::string escape_control_bytes(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    } else {
      out.push_back(char(c));
    }
  }
  return out;
}

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(escape_control_bytes(what)) {}
};

}  // namespace tessel
