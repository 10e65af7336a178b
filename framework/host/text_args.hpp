#pragma once
// Text given on the command line the way llama.cpp's tools take it: escape
// sequences (\n, \t, \\, \xNN, ...) processed as common's
// string_process_escapes does, and files or '-' (standard input) read whole.
#include <string>

namespace tessel::host {

// Replaces \n \r \t \' \" \\ and \xNN by the characters they name; any other
// backslash pair is kept as written.
std::string process_escapes(const std::string& text);

// The whole of `path`, or of standard input for "-". Throws tessel::Error
// naming the file (and the option `flag`) when it can't be read.
std::string read_text_file(const std::string& path, const std::string& flag);

// llama.cpp's -f: the file's text without one trailing newline.
std::string read_prompt_file(const std::string& path, const std::string& flag);

}  // namespace tessel::host
