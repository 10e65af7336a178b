// `tessel dump -m MODEL (-p PROMPT | --ids 1,2,3) -o DIR`: every intermediate
// tensor of one forward pass over the whole prompt (all rows output) as
// DIR/<name>.npy plus DIR/index.json, named as llama.cpp's graph names them:
// the k-th occurrence of a name is <name>__k.npy, npy shape = ggml ne reversed
// with trailing 1s dropped. Reshape/view nodes are not emitted (their data
// equals their source), so names number like the golden dumps with views
// skipped; `tessel diff` aligns both conventions.
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "tessel/error.hpp"
#include "tessel/npy.hpp"
#include "tessel/pipeline.hpp"

namespace {

struct Options {
  std::string model, prompt, ids, out;
  bool no_bos = false;
  int threads = 0, ctx = 512;
  std::vector<std::string> plugin_paths;
};

std::string sanitize(const std::string& name) {
  std::string s = name;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-') ch = '_';
  return s;
}

class NpySink : public tessel::TensorSink {
 public:
  explicit NpySink(std::filesystem::path dir) : dir_(std::move(dir)) {}
  void on_tensor(const std::string& name, const float* data, std::span<const int64_t> ne) override {
    const int k = ++count_[name];
    const std::string file = sanitize(name) + (k > 1 ? "__" + std::to_string(k) : "") + ".npy";
    int n_dims = 1;
    for (size_t i = 0; i < ne.size(); ++i)
      if (ne[i] != 1) n_dims = int(i) + 1;
    std::vector<int64_t> shape;
    int64_t total = 1;
    for (int i = n_dims - 1; i >= 0; --i) shape.push_back(ne[size_t(i)]);
    for (int64_t v : ne) total *= v;
    (void)total;
    tessel::write_npy(dir_ / file, data, shape);
    std::vector<int64_t> ne4(ne.begin(), ne.end());
    ne4.resize(4, 1);
    nodes_.push_back({{"order", nodes_.size()}, {"name", name}, {"file", file}, {"occurrence", k},
                      {"ne", ne4}, {"type", "f32"}, {"npy_shape", shape}});
  }
  nlohmann::json nodes_ = nlohmann::json::array();

 private:
  std::filesystem::path dir_;
  std::map<std::string, int> count_;
};

std::vector<tessel::TokenId> parse_id_list(const std::string& s) {
  std::vector<tessel::TokenId> ids;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const long v = std::stol(item, &used);
      if (used != item.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument(item);
      ids.push_back(tessel::TokenId(v));
    } catch (const std::exception&) {
      throw tessel::Error("--ids: '" + item + "' is not a token id (expected e.g. --ids 1,403,407)");
    }
  }
  if (ids.empty()) throw tessel::Error("--ids: no token ids given");
  return ids;
}

tessel::host::Command dump_cmd{
    "dump", "Write every intermediate tensor of one forward pass as .npy files", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "Model file")->required();
      auto* p = app.add_option("-p,--prompt", o->prompt, "Prompt text (tokenized with specials)");
      auto* ids = app.add_option("--ids", o->ids, "Comma-separated token ids, used verbatim");
      p->excludes(ids);
      app.add_option("-o,--output", o->out, "Output folder")->required();
      app.add_flag("--no-bos", o->no_bos, "Don't add BOS/EOS when tokenizing -p");
      app.add_option("-t,--threads", o->threads, "Threads (0: all cores)");
      app.add_option("-c,--ctx-size", o->ctx, "Context size (default 512, as the golden dumps)");
      app.add_option("--plugin-path", o->plugin_paths, "Extra folder to search for plugins");
      return [o]() {
        if (o->prompt.empty() && o->ids.empty())
          throw tessel::Error("dump: give a prompt (-p TEXT) or token ids (--ids 1,2,3)");
        std::vector<std::filesystem::path> extra(o->plugin_paths.begin(), o->plugin_paths.end());
        auto reg = tessel::make_registry(extra);
        auto file = tessel::open_model_file(*reg, o->model);
        std::vector<tessel::TokenId> tokens;
        if (!o->ids.empty()) {
          tokens = parse_id_list(o->ids);
        } else {
          auto tok = tessel::make_tokenizer(*reg, file);
          tokens = tok->encode(o->prompt, tessel::EncodeOptions{!o->no_bos, true});
        }
        if (tokens.empty()) throw tessel::Error("dump: the prompt is empty after tokenization");
        tessel::RuntimeOptions opts;
        opts.threads = o->threads;
        opts.n_ctx = o->ctx;
        auto codecs = tessel::load_codecs(*reg);
        auto model = tessel::load_model(*reg, file, codecs, opts);
        auto ctx = model->new_context(opts);
        std::filesystem::path dir(o->out);
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) throw tessel::Error("dump: can't create folder " + dir.string() + ": " + ec.message());
        NpySink sink(dir);
        tessel::Batch batch;
        for (size_t i = 0; i < tokens.size(); ++i) batch.add_token(tokens[i], int32_t(i), 0, true);
        tessel::Outputs out;
        out.sink = &sink;
        model->forward(batch, *ctx, out);
        const int64_t n_vocab = model->hparams().n_vocab;
        if (!out.logits.empty())
          tessel::write_npy(dir / "_logits.npy", out.logits.data(),
                            {int64_t(out.rows.size()), n_vocab});
        nlohmann::json index = {{"subcommand", "dump"},
                                {"model", o->model},
                                {"prompt", o->prompt},
                                {"n_tokens", tokens.size()},
                                {"token_ids", tokens},
                                {"n_nodes", sink.nodes_.size()},
                                {"nodes", sink.nodes_}};
        tessel::write_file_atomic(dir / "index.json", index.dump(1) + "\n");
        std::cerr << "dump: " << sink.nodes_.size() << " tensors -> " << dir.string() << "\n";
        return 0;
      };
    }};

}  // namespace
