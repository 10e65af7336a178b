// tessel/json_file.hpp: shared by the tokenizer.json import and the
// safetensors checkpoint reader.
#include "tessel/json_file.hpp"

#include <fstream>

#include "tessel/error.hpp"
#include "tessel/output_file.hpp"

namespace tessel {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  note_input(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open for reading");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": not valid JSON: " + e.what());
  }
}

}  // namespace tessel
