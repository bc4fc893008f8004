// TokenAuthorizer: who may make a call, decided from its bearer token or (mTLS) its verified client
// certificate's CN against the tokens file. authorize() runs on gRPC threads, reload() on any other
// thread; the table is swapped whole, so each waits for the other only while a pointer is copied.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "api/calls.h"
#include "auth/tokens.h"
#include "domain/result.h"

namespace aexd::auth {

/// The token of an `authorization` header `Bearer <token>` (the scheme in any case, RFC 6750);
/// empty when the header is not that.
std::string_view bearer_token(std::string_view header);

class TokenAuthorizer final : public api::Authorizer {
 public:
  /// Reads the tokens file at `path`; an error names the file and the bad line.
  static Result<std::unique_ptr<TokenAuthorizer>> load(std::string path);
  explicit TokenAuthorizer(TokenTable table, std::string path = {});

  /// Re-reads the file; on an error the table in use stays. The number of entries now in use.
  Result<size_t> reload();
  const std::string& path() const { return path_; }

  grpc::Status authorize(const grpc::ServerContextBase& ctx, api::Right right) const override;

 private:
  std::shared_ptr<const TokenTable> table() const;

  const std::string path_;
  // Not std::atomic<std::shared_ptr>: libstdc++ 12's load() releases its internal lock with relaxed
  // order, which leaves a later store unordered after the load's read (ThreadSanitizer reports it).
  mutable std::mutex mutex_;
  std::shared_ptr<const TokenTable> table_;  // guarded by mutex_
};

}  // namespace aexd::auth
