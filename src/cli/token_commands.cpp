// `aexctl token new NAME ROLE`: needs no server. Main's thread.
#include <memory>
#include <ostream>

#include "cli/command.h"
#include "cli/token.h"

namespace aexd::cli {

namespace {

struct NewTokenOptions {
  std::string name, role;
};

int new_token_command(const Context& context, const NewTokenOptions& o) {
  if (!valid_token_name(o.name)) return context.usage_error("token name must match [A-Za-z0-9_.-]+: " + o.name);
  if (!valid_role(o.role)) return context.usage_error("role must be reader, runner or writer: " + o.role);
  const auto token = new_token();
  if (!token) return context.usage_error("getrandom failed");
  context.out() << *token << "\n" << tokens_file_line(o.name, o.role, *token) << std::endl;
  return exit_code::kOk;
}

}  // namespace

void add_token_commands(CLI::App& app, Selected& selected) {
  auto* token = app.add_subcommand("token", "bearer tokens for aexd")->require_subcommand(1);
  auto o = std::make_shared<NewTokenOptions>();
  auto* create = token->add_subcommand(
      "new",
      "print a fresh token (first line; give it to the client, e.g. in a --token-file) and the line granting it "
      "in aexd's tokens file (second line: NAME ROLE SHA256HEX; only the hash is stored there)");
  create->add_option("name", o->name, "who holds it ([A-Za-z0-9_.-]+)")->required();
  create->add_option("role", o->role, "reader, runner or writer")->required();
  create->callback([&selected, o] {
    selected.run = [o](const Context& c) { return new_token_command(c, *o); };
    selected.needs_connection = false;
  });
}

}  // namespace aexd::cli
