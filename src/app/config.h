// aexd's configuration: each setting is declared once in config.cpp (name, help, type and check;
// the default is Options'), and read from a flag --NAME, an environment variable AEXD_NAME (upper
// case, '-' as '_') or the key NAME of the JSON file --config or AEXD_CONFIG names, in that order of
// precedence. load() takes the arguments, the environment and a file reader, so it runs without a
// process; it never prints or exits.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/options.h"

namespace aexd::config {

using Environment = std::map<std::string, std::string>;
/// A file's contents, or nullopt with `error` saying why it cannot be read.
using ReadFile = std::function<std::optional<std::string>(const std::string& path, std::string& error)>;

std::optional<std::string> read_file(const std::string& path, std::string& error);
/// This process's environment.
Environment environment();

/// What to do: run with `options`, or exit at once with `exit_code` after printing `out` to stdout
/// and `err` to stderr (--help, --version, --print-config, or an error naming the setting and its source).
struct Loaded {
  Options options;
  std::optional<int> exit_code;
  std::string out;
  std::string err;
};

/// `args` without the program name.
Loaded load(const std::vector<std::string>& args, const Environment& env, const ReadFile& read = read_file);

/// The configuration as --print-config prints it: every setting, durations as text ("10m"); loading
/// it back as a --config file gives `options` again.
std::string to_json(const Options& options);

}  // namespace aexd::config
