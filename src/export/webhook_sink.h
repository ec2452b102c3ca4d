// webhook_sink.h
// The webhook export destination: POSTs each batch of events as one JSON
// document to an HTTP(S) URL (docs/notify.md). Destinations live in the
// settings key "export.webhook", a JSON object name -> {url, events,
// secret, batch, template, ca, allow_http, enabled, timeout_ms (optional,
// default 10 s)}; `pveam access notify`
// writes it. The HMAC secret is not kept in that object (whose changes are
// audit events and so must not hold it) but under its own key; the object
// holds "secret": "(set)" and a "secret_version" that changes with it, and
// ResolveWebhookDestination / LoadWebhookDestinations put the secret back.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "export/sink.h"
#include "store/event_store.h"

namespace pveaudit {

inline constexpr const char* kWebhookSettingsKey = "export.webhook";
// The secret of destination NAME is stored under kWebhookSecretKeyPrefix + NAME.
inline constexpr const char* kWebhookSecretKeyPrefix = "export.webhook.secret.";
// What the settings object holds instead of a secret.
inline constexpr const char* kSecretMask = "(set)";
// The full URL of destination NAME is stored under kWebhookUrlKeyPrefix +
// NAME; the audited entry holds MaskedWebhookUrl of it. Chat tools carry
// their token in the URL's path or query, and an audit event cannot be
// deleted: a token written into one would stay in the store for good.
inline constexpr const char* kWebhookUrlKeyPrefix = "export.webhook.url.";

// "https://hooks.example.com/... (sha256 1a2b3c4d)": scheme, host and port
// as given, the rest replaced by a fingerprint of the whole URL (so a
// changed path is seen as a change). A URL without path or query is kept.
std::string MaskedWebhookUrl(const std::string& url);
inline constexpr int kWebhookDefaultBatch = 100;
inline constexpr int kWebhookMaxBatch = 10000;
inline constexpr int kWebhookDefaultTimeoutMs = 10000;

// One destination, parsed and checked.
struct WebhookConfig {
  std::string name = "default";
  std::string url;     // as given
  bool https = true;   // scheme
  std::string host;    // without brackets for IPv6
  int port = 443;      //
  std::string target;  // path and query sent in the request line ("/" at least)
  EventSelection events = EventSelection::kAll;
  std::string secret;                // "" = requests are not signed
  int batch = kWebhookDefaultBatch;  // events per POST at most
  std::string template_spec;         // "", a built-in name or a file path
  std::string template_text;         // the template itself ("" = the default body)
  std::string ca;                    // CA file trusted instead of the system's
  bool allow_http = false;
  bool enabled = true;
  // Bounds the connect and each read and write (not the name lookup).
  int timeout_ms = kWebhookDefaultTimeoutMs;
};

// Parses `destination` (one entry of "export.webhook"; its name in "name").
// Reads the template file and checks the CA file is readable. Errors name
// the bad value (never the secret).
Result<WebhookConfig> ParseWebhookConfig(const nlohmann::json& destination);

// Whether `url` is one a destination may have; the error says why, without
// repeating the URL (callers name it: for logs, UrlForLogs).
Status CheckWebhookUrl(const std::string& url, bool allow_http);

// A Sink for `destination` (see ParseWebhookConfig). `enabled` is for the
// caller: a disabled destination gets a sink too, which the loop leaves idle.
Result<std::unique_ptr<Sink>> MakeWebhookSink(const nlohmann::json& destination);

// Every destination of the store's "export.webhook", each with "name" set
// and its secret restored (see above), in name order; disabled ones too. A
// secret missing from the store stays "(set)": MakeWebhookSink refuses that
// destination (NotFound, saying how to fix it), not the others.
Result<std::vector<nlohmann::json>> LoadWebhookDestinations(EventStore& store);

// One entry of "export.webhook" (`entry`, stored under `name`) made ready
// for MakeWebhookSink: "name" set and the secret restored from the store
// (left "(set)" when missing, as above). The entry changes whenever its
// secret does ("secret_version"), so comparing entries sees a new secret.
Result<nlohmann::json> ResolveWebhookDestination(EventStore& store, const std::string& name,
                                                 const nlohmann::json& entry);

// The consumer cursor name (EventStore::GetConsumer) of destination `name`.
std::string WebhookConsumerName(const std::string& name);

// The Idempotency-Key of a batch: the same for a resend of the same events
// to the same destination, different for any other batch.
std::string WebhookIdempotencyKey(const std::string& name, uint64_t first_id, uint64_t last_id);

// Lower-case hex HMAC-SHA256(secret, body): the X-Pveaudit-Signature value
// after "sha256=".
std::string HmacSha256Hex(const std::string& secret, const std::string& body);

// The request body for `batch` (never empty): the default JSON document or
// the rendered template.
Result<std::string> RenderWebhookBody(const WebhookConfig& config, std::span<const Event> batch);

// A Retry-After header value (delay in seconds, or an HTTP date) as a delay
// in microseconds from `now_us`, capped at one hour; -1 when unparsable.
int64_t ParseRetryAfter(const std::string& value, int64_t now_us);

// `url` without its path and query ("https://hooks.example.com:443"), for
// logs: chat-tool URLs often carry a token in the path or query.
std::string UrlForLogs(const std::string& url);

// The built-in template names: gotify, ntfy, slack.
std::vector<std::string> BuiltinTemplateNames();

}  // namespace pveaudit
