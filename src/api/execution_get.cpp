// AgentExecutionQueryController.get: answered on the spot when the execution cache holds the
// execution, otherwise from a reader (ReadThrough).
#include "api/services.h"

namespace aexd::api {

grpc::ServerUnaryReactor* ExecutionQueries::get(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                                grpc::ByteBuffer* response) {
  exv1::AgentExecutionId req;
  const grpc::Status decoded = decode(*request, req);
  return detail::admit(backend_, ctx, methods::kExecutionGet, req.value(), [&](auto done) {
    if (!decoded.ok()) return done(decoded);
    backend_.executions.find(req.value(), [response, done](const grpc::Status& status, model::SnapshotPtr found) {
      if (status.ok()) *response = found->message();
      done(status);
    });
  });
}

}  // namespace aexd::api
