#pragma once
// Every failure a user can cause is a tessel::Error whose message names the
// file, key, tensor or value and what was expected. The host prints it on one
// line and exits non-zero; plugins never print or exit themselves.
#include <stdexcept>
#include <string>

namespace tessel {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace tessel
