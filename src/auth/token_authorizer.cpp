#include "auth/token_authorizer.h"

#include <grpc/grpc_security_constants.h>

#include <algorithm>
#include <cctype>

namespace aexd::auth {
namespace {

grpc::Status unauthenticated(const std::string& why) { return {grpc::StatusCode::UNAUTHENTICATED, why}; }

}  // namespace

std::string_view bearer_token(std::string_view header) {
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() || header[kScheme.size()] != ' ') return {};
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return {};
  auto token = header.substr(kScheme.size() + 1);
  token.remove_prefix(std::min(token.find_first_not_of(' '), token.size()));
  const bool blank_inside = token.find_first_of(" \t") != std::string_view::npos;
  return blank_inside ? std::string_view{} : token;
}

Result<std::unique_ptr<TokenAuthorizer>> TokenAuthorizer::load(std::string path) {
  auto table = read_tokens(path);
  if (!table.ok()) return table.status();
  return std::make_unique<TokenAuthorizer>(std::move(*table), std::move(path));
}

TokenAuthorizer::TokenAuthorizer(TokenTable table, std::string path)
    : path_(std::move(path)), table_(std::make_shared<const TokenTable>(std::move(table))) {}

Result<size_t> TokenAuthorizer::reload() {
  auto table = read_tokens(path_);
  if (!table.ok()) return table.status();
  const size_t entries = table->size();
  auto replacement = std::make_shared<const TokenTable>(std::move(*table));
  std::lock_guard lock(mutex_);
  table_.swap(replacement);  // the old table is freed after the lock, by whoever holds it last
  return entries;
}

std::shared_ptr<const TokenTable> TokenAuthorizer::table() const {
  std::lock_guard lock(mutex_);
  return table_;
}

grpc::Status TokenAuthorizer::authorize(const grpc::ServerContextBase& ctx, api::Right right) const {
  const auto table = this->table();
  const Entry* entry = nullptr;
  const auto& metadata = ctx.client_metadata();
  // A bearer token, when sent, decides; the certificate only stands in for a missing one.
  if (auto header = metadata.find("authorization"); header != metadata.end()) {
    const auto token = bearer_token(std::string_view(header->second.data(), header->second.size()));
    if (token.empty()) return unauthenticated("the authorization header is not \"Bearer <token>\"");
    entry = find_token(*table, sha256(token));
    if (!entry) return unauthenticated("unknown bearer token");
  } else {
    const auto auth = ctx.auth_context();
    if (auth && auth->IsPeerAuthenticated() && !table->common_names.empty()) {
      for (const auto& cn : auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME))
        if ((entry = find_common_name(*table, std::string_view(cn.data(), cn.size())))) break;
    }
    if (!entry)
      return unauthenticated("no bearer token (authorization: Bearer <token>) nor a client certificate it knows");
  }
  if (!allows(entry->role, right))
    return {grpc::StatusCode::PERMISSION_DENIED, std::string("'") + entry->name + "' has role " +
                                                     std::string(name_of(entry->role)) + ", this call needs the " +
                                                     std::string(name_of(right)) + " right"};
  return grpc::Status::OK;
}

}  // namespace aexd::auth
