#include "cli/agent_commands.h"

#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>

#include "ai/stigmer/agentic/agent/v1/agent.grpc.pb.h"

namespace aexd::cli {

namespace {

namespace res = ai::stigmer::commons::apiresource;

std::optional<res::ApiResourceOwnerScope> parse_scope(const std::string& name) {
  res::ApiResourceOwnerScope scope{};
  if (!res::ApiResourceOwnerScope_Parse(name, &scope) || scope == res::api_resource_owner_scope_unspecified) {
    return std::nullopt;
  }
  return scope;
}

void add_ref_options(CLI::App& cmd, AgentRef& ref) {
  cmd.add_option("--org", ref.org, "organization of an agent named by NAME");
  cmd.add_option("--scope", ref.scope,
                 "owner scope of an agent named by NAME (default: organization with --org, "
                 "else platform)")
      ->check(CLI::IsMember({"platform", "organization", "identity_account"}));
}

void print_agent(const Context& context, const agentv1::Agent& agent) {
  if (context.json()) return context.print_json(agent);
  const auto& m = agent.metadata();
  auto& out = context.out();
  out << "id:           " << m.id() << "\n"
      << "name:         " << m.name() << "\n"
      << "slug:         " << m.slug() << "\n"
      << "scope:        " << res::ApiResourceOwnerScope_Name(m.owner_scope()) << (m.org().empty() ? "" : " " + m.org())
      << "\n"
      << "instance:     " << agent.status().default_instance_id() << "\n"
      << "description:  " << first_line(agent.spec().description()) << "\n"
      << "instructions: " << first_line(agent.spec().instructions(), 100) << std::endl;
}

struct ApplyOptions {
  std::string file;
  std::string name, instructions, description, org, scope;
};

/// The Agent to apply: the file's (protobuf JSON; `-` is stdin), then the flags over it.
int apply(const Context& context, const ApplyOptions& o) {
  agentv1::Agent agent;
  if (!o.file.empty()) {
    std::string text;
    if (o.file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), {});
    } else {
      std::ifstream in(o.file, std::ios::binary);
      if (!in) return context.usage_error("cannot read " + o.file);
      text.assign(std::istreambuf_iterator<char>(in), {});
    }
    const auto parsed = google::protobuf::util::JsonStringToMessage(text, &agent);
    if (!parsed.ok()) return context.usage_error((o.file == "-" ? "stdin" : o.file) + ": " + parsed.ToString());
  }
  auto& m = *agent.mutable_metadata();
  if (!o.name.empty()) m.set_name(o.name);
  if (!o.org.empty()) m.set_org(o.org);
  if (!o.instructions.empty()) agent.mutable_spec()->set_instructions(o.instructions);
  if (!o.description.empty()) agent.mutable_spec()->set_description(o.description);
  if (!o.scope.empty()) m.set_owner_scope(*parse_scope(o.scope));  // CLI11 checked the name
  if (m.owner_scope() == res::api_resource_owner_scope_unspecified) {
    m.set_owner_scope(m.org().empty() ? res::platform : res::organization);
  }
  if (m.name().empty() && m.slug().empty() && m.id().empty()) {
    return context.usage_error("agent apply: give -f FILE or --name (and --instructions)");
  }

  grpc::ClientContext call;
  context.connection().prepare(call);
  agentv1::Agent reply;
  const auto status =
      agentv1::AgentCommandController::NewStub(context.connection().channel())->apply(&call, agent, &reply);
  if (!status.ok()) return context.call_failed(status);
  if (context.json()) {
    context.print_json(reply);
  } else {
    const std::string& event = reply.status().audit().spec_audit().event();
    context.out() << "agent " << reply.metadata().id() << " (" << reply.metadata().slug() << ") "
                  << (event.empty() ? "applied" : event) << std::endl;
  }
  return exit_code::kOk;
}

int get(const Context& context, const AgentRef& ref) {
  agentv1::Agent agent;
  const auto status = resolve_agent(context, ref, agent);
  if (!status.ok()) return context.call_failed(status);
  print_agent(context, agent);
  return exit_code::kOk;
}

