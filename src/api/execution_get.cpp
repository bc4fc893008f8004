// AgentExecutionQueryController.get: answered on the spot when the execution cache holds the
// execution, otherwise from a reader (ReadThrough).
#include "api/services.h"

namespace aexd::api {

grpc::ServerUnaryReactor* ExecutionQueries::get(grpc::CallbackServerContext* ctx, const Bytes* request,
                                                Bytes* response) {
  exv1::AgentExecutionId req;
  const grpc::Status decoded = decode_request(*request, req);
  const std::string_view id = decoded.ok() ? std::string_view(req.value()) : std::string_view();
  return detail::admit(backend_, ctx, methods::kExecutionGet, id, [&](auto done) {
    if (!decoded.ok()) return done(decoded);
    backend_.executions.find(req.value(), [response, done](const grpc::Status& status, model::SnapshotPtr found) {
      if (status.ok()) *response = found->message();
      done(status);
    });
  });
}

}  // namespace aexd::api
