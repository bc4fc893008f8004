// Requests in and replies out as bytes: the one decoding step every method shares, so that bad
// bytes get the same answer everywhere. Plain functions of their arguments; any thread.
#pragma once

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/byte_buffer.h>

#include "domain/errors.h"
#include "domain/validation.h"

namespace aexd::api {

/// The request as an `M`, its ids and names within their bounds: INVALID_ARGUMENT
/// "request: cannot be decoded as <type>" for bytes that are not an `M` (truncated, a wrong wire
/// type, invalid UTF-8 in a string field), or naming the first field over its bound. `out` is
/// meaningful only when the result is OK.
template <class M>
grpc::Status decode_request(const grpc::ByteBuffer& bytes, M& out) {
  grpc::ByteBuffer copy(bytes);  // Deserialize consumes its buffer; the copy shares the slices
  if (!grpc::SerializationTraits<M>::Deserialize(&copy, &out).ok())
    return errors::invalid("request", "cannot be decoded as " + M::descriptor()->full_name());
  return check_bounds(out);
}

/// `message` as the bytes of a reply; `out` must be empty (gRPC asserts it).
template <class M>
grpc::Status encode_reply(const M& message, grpc::ByteBuffer& out) {
  bool own_buffer = false;
  return grpc::SerializationTraits<M>::Serialize(message, &out, &own_buffer);
}

}  // namespace aexd::api
