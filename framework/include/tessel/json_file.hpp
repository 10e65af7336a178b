#pragma once
// Reading a whole JSON file (tokenizer.json, config.json, an index...) with
// the one-line errors every reader of Hugging Face files needs.
#include <filesystem>
#include <nlohmann/json.hpp>

namespace tessel {

// Parses `path` as JSON and notes it as an input (no output may replace it).
// Throws tessel::Error "PATH: cannot open for reading" or "PATH: not valid
// JSON: ...".
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace tessel
