// Logging through spdlog's default logger: one line per event on stderr, as text or as one JSON object
// per line (ts, level, msg and the event's fields). log() is thread-safe, never throws, and once
// configure_logging() ran never waits for stderr.
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/logger.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace aexd::obs {

using LogLevel = spdlog::level::level_enum;
enum class LogFormat { text, json };

/// Makes the default logger write to stderr at `level` in `format` through a bounded queue and a thread
/// of its own (when the queue is full the oldest line is dropped, rather than the caller waiting), and
/// protobuf's own log lines go through it too (debug, bounded). From main, before other threads log.
void configure_logging(LogLevel level, LogFormat format);
/// Writes out what is queued and stops the logging thread: the last thing main does.
void stop_logging();

/// One field of a log line. A number's `value` is its decimal text.
struct Field {
  std::string_view key;  // [a-z_]+
  std::string_view value;
  bool number = false;
};

/// Logs `msg` with `fields` on `logger` (the default logger: the second form).
void log(spdlog::logger& logger, LogLevel level, std::string_view msg, std::initializer_list<Field> fields);
void log(LogLevel level, std::string_view msg, std::initializer_list<Field> fields);

/// The first 64 bytes of client input: what a log line may carry of it.
std::string_view bounded(std::string_view client_input);

/// Renders a line as `format` says, whatever logged it (fields from log(); plain spdlog calls have none).
std::unique_ptr<spdlog::formatter> line_formatter(LogFormat format);

}  // namespace aexd::obs
