#pragma once
#include <stdexcept>
#include <string>

namespace tessel::jinja {

// A render failure tied to the template construct it happened in.
struct PositionedError : std::runtime_error {
  size_t pos;
  std::string construct;
  PositionedError(const std::string& msg, size_t p, std::string what)
      : std::runtime_error(msg), pos(p), construct(std::move(what)) {}
};

}  // namespace tessel::jinja
