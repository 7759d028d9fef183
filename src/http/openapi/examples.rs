//! An example of every operation: the parameters and body an integrator would send and what
//! the service answers, written into the document from `examples.json`. The answers were
//! recorded from the service itself on the Lianyungang 2019 sample; `tests/api/examples.rs`
//! sends every example again and fails when an answer no longer has the recorded shape
//! (`SCIDAY_BLESS_EXAMPLES=1` records them anew).

use serde_json::{Map, Value};

/// The examples, by operation id.
const EXAMPLES: &str = include_str!("examples.json");

/// Writes each operation's examples into the serialized document.
pub fn add(document: &mut Value) {
    let Ok(Value::Object(examples)) = serde_json::from_str::<Value>(EXAMPLES) else {
        tracing::error!("examples.json is not a JSON object");
        return;
    };
    for operation in super::json_operations(document) {
        let Some(example) = operation["operationId"].as_str().and_then(|id| examples.get(id)) else {
            continue;
        };
        add_to_parameters(operation, example);
        if let (Some(request), Some(Value::Object(content))) =
            (example.get("request"), operation.pointer_mut("/requestBody/content"))
        {
            for media in content.values_mut() {
                media["example"] = request.clone();
            }
        }
        if let (Some(response), Some(content)) = (example.get("response"), success_content(operation)) {
            for (media_type, media) in content.iter_mut() {
                // Text (CSV, iCalendar, files) goes to the text types, JSON to the JSON ones.
                if response.is_string() != media_type.ends_with("json") {
                    media["example"] = response.clone();
                }
            }
        }
    }
}

fn add_to_parameters(operation: &mut Value, example: &Value) {
    let Some(Value::Array(parameters)) = operation.get_mut("parameters") else {
        return;
    };
    for parameter in parameters {
        let place = match parameter["in"].as_str() {
            Some("path") => "path",
            Some("query") => "query",
            _ => continue,
        };
        let name = parameter["name"].as_str().unwrap_or_default().to_owned();
        if let Some(value) = example.get(place).and_then(|values| values.get(&name)) {
            parameter["example"] = value.clone();
        }
    }
}

/// The media types of an operation's success answer (its first 2xx status).
pub fn success_content(operation: &mut Value) -> Option<&mut Map<String, Value>> {
    let responses = operation.get_mut("responses")?.as_object_mut()?;
    let status = responses.keys().find(|status| status.starts_with('2'))?.clone();
    responses.get_mut(&status)?.get_mut("content")?.as_object_mut()
}
