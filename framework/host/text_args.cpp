// Command-line text: escapes, files and standard input (see text_args.hpp).
#include "text_args.hpp"

#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "tessel/error.hpp"

namespace tessel::host {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string process_escapes(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\' || i + 1 == in.size()) {
      out += in[i];
      continue;
    }
    const char c = in[++i];
    switch (c) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case 'x':
        // Exactly two hex digits; anything else keeps the backslash and the x.
        if (i + 2 < in.size() && hex_digit(in[i + 1]) >= 0 && hex_digit(in[i + 2]) >= 0) {
          out += char(hex_digit(in[i + 1]) * 16 + hex_digit(in[i + 2]));
          i += 2;
          break;
        }
        [[fallthrough]];
      default:
        out += '\\';
        out += c;
    }
  }
  return out;
}

std::string read_text_file(const std::string& path, const std::string& flag) {
  std::stringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
    if (std::cin.bad()) throw Error(flag + " -: reading standard input failed");
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(flag + " " + path + ": cannot open for reading (" + std::strerror(errno) + ")");
  ss << in.rdbuf();
  if (in.bad()) throw Error(flag + " " + path + ": reading failed");
  return ss.str();
}

std::string read_prompt_file(const std::string& path, const std::string& flag) {
  std::string text = read_text_file(path, flag);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace tessel::host
