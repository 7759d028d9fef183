//! The document's `webhooks` section against real deliveries: every event type the service
//! sends is described, and every message a `standard` receiver gets fits its schema.
//!
//! `SCIDAY_BLESS_EXAMPLES=1` records the first real message of each type as its example.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dispatch::{dispatcher, loopback, session, subscribe};
use crate::helpers::{Backend, TestApp, id};
use crate::receiver::Receiver;

/// Validates `value` against the schema `schema` of the document.
fn schema_errors(document: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut root = schema.as_object().cloned().unwrap_or_default();
    root.insert("components".into(), document["components"].clone());
    let validator = jsonschema::draft202012::new(&Value::Object(root)).expect("the schema compiles");
    validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_a_standard_receiver_gets_fits_the_documented_webhook() {
    let app = TestApp::spawn_with(Backend::Sqlite, loopback).await.unwrap();
    let receiver = Receiver::start().await;
    let seed = app.seed().await;
    let session = session(&app, &seed).await;
    let all: Vec<&str> = sciday::domain::notice::EVENT_TYPES.to_vec();
    let subscription = subscribe(&app, &seed, &receiver, "/standard/in", json!({"events": all})).await;
    let send = dispatcher(&app, Duration::from_secs(5));

    // Staffing: three volunteers assigned, one declines, one is cancelled.
    let role = id(&app
        .create(
            "/api/v1/session-roles",
            json!({"session_id": session, "name": "讲解员", "needed": 3}),
        )
        .await);
    let mut assignments = Vec::new();
    for (name, mobile) in [
        ("张伟", "13800001234"),
        ("李娜", "13912345678"),
        ("王芳", "13700005678"),
    ] {
        let volunteer = id(&app
            .create(
                "/api/v1/volunteers",
                json!({"name": name, "mobile": mobile, "organization_id": seed.haizhou}),
            )
            .await);
        assignments.push(id(&app
            .create(
                "/api/v1/assignments",
                json!({"role_id": role, "volunteer_id": volunteer}),
            )
            .await));
    }
    let declined = app
        .post(
            &app.admin,
            &format!("/api/v1/assignments/{}/decline", assignments[1]),
            json!({"reason": "临时出差，请假"}),
        )
        .await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.body);
    let cancelled = app
        .post(
            &app.admin,
            &format!("/api/v1/assignments/{}/cancel", assignments[2]),
            json!({"reason": "人员调整"}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    // A plan comes in, and the session moves by an hour.
    let plan = json!({"organization_id": seed.haizhou, "activity_name": "科技志愿服务进社区", "organizing_unit": "海州区科技志愿者支队",
                      "venue_id": seed.venue, "joins_video_link": true, "contact": {"name": "王芳", "mobile": "13800001234"},
                      "text": "组建科技志愿服务队，5月30日与北京主会场视频连线举行授旗仪式，随后开展科普讲座。"});
    app.create(&format!("/api/v1/programs/{}/plans", seed.program), plan)
        .await;
    let moved = app
        .patch_current(
            &format!("/api/v1/sessions/{session}"),
            json!({"starts_at": "2019-05-28T10:00+08:00"}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    send.dispatch_due().await.unwrap();
    // Two days before the plan deadline (17 May, 23:59:59 in Shanghai), then a day before the session.
    app.clock.set("2019-05-16T00:00:00Z".parse().unwrap());
    send.dispatch_due().await.unwrap();
    app.clock.set("2019-05-27T02:00:30Z".parse().unwrap());
    send.dispatch_due().await.unwrap();
    let cancel = app
        .patch_current(&format!("/api/v1/sessions/{session}"), json!({"status": "cancelled"}))
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.body);
    send.dispatch_due().await.unwrap();
    let test = app
        .post(
            &app.admin,
            &format!("/api/v1/webhooks/{}/test", id(&subscription)),
            json!({}),
        )
        .await;
    assert_eq!(test.status, StatusCode::OK, "{}", test.body);

    let mut received: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for message in receiver.received("/standard/in") {
        let payload = message.json();
        received
            .entry(payload["type"].as_str().unwrap().to_owned())
            .or_default()
            .push(payload);
    }
    let document = app.get("/api/v1/openapi.json").await.body;
    let webhooks = document["webhooks"].as_object().expect("the document has webhooks");
    let mut problems = Vec::new();
    let mut expected: Vec<&str> = all.clone();
    expected.push(sciday::delivery::message::TEST_EVENT);
    assert_eq!(
        webhooks.keys().map(String::as_str).collect::<Vec<_>>().len(),
        expected.len(),
        "one entry per event type: {:?}",
        webhooks.keys()
    );
    for event in &expected {
        let Some(media) = webhooks
            .get(*event)
            .and_then(|w| w.pointer("/post/requestBody/content/application~1json"))
        else {
            problems.push(format!("{event}: not in the webhooks section"));
            continue;
        };
        let schema = &media["schema"];
        match media.get("example") {
            Some(example) => problems.extend(
                schema_errors(&document, schema, example)
                    .into_iter()
                    .map(|e| format!("{event} example: {e}")),
            ),
            None => problems.push(format!("{event}: no example")),
        }
        let Some(payloads) = received.get(*event) else {
            problems.push(format!("{event}: the test sent no such message"));
            continue;
        };
        for payload in payloads {
            problems.extend(
                schema_errors(&document, schema, payload)
                    .into_iter()
                    .map(|e| format!("{event}: {e} in {payload}")),
            );
        }
    }
    for event in received.keys() {
        if !webhooks.contains_key(event) {
            problems.push(format!("{event}: sent, not documented"));
        }
    }
    if std::env::var_os("SCIDAY_BLESS_EXAMPLES").is_some() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/openapi/webhooks.json");
        let mut definitions: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for (event, payloads) in &received {
            definitions["events"][event]["example"] = payloads[0].clone();
        }
        std::fs::write(&file, serde_json::to_string_pretty(&definitions).unwrap() + "\n").unwrap();
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
