// pveam access web-user add|list|remove: the local accounts of pveaudit's
// web UI and REST API for a host without Proxmox's login (the demo, a
// central server). Accounts live in the store's settings
// (server/auth_local.h): every change is an audit event with who, before
// and after; the password's Argon2id hash is stored apart and never shown.
// The password is read from the terminal or a file, never from the
// command line (where ps and the shell history would show it).
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/host_name.h"
#include "pve/parse_util.h"
#include "server/auth_local.h"
#include "store/audited_setting.h"

namespace pveaudit {
namespace {

using auth::WebRole;
using auth::WebUser;

// "alice" or "alice@pveaudit"; a usage error naming the value otherwise.
std::string NameArg(const std::string& arg) {
  auto name = auth::WebUserNameOf(arg);
  if (!name)
    throw UsageError{"invalid web user name '" + arg +
                     "': expected 1 to 32 of A-Z a-z 0-9 . _ - starting with a letter or digit "
                     "(the realm @pveaudit may follow)"};
  return *name;
}

// The first line of `path` ("-": standard input), without its line end.
std::string PasswordFromFile(const std::string& path) {
  std::string line;
  if (path == "-") {
    if (!std::getline(std::cin, line))
      throw UsageError{"--password-file -: standard input is empty"};
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in)
      throw UsageError{"cannot read --password-file '" + path + "': " + std::strerror(errno)};
    if (!std::getline(in, line)) throw UsageError{"--password-file '" + path + "' is empty"};
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Reads a line from the terminal with echo off.
bool ReadHidden(FILE* tty, const char* prompt, std::string* out) {
  std::fputs(prompt, tty);
  std::fflush(tty);
  termios old{};
  const int fd = fileno(tty);
  const bool term = tcgetattr(fd, &old) == 0;
  if (term) {
    termios quiet = old;
    quiet.c_lflag &= ~tcflag_t(ECHO);
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  char buf[1100];
  const bool ok = std::fgets(buf, sizeof buf, tty) != nullptr;
  if (term) tcsetattr(fd, TCSAFLUSH, &old);
  std::fputs("\n", tty);
  if (!ok) return false;
  *out = buf;
  while (!out->empty() && (out->back() == '\n' || out->back() == '\r')) out->pop_back();
  std::memset(buf, 0, sizeof buf);
  return true;
}

std::string PasswordFromTerminal() {
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (!tty)
    throw UsageError{
        "no terminal to ask for the password: use --password-file FILE (or - for "
        "standard input)"};
  std::string first, second;
  const bool ok = ReadHidden(tty, "Enter new password: ", &first) &&
                  ReadHidden(tty, "Retype new password: ", &second);
  std::fclose(tty);
  if (!ok) throw UsageError{"no password given"};
  if (first != second) throw UsageError{"the passwords differ"};
  return first;
}

Table UsersTable(const std::vector<WebUser>& users, OutputFormat fmt) {
  Table t;
  t.columns = {"userid", "role", "created", "created_by"};
  if (fmt == OutputFormat::kText) t.width = 80;
  for (const WebUser& u : users)
    t.rows.push_back({u.userid(), std::string(auth::WebRoleName(u.role)), u.created, u.created_by});
  return t;
}

int Fail(const Status& st) {
  std::cerr << "error: " << st.message() << "\n";
  return kExitFailure;
}

struct WebUserAddOptions {
  CommonOptions common;
  std::string name, role, password_file;
};

CommandRun AddWebUserAdd(CLI::App* parent) {
  auto o = std::make_shared<WebUserAddOptions>();
  CLI::App* cmd = parent->add_subcommand("add", "Add a local web account");
  cmd->add_option("name", o->name, "The account's name (NAME or NAME@pveaudit)")
      ->required()
      ->type_name("NAME");
  cmd->add_option("--role", o->role,
                  "auditor (sees every event: Sys.Audit on /) or admin (also changes alert "
                  "rules and export destinations: Sys.Audit and Sys.Modify on /)")
      ->required()
      ->type_name("ROLE");
  cmd->add_option("--password-file", o->password_file,
                  "Read the password from the first line of FILE (- for standard input) "
                  "instead of asking on the terminal")
      ->type_name("FILE");
  AddCommonOptions(cmd, &o->common, true);
  cmd->footer(R"(
The account logs in to pveaudit's web UI as NAME@pveaudit when the host has
no Proxmox login to share (on a Proxmox node, Proxmox users sign in with
their Proxmox session). The password is asked twice on the terminal, with
no echo, unless --password-file is given; it is never an argument. Passwords
have 8 to 1024 characters. The hash (Argon2id) is kept apart from the
account and never printed or written to an audit event.

Recorded as an audit event (pveaudit:web-user-add on
/access/users/NAME@pveaudit: who, before and after).

Examples:
  pveam access web-user add ann --role auditor
  pveam access web-user add ops --role admin --password-file /root/ops.pw)");
  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    const std::string name = NameArg(o->name);
    auto role = auth::ParseWebRole(o->role);
    if (!role)
      throw UsageError{"invalid value '" + o->role + "' for --role: expected auditor or admin"};
    auto store = OpenStoreOrDie(env, /*read_only=*/false);
    auto users = auth::ListWebUsers(auth::StoreSettingsReader(store.get()));
    if (!users.ok()) return Fail(users.status());
    if (users->count(name))
      throw UsageError{"web user '" + name +
                       "@pveaudit' exists (remove it first to set a new password)"};
    std::string password =
        o->password_file.empty() ? PasswordFromTerminal() : PasswordFromFile(o->password_file);
    Status rules = auth::CheckPasswordRules(password);
    if (!rules.ok()) throw UsageError{rules.message()};
    WebUser added;
    Status st = auth::AddWebUser(*store, LocalActor(), NodeNameOr(env.config.node), name, *role,
                                 password, auth::HashLimits::Interactive(), &added);
    std::fill(password.begin(), password.end(), '\0');
    if (!st.ok()) return Fail(st);
    if (env.format == OutputFormat::kText) {
      std::cout << "web user " << added.userid() << " added (role " << auth::WebRoleName(added.role)
                << ")\n";
      return kExitOk;
    }
    std::cout << RenderTable(UsersTable({added}, env.format), env.format);
    return kExitOk;
  };
}

CommandRun AddWebUserList(CLI::App* parent) {
  auto o = std::make_shared<CommonOptions>();
  CLI::App* cmd = parent->add_subcommand("list", "List the local web accounts");
  AddCommonOptions(cmd, o.get(), true);
  cmd->footer(R"(
JSON gives one object per account: userid (NAME@pveaudit), role (auditor or
admin), created (RFC 3339, UTC) and created_by.

Example:
  pveam access web-user list --output-format json)");
  return [o]() -> int {
    Env env = ResolveEnv(*o);
    auto store = OpenStoreOrDie(env, /*read_only=*/true);
    auto users = auth::ListWebUsers(auth::StoreSettingsReader(store.get()));
    if (!users.ok()) return Fail(users.status());
    if (users->empty() && env.format == OutputFormat::kText) {
      std::cerr << "no web users (add one with 'pveam access web-user add NAME --role "
                   "auditor')\n";
      return kExitOk;
    }
    std::vector<WebUser> list;
    for (const auto& [name, u] : *users) list.push_back(u);
    std::cout << RenderTable(UsersTable(list, env.format), env.format);
    return kExitOk;
  };
}

CommandRun AddWebUserRemove(CLI::App* parent) {
  struct Options {
    CommonOptions common;
    std::string name;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = parent->add_subcommand("remove", "Remove a local web account");
  cmd->add_option("name", o->name, "The account's name (NAME or NAME@pveaudit)")
      ->required()
      ->type_name("NAME");
  AddCommonOptions(cmd, &o->common, true);
  cmd->footer(R"(
The account's sessions end at their next request. Recorded as an audit event
(pveaudit:web-user-remove: who, before and after).

Example:
  pveam access web-user remove ann)");
  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    const std::string name = NameArg(o->name);
    auto store = OpenStoreOrDie(env, /*read_only=*/false);
    auto users = auth::ListWebUsers(auth::StoreSettingsReader(store.get()));
    if (!users.ok()) return Fail(users.status());
    if (!users->count(name))
      throw UsageError{"no web user '" + name + "@pveaudit' (see 'pveam access web-user list')"};
    WebUser removed;
    Status st =
        auth::RemoveWebUser(*store, LocalActor(), NodeNameOr(env.config.node), name, &removed);
    if (!st.ok()) return Fail(st);
    if (env.format == OutputFormat::kText) {
      std::cout << "web user " << removed.userid() << " removed\n";
      return kExitOk;
    }
    std::cout << RenderTable(UsersTable({removed}, env.format), env.format);
    return kExitOk;
  };
}

Table TokensTable(const std::vector<auth::WebToken>& tokens, OutputFormat fmt,
                  const std::string& secret = "") {
  Table t;
  t.columns = {"tokenid", "created", "created_by"};
  if (!secret.empty()) t.columns.push_back("value");
  if (fmt == OutputFormat::kText) t.width = 80;
  for (const auth::WebToken& k : tokens) {
    std::vector<Cell> row = {k.tokenid, k.created, k.created_by};
    if (!secret.empty()) row.push_back(secret);
    t.rows.push_back(std::move(row));
  }
  return t;
}

void CheckTokenId(const std::string& id) {
  if (!pve::ValidRealm(id))
    throw UsageError{"invalid token id '" + id +
                     "': expected a letter, then at least one of A-Z a-z 0-9 . - _"};
}

struct TokenOptions {
  CommonOptions common;
  std::string name, id;
};

CommandRun AddTokenAdd(CLI::App* parent) {
  auto o = std::make_shared<TokenOptions>();
  CLI::App* cmd = parent->add_subcommand("add", "Add an API token to a local web account");
  cmd->add_option("name", o->name, "The account (NAME or NAME@pveaudit)")
      ->required()
      ->type_name("NAME");
  cmd->add_option("id", o->id, "The token's id (a letter, then letters, digits, . - _)")
      ->required()
      ->type_name("TOKENID");
  AddCommonOptions(cmd, &o->common, true);
  cmd->footer(R"(
Prints the token's secret once; it is stored only as its SHA-256. Programs
send it as Proxmox's API tokens are sent:
  Authorization: PVEAPIToken=NAME@pveaudit!TOKENID=SECRET
The token has its account's role, and dies with the account. Recorded as an
audit event (pveaudit:web-token-add), without the secret.

Example:
  pveam access web-user token add ops ci)");
  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    const std::string name = NameArg(o->name);
    CheckTokenId(o->id);
    auto store = OpenStoreOrDie(env, /*read_only=*/false);
    auto users = auth::ListWebUsers(auth::StoreSettingsReader(store.get()));
    if (!users.ok()) return Fail(users.status());
    if (!users->count(name))
      throw UsageError{"no web user '" + name + "@pveaudit' (see 'pveam access web-user list')"};
    auto tokens = auth::ListWebTokens(auth::StoreSettingsReader(store.get()));
    if (!tokens.ok()) return Fail(tokens.status());
    if (tokens->count(name + "@pveaudit!" + o->id))
      throw UsageError{"token '" + name + "@pveaudit!" + o->id + "' exists"};
    std::string secret;
    auth::WebToken added;
    Status st = auth::AddWebToken(*store, LocalActor(), NodeNameOr(env.config.node), name, o->id,
                                  &secret, &added);
    if (!st.ok()) return Fail(st);
    if (env.format == OutputFormat::kText) {
      std::cout << "API token " << added.tokenid << " added; its secret (shown only now):\n"
                << secret << "\n";
      return kExitOk;
    }
    std::cout << RenderTable(TokensTable({added}, env.format, secret), env.format);
    return kExitOk;
  };
}

CommandRun AddTokenList(CLI::App* parent) {
  struct Options {
    CommonOptions common;
    std::string name;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = parent->add_subcommand("list", "List the API tokens of local web accounts");
  cmd->add_option("name", o->name, "Only this account's tokens")->type_name("NAME");
  AddCommonOptions(cmd, &o->common, true);
  cmd->footer(R"(
JSON gives one object per token: tokenid, created, created_by (never the
secret).

Example:
  pveam access web-user token list ops)");
  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    std::string name = o->name.empty() ? std::string() : NameArg(o->name);
    auto store = OpenStoreOrDie(env, /*read_only=*/true);
    auto tokens = auth::ListWebTokens(auth::StoreSettingsReader(store.get()));
    if (!tokens.ok()) return Fail(tokens.status());
    std::vector<auth::WebToken> list;
    for (const auto& [id, t] : *tokens)
      if (name.empty() || t.user == name) list.push_back(t);
    if (list.empty() && env.format == OutputFormat::kText) {
      std::cerr << "no API tokens\n";
      return kExitOk;
    }
    std::cout << RenderTable(TokensTable(list, env.format), env.format);
    return kExitOk;
  };
}

CommandRun AddTokenRemove(CLI::App* parent) {
  auto o = std::make_shared<TokenOptions>();
  CLI::App* cmd = parent->add_subcommand("remove", "Remove an API token of a local web account");
  cmd->add_option("name", o->name, "The account (NAME or NAME@pveaudit)")
      ->required()
      ->type_name("NAME");
  cmd->add_option("id", o->id, "The token's id")->required()->type_name("TOKENID");
  AddCommonOptions(cmd, &o->common, true);
  cmd->footer(R"(
The token stops working at once. Recorded as an audit event
(pveaudit:web-token-remove).

Example:
  pveam access web-user token remove ops ci)");
  return [o]() -> int {
    Env env = ResolveEnv(o->common);
    const std::string name = NameArg(o->name);
    CheckTokenId(o->id);
    auto store = OpenStoreOrDie(env, /*read_only=*/false);
    auto tokens = auth::ListWebTokens(auth::StoreSettingsReader(store.get()));
    if (!tokens.ok()) return Fail(tokens.status());
    const std::string tokenid = name + "@pveaudit!" + o->id;
    if (!tokens->count(tokenid))
      throw UsageError{"no token '" + tokenid + "' (see 'pveam access web-user token list')"};
    Status st =
        auth::RemoveWebToken(*store, LocalActor(), NodeNameOr(env.config.node), name, o->id);
    if (!st.ok()) return Fail(st);
    if (env.format == OutputFormat::kText) {
      std::cout << "API token " << tokenid << " removed\n";
      return kExitOk;
    }
    std::cout << RenderTable(TokensTable({tokens->at(tokenid)}, env.format), env.format);
    return kExitOk;
  };
}

}  // namespace

void AddAccessWebUserCommands(CLI::App* access,
                              std::vector<std::pair<CLI::App*, CommandRun>>* commands) {
  CLI::App* web = access->add_subcommand(
      "web-user", "Local accounts of the web UI and REST API: add, list, remove, token");
  web->require_subcommand(0, 1);
  web->allow_extras();
  web->footer(R"(
Local accounts (NAME@pveaudit) and their API tokens are for hosts without
Proxmox's login, such as the demo or a central server; on a Proxmox node,
users sign in with their Proxmox session and API tokens. See docs/auth.md.

Examples:
  pveam access web-user add ann --role auditor
  pveam access web-user list
  pveam access web-user remove ann
  pveam access web-user token add ann ci)");
  auto reg = [&](CommandRun run) {
    CLI::App* cmd = web->get_subcommands({}).back();
    cmd->allow_extras();
    commands->emplace_back(cmd, std::move(run));
  };
  reg(AddWebUserAdd(web));
  reg(AddWebUserList(web));
  reg(AddWebUserRemove(web));
  CLI::App* token =
      web->add_subcommand("token", "API tokens of local web accounts: add, list, remove");
  token->require_subcommand(0, 1);
  token->allow_extras();
  token->footer(R"(
Examples:
  pveam access web-user token add ops ci
  pveam access web-user token list
  pveam access web-user token remove ops ci)");
  auto reg_token = [&](CommandRun run) {
    CLI::App* cmd = token->get_subcommands({}).back();
    cmd->allow_extras();
    commands->emplace_back(cmd, std::move(run));
  };
  reg_token(AddTokenAdd(token));
  reg_token(AddTokenList(token));
  reg_token(AddTokenRemove(token));
}

}  // namespace pveaudit
