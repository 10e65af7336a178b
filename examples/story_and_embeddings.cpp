// tessel's C++ API in one small program: generate with a streaming callback
// and a stop string, one chat turn, and embeddings of a few texts.
//
//   tessel-example TEXT_MODEL.gguf [EMBEDDING_MODEL.gguf]
//
// With the repository's shared data: models/stories260K.gguf and
// golden/models/bert-synth.gguf (or any model `tessel synth` writes).
#include <tessel/api.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace {

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0.0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s TEXT_MODEL.gguf [EMBEDDING_MODEL.gguf]\n", argv[0]);
    return 2;
  }
  try {
    tessel::SessionOptions so;
    so.threads = 2;
    tessel::Session text = tessel::Session::from_model(argv[1], so);

    // 1. A story, streamed piece by piece; greedy, so the same every run.
    tessel::GenerateOptions g;
    g.max_tokens = 24;
    g.temperature = 0;
    g.stop = {"\n\n"};
    std::cout << "story: Once upon a time";
    const std::string story = text.generate("Once upon a time", g, [](std::string_view piece) {
      std::cout << piece << std::flush;
    });
    std::cout << "\n";

    // 2. One chat turn (the model's template, or chatml when it has none).
    std::vector<tessel::Message> chat = {{"system", "You tell short stories."}, {"user", "A story about a cat."}};
    g.max_tokens = 12;
    const std::string reply = text.chat(chat, g);
    std::cout << "chat reply: " << reply << "\n";
    std::cout << "prompt tokens: " << text.tokenize("Once upon a time").size() << "\n";

    // 3. Embeddings, if an embedding model was given.
    if (argc > 2) {
      tessel::Session emb = tessel::Session::from_model(argv[2], so);
      const auto rows = emb.embed({"Hello", "Hello", "A different sentence."});
      std::printf("embeddings: %zu x %zu, cos(0,1) = %.4f, cos(0,2) = %.4f\n", rows.size(), rows[0].size(),
                  cosine(rows[0], rows[1]), cosine(rows[0], rows[2]));
    }
    return story.empty() ? 1 : 0;
  } catch (const tessel::Error& e) {
    std::fprintf(stderr, "tessel-example: %s\n", e.what());
    return 1;
  }
}
