// Embedding writers: llama-embedding's JSON text, JSON lines, .npy and plain
// text. Files are written atomically (temp + rename).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "tessel/embedding.hpp"
#include "tessel/error.hpp"
#include "tessel/npy.hpp"

namespace tessel::embed {
namespace {

void append_value(std::string& s, float v, const char* fmt) {
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, fmt, double(v));
  s.append(buf, size_t(n));
}

void append_row(std::string& s, const float* row, int64_t n, const char* fmt, char sep) {
  for (int64_t i = 0; i < n; ++i) {
    if (i) s.push_back(sep);
    append_value(s, row[i], fmt);
  }
}

// JSON string escaping for the "text" field (UTF-8 passes through).
void append_json_string(std::string& s, const std::string& text) {
  s.push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"': s += "\\\""; break;
      case '\\': s += "\\\\"; break;
      case '\n': s += "\\n"; break;
      case '\r': s += "\\r"; break;
      case '\t': s += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          s += buf;
        } else {
          s.push_back(char(c));
        }
    }
  }
  s.push_back('"');
}

}  // namespace

// Every row of every result, in order (pooling none gives several per text).
static std::vector<const float*> all_rows(const std::vector<Result>& results, int64_t& cols) {
  std::vector<const float*> rows;
  cols = results.empty() ? 0 : results[0].cols;
  for (const Result& r : results)
    for (int64_t row = 0; row < r.rows; ++row) rows.push_back(r.data.data() + row * r.cols);
  return rows;
}

std::string format_json(const std::vector<Result>& results, int normalize, bool similarity) {
  const char* fmt = normalize == 0 ? "%1.0f" : "%1.7f";
  int64_t cols = 0;
  const auto rows = all_rows(results, cols);
  std::string s = "{\n  \"object\": \"list\",\n  \"data\": [\n";
  for (size_t index = 0; index < rows.size(); ++index) {
    if (index) s += ",\n";
    s += "    {\n      \"object\": \"embedding\",\n      \"index\": " + std::to_string(index) +
         ",\n      \"embedding\": [";
    append_row(s, rows[index], cols, fmt, ',');
    s += "]\n    }";
  }
  s += "\n  ]";
  if (similarity && rows.size() > 1) {
    s += ",\n  \"cosineSimilarity\": [\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      s += i ? ",\n    [" : "    [";
      for (size_t j = 0; j < rows.size(); ++j) {
        if (j) s += ", ";
        append_value(s, cosine_similarity(rows[i], rows[j], cols), "%6.2f");
      }
      s += " ]";
    }
    s += "\n  ]";
  }
  s += "\n}\n";
  return s;
}

std::string format_array(const std::vector<Result>& results, int normalize) {
  int64_t cols = 0;
  const auto rows = all_rows(results, cols);
  std::string s = "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    s += i ? ",[" : "[";
    append_row(s, rows[i], cols, normalize == 0 ? "%1.0f" : "%1.7f", ',');
    s += "]";
  }
  s += "]\n";
  return s;
}

std::string format_raw(const std::vector<Result>& results, int normalize) {
  int64_t cols = 0;
  std::string s;
  for (const float* row : all_rows(results, cols)) {
    append_row(s, row, cols, normalize == 0 ? "%1.0f" : "%1.7f", ' ');
    s += "\n";
  }
  return s;
}

std::string format_jsonl(const std::vector<Result>& results, const std::vector<std::string>& texts) {
  std::string s;
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    s += "{\"index\":" + std::to_string(i);
    if (i < texts.size()) {
      s += ",\"text\":";
      append_json_string(s, texts[i]);
    }
    s += ",\"embedding\":";
    const bool pooled = r.rows == 1;
    if (!pooled) s.push_back('[');
    for (int64_t row = 0; row < r.rows; ++row) {
      if (row) s.push_back(',');
      s.push_back('[');
      append_row(s, r.data.data() + row * r.cols, r.cols, "%.9g", ',');
      s.push_back(']');
    }
    if (!pooled) s.push_back(']');
    s += "}\n";
  }
  return s;
}

std::string format_txt(const std::vector<Result>& results) {
  std::string s;
  for (const Result& r : results)
    for (int64_t row = 0; row < r.rows; ++row) {
      append_row(s, r.data.data() + row * r.cols, r.cols, "%.9g", ' ');
      s.push_back('\n');
    }
  return s;
}

// llama-embedding's default display (--embd-output-format ''): a blank line,
// "embedding N: " and the values (all of them for one text, the first 16 for
// several; per-token rows show their first and last 3), then for several
// texts the cosine similarity matrix labelled with the texts' starts.
std::string format_text(const std::vector<Result>& results, const std::vector<std::string>& texts, int normalize) {
  const char* fmt = normalize == 0 ? "%6.0f " : "%9.6f ";
  int64_t cols = 0;
  const auto rows = all_rows(results, cols);
  const bool per_token = !results.empty() && results[0].rows != 1;
  std::string s = "\n";
  for (size_t j = 0; j < rows.size(); ++j) {
    s += "embedding " + std::to_string(j) + ": ";
    if (per_token) {
      for (int64_t i = 0; i < std::min<int64_t>(3, cols); ++i) append_value(s, rows[j][i], fmt);
      s += " ... ";
      for (int64_t i = std::max<int64_t>(0, cols - 3); i < cols; ++i) append_value(s, rows[j][i], fmt);
    } else {
      const int64_t shown = rows.size() > 1 ? std::min<int64_t>(16, cols) : cols;
      for (int64_t i = 0; i < shown; ++i) append_value(s, rows[j][i], fmt);
    }
    s += "\n";
  }
  // llama-embedding ends every output with one more newline.
  if (per_token || rows.size() < 2) return s + "\n";
  auto label = [&](size_t i, const char* f) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, i < texts.size() ? texts[i].c_str() : "");
    return std::string(buf);
  };
  s += "\ncosine similarity matrix:\n\n";
  for (size_t i = 0; i < rows.size(); ++i) s += label(i, "%6.6s ");
  s += "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < rows.size(); ++j) append_value(s, cosine_similarity(rows[i], rows[j], cols), "%6.2f ");
    s += label(i, "%1.10s") + "\n";
  }
  return s + "\n";
}

