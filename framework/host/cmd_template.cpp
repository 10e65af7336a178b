// `tessel template`: prints the prompt a chat template makes of a conversation,
// exactly as llama.cpp's --jinja path would feed it to the tokenizer (no
// newline added), for checking templates and for scripting.
//
//   tessel template (-m MODEL | --chat-template-file F.jinja) --messages conv.json
//                   [--bos S --eos S] [--no-add-generation-prompt]
//
// conv.json holds an OpenAI request ({"messages": [...]}) or a bare array; "-" reads stdin.
#include <fstream>
#include <iostream>
#include <sstream>

#include "command.hpp"
#include "tessel/chat.hpp"
#include "tessel/error.hpp"
#include "tessel/jinja.hpp"
#include "tessel/pipeline.hpp"

namespace {

struct Options {
  std::string model, template_file, messages_file, bos, eos, chat_template = "auto";
  bool no_generation_prompt = false, bos_set = false, eos_set = false;
  std::vector<std::string> plugin_paths;
};

std::string read_input(const std::string& path, const char* what) {
  std::stringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw tessel::Error(path + ": cannot open the " + what + " for reading");
  ss << in.rdbuf();
  return ss.str();
}

int run(const Options& o) {
  if (o.model.empty() == o.template_file.empty())
    throw tessel::Error("template: pass either -m MODEL or --chat-template-file F.jinja");
  const std::string raw = read_input(o.messages_file, "messages file");
  auto messages = nlohmann::ordered_json::parse(raw, nullptr, false);
  if (messages.is_discarded())
    throw tessel::Error(o.messages_file + ": not valid JSON (expected {\"messages\": [...]} or an array)");
  if (messages.is_object()) {
    if (!messages.contains("messages"))
      throw tessel::Error(o.messages_file + ": expected a \"messages\" key or a bare array of messages");
    messages = nlohmann::ordered_json(messages["messages"]);
  }
  if (!messages.is_array())
    throw tessel::Error(o.messages_file + ": expected an array of {\"role\", \"content\"} messages");

  tessel::ChatTemplateOptions opt;
  std::shared_ptr<const tessel::ChatTemplate> tmpl;
  std::string origin;
  if (!o.model.empty()) {
    std::vector<std::filesystem::path> extra(o.plugin_paths.begin(), o.plugin_paths.end());
    auto reg = tessel::make_registry(extra);
    auto file = tessel::open_model_file(*reg, o.model);
    auto tok = tessel::make_tokenizer(*reg, file);
    const auto format = tessel::resolve_chat_format("jinja", "", file->meta, tok.get());
    tmpl = format.jinja;
    opt = format.options;
    origin = format.origin;
  } else {
    origin = o.template_file;
    try {
      tmpl = std::make_shared<const tessel::ChatTemplate>(read_input(o.template_file, "chat template"));
    } catch (const tessel::Error& e) {
      throw tessel::Error(origin + ": " + e.what());
    }
  }
  if (o.bos_set) opt.bos_token = o.bos;
  if (o.eos_set) opt.eos_token = o.eos;
  opt.add_generation_prompt = !o.no_generation_prompt;
  std::string prompt;
  try {
    prompt = tmpl->render(messages, opt);
  } catch (const tessel::Error& e) {
    throw tessel::Error(origin + ": " + e.what());
  }
  std::cout << prompt << std::flush;
  return 0;
}

tessel::host::Command template_cmd{
    "template", "Print the prompt a chat template (Jinja) makes of a conversation", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "Model file (GGUF) whose tokenizer.chat_template to render");
      app.add_option("--chat-template-file", o->template_file, "Jinja template file to render instead");
      app.add_option("--messages", o->messages_file,
                     "JSON file: {\"messages\": [...]} or a bare array of messages (- for stdin)")
          ->required();
      app.add_option("--bos", o->bos, "The bos_token string (default: the model's, or <s>)")
          ->each([o](const std::string&) { o->bos_set = true; });
      app.add_option("--eos", o->eos, "The eos_token string (default: the model's, or </s>)")
          ->each([o](const std::string&) { o->eos_set = true; });
      app.add_flag("--no-add-generation-prompt", o->no_generation_prompt,
                   "Don't open the assistant's turn at the end");
      app.add_option("--plugin-path", o->plugin_paths, "Extra folder to search for plugins");
      return [o] { return run(*o); };
    }};

}  // namespace
