#include "api/read_through.h"

#include <memory>

#include "pipeline/resources.h"

namespace aexd::api {

void ReadThrough::find(const std::string& id, Found found) {
  if (auto cached = cache_.find(id)) return found(grpc::Status::OK, std::move(cached));
  // Taken before the read: a commit applied meanwhile may have made what the read sees stale.
  const uint64_t generation = cache_.generation();
  auto read = std::make_shared<model::SnapshotPtr>();
  storage_.read(
      [this, id, read, generation](store::Reader& db) {
        auto status = pipeline::get_snapshot(db, id, *read);
        if (status.ok()) cache_.fill(id, *read, generation);
        return status;
      },
      [read, found = std::move(found)](const grpc::Status& status) { found(status, std::move(*read)); });
}

}  // namespace aexd::api
