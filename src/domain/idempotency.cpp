#include "domain/idempotency.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <openssl/sha.h>

#include "domain/errors.h"
#include "domain/validation.h"

namespace aexd {

grpc::Status validate_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > limits::kId)
    return errors::invalid(kIdempotencyKeyHeader, "must be 1 to " + std::to_string(limits::kId) + " characters, not " +
                                                      std::to_string(key.size()));
  for (unsigned char c : key)
    if (c < 0x20 || c > 0x7e) return errors::invalid(kIdempotencyKeyHeader, "must be printable ASCII");
  return grpc::Status::OK;
}

std::string request_fingerprint(const Execution& request) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&out);
  }
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

}  // namespace aexd
