#include "app/config.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <strings.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <type_traits>
#include <utility>

#include "aexd_config.h"

extern char** environ;

namespace aexd::config {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;
using Error = std::string;  // what is wrong with a value; empty: nothing

// Codecs: how a value reads from text (a flag, an environment variable) and from JSON, and prints.

template <class T, class = void>
struct Codec;

template <>
struct Codec<std::string> {
  std::string type() const { return "TEXT"; }
  Error read(const std::string& text, std::string& out) const {
    out = text;
    return {};
  }
  Error read(const json& j, std::string& out) const {
    if (!j.is_string()) return "must be a string";
    out = j.get<std::string>();
    return {};
  }
  json write(const std::string& v) const { return v; }
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  std::string type() const { return "N"; }
  Error read(const std::string& text, T& out) const {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec == std::errc::result_out_of_range) return "is out of range";
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return "must be a whole number";
    return {};
  }
  Error read(const json& j, T& out) const {
    if (!j.is_number_integer()) return "must be a whole number";
    if (j.is_number_unsigned() ? !std::in_range<T>(j.get<uint64_t>()) : !std::in_range<T>(j.get<int64_t>()))
      return "is out of range";
    out = j.get<T>();
    return {};
  }
  json write(T v) const { return v; }
};

template <>
struct Codec<bool> {
  std::string type() const { return "BOOL"; }
  Error read(const std::string& text, bool& out) const {
    if (text != "true" && text != "1" && text != "false" && text != "0") return "must be true or false";
    out = text == "true" || text == "1";
    return {};
  }
  Error read(const json& j, bool& out) const {
    if (!j.is_boolean()) return "must be true or false";
    out = j.get<bool>();
    return {};
  }
  json write(bool v) const { return v; }
};

