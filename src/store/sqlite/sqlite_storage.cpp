#include "store/sqlite/sqlite_storage.h"

#include "store/sqlite/database_file.h"
#include "store/sqlite/schema.h"

namespace aexd::store::sqlite {

SqliteStorage::SqliteStorage(const Settings& settings, boost::asio::any_io_executor executor,
                             std::unique_ptr<Connection> writer, model::CommitListener& listener)
    : writes_(executor, std::move(writer), Connection::open(settings.path, settings.sync), settings.limits, listener,
              settings.stats),
      reads_(executor, settings.path, settings.readers) {}

Result<std::unique_ptr<Storage>> SqliteStorage::open(const Settings& settings, boost::asio::any_io_executor executor,
                                                     model::CommitListener& listener) {
  try {
    check_database_file(settings.path);
    auto writer = Connection::open(settings.path, settings.sync);
    migrate(*writer);
    return std::unique_ptr<Storage>(new SqliteStorage(settings, std::move(executor), std::move(writer), listener));
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "database " + settings.path + ": " + e.what());
  }
}

}  // namespace aexd::store::sqlite
