// AgentExecutionQueryController.get: answered from the execution cache when it holds the
// execution, which needs no hand-off at all; otherwise from a reader connection.
#include "api/services.h"

namespace aexd::api {

grpc::ServerUnaryReactor* ExecutionQueries::get(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                                grpc::ByteBuffer* response) {
  exv1::AgentExecutionId req;
  const grpc::Status decoded = decode(*request, req);
  return detail::admit(backend_, ctx, [&](auto done) {
    if (!decoded.ok()) return done(decoded);
    if (auto cached = backend_.cache.find(req.value())) {
      *response = cached->message();
      return done(grpc::Status::OK);
    }
    const uint64_t generation = backend_.cache.generation();
    backend_.reads.read(
        [&cache = backend_.cache, id = req.value(), response, generation](store::Connection& db) {
          std::shared_ptr<const store::Snapshot> found;
          auto status = pipeline::get_snapshot(db, id, found);
          if (!status.ok()) return status;
          cache.fill(id, found, generation);
          *response = found->message();
          return status;
        },
        std::move(done));
  });
}

}  // namespace aexd::api
