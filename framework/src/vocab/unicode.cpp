// UTF-8 decoding and Unicode properties with llama.cpp's semantics
// (src/unicode.cpp there), backed by utf8proc instead of generated tables.
#include <utf8proc.h>

#include <array>
#include <unordered_map>

#include "tessel/vocab.hpp"

namespace tessel {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (;;) {
    size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s, pos, std::string::npos);
  s.swap(out);
}

namespace utf8 {

size_t len(char lead) {
  static constexpr size_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return lookup[static_cast<uint8_t>(lead) >> 4];
}

// Mirrors llama.cpp's unicode_cpt_from_utf8: it checks lead and continuation
// bits only (overlong forms and surrogates pass), and anything else is one
// invalid byte.
uint32_t decode(std::string_view s, size_t& offset) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[offset + k]); };
  const auto cont = [&](size_t k) { return offset + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const uint8_t c = b(0);
  if (!(c & 0x80)) {
    offset += 1;
    return c;
  }
  if ((c & 0x40) && !(c & 0x20)) {
    if (cont(1)) {
      uint32_t r = ((c & 0x1Fu) << 6) | (b(1) & 0x3Fu);
      offset += 2;
      return r;
    }
  } else if ((c & 0x40) && !(c & 0x10)) {
    if (cont(1) && cont(2)) {
      uint32_t r = ((c & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
      offset += 3;
      return r;
    }
  } else if ((c & 0x40) && !(c & 0x08)) {
    if (cont(1) && cont(2) && cont(3)) {
      uint32_t r = ((c & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) |
                   (b(3) & 0x3Fu);
      offset += 4;
      return r;
    }
  }
  offset += 1;
  return 0xFFFD;
}

std::vector<uint32_t> to_cpts(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  size_t off = 0;
  while (off < s.size()) out.push_back(decode(s, off));
  return out;
}

void append(std::string& out, uint32_t cpt) {
  if (cpt <= 0x7F) {
    out.push_back(char(cpt));
  } else if (cpt <= 0x7FF) {
    out.push_back(char(0xC0 | ((cpt >> 6) & 0x1F)));
    out.push_back(char(0x80 | (cpt & 0x3F)));
  } else if (cpt <= 0xFFFF) {
    out.push_back(char(0xE0 | ((cpt >> 12) & 0x0F)));
    out.push_back(char(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cpt & 0x3F)));
  } else if (cpt <= 0x10FFFF) {
    out.push_back(char(0xF0 | ((cpt >> 18) & 0x07)));
    out.push_back(char(0x80 | ((cpt >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cpt & 0x3F)));
  } else {
    out += "\xEF\xBF\xBD";
  }
}

std::string from_cpt(uint32_t cpt) {
  std::string s;
  append(s, cpt);
  return s;
}

// The White_Space property (PropList.txt), as llama.cpp's generator lists it.
bool is_whitespace(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

Flags flags(uint32_t cpt) {
  Flags f;
  if (cpt > 0x10FFFF) {
    f.is_undefined = true;
    return f;
  }
  switch (utf8proc_category(utf8proc_int32_t(cpt))) {
    case UTF8PROC_CATEGORY_CN: f.is_undefined = true; break;
    case UTF8PROC_CATEGORY_LU: f.is_letter = true; f.is_uppercase = true; break;
    case UTF8PROC_CATEGORY_LL: f.is_letter = true; f.is_lowercase = true; break;
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: f.is_letter = true; break;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME: f.is_accent_mark = true; break;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: f.is_number = true; break;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO: f.is_punctuation = true; break;
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO: f.is_symbol = true; break;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP: f.is_separator = true; break;
    default: f.is_control = true; break;  // Cc Cf Cs Co
  }
  f.is_whitespace = is_whitespace(cpt);
  return f;
}

uint32_t to_lower(uint32_t cpt) {
  if (cpt > 0x10FFFF) return cpt;
  return uint32_t(utf8proc_tolower(utf8proc_int32_t(cpt)));
}

uint32_t nfd_first(uint32_t cpt) {
  if (cpt < 0xC0 || cpt > 0x10FFFF) return cpt;
  utf8proc_int32_t buf[8];
  int last_boundclass = 0;
  utf8proc_ssize_t n = utf8proc_decompose_char(utf8proc_int32_t(cpt), buf, 8, UTF8PROC_DECOMPOSE,
                                               &last_boundclass);
  if (n <= 0) return cpt;
  return uint32_t(buf[0]);
}

namespace {

struct Gpt2Tables {
  std::array<std::string, 256> enc;
  std::unordered_map<std::string, uint8_t> dec;
  Gpt2Tables() {
    // Printable Latin-1 bytes map to themselves; the rest to U+0100 onward, in byte order.
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      enc[b] = from_cpt(printable ? uint32_t(b) : uint32_t(256 + n++));
      dec.emplace(enc[b], uint8_t(b));
    }
  }
};

const Gpt2Tables& gpt2() {
  static const Gpt2Tables t;
  return t;
}

}  // namespace

const std::string& byte_to_gpt2(uint8_t byte) { return gpt2().enc[byte]; }

int gpt2_to_byte(std::string_view s) {
  const auto& d = gpt2().dec;
  auto it = d.find(std::string(s));
  return it == d.end() ? -1 : it->second;
}

}  // namespace utf8
}  // namespace tessel
