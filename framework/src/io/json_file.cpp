// tessel/json_file.hpp: shared by the tokenizer.json import, the
// safetensors checkpoint reader and every reader of outside JSON.
#include "tessel/json_file.hpp"

#include <fstream>
#include <iterator>
#include <string>

#include "tessel/error.hpp"
#include "tessel/output_file.hpp"

namespace tessel {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  note_input(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open for reading");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!json_nesting_within(text))
    throw Error(path.string() + ": JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": not valid JSON: " + e.what());
  }
}

bool json_nesting_within(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

}  // namespace tessel
