#include "cli/command.h"

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>

#include <ctime>
#include <ostream>

namespace aexd::cli {

int Context::call_failed(const grpc::Status& status) const {
  err_ << "aexctl: " << describe(status) << std::endl;
  return exit_code::kCallFailed;
}

int Context::usage_error(const std::string& what) const {
  err_ << "aexctl: " << what << std::endl;
  return exit_code::kUsage;
}

void Context::print_json(const google::protobuf::Message& message, bool one_line) const {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = !one_line;
  std::string json;
  // Only a message with an invalid UTF-8 string fails, and the server never sends one.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  while (!json.empty() && json.back() == '\n') json.pop_back();
  out_ << json << std::endl;
}

std::string format_time(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "";
  const std::time_t seconds = static_cast<std::time_t>(time.seconds());
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &utc);
  return text;
}

std::string first_line(const std::string& text, size_t width) {
  std::string line = text.substr(0, text.find('\n'));
  if (width > 3 && line.size() > width) line = line.substr(0, width - 3) + "...";
  return line;
}

}  // namespace aexd::cli
