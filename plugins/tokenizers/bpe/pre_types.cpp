// The table of llama.cpp's BPE pre-tokenizers. The regex strings are the ones
// llama.cpp runs (its "adapted" forms where it rewrote (?i:...) or possessive
// quantifiers), because the splitter reproduces how llama.cpp applies them.
// Where llama.cpp writes non-ASCII characters literally (deepseek, poro,
// youtu, afmoe; all in regexes without \p{..} categories, which run on code
// points) they are spelled \x{...} here: PCRE2 reads both alike, and escapes
// cannot be silently normalised (U+2126 OHM SIGN is not U+03A9) by an editor.
#include "pre_types.hpp"

#include <map>

#include "tessel/error.hpp"

namespace tessel::bpe {
namespace {

// GPT-2's pattern without the final |\s+ (llama.cpp's custom splitter adds it back;
// an unmatched gap becomes a piece of its own, which gives the same pieces).
const char* const kGpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const char* const kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kQwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kJais2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|"
    "\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|"
    "\\s{1,2}(?!\\S)|\\s{1}";
const char* const kQwen35 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|"
    "\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kDeepseek3Main =
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
    " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
const char* const kSpark25Main =
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
    " ?[\\p{P}\\p{S}]+|[\r\n]|\\s+(?!\\S)|\\s+";
const char* const kCjkDeepseek = "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+";
const char* const kCjk3 = "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+";
const char* const kPoro = " ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{0964}\\x{06D4}\\x{060C})]+";
const char* const kTekken =
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?"
    "((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kGpt4o =
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+"
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?"
    "((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|"
    "'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kGraniteEmbMulti =
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))*((?=[\\p{L}\\p{M}])([^A-Z]))+"
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?"
    "((?=[\\p{L}\\p{M}])([^a-z]))+((?=[\\p{L}\\p{M}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|"
    "'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kCasedWords =  // tiny_aya / youtu style words with optional contractions
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?"
    "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|"
    "'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?";
const char* const kNewlineRuns = "[^\\n]+|[\\n]+";

PreTokenizer make(std::string name, std::vector<std::string> rx) {
  PreTokenizer p;
  p.name = std::move(name);
  p.regexes = std::move(rx);
  return p;
}

