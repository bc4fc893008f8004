// Invariant checks shared by the fuzz targets: a violated one prints what broke and aborts, which
// libFuzzer reports as a crash and saves the input for.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>
#include <grpcpp/support/status.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(condition)                                                                    \
  do {                                                                                           \
    if (!(condition)) {                                                                          \
      std::fprintf(stderr, "invariant violated at %s:%d: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                              \
    }                                                                                            \
  } while (false)

namespace aexd::fuzz {

/// OK, or INVALID_ARGUMENT whose message starts with one of `fields` and ": " (the contract's
/// "names the offending field path"); a field ending in '[' matches any element's path.
inline bool ok_or_names_field(const grpc::Status& status, std::initializer_list<std::string_view> fields) {
  if (status.ok()) return true;
  if (status.error_code() != grpc::StatusCode::INVALID_ARGUMENT) return false;
  const std::string& message = status.error_message();
  for (std::string_view field : fields) {
    if (message.rfind(field, 0) != 0) continue;
    if (field.back() == '[') return message.find(": ", field.size()) != std::string::npos;
    if (message.compare(field.size(), 2, ": ") == 0) return true;
  }
  return false;
}

/// True when every enum field set in `message` holds a value its enum defines, skipping
/// google.protobuf's own types (Struct's NullValue) and fields named `skip`.
inline bool enums_defined(const google::protobuf::Message& message, std::string_view skip = {}) {
  const auto* reflection = message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const auto* field : fields) {
    if (field->name() == skip) continue;
    if (field->type() == google::protobuf::FieldDescriptor::TYPE_ENUM) {
      const auto* type = field->enum_type();
      if (type->file()->package() == "google.protobuf") continue;
      const int n = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
      for (int i = 0; i < n; ++i) {
        const int value = field->is_repeated() ? reflection->GetRepeatedEnumValue(message, field, i)
                                               : reflection->GetEnumValue(message, field);
        if (type->FindValueByNumber(value) == nullptr) return false;
      }
    } else if (field->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
      if (field->message_type()->file()->package() == "google.protobuf") continue;
      if (!field->is_repeated()) {
        if (!enums_defined(reflection->GetMessage(message, field), skip)) return false;
        continue;
      }
      for (int i = 0; i < reflection->FieldSize(message, field); ++i)
        if (!enums_defined(reflection->GetRepeatedMessage(message, field, i), skip)) return false;
    }
  }
  return true;
}

/// The same message: equal deterministic encodings (unlike MessageDifferencer::Equals, a NaN equals
/// itself).
inline bool same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  const auto encode = [](const google::protobuf::Message& m) {
    std::string bytes;
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&out);
    out.Trim();
    return bytes;
  };
  return encode(a) == encode(b);
}

/// The message serializes, and parsing that back gives an equal message.
inline bool round_trips(const google::protobuf::Message& message) {
  std::string bytes;
  if (!message.SerializeToString(&bytes)) return false;
  std::unique_ptr<google::protobuf::Message> back(message.New());
  return back->ParseFromString(bytes) && same(*back, message);
}

/// Undecodable input is expected here, and the log line protobuf writes for each is noise.
inline void quiet_protobuf_log() { google::protobuf::SetLogHandler(nullptr); }

/// The entry point of a target whose input's first byte picks one of `checks`, which gets the rest.
template <size_t N>
int run_picked(const uint8_t* data, size_t size, void (*const (&checks)[N])(std::string_view)) {
  static const bool quiet = (quiet_protobuf_log(), true);
  (void)quiet;
  if (size > 0) checks[data[0] % N](std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  return 0;
}

}  // namespace aexd::fuzz
