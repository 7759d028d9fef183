//! The document's examples against the live service: every example request is sent to a server
//! holding the Lianyungang 2019 sample, and every documented answer must validate against its
//! schema and have the shape (keys and JSON types) of what the server really answers.
//!
//! `SCIDAY_BLESS_EXAMPLES=1` writes the live answers back into `src/http/openapi/examples.json`.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::helpers::{Backend, TestApp};

/// The writes in the order they build on each other: what the creates make, the updates
/// change, the actions move on and the deletes remove. Reads come between updates and actions.
const WRITES: &[&str] = &[
    "create_organization",
    "create_venue",
    "create_program",
    "create_activity",
    "create_session",
    "create_role",
    "create_team",
    "create_volunteer",
    "create_assignment",
    "create_assignments",
    "create_token",
    "create_webhook",
    "submit_plan",
    "upload_attachment",
    "grant_extension",
    "revise_plan",
    "update_organization",
    "update_venue",
    "update_program",
    "update_activity",
    "update_session",
    "update_team",
    "update_volunteer",
    "update_role",
    "update_webhook",
];

/// Actions and deletes, after the reads, and the reads that need the clock moved on.
const LAST: &[&str] = &[
    "confirm_assignment",
    "decline_assignment",
    "cancel_assignment",
    "review_plan",
    "rotate_feed_token",
    "rotate_page_token",
    "resend_delivery",
    // At the session's start (the clock is moved first): the confirmed volunteer arrives.
    "check_in",
    "mark_no_show",
    // Hours count once a session is over: read them when some are.
    "service_hours",
    "delete_role",
    "delete_session",
    "delete_activity",
    "delete_volunteer",
    "delete_team",
    "delete_venue",
    "delete_program",
    "delete_organization",
    "revoke_token",
    "revoke_extension",
    "delete_webhook",
];

/// Operations whose example is not sent, and why.
const NOT_SENT: &[(&str, &str)] = &[(
    "test_webhook",
    "it sends a message to the robot's address, which the tests cannot reach",
)];

/// Operations whose example may meet a 409: the state the examples leave them in is not the
/// one they need (a volunteer who checked in is no no-show; what is in use is not deleted).
const MAY_CONFLICT: &[&str] = &[
    "mark_no_show",
    "delete_activity",
    "delete_role",
    "delete_volunteer",
    "delete_team",
    "delete_venue",
];

struct Operation {
    id: String,
    method: Method,
    path: String,
    spec: Value,
}

fn operations(document: &Value) -> BTreeMap<String, Operation> {
    let mut found = BTreeMap::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, spec) in item.as_object().unwrap() {
            let id = spec["operationId"].as_str().unwrap().to_owned();
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            found.insert(
                id.clone(),
                Operation {
                    id,
                    method,
                    path: path.clone(),
                    spec: spec.clone(),
                },
            );
        }
    }
    found
}

/// The operation's first 2xx status and its media types.
fn success(spec: &Value) -> (u16, Map<String, Value>) {
    let responses = spec["responses"].as_object().unwrap();
    let status = responses.keys().find(|s| s.starts_with('2')).unwrap();
    let content = responses[status]["content"].as_object().cloned().unwrap_or_default();
    (status.parse().unwrap(), content)
}

/// Whether the document names `status` as a success of the operation.
fn is_success(spec: &Value, status: StatusCode) -> bool {
    status.is_success() && spec["responses"].get(status.as_str()).is_some()
}