// Pre-tokenizer kinds (llama.cpp's LLAMA_VOCAB_PRE_TYPE_*), each with its regexes and defaults.
std::map<std::string, PreTokenizer> build_kinds() {
  std::map<std::string, PreTokenizer> k;
  auto add = [&](PreTokenizer p) { k.emplace(p.name, std::move(p)); };
  auto noclean = [](PreTokenizer p) { p.clean_spaces = false; return p; };

  add(make("default", {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "\\p{N}+", "[0-9][0-9][0-9]"}));
  {
    auto p = make("llama3", {kLlama3});
    p.ignore_merges = true;
    p.add_bos = true;
    add(p);
  }
  add(make("jais2", {kJais2}));
  add(make("dbrx", {kLlama3}));
  add(make("smaug", {kLlama3}));
  add(noclean(make("deepseek-llm",
                   {"[\r\n]",
                    "\\s?[A-Za-z\\x{00B5}\\x{00C0}-\\x{00D6}\\x{00D8}-\\x{00F6}\\x{00F8}-\\x{01BA}"
                    "\\x{01BC}-\\x{01BF}\\x{01C4}-\\x{0293}\\x{0295}-\\x{02AF}\\x{0370}-\\x{0373}"
                    "\\x{0376}\\x{0377}\\x{037B}-\\x{037D}\\x{037F}\\x{0386}\\x{0388}-\\x{038A}\\x{038C}"
                    "\\x{038E}-\\x{03A1}\\x{03A3}-\\x{03F5}\\x{03F7}-\\x{0481}\\x{048A}-\\x{052F}"
                    "\\x{0531}-\\x{0556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}"
                    "\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}"
                    "\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}"
                    "\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}"
                    "\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}"
                    "\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}"
                    "\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}"
                    "\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}"
                    "\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}"
                    "\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}"
                    "\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}"
                    "\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}"
                    "\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}"
                    "\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}"
                    "\\x{1E900}-\\x{1E943}]+",
                    "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}"
                    "\\x{3000}-\\x{3002}]+",
                    "\\s+$", kCjkDeepseek, "\\p{N}+"})));
  for (const char* n : {"deepseek3-llm", "hunyuan-dense", "joyai-llm", "hy_v4"})
    add(noclean(make(n, {"\\p{N}{1,3}", kCjk3, kDeepseek3Main})));
  add(noclean(make("spark2_5", {"\\p{N}{1,3}", kCjk3, kSpark25Main, "\\p{N}"})));
  {
    auto p = noclean(make(
        "youtu", {"[\\x{AC00}-\\x{D7A3}\\x{3131}-\\x{318E}]+|[\\x{FF01}\\x{2026}\\x{201C}\\x{201D}"
                  "\\x{2018}\\x{2019}\\x{2014}\\x{FF1A}\\x{FF1B}\\x{FF0C}\\x{3001}-\\x{303F}"
                  "\\x{FE30}-\\x{FE4F}]+|[\\x{3105}-\\x{312F}]+|"
                  "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
                  std::string(kCasedWords) +
                      "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}));
    p.ignore_merges = true;
    add(p);
  }
  add(noclean(make("deepseek-coder",
                   {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", kCjkDeepseek, "\\p{N}"})));
  add(make("falcon", {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "[0-9][0-9][0-9]"}));
  for (const char* n : {"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone",
                        "minerva", "mellum2"})
    add(make(n, {"\\p{N}", kGpt2}));
  for (const char* n : {"gpt2", "mpt", "olmo", "jais", "trillion", "granite-docling"})
    add(make(n, {kGpt2}));
  for (const char* n : {"stablelm2", "qwen2", "hunyuan", "solar-open", "grok-2"})
    add(make(n, {kQwen2}));
  add(make("qwen35", {kQwen35}));
  for (const char* n : {"poro", "bloom", "gpt3-finnish"}) add(make(n, {kPoro}));
  add(make("chatglm4", {kLlama3}));
  add(make("viking", {kPoro, "\\p{N}"}));
  {
    auto p = noclean(make("tekken", {kTekken}));
    p.ignore_merges = true;
    p.add_bos = true;
    add(p);
  }
  {
    auto p = noclean(make("chameleon", {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
                                        "([\\t\\n]|    |  )", "\\p{N}", "[\\p{P}!-/:-@\\[-`{-~]",
                                        kGpt2}));
    p.add_bos = true;
    add(p);
  }
  for (const char* n : {"gpt-4o", "minimax-m2"}) add(make(n, {kGpt4o}));
  add(make("granite-embed-multi", {kGraniteEmbMulti}));
  add(make("tiny_aya", {"\\d{1,3}(?=(?:\\d{3})*\\b)",
                        std::string(kCasedWords) +
                            "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}));
  add(make("kimi-k2", {"\\p{Han}+"}));
  add(make("superbpe", {"\\p{N}+", "(?=(\\d{3})+(?!\\d))"}));
  add(make("bailingmoe",
           {"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
            "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"}));
  add(make("seed-coder",
           {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
            "\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}));
  add(make("ufakzeka", {"[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                        "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}));
  add(make("afmoe",
           {"\\p{AFMoE_digits}",
            "[\\x{4E00}-\\x{9FFF}\\x{3400}-\\x{4DBF}\\x{F900}-\\x{FAFF}\\x{3040}-\\x{309F}"
            "\\x{30A0}-\\x{30FF}\\x{FF65}-\\x{FF9F}\\x{2F00}-\\x{2FDF}\\x{0E00}-\\x{0E7F}"
            "\\x{0E80}-\\x{0EFF}\\x{1780}-\\x{17FF}\\x{1000}-\\x{109F}\\x{AA60}-\\x{AA7F}"
            "\\x{A9E0}-\\x{A9FF}\\x{AC00}-\\x{D7AF}\\x{1100}-\\x{11FF}]+",
            "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?"
            "[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}));
  add(make("laguna", {kNewlineRuns, kQwen2}));
  add(make("exaone-moe",
           {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?"
            "(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|"
            "\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"}));
  for (const char* n : {"gemma4", "sarvam-moe"}) {
    auto p = make(n, {kNewlineRuns});
    p.byte_encode = false;
    p.escape_whitespaces = true;
    add(p);
  }
  k.at("gemma4").newline_words_whole = true;
  k.at("sarvam-moe").clean_spaces = false;
  {
    auto p = make("minicpm5", {"\\p{N}{1,3}",
                               "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|"
                               "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                               "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"});
    p.ignore_merges = true;
    add(p);
  }
  {
    auto p = make("whitespace", {"\\S+"});
    p.byte_encode = false;
    add(p);
  }
  return k;
}

// tokenizer.ggml.pre value -> kind, plus the per-value defaults llama.cpp sets
// on top of the kind's own (clean_spaces=false, add_sep...).
struct Alias {
  const char* kind;
  bool noclean = false;
  bool ignore_merges = false;
  bool add_sep = false;
  bool no_bos = false;
};

const std::map<std::string, Alias, std::less<>>& aliases() {
  static const std::map<std::string, Alias, std::less<>> a = [] {
    std::map<std::string, Alias, std::less<>> m;
    for (const char* n : {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
                          "midm-2.0", "lfm2", "jina-v5-nano"})
      m[n] = {"llama3"};
    for (const char* n : {"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
                          "jina-v2-de", "a.x-4.0", "mellum", "modern-bert", "exaone4"})
      m[n] = {"gpt2"};
    for (const char* n : {"jina-v1-en", "jina-v2-code", "roberta-bpe"}) m[n] = {"gpt2", false, false, true};
    for (const char* n : {"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez"})
      m[n] = {"qwen2", true};
    for (const char* n : {"gpt-4o", "llama4", "kanana2", "talkie"}) m[n] = {"gpt-4o", true};
    for (const char* n : {"tiny_aya", "cohere2moe"}) m[n] = {"tiny_aya", true};
    for (const char* n : {"bailingmoe", "bailingmoe2", "llada-moe"}) m[n] = {"bailingmoe", true};
    for (const char* n : {"glm4", "chatglm-bpe"}) m[n] = {"chatglm4", false, false, false, true};
    for (const char* n : {"gemma4", "granite-embed-multi-311m"}) m[n] = {"gemma4"};
    m["default"] = {"default"};
    m["minicpm5"] = {"minicpm5"};
    m["deepseek-llm"] = {"deepseek-llm"};
    m["deepseek-coder"] = {"deepseek-coder"};
    m["deepseek-v3"] = {"deepseek3-llm"};
    m["spark2_5"] = {"spark2_5"};
    m["youtu"] = {"youtu"};
    m["falcon"] = {"falcon"};
    m["mpt"] = {"mpt"};
    m["starcoder"] = {"starcoder"};
    m["jais-2"] = {"jais2"};
    m["sarvam-moe"] = {"sarvam-moe"};
    m["whitespace"] = {"whitespace"};
    m["refact"] = {"refact"};
    m["command-r"] = {"command-r", true};
    m["qwen35"] = {"qwen35", true};
    m["stablelm2"] = {"stablelm2"};
    m["olmo"] = {"olmo"};
    m["dbrx"] = {"dbrx"};
    m["smaug-bpe"] = {"smaug"};
    m["poro-chat"] = {"poro", true};
    m["viking"] = {"viking", true};
    m["jais"] = {"jais"};
    m["tekken"] = {"tekken"};
    m["smollm"] = {"smollm", true};
    m["codeshell"] = {"codeshell"};
    m["bloom"] = {"bloom"};
    m["gpt3-finnish"] = {"gpt3-finnish"};
    m["exaone"] = {"exaone"};
    m["exaone-moe"] = {"exaone-moe"};
    m["chameleon"] = {"chameleon"};
    m["minerva-7b"] = {"minerva"};
    m["granite-embed-multi-97m"] = {"granite-embed-multi", true, true};
    m["superbpe"] = {"superbpe", true};
    m["trillion"] = {"trillion", true};
    m["granite-docling"] = {"granite-docling", true};
    m["seed-coder"] = {"seed-coder", true};
    m["hunyuan"] = {"hunyuan", true};
    m["hunyuan-dense"] = {"hunyuan-dense", true};
    m["hy_v4"] = {"hy_v4", true};
    m["joyai-llm"] = {"joyai-llm", true};
    m["kimi-k2"] = {"kimi-k2", true};
    m["ufakzeka"] = {"ufakzeka", true};
    m["grok-2"] = {"grok-2", true};
    m["afmoe"] = {"afmoe", true};
    m["laguna"] = {"laguna", true};
    m["minimax-m2"] = {"minimax-m2", true};
    m["solar-open"] = {"solar-open", true};
    m["mellum2"] = {"mellum2"};
    return m;
  }();
  return a;
}

// Resolved pre-tokenizers, one per accepted value, built once.
const std::map<std::string, PreTokenizer, std::less<>>& resolved() {
  static const std::map<std::string, PreTokenizer, std::less<>> r = [] {
    const auto kinds = build_kinds();
    std::map<std::string, PreTokenizer, std::less<>> m;
    for (const auto& [value, a] : aliases()) {
      PreTokenizer p = kinds.at(a.kind);
      p.name = value;
      if (a.noclean) p.clean_spaces = false;
      if (a.ignore_merges) p.ignore_merges = true;
      if (a.add_sep) p.add_sep = true;
      if (a.no_bos) p.no_bos = true;
      m.emplace(value, std::move(p));
    }
    return m;
  }();
  return r;
}

}  // namespace

const PreTokenizer& find_pre_tokenizer(std::string_view pre, const std::string& source) {
  const auto& r = resolved();
  auto it = r.find(pre.empty() ? std::string_view("default") : pre);
  if (it == r.end())
    throw Error(source + ": tokenizer.ggml.pre: unknown pre-tokenizer type '" + std::string(pre) +
                "' (llama.cpp knows e.g. default, llama-bpe, qwen2, gpt-2, deepseek-llm, falcon, "
                "starcoder, gpt-4o, tekken...)");
  return it->second;
}

std::vector<std::string> known_pre_tokenizers() {
  std::vector<std::string> out;
  for (const auto& [name, p] : resolved()) out.push_back(name);
  return out;
}

void apply_pre_defaults(const PreTokenizer& p, Vocab& v) {
  v.add_space_prefix = false;
  v.escape_whitespaces = p.escape_whitespaces;
  v.clean_spaces = p.clean_spaces;
  v.ignore_merges = p.ignore_merges;
  if (p.add_bos) v.special.add_bos = true;
  if (p.add_sep) v.special.add_sep = true;
  if (p.no_bos) v.special.bos = -1;
  if (p.name == "whitespace") v.lowercase = false;
}

}  // namespace tessel::bpe
