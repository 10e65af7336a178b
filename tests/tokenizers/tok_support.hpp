#pragma once
// Loads a model file's tokenizer in-process through the registry, the way the
// host does (format plugin + tokenizer plugin chosen by metadata).
#include <memory>
#include <string>

#include "support.hpp"
#include "tessel/pipeline.hpp"

namespace tessel::test {

inline std::shared_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& model) {
  static std::shared_ptr<Registry> reg = make_registry();
  auto file = open_model_file(*reg, model);
  return make_tokenizer(*reg, file);
}

// llama.cpp's suite split (tests/test-tokenizer-0.cpp read_tests).
inline std::vector<std::string> split_suite(const std::string& raw) {
  static const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> cases;
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      cases.push_back(raw.substr(pos));
      break;
    }
    cases.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  return cases;
}

}  // namespace tessel::test