int remove(const Context& context, const AgentRef& ref) {
  std::string id = ref.name_or_id;
  if (!id.starts_with("agt-")) {
    agentv1::Agent agent;
    const auto status = resolve_agent(context, ref, agent);
    if (!status.ok()) return context.call_failed(status);
    id = agent.metadata().id();
  }
  agentv1::AgentId request;
  request.set_value(id);
  grpc::ClientContext call;
  context.connection().prepare(call);
  agentv1::Agent reply;
  const auto status =
      agentv1::AgentCommandController::NewStub(context.connection().channel())->delete_(&call, request, &reply);
  if (!status.ok()) return context.call_failed(status);
  if (context.json()) {
    context.print_json(reply);
  } else {
    context.out() << "deleted agent " << reply.metadata().id() << std::endl;
  }
  return exit_code::kOk;
}

}  // namespace

std::string slug_of(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    if (c == ' ') c = '-';
    const bool kept = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!kept || (c == '-' && (out.empty() || out.back() == '-'))) continue;
    out += static_cast<char>(c);
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

grpc::Status resolve_agent(const Context& context, const AgentRef& ref, agentv1::Agent& out) {
  auto stub = agentv1::AgentQueryController::NewStub(context.connection().channel());
  grpc::ClientContext call;
  context.connection().prepare(call);
  if (ref.name_or_id.starts_with("agt-")) {
    agentv1::AgentId id;
    id.set_value(ref.name_or_id);
    return stub->get(&call, id, &out);
  }
  res::ApiResourceReference reference;
  const std::string scope = !ref.scope.empty() ? ref.scope : ref.org.empty() ? "platform" : "organization";
  const auto parsed = parse_scope(scope);
  if (!parsed) return {grpc::StatusCode::INVALID_ARGUMENT, "unknown scope " + scope};
  reference.set_scope(*parsed);
  reference.set_org(ref.org);
  reference.set_kind(res::apiresourcekind::agent);
  reference.set_slug(slug_of(ref.name_or_id));
  return stub->getByReference(&call, reference, &out);
}

void add_agent_commands(CLI::App& app, Selected& selected) {
  auto* agent = app.add_subcommand("agent", "agents: apply, get, delete")->require_subcommand(1);

  auto apply_options = std::make_shared<ApplyOptions>();
  auto* apply_cmd = agent->add_subcommand(
      "apply", "create or update an agent (by id, else by slug in its scope) from protobuf JSON and/or flags");
  apply_cmd->add_option("-f,--file", apply_options->file, "an Agent in protobuf JSON ('-': stdin)");
  apply_cmd->add_option("--name", apply_options->name, "metadata.name (the slug derives from it)");
  apply_cmd->add_option("--instructions", apply_options->instructions, "spec.instructions (at least 10 characters)");
  apply_cmd->add_option("--description", apply_options->description, "spec.description");
  apply_cmd->add_option("--org", apply_options->org, "metadata.org (scope organization unless --scope says)");
  apply_cmd
      ->add_option("--scope", apply_options->scope,
                   "metadata.owner_scope (default: organization with --org, "
                   "else platform)")
      ->check(CLI::IsMember({"platform", "organization"}));
  apply_cmd->callback([&selected, apply_options] {
    selected.run = [apply_options](const Context& c) { return apply(c, *apply_options); };
  });

  auto get_ref = std::make_shared<AgentRef>();
  auto* get_cmd = agent->add_subcommand("get", "show an agent, by id (agt-...) or by name or slug");
  get_cmd->add_option("agent", get_ref->name_or_id, "NAME|ID")->required();
  add_ref_options(*get_cmd, *get_ref);
  get_cmd->callback([&selected, get_ref] { selected.run = [get_ref](const Context& c) { return get(c, *get_ref); }; });

  auto delete_ref = std::make_shared<AgentRef>();
  auto* delete_cmd =
      agent->add_subcommand("delete", "delete an agent (and its instances); FAILED_PRECONDITION while it has sessions");
  delete_cmd->add_option("agent", delete_ref->name_or_id, "ID (or NAME)")->required();
  add_ref_options(*delete_cmd, *delete_ref);
  delete_cmd->callback(
      [&selected, delete_ref] { selected.run = [delete_ref](const Context& c) { return remove(c, *delete_ref); }; });
}

}  // namespace aexd::cli
