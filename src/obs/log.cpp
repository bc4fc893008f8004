#include "obs/log.h"

#include <google/protobuf/stubs/logging.h>
#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <array>
#include <ctime>
#include <string>

namespace aexd::obs {
namespace {

// A line's payload is `msg`, then, if it has fields, '\t' and `key=value` pairs separated by ' ':
// readable as it is by any formatter, and turned into JSON members by ours without re-escaping,
// since a string value is already a JSON string and a number a JSON number.
constexpr char kFieldsStart = '\t';

std::string json_string(std::string_view text) {
  // Truncated client input may end inside a UTF-8 sequence: replaced, never thrown about.
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool is_key(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

bool is_number(std::string_view value) {
  if (value.empty()) return false;
  for (char c : value)
    if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')) return false;
  return true;
}

/// Appends `,"key":value` for each pair of `fields`; false (and `out` unusable) if they are not ours.
bool append_json_members(std::string_view fields, std::string& out) {
  size_t i = 0;
  while (i < fields.size()) {
    const size_t eq = fields.find('=', i);
    if (eq == std::string_view::npos || !is_key(fields.substr(i, eq - i))) return false;
    const std::string_view key = fields.substr(i, eq - i);
    size_t end = eq + 1;
    if (end < fields.size() && fields[end] == '"') {
      for (++end; end < fields.size() && fields[end] != '"'; end += fields[end] == '\\' ? 2 : 1) {
      }
      if (end >= fields.size()) return false;
      ++end;
    } else {
      end = std::min(fields.find(' ', end), fields.size());
      if (!is_number(fields.substr(eq + 1, end - eq - 1))) return false;
    }
    out += ",\"";
    out += key;
    out += "\":";
    out += fields.substr(eq + 1, end - eq - 1);
    if (end < fields.size() && fields[end] != ' ') return false;
    i = end + 1;
  }
  return true;
}

std::string_view level_name(LogLevel level) {
  static constexpr std::array<std::string_view, 7> kNames = {"trace", "debug",    "info", "warn",
                                                             "error", "critical", "off"};
  const auto i = static_cast<size_t>(level);
  return i < kNames.size() ? kNames[i] : "info";
}

/// 2024-05-01T12:00:00.123Z
void append_time(spdlog::log_clock::time_point time, std::string& out) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  out.append(text, n);
  const auto millis = static_cast<int>(ms % 1000);
  out += '.';
  out += static_cast<char>('0' + millis / 100);
  out += static_cast<char>('0' + millis / 10 % 10);
  out += static_cast<char>('0' + millis % 10);
  out += 'Z';
}

class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(LogFormat format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    const size_t split = payload.find(kFieldsStart);
    const std::string_view text = payload.substr(0, split);
    const std::string_view fields = split == std::string_view::npos ? "" : payload.substr(split + 1);
    std::string line;
    if (format_ == LogFormat::json) {
      line += "{\"ts\":\"";
      append_time(msg.time, line);
      line += "\",\"level\":\"";
      line += level_name(msg.level);
      line += "\",\"msg\":";
      const size_t before_msg = line.size();
      line += json_string(text);
      if (!append_json_members(fields, line)) {  // not from log(): all of it is the message
        line.resize(before_msg);
        line += json_string(payload);
      }
      line += "}\n";
    } else {
      append_time(msg.time, line);
      line += ' ';
      line += level_name(msg.level);
      line += ' ';
      line += text;
      if (!fields.empty()) {
        line += ' ';
        line += fields;
      }
      line += '\n';
    }
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<LineFormatter>(format_); }

 private:
  const LogFormat format_;
};

// protobuf reports bytes it could not parse (invalid UTF-8 in a string field, say) on the ERROR level;
// the client already got INVALID_ARGUMENT for them, so a client could flood the log: they go to
// debug, bounded. A fatal one is logged as such before protobuf aborts.
void log_protobuf(google::protobuf::LogLevel level, const char*, int, const std::string& message) {
  constexpr size_t kMaxBytes = 256;  // protobuf's own text; field names, never the bytes themselves
  log(level == google::protobuf::LOGLEVEL_FATAL ? LogLevel::critical : LogLevel::debug, "protobuf",
      {{"detail", std::string_view(message).substr(0, kMaxBytes)}});
}

}  // namespace

std::unique_ptr<spdlog::formatter> line_formatter(LogFormat format) { return std::make_unique<LineFormatter>(format); }

void configure_logging(LogLevel level, LogFormat format) {
  spdlog::init_thread_pool(8192, 1);
  auto logger =
      std::make_shared<spdlog::async_logger>("aexd", std::make_shared<spdlog::sinks::stderr_sink_mt>(),
                                             spdlog::thread_pool(), spdlog::async_overflow_policy::overrun_oldest);
  logger->set_formatter(line_formatter(format));
  logger->set_level(level);
  spdlog::set_default_logger(std::move(logger));
  google::protobuf::SetLogHandler(log_protobuf);
}

void stop_logging() {
  google::protobuf::SetLogHandler(nullptr);  // discarded from here on: the logger is gone
  spdlog::shutdown();
}

std::string_view bounded(std::string_view client_input) { return client_input.substr(0, 64); }

void log(spdlog::logger& logger, LogLevel level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!logger.should_log(level)) return;
  try {
    std::string payload(msg.substr(0, msg.find(kFieldsStart)));
    char separator = kFieldsStart;
    for (const Field& f : fields) {
      payload += separator;
      separator = ' ';
      payload += f.key;
      payload += '=';
      payload += f.number ? std::string(f.value) : json_string(f.value);
    }
    logger.log(level, spdlog::string_view_t(payload.data(), payload.size()));
  } catch (...) {  // a line that cannot be made is lost; the caller carries on
  }
}

void log(LogLevel level, std::string_view msg, std::initializer_list<Field> fields) {
  log(*spdlog::default_logger_raw(), level, msg, fields);
}

}  // namespace aexd::obs