/// The request the operation's examples describe.
fn request(app: &TestApp, operation: &Operation) -> reqwest::RequestBuilder {
    let mut path = operation.path.clone();
    let mut query = Vec::new();
    for parameter in operation.spec["parameters"].as_array().into_iter().flatten() {
        let (Some(name), Some(example)) = (parameter["name"].as_str(), parameter.get("example")) else {
            assert!(
                parameter["in"] != "path",
                "{}: path parameter {} has no example",
                operation.id,
                parameter["name"]
            );
            continue;
        };
        let text = example.as_str().map_or_else(|| example.to_string(), str::to_owned);
        match parameter["in"].as_str() {
            Some("path") => path = path.replace(&format!("{{{name}}}"), &text),
            Some("query") => query.push((name.to_owned(), text)),
            _ => {}
        }
    }
    let mut builder = app
        .request(operation.method.clone(), &path)
        .bearer_auth(&app.admin)
        .query(&query);
    if matches!(operation.method, Method::PUT | Method::PATCH) {
        builder = builder.header("If-Match", "*");
    }
    if let Some(content) = operation
        .spec
        .pointer("/requestBody/content")
        .and_then(Value::as_object)
    {
        let (media_type, media) = content.iter().next().unwrap();
        let example = media
            .get("example")
            .unwrap_or_else(|| panic!("{}: the request body has no example", operation.id))
            .clone();
        builder = if media_type == "multipart/form-data" {
            // Each property a part, its text the file's bytes.
            let boundary = "sciday-example-boundary";
            let mut body = String::new();
            for (name, value) in example.as_object().unwrap() {
                body.push_str(&format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"plan.pdf\"\r\n\r\n{}\r\n",
                    value.as_str().unwrap()
                ));
            }
            body.push_str(&format!("--{boundary}--\r\n"));
            builder
                .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
                .body(body)
        } else {
            builder
                .header("Content-Type", media_type.as_str())
                .body(example.to_string())
        };
    }
    builder
}

/// Where `live` differs in shape from `documented`: other keys, or other JSON types (a `null`
/// on either side stands for any type; lists are compared by their first items).
fn shape_differences(documented: &Value, live: &Value, at: &str, partial: bool, into: &mut Vec<String>) {
    match (documented, live) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(doc), Value::Object(real)) => {
            for key in doc.keys().filter(|k| !real.contains_key(*k)) {
                into.push(format!("{at}.{key}: documented, not answered"));
            }
            if !partial {
                for key in real.keys().filter(|k| !doc.contains_key(*k)) {
                    into.push(format!("{at}.{key}: answered, not documented"));
                }
            }
            for (key, value) in doc {
                if let Some(real_value) = real.get(key) {
                    shape_differences(value, real_value, &format!("{at}.{key}"), partial, into);
                }
            }
        }
        (Value::Array(doc), Value::Array(real)) => {
            if let (Some(first), Some(real_first)) = (doc.first(), real.first()) {
                shape_differences(first, real_first, &format!("{at}[0]"), partial, into);
            }
        }
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        _ => into.push(format!("{at}: documented {documented}, answered {live}")),
    }
}

/// Validates `value` against a schema of the document (its references resolved in it).
fn schema_errors(document: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut root = schema.as_object().cloned().unwrap_or_default();
    root.insert("components".into(), document["components"].clone());
    let validator = jsonschema::draft202012::new(&Value::Object(root)).expect("the schema compiles");
    validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The answer as the document describes it: JSON, or text.
async fn answer_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let json = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else if json {
        serde_json::from_slice(&bytes).unwrap()
    } else {
        Value::String(String::from_utf8_lossy(&bytes).into_owned())
    };
    (status, body)
}

