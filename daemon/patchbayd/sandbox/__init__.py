"""Simulated store and marketing providers on one loopback port, for demos, tests, benchmarks.

`app.build()` is the Starlette app; `server.serve()` / `python -m patchbayd.sandbox` run it.
Each system sits below its prefix at the real API's paths; state is in memory. Keys are any
string starting with `sandbox-` (unless listed in the `revoked_keys` knob).

  system       prefix            auth                           error envelope
  shopify      /shopify/{shop}   X-Shopify-Access-Token         {"errors": ...}, 401/404/422
  omnisend     /omnisend         X-API-KEY (none 401, bad 403)  {"error": "..."}
  klaviyo      /klaviyo          Authorization: Klaviyo-API-Key {"errors": [{id, status, code,
                                 + revision header              title, detail, source}]}
  salesmanago  /salesmanago      body clientId/apiKey/sha       HTTP 200 {"success": false,
                                 (secret "sandbox-secret")      "message": [...]}
  benchmark    /benchmark        AuthToken                      HTTP 200 {"Response":
                                                                {"Status": "-1", "Errors"}}
  mailchimp    /mailchimp/3.0    Basic, key as password         application/problem+json
  webhook      /webhook/{name}   none                           {"error": "..."}

Limits: Omnisend batches 1000 items; Klaviyo bulk import 10,000, subscribe 1000,
unsubscribe 100; SALESmanago batch 1000; Mailchimp batch 500 and 10 requests in flight.
Per system, knobs (POST /_sandbox/{system}/faults) apply in this order: down (503),
latency_ms, auth, rate_limit_per_min (fixed 60 s window, 429 + Retry-After + the
provider's headers), error_rate/error_status (seeded per system, so repeatable), then the
handler; capacity is the contact limit, malformed cuts 2xx bodies in half.

Choices where the wire contract leaves room:
- Shopify's X-Shopify-Shop-Api-Call-Limit is "1/40" without a limit set, else the window's
  use scaled to 40. Links carry rel="next" only. The orders listing accepts `status` beside
  `page_info`. Changes also fire orders/create and orders/updated to webhooks registered for
  them. A PUT announces its customers/update after answering, as Shopify does.
- Omnisend: a contact needs an email identifier. Tags accumulate. The status default for a
  new contact applies to every channel sent without a status. Contact listing pages by offset.
- Klaviyo: a new profile over capacity in profile-import answers 400, code "capacity_exceeded".
  Subscribe jobs over capacity skip new profiles.
- SALESmanago: a new contact with no force flag is opted in. revoked_keys match the apiKey or
  the clientId. No rate-limit headers (none are documented).
- Benchmark: IDs are strings. Unsubscribes hold for the whole account. A consent change at
  Benchmark changes existing contacts only. Adding an address a list already holds updates it.
- Mailchimp: a consent change for an unknown address adds it to list1.
- down answers 503 in the provider's envelope. malformed leaves empty bodies (202/204)
  alone. Deliveries record the receiver's HTTP status or "error: ...". Each provider has one
  opt-in and one opt-out callback URL (POST /_sandbox/{provider}/callbacks replaces them).
"""