/// A number and a unit (ms, s, m, h, d); a bare number is seconds. Printed in the largest exact unit.
template <>
struct Codec<milliseconds> {
  std::string type() const { return "DURATION"; }
  Error read(const std::string& text, milliseconds& out) const {
    static const std::regex kDuration(R"(([0-9]{1,12})(ms|s|m|h|d)?)");
    static const std::map<std::string, int64_t> kUnitMs{{"ms", 1},     {"", 1000},       {"s", 1000},
                                                        {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
    std::smatch m;
    if (!std::regex_match(text, m, kDuration)) return "must be a duration such as 90s, 10m or 24h (0: none)";
    out = milliseconds(std::stoll(m[1]) * kUnitMs.at(m[2]));
    return {};
  }
  Error read(const json& j, milliseconds& out) const {
    if (j.is_number_unsigned()) return read(std::to_string(j.get<uint64_t>()), out);
    if (!j.is_string()) return "must be a duration such as \"10m\"";
    return read(j.get<std::string>(), out);
  }
  json write(milliseconds v) const {
    if (v.count() == 0) return "0";
    for (auto [unit, ms] : {std::pair{"h", 3'600'000}, {"m", 60'000}, {"s", 1000}})
      if (v.count() % ms == 0) return std::to_string(v.count() / ms) + unit;
    return std::to_string(v.count()) + "ms";
  }
};

/// A duration given as whole seconds (--lease-seconds 60).
struct Seconds {
  std::string type() const { return "SECONDS"; }
  template <class Input>
  Error read(const Input& input, milliseconds& out) const {
    int seconds = 0;
    if (Error e = Codec<int>().read(input, seconds); !e.empty()) return e;
    out = std::chrono::seconds(seconds);
    return {};
  }
  json write(milliseconds v) const { return std::chrono::duration_cast<std::chrono::seconds>(v).count(); }
};

/// One of a few names (case-insensitive when read).
template <class E>
struct Choices {
  std::vector<std::pair<std::string, E>> names;

  std::string type() const {
    std::string out;
    for (const auto& [name, _] : names) out += (out.empty() ? "" : "|") + name;
    return out;
  }
  Error read(const std::string& text, E& out) const {
    for (const auto& [name, value] : names) {
      if (strcasecmp(name.c_str(), text.c_str()) == 0) {
        out = value;
        return {};
      }
    }
    return "must be one of " + type();
  }
  Error read(const json& j, E& out) const {
    if (!j.is_string()) return "must be one of " + type();
    return read(j.get<std::string>(), out);
  }
  json write(E v) const {
    for (const auto& [name, value] : names)
      if (value == v) return name;
    return nullptr;
  }
};

// Checks of a value once read: an error, or empty.
template <class T>
using Check = std::function<Error(const T&)>;

auto at_least(long long lo) {
  return [lo](const auto& v) { return std::cmp_less(v, lo) ? "must be at least " + std::to_string(lo) : Error(); };
}
auto between(long long lo, long long hi) {
  return [lo, hi](const auto& v) {
    return std::cmp_less(v, lo) || std::cmp_greater(v, hi)
               ? "must be between " + std::to_string(lo) + " and " + std::to_string(hi)
               : Error();
  };
}

/// One setting: a field of Options, type-erased.
struct Setting {
  std::string name;  // the flag without its dashes and the JSON key
  std::string help;
  std::string type;
  bool is_switch = false;  // a flag that takes no value: --bench-noop
  std::function<Error(Options&, const std::string&)> from_text;
  std::function<Error(Options&, const json&)> from_json;
  std::function<json(const Options&)> to_json;

  std::string env() const {
    std::string out = "AEXD_";
    for (char c : name) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
  }
};

template <class T, class C = Codec<T>>
Setting field(std::string name, T Options::*member, std::string help, std::type_identity_t<Check<T>> check = {},
              C codec = {}) {
  auto set = [member, check, codec](Options& options, const auto& input) {
    T value{};
    Error e = codec.read(input, value);
    if (e.empty() && check) e = check(value);
    if (e.empty()) options.*member = value;
    return e;
  };
  return {std::move(name),
          std::move(help),
          codec.type(),
          std::is_same_v<T, bool>,
          set,
          set,
          [member, codec](const Options& options) { return codec.write(options.*member); }};
}

// Every setting, in the order --help and --print-config show them. Adding one: a field in Options
// (with its default), and a line here.
const std::vector<Setting>& settings() {
  using store::Sync;
  static const std::vector<Setting> all{
      field("listen", &Options::listen, "address to serve gRPC on"),
      field("db", &Options::db, "SQLite database file (created if missing), or a PostgreSQL URI (postgresql://...) that several aexd share"),
      field("sync", &Options::sync, "durability: full survives power loss, normal a process crash", {},
            Choices<Sync>{{{"full", Sync::full}, {"normal", Sync::normal}, {"off", Sync::off}}}),
      field("readers", &Options::readers, "reader connections (0: one per core)", at_least(0)),
      field("max-queued-writes", &Options::max_queued_writes,
            "writes waiting for commit before new ones get RESOURCE_EXHAUSTED", at_least(1)),
      field("write-queue-budget", &Options::write_queue_budget,
            "a write that would wait longer than this for its commit, at the recent commit rate, gets "
            "RESOURCE_EXHAUSTED (0: only --max-queued-writes sheds)"),
      field("max-in-flight", &Options::max_in_flight, "unary calls in progress before new ones get RESOURCE_EXHAUSTED",
            at_least(1)),
      field("cache-mb", &Options::cache_mb, "MiB of encoded executions kept in memory for get and subscribe (0: none)"),
      field("max-message-mb", &Options::max_message_mb,
            "largest request accepted, in MiB (larger ones get RESOURCE_EXHAUSTED); replies may be as large",
            between(1, 2047)),
      field("bench-noop", &Options::bench_noop,
            "also serve aexd.bench.v1.Noop/call, a do-nothing floor for load tests"),
      field("idempotency-ttl", &Options::idempotency_ttl, "how long an execution create's idempotency-key counts"),
      field(
          "lease-seconds", &Options::lease,
          "a runner's lease when its claim names none: it ends this long after the runner's last status push",
          [](const milliseconds& v) { return between(1, 24 * 3600)(v.count() / 1000); }, Seconds{}),
      field("max-attempts", &Options::max_attempts,
            "assignments of an execution that no runner starts before it ends FAILED", between(1, 1000)),
      field("stall-timeout", &Options::stall_timeout,
            "an IN_PROGRESS execution with no status push for this long ends FAILED (0: never)"),
      field("retain-terminal", &Options::retain_terminal,
            "delete executions this long after they end (COMPLETED, FAILED, CANCELLED, TERMINATED), e.g. 30d (0: "
            "keep them)"),
      field("auth-tokens", &Options::auth_tokens,
            "tokens file, lines of NAME ROLE SHA256HEX (README \"Auth and TLS\"); re-read on SIGHUP. Without it "
            "every call is allowed"),
      field("tls-cert", &Options::tls_cert, "PEM certificate chain: serve TLS instead of plaintext (with --tls-key)"),
      field("tls-key", &Options::tls_key, "PEM private key of --tls-cert"),
      field("tls-client-ca", &Options::tls_client_ca,
            "PEM CA certificates: require client certificates they signed (mTLS)"),
      field("metrics-listen", &Options::metrics_listen,
            "address to serve Prometheus metrics on at /metrics, e.g. 127.0.0.1:9464 (off when empty)"),
      field("log-level", &Options::log_level, "info logs start, stop and executions' lifecycle, debug also every call",
            {},
            Choices<obs::LogLevel>{{{"trace", obs::LogLevel::trace},
                                    {"debug", obs::LogLevel::debug},
                                    {"info", obs::LogLevel::info},
                                    {"warn", obs::LogLevel::warn},
                                    {"error", obs::LogLevel::err}}}),
      field("log-format", &Options::log_format, "text, or json: one JSON object per line (on stderr)", {},
            Choices<obs::LogFormat>{{{"text", obs::LogFormat::text}, {"json", obs::LogFormat::json}}}),
      field("shutdown-grace", &Options::shutdown_grace,
            "on SIGTERM or SIGINT, how long calls in flight may take to finish before they are cancelled"),
      field("idle-timeout", &Options::idle_timeout,
            "close a client connection that has had no call for this long (0: never)"),
      field("keepalive-time", &Options::keepalive_time,
            "ping a client connection with calls open this often, to notice a peer that is gone (0: never)"),
      field("keepalive-timeout", &Options::keepalive_timeout, "close a connection whose ping is unanswered this long"),
      field("min-client-ping-interval", &Options::min_client_ping_interval,
            "a client pinging more often than this while no data flows is sent GOAWAY (too_many_pings)"),
  };
  return all;
}

const Setting* find(const std::string& name) {
  for (const auto& s : settings())
    if (s.name == name) return &s;
  return nullptr;
}

/// A JSON value as the text a flag would give.
std::string text_of(const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

constexpr const char* kFooter =
    "Every setting is also read from the environment variable AEXD_<NAME> (--max-queued-writes: "
    "AEXD_MAX_QUEUED_WRITES) and from the JSON file that --config or AEXD_CONFIG names, whose keys are the flag "
    "names without dashes: {\"max-queued-writes\": 5000, \"stall-timeout\": \"10m\"}. A flag wins over the "
    "environment, which wins over the file. Durations are a number and a unit (ms, s, m, h); a bare number is "
    "seconds.";

}  // namespace

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  return text.str();
}

Environment environment() {
  Environment env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (auto eq = entry.find('='); entry.starts_with("AEXD_") && eq != entry.npos)
      env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

std::string to_json(const Options& options) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& s : settings()) out[s.name] = s.to_json(options);
  return out.dump(2);
}

Loaded load(const std::vector<std::string>& args, const Environment& env, const ReadFile& read) {
  Loaded loaded;
  auto fail = [&loaded](const std::string& message) {
    loaded.exit_code = 2;
    loaded.err = "aexd: " + message + "\n";
    return loaded;
  };

  CLI::App app{"aexd - the agent execution daemon (Stigmer agentic v1 gRPC API)", "aexd"};
  app.set_version_flag("--version", std::string("aexd ") + AEXD_VERSION);
  app.footer(kFooter);
  std::vector<std::pair<const Setting*, std::string>> flags;  // in command-line order
  const Options defaults;
  for (const Setting& s : settings()) {
    const Setting* setting = &s;
    if (s.is_switch) {
      app.add_flag_function(
          "--" + s.name, [&flags, setting](int64_t n) { flags.emplace_back(setting, n > 0 ? "true" : "false"); },
          s.help);
    } else {
      app.add_option_function<std::string>(
             "--" + s.name, [&flags, setting](const std::string& text) { flags.emplace_back(setting, text); }, s.help)
          ->type_name(s.type)
          ->default_str(text_of(s.to_json(defaults)));
    }
  }
  std::string file;
  app.add_option("--config", file, "JSON file of settings (also AEXD_CONFIG)")->type_name("FILE");
  bool print = false;
  app.add_flag("--print-config", print, "print the effective configuration as JSON and exit");
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them from the back
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    loaded.exit_code = app.exit(e, out, err);
    loaded.out = out.str();
    loaded.err = err.str();
    return loaded;
  }

  // Lowest precedence first: the file, then the environment, then the flags.
  Options& options = loaded.options;
  if (auto it = env.find("AEXD_CONFIG"); file.empty() && it != env.end()) file = it->second;
  if (!file.empty()) {
    std::string error;
    auto text = read(file, error);
    if (!text) return fail(file + ": " + error);
    json document;
    try {
      document = json::parse(*text);
    } catch (const json::parse_error& e) {
      return fail(file + ": not valid JSON: " + e.what());
    }
    if (!document.is_object()) return fail(file + ": must be a JSON object of settings");
    for (const auto& [key, value] : document.items()) {
      const Setting* s = find(key);
      if (!s) return fail(file + ": unknown setting \"" + key + "\"");
      if (Error e = s->from_json(options, value); !e.empty())
        return fail(file + ": \"" + key + "\": " + value.dump() + " " + e);
    }
  }
  for (const auto& s : settings())
    if (auto it = env.find(s.env()); it != env.end())
      if (Error e = s.from_text(options, it->second); !e.empty())
        return fail("environment variable " + s.env() + "=" + it->second + ": " + e);
  for (const auto& [s, text] : flags)
    if (Error e = s->from_text(options, text); !e.empty()) return fail("--" + s->name + "=" + text + ": " + e);

  if (print) {
    loaded.exit_code = 0;
    loaded.out = to_json(options) + "\n";
  }
  return loaded;
}

}  // namespace aexd::config
