// `aexctl exec ...`: create, get, list (paging on its own), delete, the lifecycle calls, push
// (updateStatus) and watch (the live view over subscribe). Main's thread, plus a spinner thread
// while a watch runs on a terminal.
#include <google/protobuf/util/time_util.h>
#include <grpcpp/client_context.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <iomanip>
#include <mutex>
#include <ostream>
#include <thread>

#include <signal.h>
#include <unistd.h>

#include "ai/stigmer/agentic/agentexecution/v1/agentexecution.grpc.pb.h"
#include "cli/agent_commands.h"
#include "cli/command.h"
#include "cli/watch_view.h"

namespace aexd::cli {

namespace {

using Commands = exv1::AgentExecutionCommandController;
using Queries = exv1::AgentExecutionQueryController;
using google::protobuf::util::TimeUtil;

std::unique_ptr<Commands::Stub> commands(const Context& c) { return Commands::NewStub(c.connection().channel()); }
std::unique_ptr<Queries::Stub> queries(const Context& c) { return Queries::NewStub(c.connection().channel()); }

void print_execution(const Context& context, const exv1::AgentExecution& e) {
  if (context.json()) return context.print_json(e);
  const auto& s = e.status();
  auto& out = context.out();
  out << "id:        " << e.metadata().id() << "\n"
      << "name:      " << e.metadata().name() << "\n"
      << "agent:     " << e.spec().agent_id() << "\n"
      << "session:   " << e.spec().session_id() << "\n"
      << "phase:     " << short_name(s.phase()) << "\n"
      << "created:   " << format_time(s.audit().spec_audit().created_at()) << "\n";
  if (!s.started_at().empty()) out << "started:   " << s.started_at() << "\n";
  if (!s.completed_at().empty()) out << "completed: " << s.completed_at() << "\n";
  if (!s.error().empty()) out << "error:     " << s.error() << "\n";
  if (e.metadata().tags_size() > 0) {
    out << "tags:     ";
    for (const auto& tag : e.metadata().tags()) out << " " << tag;
    out << "\n";
  }
  out << "message:   " << first_line(e.spec().message(), 100) << "\n"
      << "messages:  " << s.messages_size() << ", tool calls: " << s.tool_calls_size() << std::endl;
}

/// Prints the reply of a call that changes one execution: `ID PHASE`, or the execution as JSON.
int print_changed(const Context& context, const grpc::Status& status, const exv1::AgentExecution& reply) {
  if (!status.ok()) return context.call_failed(status);
  if (context.json()) {
    context.print_json(reply);
  } else {
    context.out() << reply.metadata().id() << " " << short_name(reply.status().phase()) << std::endl;
  }
  return exit_code::kOk;
}

/// Ctrl-C during a watch on a terminal: wipe the progress line (and any colour) rather than leave
/// it under the shell's prompt. Async-signal-safe: write(2) and _exit(2) only.
extern "C" void wipe_and_exit(int) {
  constexpr char kWipe[] = "\033[0m\r\033[K";
  if (write(STDOUT_FILENO, kWipe, sizeof kWipe - 1) < 0) _exit(exit_code::kInterrupted);
  _exit(exit_code::kInterrupted);
}

/// Feeds a WatchView and writes its lines, with a progress line under them that a spinner thread
/// redraws on a terminal; plain lines otherwise. The view and stdout are shared with that thread,
/// hence the mutex.
class WatchScreen {
 public:
  WatchScreen(const Context& context, WatchView& view)
      : out_(context.out()), view_(view), animated_(context.terminal()), started_(std::chrono::steady_clock::now()) {
    if (!animated_) return;
    struct sigaction action {};
    action.sa_handler = wipe_and_exit;
    sigaction(SIGINT, &action, nullptr);
    spinner_ = std::thread([this] { spin(); });
  }
  ~WatchScreen() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    if (spinner_.joinable()) spinner_.join();
  }

  void show(const exv1::AgentExecution& snapshot) {
    std::lock_guard lock(mutex_);
    write(view_.update(snapshot));
  }
  /// The last lines (none when the stream failed); no progress line after them.
  void finish(const std::vector<std::string>& lines) {
    std::lock_guard lock(mutex_);
    done_ = true;
    write(lines);
  }

