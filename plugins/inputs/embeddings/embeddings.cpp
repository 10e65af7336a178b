// Embedding rows are fed as llama.cpp's batch.embd: unscaled, one position per
// row, decoded causally. params:
//   shape = "ROWS,WIDTH"   raw little-endian f32 files (any other extension)
//   scale = NUMBER | sqrt_n_embd   multiply every value (e.g. to feed token_embd
//           rows to a Gemma model the way its token path scales them)
#include "embeddings.hpp"

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tessel/output_file.hpp"
#include "tessel/error.hpp"
#include "tessel/json_file.hpp"
#include "tessel/npy.hpp"

namespace tessel::inputs {
namespace {

std::string lower_ext(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = char(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

std::string slurp(const std::filesystem::path& file) {
  note_input(file);
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot open the embedding file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void append_row(Rows& r, const nlohmann::json& row, const std::filesystem::path& file) {
  if (!row.is_array() || row.empty())
    throw Error(file.string() + ": embedding row " + std::to_string(r.n_rows) +
                " is not a non-empty array of numbers");
  if (r.width == 0) r.width = int64_t(row.size());
  if (int64_t(row.size()) != r.width)
    throw Error(file.string() + ": embedding row " + std::to_string(r.n_rows) + " has " +
                std::to_string(row.size()) + " values; the first row has " +
                std::to_string(r.width));
  for (const auto& v : row) {
    if (!v.is_number())
      throw Error(file.string() + ": embedding row " + std::to_string(r.n_rows) +
                  " holds a value that is not a number");
    r.data.push_back(v.get<float>());
  }
  ++r.n_rows;
}

// {"data":[{"embedding":[...]}...]} (one row per item, or rows per item), or a
// bare array of rows.
Rows read_json(const std::filesystem::path& file) {
  nlohmann::json j;
  const std::string text = slurp(file);
  if (!json_nesting_within(text))
    throw Error(file.string() + ": JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": not valid JSON (" + e.what() + ")");
  }
  Rows r;
  const nlohmann::json* items = &j;
  if (j.is_object()) {
    if (!j.contains("data") || !j["data"].is_array())
      throw Error(file.string() + ": expected {\"data\": [{\"embedding\": [...]}, ...]}");
    items = &j["data"];
  }
  if (!items->is_array()) throw Error(file.string() + ": expected an array of embedding rows");
  for (const auto& it : *items) {
    const nlohmann::json* e = &it;
    if (it.is_object()) {
      if (!it.contains("embedding"))
        throw Error(file.string() + ": a data item has no \"embedding\" field");
      e = &it["embedding"];
    }
    if (e->is_array() && !e->empty() && (*e)[0].is_array())
      for (const auto& row : *e) append_row(r, row, file);
    else
      append_row(r, *e, file);
  }
  return r;
}

Rows read_raw(const std::filesystem::path& file, const std::string& shape) {
  if (shape.empty())
    throw Error(file.string() + ": a raw f32 embedding file needs params shape = \"ROWS,WIDTH\"");
  long long rows = 0, width = 0;
  char sep = 0;
  std::istringstream ss(shape);
  if (!(ss >> rows >> sep >> width) || (sep != ',' && sep != 'x') || rows <= 0 || width <= 0)
    throw Error(file.string() + ": shape '" + shape + "' is not \"ROWS,WIDTH\"");
  size_t want = 0;
  if (__builtin_mul_overflow(size_t(rows), size_t(width), &want) ||
      __builtin_mul_overflow(want, size_t(4), &want))
    throw Error(file.string() + ": shape '" + shape + "' has more values than fit in memory");
  const std::string bytes = slurp(file);
  if (bytes.size() != want)
    throw Error(file.string() + ": holds " + std::to_string(bytes.size()) + " bytes; shape " +
                shape + " as f32 needs " + std::to_string(want));
  Rows r;
  r.n_rows = rows, r.width = width;
  r.data.resize(size_t(rows * width));
  std::memcpy(r.data.data(), bytes.data(), want);
  return r;
}

Rows read_npy_rows(const std::filesystem::path& file) {
  NpyArray a = read_npy(file);
  if (a.dtype != "f4" && a.dtype != "f2")
    throw Error(file.string() + ": embedding rows must be float32 or float16, not " + a.dtype);
  std::vector<int64_t> s = a.shape;
  while (s.size() > 2 && s.front() == 1) s.erase(s.begin());  // [1, rows, width]
  if (s.size() == 1) s.insert(s.begin(), 1);
  if (s.size() != 2)
    throw Error(file.string() + ": expected embedding rows [rows, width], got " +
                std::to_string(a.shape.size()) + " dimensions");
  Rows r;
  r.n_rows = s[0], r.width = s[1];
  r.data = a.as_floats();
  return r;
}

class EmbeddingsAdapter : public InputAdapter {
 public:
  std::vector<BatchChunk> adapt(const InputSegment& seg, const AdapterContext& ctx) const override {
    check_params(seg, {"shape", "scale"});
    auto shape = seg.params.find("shape");
    Rows r = read_rows(seg.file, shape == seg.params.end() ? std::string() : shape->second);
    const std::string name = seg.file.string();
    if (ctx.model) {
      const int64_t n_embd = ctx.model->hparams().n_embd;
      if (r.width != n_embd)
        throw Error(name + ": embedding rows are " + std::to_string(r.width) +
                    " wide but the model's n_embd is " + std::to_string(n_embd));
    }
    if (auto s = seg.params.find("scale"); s != seg.params.end()) {
      float k = 0.0f;
      if (s->second == "sqrt_n_embd") {
        k = std::sqrt(float(r.width));
      } else {
        try {
          k = std::stof(s->second);
        } catch (const std::exception&) {
          throw Error(name + ": scale '" + s->second + "' is not a number or sqrt_n_embd");
        }
      }
      for (float& v : r.data) v *= k;
    }
    BatchChunk c;
    c.n_rows = size_t(r.n_rows);
    c.embd = std::move(r.data);
    c.causal = true;  // llama.cpp decodes batch.embd rows causally unless told otherwise
    std::vector<BatchChunk> out;
    if (c.n_rows) out.push_back(std::move(c));
    return out;
  }
};

}  // namespace

Rows read_rows(const std::filesystem::path& file, const std::string& shape) {
  if (!std::filesystem::exists(file)) throw Error(file.string() + ": no such embedding file");
  const std::string ext = lower_ext(file);
  Rows r = ext == ".npy" ? read_npy_rows(file) : ext == ".json" ? read_json(file)
                                                                : read_raw(file, shape);
  if (r.n_rows == 0 || r.width == 0) throw Error(file.string() + ": holds no embedding rows");
  if (r.data.size() != size_t(r.n_rows * r.width))
    throw Error(file.string() + ": holds " + std::to_string(r.data.size()) + " values, not " +
                std::to_string(r.n_rows) + " x " + std::to_string(r.width));
  for (int64_t i = 0; i < r.n_rows; ++i)
    for (int64_t j = 0; j < r.width; ++j)
      if (!std::isfinite(r.data[size_t(i * r.width + j)]))
        throw Error(file.string() + ": embedding row " + std::to_string(i) +
                    " holds a non-finite value at column " + std::to_string(j));
  return r;
}

std::unique_ptr<InputAdapter> make_embeddings_adapter() {
  return std::make_unique<EmbeddingsAdapter>();
}

}  // namespace tessel::inputs
