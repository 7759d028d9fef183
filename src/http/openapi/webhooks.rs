//! The messages sciday sends to webhook subscriptions, as the document's `webhooks` section
//! (OpenAPI 3.1): one entry per event type with the `standard` payload's schema and an example
//! recorded from a real delivery (`webhooks.json`; `tests/api/events.rs` checks real payloads
//! against the schemas and records the examples anew with `SCIDAY_BLESS_EXAMPLES=1`).

use serde_json::{Value, json};

use crate::delivery::message::TEST_EVENT;
use crate::domain::notice::EVENT_TYPES;

/// The payload schemas and each event's summary, description and example.
const WEBHOOKS: &str = include_str!("webhooks.json");

/// What every event's entry says about formats and signatures.
const FORMATS: &str = "In the `standard` format the body is this JSON, signed per Standard Webhooks 1.0 \
    (`webhook-id`, stable across retries and resends; `webhook-timestamp`; `webhook-signature: v1,…`). \
    DingTalk, WeCom, Feishu and Slack robots get the same facts as a chat message in Chinese — a \
    headline and lines: what changed, time, place, video link, who is on duty and who has not \
    confirmed, a link — in the platform's own message format; notices falling due together are \
    merged into as few messages as the platform allows. Mobiles are masked and e-mails never sent. \
    A 2xx answer counts as delivered (for robots, the platform's success code).";

/// Adds the `webhooks` section and the payload schemas to a serialized document.
pub fn add(document: &mut Value) {
    let Ok(definitions) = serde_json::from_str::<Value>(WEBHOOKS) else {
        tracing::error!("webhooks.json is not JSON");
        return;
    };
    if let (Some(Value::Object(schemas)), Some(Value::Object(ours))) =
        (document.pointer_mut("/components/schemas"), definitions.get("schemas"))
    {
        schemas.extend(ours.clone());
    }
    let mut webhooks = serde_json::Map::new();
    for event in EVENT_TYPES.iter().chain([&TEST_EVENT]) {
        let Some(definition) = definitions["events"].get(*event) else {
            tracing::error!(event, "webhooks.json does not describe this event");
            continue;
        };
        let mut media = json!({"schema": {"$ref": format!("#/components/schemas/{}", definition["schema"].as_str().unwrap_or_default())}});
        if let Some(example) = definition.get("example") {
            media["example"] = example.clone();
        }
        let header = |name: &str, description: &str| json!({"name": name, "in": "header", "required": true, "description": description, "schema": {"type": "string"}});
        webhooks.insert(
            (*event).to_owned(),
            json!({"post": {
                "tags": ["webhooks"],
                "operationId": format!("on_{}", event.replace('.', "_")),
                "summary": definition["summary"],
                "description": format!("{}\n\n{FORMATS}", definition["description"].as_str().unwrap_or_default()),
                "parameters": [
                    header("webhook-id", "The message's id: the same for every retry, resend and repeat."),
                    header("webhook-timestamp", "Seconds since 1970 when this attempt was signed."),
                    header("webhook-signature", "`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` with the subscription's secret."),
                ],
                "requestBody": {"required": true, "description": format!("The `{event}` message (`standard` format)."), "content": {"application/json": media}},
                "responses": {"2XX": {"description": "Received; anything else is retried (see the delivery log)."}},
            }}),
        );
    }
    document["webhooks"] = Value::Object(webhooks);
}