void write_results(const std::vector<Result>& results, const std::vector<std::string>& texts,
                   const EmbedSpec& spec) {
  // NaN would be written as `nan` (not JSON) or silently poison an .npy: a
  // model with broken weights or hparams must fail, not produce garbage.
  for (size_t i = 0; i < results.size(); ++i)
    for (size_t j = 0; j < results[i].data.size(); ++j)
      if (!std::isfinite(results[i].data[j]))
        throw Error("embed: the embedding of input " + std::to_string(i) + " holds a non-finite value at position " +
                    std::to_string(j) + "; the model's weights or hyperparameters are invalid");
  std::string text;
  if (spec.output == "npy") {
    if (spec.out_path.empty())
      throw Error("embed: the npy output needs a file (-o FILE.npy / embed.out)");
    int64_t rows = 0, cols = results.empty() ? 0 : results[0].cols;
    std::vector<float> all;
    for (const Result& r : results) {
      rows += r.rows;
      all.insert(all.end(), r.data.begin(), r.data.end());
    }
    write_npy(spec.out_path, all.data(), {rows, cols});
    return;
  }
  if (spec.output == "json" || spec.output == "json+")
    text = format_json(results, spec.normalize, spec.output == "json+");
  else if (spec.output == "array") text = format_array(results, spec.normalize);
  else if (spec.output == "raw") text = format_raw(results, spec.normalize);
  else if (spec.output == "jsonl") text = format_jsonl(results, texts);
  else if (spec.output == "txt") text = format_txt(results);
  else if (spec.output == "text") text = format_text(results, texts, spec.normalize);
  else throw Error("embed: output format '" + spec.output +
                   "' is not one of json, json+, array, raw, jsonl, npy, txt, text");
  if (spec.out_path.empty()) {
    std::cout << text;
    std::cout.flush();
    if (!std::cout) throw Error("embed: writing to standard output failed");
  } else {
    write_file_atomic(spec.out_path, text);
  }
}

}  // namespace tessel::embed
