#include "pipeline/retention.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/resources.h"

namespace aexd::pipeline {

grpc::Status remove_ended(store::Tx& tx, int64_t before_ms, int limit, model::RetentionBatch& out) {
  out = {};
  std::vector<std::string> ids;
  if (auto s = tx.ended_before(before_ms, limit, ids); !s.ok()) return s;
  for (const auto& id : ids) {
    Execution removed;
    if (auto s = remove(tx, id, removed); !s.ok()) return s;
    ++out.removed;
  }
  return tx.oldest_ended(out.oldest_ended_ms);
}

void StoredRetention::remove_ended(std::chrono::milliseconds retain, int limit, Done done) {
  auto out = std::make_shared<model::RetentionBatch>();
  storage_.write(
      [retain, limit, out](store::Tx& tx) {
        using namespace std::chrono;  // ms, as ended_ms is: the status audit's clock has whole seconds
        const int64_t now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
        return pipeline::remove_ended(tx, now_ms - retain.count(), limit, *out);
      },
      [out, done = std::move(done)](const grpc::Status& status) { done(status, *out); });
}

}  // namespace aexd::pipeline
