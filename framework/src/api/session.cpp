// The stable program API (tessel/api.hpp) over the pipeline pieces the
// subcommands use: the same prompt building, generate loop and embedder, so a
// program gets exactly what `tessel generate` / `tessel embed` print.
#include "tessel/api.hpp"

#include <ostream>
#include <streambuf>

#include "generate/generate.hpp"
#include "tessel/chat.hpp"
#include "tessel/config.hpp"
#include "tessel/embedding.hpp"
#include "tessel/loaded_pipeline.hpp"
#include "tessel/sampler.hpp"

namespace tessel {
namespace {

// An ostream whose bytes go to a TextCallback (the generate loop prints whole
// UTF-8 characters, with stop strings already held back).
class CallbackBuf : public std::streambuf {
 public:
  explicit CallbackBuf(const TextCallback& cb) : cb_(cb) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (cb_ && n > 0) cb_(std::string_view(s, size_t(n)));
    return n;
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) {
      const char ch = traits_type::to_char_type(c);
      if (cb_) cb_(std::string_view(&ch, 1));
    }
    return traits_type::not_eof(c);
  }

 private:
  const TextCallback& cb_;
};

GenerateOptions from_spec(const GenerateSpec& g) {
  GenerateOptions o;
  o.max_tokens = g.max_tokens;
  o.temperature = g.sampler.temperature;
  o.top_k = g.sampler.top_k;
  o.top_p = g.sampler.top_p;
  o.min_p = g.sampler.min_p;
  o.repeat_penalty = g.sampler.repeat_penalty;
  o.seed = g.sampler.seed == kRandomSeed ? -1 : int64_t(g.sampler.seed);
  o.stop = g.stop;
  o.ignore_eos = g.ignore_eos;
  return o;
}

GenerateSpec to_spec(GenerateSpec g, const GenerateOptions& o) {
  g.max_tokens = o.max_tokens;
  g.sampler.temperature = o.temperature;
  g.sampler.top_k = o.top_k;
  g.sampler.top_p = o.top_p;
  g.sampler.min_p = o.min_p;
  g.sampler.repeat_penalty = o.repeat_penalty;
  if (o.seed < -1 || o.seed > int64_t(kRandomSeed))
    throw Error("GenerateOptions::seed " + std::to_string(o.seed) + " is out of range: expected -1 or 0..4294967295");
  g.sampler.seed = o.seed == -1 ? kRandomSeed : uint64_t(o.seed);
  g.stop = o.stop;
  g.ignore_eos = o.ignore_eos;
  return g;
}

}  // namespace

struct Session::Impl : LoadedPipeline {
  PipelineSpec spec;

  explicit Impl(PipelineSpec s) : LoadedPipeline(load_pipeline_model(s, TokenizerNeed::IfPresent)), spec(std::move(s)) {}

  const Tokenizer& tokenizer() const {
    if (!tok) throw Error(spec.model.path.string() + ": the model has no tokenizer (tokenizer.ggml.model)");
    return *tok;
  }

  std::string run_text(const std::string& text, const GenerateOptions& options, const TextCallback& on_text) {
    PipelineSpec s = spec;
    s.generate = to_spec(spec.generate, options);
    s.generate.chat = false;
    s.generate.system.clear();
    s.inputs = {InputSegment{"tokens", text, {}, {}, {}}};
    const auto prompt = generate::build_prompt(s, *reg, *file, model.get(), tokenizer());
    auto ctx = model->new_context(s.runtime);  // every call starts from an empty cache
    CallbackBuf buf(on_text);
    std::ostream out(&buf);
    return generate::run(*model, *ctx, tokenizer(), prompt, s.generate, s.runtime.n_batch, out).text;
  }
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Session Session::from_model(const std::filesystem::path& model, const SessionOptions& options) {
  PipelineSpec spec;
  spec.source = model.string();
  spec.model.path = model;
  spec.runtime.threads = options.threads;
  spec.runtime.n_ctx = options.context;
  spec.runtime.n_batch = options.batch;
  spec.plugin_paths = options.plugin_paths;
  spec.generate.sampler.seed = kRandomSeed;
  return Session(std::make_unique<Impl>(std::move(spec)));
}

Session Session::from_yaml(const std::filesystem::path& config, const std::vector<std::string>& overrides) {
  return Session(std::make_unique<Impl>(load_pipeline(config, overrides)));
}

std::string Session::generate(const std::string& prompt, const GenerateOptions& options,
                              const TextCallback& on_text) {
  return impl_->run_text(prompt, options, on_text);
}

GenerateOptions Session::default_generate_options() const { return from_spec(impl_->spec.generate); }

std::string Session::chat(const std::vector<Message>& messages, const GenerateOptions& options,
                          const TextCallback& on_text, const std::string& chat_template) {
  if (messages.empty()) throw Error("chat: no messages");
  const std::string name = resolve_chat_template(chat_template, impl_->file->meta);
  std::vector<ChatMessage> chat;
  for (const Message& m : messages) chat.push_back({m.role, m.content});
  std::string text;
  if (name == "none") {
    for (const auto& m : chat) text += m.content;
  } else {
    text = apply_chat_template(name, chat, true);
  }
  return impl_->run_text(text, options, on_text);
}

std::vector<std::vector<float>> Session::embed(const std::vector<std::string>& texts, const EmbedOptions& options) {
  const Tokenizer& tok = impl_->tokenizer();
  std::vector<embed::Input> inputs;
  const EmbedSpec& e = impl_->spec.embed;
  const std::string prefix = (e.task.empty() ? std::string() : impl_->model->task_prompt(e.task)) + e.prefix;
  for (const std::string& t : texts) {
    embed::Input in;
    in.tokens = tok.encode(prefix + t, EncodeOptions{true, true});  // as llama-embedding
    inputs.push_back(std::move(in));
  }
  embed::Options opts;
  opts.pooling = embed::resolve_pooling(options.pooling, impl_->model->hparams());
  opts.normalize = options.normalize;
  opts.dims = options.dims;
  opts.n_batch = impl_->spec.runtime.n_batch;
  embed::Embedder embedder(*impl_->model, impl_->spec.runtime, opts);
  if (options.truncate) embed::truncate_inputs(inputs, embedder.max_rows(), &tok);
  std::vector<std::vector<float>> out;
  for (embed::Result& r : embedder.embed(inputs)) out.push_back(std::move(r.data));
  return out;
}

EmbedOptions Session::default_embed_options() const {
  EmbedOptions o;
  o.pooling = impl_->spec.embed.pooling;
  o.normalize = impl_->spec.embed.normalize;
  o.dims = impl_->spec.embed.dims;
  o.truncate = impl_->spec.embed.truncate;
  return o;
}

std::vector<int32_t> Session::tokenize(const std::string& text, bool add_special) const {
  const auto ids = impl_->tokenizer().encode(text, EncodeOptions{add_special, true});
  return std::vector<int32_t>(ids.begin(), ids.end());
}

std::string Session::architecture() const { return impl_->file->meta.get_string("general.architecture"); }

std::string version() { return TESSEL_VERSION; }

}  // namespace tessel
