// A test-only decorator of the storage interface: every operation goes to the real storage, and
// after each execution insert (the last write of an execution create) `after_insert` may fail the
// job, so that its rollback is seen, or hold the writer, so that queues fill deterministically.
#pragma once

#include <functional>
#include <memory>

#include "app/server.h"
#include "store/storage.h"

namespace aexd::test {

class FaultyStorage final : public store::Storage {
 public:
  /// Runs on the writer after the real insert; a status other than OK fails the job.
  using AfterInsert = std::function<grpc::Status(const Execution&)>;

  /// Opens the real storage as the server would, wrapped.
  static OpenStorage opener(AfterInsert after_insert) {
    return [after_insert](const Options& options, boost::asio::any_io_executor executor,
                          model::CommitListener& listener,
                          store::CommitStats* stats) -> Result<std::unique_ptr<store::Storage>> {
      auto real = open_storage(options, std::move(executor), listener, stats);
      if (!real.ok()) return real.status();
      return std::unique_ptr<store::Storage>(new FaultyStorage(std::move(*real), after_insert));
    };
  }

  using store::Storage::write;
  void write(Job job, Done done, Wanted wanted) override {
    real_->write(
        [this, job = std::move(job)](store::Tx& tx) {
          Tx faulty(tx, after_insert_);
          return job(faulty);
        },
        std::move(done), std::move(wanted));
  }
  void read(Read read, Done done) override { real_->read(std::move(read), std::move(done)); }
  size_t queued_writes() const override { return real_->queued_writes(); }
  void stop() override { real_->stop(); }

 private:
  FaultyStorage(std::unique_ptr<store::Storage> real, AfterInsert after_insert)
      : real_(std::move(real)), after_insert_(std::move(after_insert)) {}

  class Tx final : public store::Tx {
   public:
    Tx(store::Tx& real, const AfterInsert& after_insert) : real_(real), after_insert_(after_insert) {}

    grpc::Status insert(const Execution& r, model::SnapshotPtr encoded) override {
      auto status = real_.insert(r, std::move(encoded));
      return status.ok() ? after_insert_(r) : status;
    }

    grpc::Status find(std::string_view id, std::optional<Agent>& out) override { return real_.find(id, out); }
    grpc::Status find(std::string_view id, std::optional<AgentInstance>& out) override { return real_.find(id, out); }
    grpc::Status find(std::string_view id, std::optional<Session>& out) override { return real_.find(id, out); }
    grpc::Status find(std::string_view id, std::optional<Execution>& out) override { return real_.find(id, out); }
    grpc::Status find_snapshot(std::string_view id, model::SnapshotPtr& out) override {
      return real_.find_snapshot(id, out);
    }
    grpc::Status agent_by_slug(const res::ApiResourceMetadata& scope, std::string_view slug, std::string& id) override {
      return real_.agent_by_slug(scope, slug, id);
    }
    grpc::Status instance_by_slug(const res::ApiResourceMetadata& scope, std::string_view slug,
                                  std::string& id) override {
      return real_.instance_by_slug(scope, slug, id);
    }
    grpc::Status agent_by_slug_in_any_org(res::ApiResourceOwnerScope scope, std::string_view slug,
                                          std::string& id) override {
      return real_.agent_by_slug_in_any_org(scope, slug, id);
    }
    grpc::Status instance_by_slug_in_any_org(res::ApiResourceOwnerScope scope, std::string_view slug,
                                             std::string& id) override {
      return real_.instance_by_slug_in_any_org(scope, slug, id);
    }
    grpc::Status count_sessions_of_agent(std::string_view id, int64_t& n) override {
      return real_.count_sessions_of_agent(id, n);
    }
    grpc::Status count_sessions_of_instance(std::string_view id, int64_t& n) override {
      return real_.count_sessions_of_instance(id, n);
    }
    grpc::Status instances_of_agent(std::string_view id, std::vector<AgentInstance>& out) override {
      return real_.instances_of_agent(id, out);
    }
    grpc::Status executions_of_session(std::string_view id, std::vector<Execution>& out) override {
      return real_.executions_of_session(id, out);
    }
    grpc::Status list(const store::ListQuery<store::ExecutionFilter>& q, store::ListPage<Execution>& out) override {
      return real_.list(q, out);
    }
    grpc::Status list(const store::ListQuery<store::SessionFilter>& q, store::ListPage<Session>& out) override {
      return real_.list(q, out);
    }
    grpc::Status find_idempotency_key(std::string_view key, std::optional<store::IdempotencyKey>& out) override {
      return real_.find_idempotency_key(key, out);
    }
    grpc::Status find_lease(std::string_view id, std::optional<store::Lease>& out) override {
      return real_.find_lease(id, out);
    }
    grpc::Status live_executions(int pending_limit, std::vector<store::LiveExecution>& out) override {
      return real_.live_executions(pending_limit, out);
    }
    grpc::Status unheld_pending(const std::vector<std::string>& agents, int limit,
                                std::vector<store::LiveExecution>& out) override {
      return real_.unheld_pending(agents, limit, out);
    }
    grpc::Status ended_before(int64_t before_ms, int limit, std::vector<std::string>& ids) override {
      return real_.ended_before(before_ms, limit, ids);
    }
    grpc::Status oldest_ended(std::optional<int64_t>& ms) override { return real_.oldest_ended(ms); }
    grpc::Status insert(const Agent& r) override { return real_.insert(r); }
    grpc::Status insert(const AgentInstance& r) override { return real_.insert(r); }
    grpc::Status insert(const Session& r) override { return real_.insert(r); }
    grpc::Status replace(const Agent& now, const Agent& before) override { return real_.replace(now, before); }
    grpc::Status replace(const AgentInstance& now, const AgentInstance& before) override {
      return real_.replace(now, before);
    }
    grpc::Status replace(const Session& now, const Session& before) override { return real_.replace(now, before); }
    grpc::Status replace(const Execution& now, const Execution& before, model::SnapshotPtr encoded) override {
      return real_.replace(now, before, std::move(encoded));
    }
    grpc::Status replace_status(const Execution& now, Phase before, model::SnapshotPtr encoded) override {
      return real_.replace_status(now, before, std::move(encoded));
    }
    grpc::Status remove(const Agent& before) override { return real_.remove(before); }
    grpc::Status remove(const AgentInstance& before) override { return real_.remove(before); }
    grpc::Status remove(const Session& before) override { return real_.remove(before); }
    grpc::Status remove(const Execution& before) override { return real_.remove(before); }
    grpc::Status insert(const store::IdempotencyKey& key) override { return real_.insert(key); }
    grpc::Status remove_idempotency_key(std::string_view key) override { return real_.remove_idempotency_key(key); }
    grpc::Status remove_idempotency_keys_before(int64_t before_ms, int limit) override {
      return real_.remove_idempotency_keys_before(before_ms, limit);
    }
    grpc::Status put(const store::Lease& lease) override { return real_.put(lease); }

   private:
    store::Tx& real_;
    const AfterInsert& after_insert_;
  };

  std::unique_ptr<store::Storage> real_;
  AfterInsert after_insert_;
};

}  // namespace aexd::test