 private:
  /// Under mutex_.
  void write(const std::vector<std::string>& lines) {
    if (shown_) out_ << "\r\033[K";  // wipe the progress line; it is redrawn under the new lines
    shown_ = false;
    for (const auto& line : lines) out_ << line << "\n";
    draw();
    out_ << std::flush;
  }
  void spin() {
    std::unique_lock lock(mutex_);
    while (!done_) {
      // The animation's clock: nothing waits on it.
      wake_.wait_for(lock, std::chrono::milliseconds(100), [&] { return done_; });
      ++tick_;
      write({});
    }
  }
  /// Under mutex_.
  void draw() {
    if (!animated_ || done_ || !view_.started() || is_terminal(view_.phase())) return;
    const auto watched = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
    out_ << view_.progress(tick_, watched);
    shown_ = true;
  }

  std::ostream& out_;
  WatchView& view_;
  const bool animated_;
  const std::chrono::steady_clock::time_point started_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  bool shown_ = false;  // the progress line is on screen
  unsigned tick_ = 0;
  std::thread spinner_;  // last: it starts once the rest is initialised
};

/// Exit status: exit_code_for() the last phase seen; kCallFailed if the stream failed.
int watch(const Context& context, const std::string& id) {
  exv1::AgentExecutionId request;
  request.set_value(id);
  grpc::ClientContext call;  // no deadline: a run may take hours
  auto reader = queries(context)->subscribe(&call, request);
  WatchView view(context.terminal());
  exv1::AgentExecution snapshot;
  grpc::Status end;
  if (context.json()) {
    // One snapshot per line, for tools that follow the stream.
    while (reader->Read(&snapshot)) {
      view.update(snapshot);
      context.print_json(snapshot, true);
    }
    end = reader->Finish();
  } else {
    WatchScreen screen(context, view);
    while (reader->Read(&snapshot)) screen.show(snapshot);
    end = reader->Finish();
    screen.finish(end.ok() ? std::vector<std::string>{view.final_line()} : std::vector<std::string>{});
  }
  if (!end.ok()) return context.call_failed(end);
  return view.exit_code(end);
}

struct CreateOptions {
  AgentRef agent;
  std::string session, message, name, idempotency_key;
  std::vector<std::string> tags;
  bool watch = false;
};

int create(const Context& context, const CreateOptions& o) {
  if (o.agent.name_or_id.empty() && o.session.empty())
    return context.usage_error("exec create: give --agent or --session");
  exv1::AgentExecution execution;
  execution.mutable_metadata()->set_name(o.name);
  for (const auto& tag : o.tags) execution.mutable_metadata()->add_tags(tag);
  execution.mutable_spec()->set_session_id(o.session);
  execution.mutable_spec()->set_message(o.message);
  if (!o.agent.name_or_id.empty()) {
    std::string agent_id = o.agent.name_or_id;
    if (!agent_id.starts_with("agt-")) {
      agentv1::Agent agent;
      const auto status = resolve_agent(context, o.agent, agent);
      if (!status.ok()) return context.call_failed(status);
      agent_id = agent.metadata().id();
    }
    execution.mutable_spec()->set_agent_id(agent_id);
  }
  grpc::ClientContext call;
  context.connection().prepare(call);
  if (!o.idempotency_key.empty()) call.AddMetadata("idempotency-key", o.idempotency_key);
  exv1::AgentExecution reply;
  const auto status = commands(context)->create(&call, execution, &reply);
  if (!status.ok()) return context.call_failed(status);
  if (context.json()) {
    if (!o.watch) context.print_json(reply);  // with --watch, the stream's first line shows it
  } else {
    context.out() << reply.metadata().id() << std::endl;
  }
  return o.watch ? watch(context, reply.metadata().id()) : exit_code::kOk;
}

int get(const Context& context, const std::string& id) {
  exv1::AgentExecutionId request;
  request.set_value(id);
  grpc::ClientContext call;
  context.connection().prepare(call);
  exv1::AgentExecution reply;
  const auto status = queries(context)->get(&call, request, &reply);
  if (!status.ok()) return context.call_failed(status);
  print_execution(context, reply);
  return exit_code::kOk;
}

int remove(const Context& context, const std::string& id) {
  ai::stigmer::commons::apiresource::ApiResourceId request;
  request.set_value(id);
  grpc::ClientContext call;
  context.connection().prepare(call);
  exv1::AgentExecution reply;
  const auto status = commands(context)->delete_(&call, request, &reply);
  if (!status.ok()) return context.call_failed(status);
  if (context.json()) {
    context.print_json(reply);
  } else {
    context.out() << "deleted execution " << reply.metadata().id() << std::endl;
  }
  return exit_code::kOk;
}

struct LifecycleOptions {
  std::string id, reason;
};

/// cancel, terminate, pause: `Input` is {id, reason}; resume has no reason.
template <class Input, class Call>
int lifecycle(const Context& context, const LifecycleOptions& o, Call rpc) {
  Input input;
  input.set_id(o.id);
  if constexpr (requires { input.set_reason(o.reason); }) input.set_reason(o.reason);
  grpc::ClientContext call;
  context.connection().prepare(call);
  exv1::AgentExecution reply;
  auto stub = commands(context);
  const auto status = ((*stub).*rpc)(&call, input, &reply);
  return print_changed(context, status, reply);
}

struct ListOptions {
  std::string phase, session;
  std::vector<std::string> tags;
  int limit = 50;
  int page_size = 100;
};

/// The next page's token from the response header (empty on the last page).
std::string next_page_token(const grpc::ClientContext& call) {
  const auto& headers = call.GetServerInitialMetadata();
  const auto it = headers.find("x-next-page-token");
  return it == headers.end() ? "" : std::string(it->second.data(), it->second.size());
}

int list(const Context& context, const ListOptions& o) {
  std::optional<exv1::ExecutionPhase> phase;
  if (!o.phase.empty()) {
    phase = parse_phase(o.phase);
    if (!phase) return context.usage_error("unknown phase " + o.phase);
  }
  if (!o.session.empty() && (phase || !o.tags.empty())) {
    return context.usage_error("exec list: --session lists all of a session's executions; no --phase or --tag with it");
  }
  exv1::AgentExecutionList all;
  std::string token;
  auto stub = queries(context);
  do {
    const size_t want = o.limit > 0 ? static_cast<size_t>(o.limit) - static_cast<size_t>(all.entries_size()) : 0;
    const int page_size =
        want > 0 ? static_cast<int>(std::min<size_t>(want, static_cast<size_t>(o.page_size))) : o.page_size;
    grpc::ClientContext call;
    context.connection().prepare(call);
    exv1::AgentExecutionList page;
    grpc::Status status;
    if (!o.session.empty()) {
      exv1::ListAgentExecutionsBySessionRequest request;
      request.set_session_id(o.session);
      request.set_page_size(page_size);
      request.set_page_token(token);
      status = stub->listBySession(&call, request, &page);
    } else {
      exv1::ListAgentExecutionsRequest request;
      request.set_page_size(page_size);
      request.set_page_token(token);
      if (phase) request.set_phase(*phase);
      for (const auto& tag : o.tags) request.add_tags(tag);
      status = stub->list(&call, request, &page);
    }
    if (!status.ok()) return context.call_failed(status);
    for (auto& e : *page.mutable_entries()) *all.add_entries() = std::move(e);
    token = next_page_token(call);
  } while (!token.empty() && (o.limit <= 0 || all.entries_size() < o.limit));

  if (context.json()) {
    context.print_json(all);
    return exit_code::kOk;
  }
  auto& out = context.out();
  out << std::left << std::setw(31) << "ID" << std::setw(31) << "AGENT" << std::setw(21) << "PHASE" << std::setw(20)
      << "CREATED"
      << "MESSAGE"
      << "\n";
  for (const auto& e : all.entries()) {
    out << std::setw(30) << e.metadata().id() << " " << std::setw(30) << e.spec().agent_id() << " " << std::setw(20)
        << short_name(e.status().phase()) << " " << std::setw(19)
        << format_time(e.status().audit().spec_audit().created_at()) << " " << first_line(e.spec().message(), 60)
        << "\n";
  }
  out << std::flush;
  return exit_code::kOk;
}

struct PushOptions {
  std::string id, phase, message, type = "ai", error;
};

/// updateStatus replaces the stored messages with the pushed ones, so a new message goes out
/// with those stored before it (read first; a runner pushing at the same time may lose the race).
int push(const Context& context, const PushOptions& o) {
  if (o.phase.empty() && o.message.empty() && o.error.empty()) {
    return context.usage_error("exec push: give --phase, --message or --error");
  }
  std::optional<exv1::ExecutionPhase> phase;
  if (!o.phase.empty()) {
    phase = parse_phase(o.phase);
    if (!phase) return context.usage_error("unknown phase " + o.phase);
  }
  std::string type_name = "MESSAGE_" + o.type;
  std::transform(type_name.begin(), type_name.end(), type_name.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  exv1::MessageType type{};
  if (!exv1::MessageType_Parse(type_name, &type)) return context.usage_error("unknown message type " + o.type);
  exv1::AgentExecutionUpdateStatusInput input;
  input.set_execution_id(o.id);
  auto& status = *input.mutable_status();
  const std::string now = TimeUtil::ToString(TimeUtil::GetCurrentTime());
  if (!o.message.empty()) {
    exv1::AgentExecutionId id;
    id.set_value(o.id);
    grpc::ClientContext call;
    context.connection().prepare(call);
    exv1::AgentExecution current;
    const auto read = queries(context)->get(&call, id, &current);
    if (!read.ok()) return context.call_failed(read);
    *status.mutable_messages() = current.status().messages();
    auto& message = *status.add_messages();
    message.set_type(type);
    message.set_content(o.message);
    message.set_timestamp(now);
    if (!phase && current.status().started_at().empty()) status.set_started_at(now);
  }
  if (phase) {
    status.set_phase(*phase);
    if (*phase == exv1::EXECUTION_IN_PROGRESS) status.set_started_at(now);
    if (is_terminal(*phase)) status.set_completed_at(now);
  }
  status.set_error(o.error);
  grpc::ClientContext call;
  context.connection().prepare(call);
  exv1::AgentExecution reply;
  const auto pushed = commands(context)->updateStatus(&call, input, &reply);
  return print_changed(context, pushed, reply);
}

const char* const kWatchExitCodes =
    "exit status: 0 COMPLETED, 3 FAILED, 4 CANCELLED, 5 TERMINATED, 130 interrupted (Ctrl-C), 1 if the stream failed "
    "(NOT_FOUND: unknown or "
    "deleted execution; UNAVAILABLE: server gone), 2 bad usage";

}  // namespace

void add_exec_commands(CLI::App& app, Selected& selected) {
  auto* exec = app.add_subcommand("exec", "agent executions")->require_subcommand(1);
  // Each command's options live as long as the App: CLI11 writes them during the parse.
  const auto on_parse = [&selected](CLI::App* cmd, auto run) {
    cmd->callback([&selected, run] { selected.run = run; });
  };

  auto c = std::make_shared<CreateOptions>();
  auto* create_cmd = exec->add_subcommand("create", std::string("create an execution and print its id (--watch: then "
                                                                "watch it; ") +
                                                        kWatchExitCodes + ")");
  create_cmd->add_option("--agent", c->agent.name_or_id, "NAME|ID of the agent (a session is made for it)");
  create_cmd->add_option("--org", c->agent.org, "organization of an agent given by NAME");
  create_cmd->add_option("--scope", c->agent.scope, "owner scope of an agent given by NAME")
      ->check(CLI::IsMember({"platform", "organization", "identity_account"}));
  create_cmd->add_option("--session", c->session, "run in this session (ses-...) instead");
  create_cmd->add_option("-m,--message", c->message, "the message to the agent")->required();
  create_cmd->add_option("--name", c->name, "metadata.name (default: the id)");
  create_cmd->add_option("--tag", c->tags, "metadata.tags (repeatable)");
  create_cmd->add_option("--idempotency-key", c->idempotency_key,
                         "repeat-safe create: the same key returns the "
                         "first execution");
  create_cmd->add_flag("-w,--watch", c->watch, "watch it like `exec watch`");
  on_parse(create_cmd, [c](const Context& ctx) { return create(ctx, *c); });

  auto id = std::make_shared<std::string>();
  auto* get_cmd = exec->add_subcommand("get", "show an execution");
  get_cmd->add_option("id", *id, "ID")->required();
  on_parse(get_cmd, [id](const Context& ctx) { return get(ctx, *id); });

  auto* delete_cmd = exec->add_subcommand("delete", "delete an execution");
  delete_cmd->add_option("id", *id, "ID")->required();
  on_parse(delete_cmd, [id](const Context& ctx) { return remove(ctx, *id); });

  auto* watch_cmd =
      exec->add_subcommand("watch", std::string("follow an execution live until it ends; ") + kWatchExitCodes);
  watch_cmd->add_option("id", *id, "ID")->required();
  on_parse(watch_cmd, [id](const Context& ctx) { return watch(ctx, *id); });

  auto l = std::make_shared<LifecycleOptions>();
  const auto add_lifecycle = [&](const char* name, const char* help, bool reason, auto run) {
    auto* cmd = exec->add_subcommand(name, help);
    cmd->add_option("id", l->id, "ID")->required();
    if (reason) cmd->add_option("--reason", l->reason, "why (kept as the execution's error when it ends it)");
    on_parse(cmd, [l, run](const Context& ctx) { return run(ctx, *l); });
  };
  add_lifecycle("cancel", "cancel an execution (PENDING, IN_PROGRESS, PAUSED, WAITING_FOR_APPROVAL -> CANCELLED)", true,
                [](const Context& ctx, const LifecycleOptions& o) {
                  return lifecycle<exv1::CancelAgentExecutionInput>(ctx, o, &Commands::Stub::cancel);
                });
  add_lifecycle("terminate", "terminate an execution (any non-terminal phase -> TERMINATED)", true,
                [](const Context& ctx, const LifecycleOptions& o) {
                  return lifecycle<exv1::TerminateAgentExecutionInput>(ctx, o, &Commands::Stub::terminate);
                });
  add_lifecycle("pause", "pause an execution (PENDING, IN_PROGRESS -> PAUSED)", true,
                [](const Context& ctx, const LifecycleOptions& o) {
                  return lifecycle<exv1::PauseAgentExecutionInput>(ctx, o, &Commands::Stub::pause);
                });
  add_lifecycle("resume", "resume a paused execution (PAUSED -> IN_PROGRESS)", false,
                [](const Context& ctx, const LifecycleOptions& o) {
                  return lifecycle<exv1::ResumeAgentExecutionInput>(ctx, o, &Commands::Stub::resume);
                });

  auto ls = std::make_shared<ListOptions>();
  auto* list_cmd = exec->add_subcommand("list", "list executions, newest first (a table; pages on its own)");
  list_cmd->add_option("--phase", ls->phase, "only this phase (e.g. in_progress, EXECUTION_FAILED)");
  list_cmd->add_option("--tag", ls->tags, "only executions with this tag (repeatable: all of them)");
  list_cmd->add_option("--session", ls->session, "only this session's executions");
  list_cmd->add_option("--limit", ls->limit, "at most this many rows (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  list_cmd->add_option("--page-size", ls->page_size, "rows per request")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  on_parse(list_cmd, [ls](const Context& ctx) { return list(ctx, *ls); });

  auto p = std::make_shared<PushOptions>();
  auto* push_cmd = exec->add_subcommand(
      "push",
      "push a status update (updateStatus), as a runner does: a phase, a message appended to the stored ones, "
      "an error");
  push_cmd->add_option("id", p->id, "ID")->required();
  push_cmd->add_option("--phase", p->phase, "new phase (e.g. in_progress, COMPLETED, EXECUTION_FAILED)");
  push_cmd->add_option("-m,--message", p->message, "a message to append");
  push_cmd->add_option("--type", p->type, "the message's type")
      ->check(CLI::IsMember({"ai", "human", "tool", "system", "thinking"}, CLI::ignore_case))
      ->capture_default_str();
  push_cmd->add_option("--error", p->error, "status.error");
  on_parse(push_cmd, [p](const Context& ctx) { return push(ctx, *p); });
}

}  // namespace aexd::cli
