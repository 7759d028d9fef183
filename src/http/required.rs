//! Every required field a JSON body lacks, found at once from the OpenAPI document's schema
//! of the body (serde stops at the first one, and names the object, not the field).

use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::domain::field::FieldError;

/// The `required` fields missing from `body`, read against the document's schema `name`,
/// nested objects and arrays included (`contact.name`, `unavailable[0].ends_at`).
pub fn missing(body: &Value, name: &str) -> Vec<FieldError> {
    let mut found = Vec::new();
    let root = Value::String(format!("#/components/schemas/{name}"));
    let schema = Map::from_iter([("$ref".to_owned(), root)]);
    walk(body, &Value::Object(schema), "", &mut found, 0);
    found
}

/// The document's schemas, as JSON, read once.
fn schemas() -> &'static Map<String, Value> {
    static SCHEMAS: OnceLock<Map<String, Value>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let components = serde_json::to_value(&super::document().components).unwrap_or_default();
        components["schemas"].as_object().cloned().unwrap_or_default()
    })
}

/// Follows `$ref`s (a bounded number of times, against a loop).
fn resolve(schema: &Value) -> Option<&Value> {
    let mut schema = schema;
    for _ in 0..8 {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference.strip_prefix("#/components/schemas/")?;
                schema = schemas().get(name)?;
            }
            None => return Some(schema),
        }
    }
    None
}

fn walk(value: &Value, schema: &Value, path: &str, found: &mut Vec<FieldError>, depth: usize) {
    // Bodies are small and schemas shallow; the bound only guards against a cyclic schema.
    let Some(schema) = resolve(schema).filter(|_| depth < 16) else {
        return;
    };
    for all in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        walk(value, all, path, found, depth + 1);
    }
    // `Option<T>` is `oneOf: [null, T]`: a present value is checked against the object variant.
    let variants = ["oneOf", "anyOf"]
        .iter()
        .filter_map(|k| schema.get(*k).and_then(Value::as_array))
        .flatten();
    if let Some(object) = variants
        .filter_map(resolve)
        .find(|v| v.get("properties").is_some() || v.get("allOf").is_some())
    {
        walk(value, object, path, found, depth + 1);
    }
    let at = |field: &str| {
        if path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        }
    };
    match value {
        Value::Object(fields) => {
            for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                if let Some(name) = required.as_str()
                    && !fields.contains_key(name)
                {
                    found.push(FieldError::new(at(name), "required", "is required"));
                }
            }
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, inner) in fields {
                    if let Some(property) = properties.get(name) {
                        walk(inner, property, &at(name), found, depth + 1);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (i, inner) in items.iter().enumerate() {
                    walk(inner, item, &format!("{path}[{i}]"), found, depth + 1);
                }
            }
        }
        _ => {}
    }
}
