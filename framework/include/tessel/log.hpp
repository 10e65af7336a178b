#pragma once
// `tessel --verbose`: one stderr line per pipeline step naming the plugin it
// uses (format, tokenizer, architecture, codecs) and the kernel path each
// weight type runs on. Off by default; the host turns it on.
#include <string>

namespace tessel {

void set_verbose(bool on);
bool verbose();
// Writes "tessel: <line>" to stderr when verbose() is on.
void verbose_log(const std::string& line);

// `--log-disable` (llama.cpp's name): the informational stderr lines (seed,
// timings, notes) are left out; errors and warnings still print.
void set_quiet(bool on);
bool quiet();

}  // namespace tessel
