#pragma once
// `tessel --version`: what a bug report needs in one block of text.
#include <string>

namespace tessel::host {

// "tessel 0.1.0", the git commit it was built from, the compiler and build
// flags, and the SIMD kernel path each weight type gets on this CPU.
std::string version_text();

}  // namespace tessel::host
