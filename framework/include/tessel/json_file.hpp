#pragma once
// Reading a whole JSON file (tokenizer.json, config.json, an index...) with
// the one-line errors every reader of Hugging Face files needs.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>

namespace tessel {

// Parses `path` as JSON and notes it as an input (no output may replace it).
// Throws tessel::Error "PATH: cannot open for reading" or "PATH: not valid
// JSON: ...".
nlohmann::json read_json_file(const std::filesystem::path& path);

// nlohmann parses without recursion, but copying, dumping, comparing and
// converting a value recurse once per nesting level: a 2 MB request body of
// nested brackets killed the server. Every reader of outside JSON checks the
// text first (brackets outside strings); real documents nest a few levels.
constexpr int kMaxJsonDepth = 256;
bool json_nesting_within(std::string_view text, int max_depth = kMaxJsonDepth);

}  // namespace tessel