async fn load_sample(app: &TestApp) {
    let document: sciday::transfer::Document =
        sciday::http::parse_json(sciday::cli::SAMPLE_PROGRAM.as_bytes()).expect("the sample parses");
    sciday::transfer::import(&app.db, &document, app.policy(), &|| {})
        .await
        .expect("the sample imports");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_in_the_document_is_what_the_service_takes_and_answers() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    load_sample(&app).await;
    let document = app.get("/api/v1/openapi.json").await.body;
    let mut operations = operations(&document);

    let mut order: Vec<String> = WRITES.iter().map(|id| (*id).to_owned()).collect();
    let reads: Vec<String> = operations
        .values()
        .filter(|o| o.method == Method::GET && !LAST.contains(&o.id.as_str()))
        .map(|o| o.id.clone())
        .collect();
    order.extend(reads);
    order.extend(LAST.iter().map(|id| (*id).to_owned()));
    let not_sent: Vec<&str> = NOT_SENT.iter().map(|(id, _)| *id).collect();
    for id in operations.keys() {
        assert!(
            order.contains(id) || not_sent.contains(&id.as_str()),
            "{id} is in no phase of this test: add it to WRITES or LAST"
        );
    }

    let mut problems = Vec::new();
    let mut live = BTreeMap::new();
    for id in &order {
        let operation = operations
            .remove(id)
            .unwrap_or_else(|| panic!("{id} is not in the document"));
        if id == "check_in" {
            // 15:00 on 30 May, when the moved session starts.
            app.clock.set("2019-05-30T07:00:00Z".parse().unwrap());
        }
        let entries_before = app.count("audit_entries").await;
        let (status, answer) = answer_of(request(&app, &operation).send().await.unwrap()).await;
        let (expected, _) = success(&operation.spec);
        if is_success(&operation.spec, status) {
            // Every write the API takes leaves its entry in the audit trail.
            if operation.method != Method::GET && app.count("audit_entries").await == entries_before {
                problems.push(format!("{id}: the write left no entry in the audit trail"));
            }
            live.insert(id.clone(), answer);
        } else if !(status == StatusCode::CONFLICT && MAY_CONFLICT.contains(&id.as_str())) {
            problems.push(format!(
                "{id}: answered {status} to its example, not {expected}: {answer}"
            ));
        }
    }

    let bless = std::env::var_os("SCIDAY_BLESS_EXAMPLES").is_some();
    let document_operations = self::operations(&document);
    for operation in document_operations.values() {
        let id = &operation.id;
        let description = operation.spec["description"].as_str().unwrap_or_default();
        if !description.contains("**Who may call it:**") || !description.contains("**Refused:**") {
            problems.push(format!(
                "{id}: the description does not say who may call it and what it refuses"
            ));
        }
        let (status, content) = success(&operation.spec);
        if status == 204 {
            continue;
        }
        let documented = content.iter().find_map(|(_, media)| media.get("example"));
        let Some(documented) = documented else {
            if !bless {
                problems.push(format!("{id}: the {status} answer has no example"));
            }
            continue;
        };
        for (media_type, media) in &content {
            if let (Some(example), Some(schema)) = (media.get("example"), media.get("schema"))
                && media_type.ends_with("json")
            {
                for error in schema_errors(&document, schema, example) {
                    problems.push(format!("{id}: the example does not fit its schema: {error}"));
                }
            }
        }
        if let Some(answer) = live.get(id) {
            let partial = id == "openapi_document";
            let mut differences = Vec::new();
            shape_differences(documented, answer, "", partial, &mut differences);
            if !bless {
                problems.extend(differences.into_iter().map(|d| format!("{id}: {d}")));
            }
        }
    }
    if bless {
        write_back(&app, &live);
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Records the live answers as the documented ones, with the test server's address replaced by
/// a stable public one.
fn write_back(app: &TestApp, live: &BTreeMap<String, Value>) {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/openapi/examples.json");
    let mut examples: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let host = app.address.trim_start_matches("http://");
    for (id, answer) in live {
        if id == "openapi_document" || answer.is_null() {
            continue;
        }
        let text = answer
            .to_string()
            .replace(&format!("http://{host}"), "https://sciday.example.cn")
            .replace(host, "sciday.example.cn");
        let entry = examples.as_object_mut().unwrap().entry(id.clone()).or_insert(json!({}));
        entry["response"] = serde_json::from_str(&text).unwrap();
    }
    let mut text = serde_json::to_string_pretty(&examples).unwrap();
    text.push('\n');
    std::fs::write(&file, text).unwrap();
}
