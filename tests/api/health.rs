//! Liveness, readiness, the OpenAPI document and shutdown.

use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::db_test;

db_test! {
    async fn liveness_and_readiness_report_the_process_and_its_database(app: TestApp) {
        let alive = app.get("/healthz").await;
        assert_eq!(alive.status, StatusCode::OK);
        assert_eq!(alive.body["status"], "ok");
        let ready = app.get("/readyz").await;
        assert_eq!(ready.status, StatusCode::OK);
        assert_eq!(ready.body["status"], "ready");
        app.db.clone().close().await.unwrap();
        app.get("/readyz").await.problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    }
}

db_test! {
    async fn the_openapi_document_describes_every_endpoint(app: TestApp) {
        let reply = app.get("/api/v1/openapi.json").await;
        assert_eq!(reply.status, StatusCode::OK);
        let doc = reply.body;
        assert_eq!(doc["openapi"], "3.1.0");
        let mut operations = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                operations.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
        let mut expected = BTreeSet::from([
            "GET /healthz".to_owned(),
            "GET /readyz".to_owned(),
            "GET /api/v1/openapi.json".to_owned(),
            "GET /api/v1/tokens".to_owned(),
            "POST /api/v1/tokens".to_owned(),
            "DELETE /api/v1/tokens/{id}".to_owned(),
        ]);
        for extra in [
            "GET /api/v1/assignments/{id}",
            "POST /api/v1/assignments/batch",
            "POST /api/v1/assignments/{id}/confirm",
            "POST /api/v1/assignments/{id}/decline",
            "POST /api/v1/assignments/{id}/cancel",
            "POST /api/v1/assignments/{id}/check-in",
            "POST /api/v1/assignments/{id}/no-show",
            "GET /api/v1/assignments",
            "POST /api/v1/assignments",
            "GET /api/v1/session-roles/{id}/candidates",
            "GET /api/v1/service-hours",
            "GET /api/v1/audit",
            "POST /api/v1/volunteers/{id}/feed-token",
            "POST /api/v1/volunteers/{id}/page-token",
            "GET /api/v1/teams/{id}/page-links",
            "GET /feeds/{collection}/{file}",
            "GET /api/v1/webhooks/{id}/deliveries",
            "GET /api/v1/deliveries",
            "GET /api/v1/webhooks/{id}/deliveries/{delivery_id}",
            "POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/resend",
            "POST /api/v1/webhooks/{id}/test",
            "GET /api/v1/programs/{id}/plans",
            "POST /api/v1/programs/{id}/plans",
            "GET /api/v1/programs/{id}/plans/{plan_id}",
            "PUT /api/v1/programs/{id}/plans/{plan_id}",
            "GET /api/v1/programs/{id}/plans/{plan_id}/revisions",
            "POST /api/v1/programs/{id}/plans/{plan_id}/review",
            "POST /api/v1/programs/{id}/plans/{plan_id}/attachments",
            "GET /api/v1/programs/{id}/plans/{plan_id}/attachments/{attachment_id}",
            "GET /api/v1/programs/{id}/plans/missing",
            "GET /api/v1/programs/{id}/plans/export",
            "GET /api/v1/programs/{id}/plan-extensions",
            "PUT /api/v1/programs/{id}/plan-extensions/{organization_id}",
            "DELETE /api/v1/programs/{id}/plan-extensions/{organization_id}",
        ] {
            expected.insert(extra.to_owned());
        }
        for resource in ["organizations", "venues", "programs", "activities", "sessions", "teams", "volunteers", "session-roles", "webhooks"] {
            expected.insert(format!("GET /api/v1/{resource}"));
            expected.insert(format!("POST /api/v1/{resource}"));
            for method in ["GET", "PATCH", "DELETE"] {
                expected.insert(format!("{method} /api/v1/{resource}/{{id}}"));
            }
        }
        assert_eq!(operations, expected);
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for schema in ["Problem", "FieldError", "SessionIn", "SessionOut", "SessionPatch", "SessionChangeOut", "OrganizationOut"] {
            assert!(schemas.contains_key(schema), "{schema} is missing");
        }
        // Every write documents its problems.
        let create = &doc["paths"]["/api/v1/sessions"]["post"]["responses"];
        for status in ["400", "401", "403", "409", "413", "415", "422"] {
            assert_eq!(create[status]["content"]["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem");
        }
    }
}

db_test! {
    async fn the_server_stops_when_asked_and_closes_its_port(app: TestApp) {
        let address = app.address.clone();
        let client = app.client.clone();
        assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
        app.stop().await.unwrap();
        assert!(client.get(format!("{address}/healthz")).send().await.is_err());
    }
}

db_test! {
    async fn the_openapi_document_is_whole_and_its_time_patterns_take_every_real_day(app: TestApp) {
        let doc = app.get("/api/v1/openapi.json").await.body;
        let schemas = doc["components"]["schemas"].as_object().unwrap().clone();
        let mut references = Vec::new();
        collect_references(&doc, &mut references);
        assert!(!references.is_empty());
        for reference in references {
            let name = reference.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{reference}"));
            assert!(schemas.contains_key(name), "{reference} does not exist");
        }
        // Every time pattern takes the last day of every month, 30 May above all, in each form
        // the service takes (with an offset, or a local time); the instant one is a date-time.
        let starts_at = &schemas["SessionIn"]["properties"]["starts_at"]["oneOf"];
        let forms: Vec<&serde_json::Value> = starts_at.as_array().unwrap().iter().filter(|f| f["type"] == "string").collect();
        assert_eq!(forms.len(), 2, "{starts_at}");
        assert_eq!(forms[0]["format"], "date-time", "{starts_at}");
        let patterns: Vec<regex::Regex> = forms.iter().map(|f| regex::Regex::new(f["pattern"].as_str().unwrap()).unwrap()).collect();
        let matched = |text: &str| patterns.iter().any(|p| p.is_match(text));
        for day in ["2019-05-30T09:00:00+08:00", "2019-05-30T09:00", "2019-05-31T09:00", "2019-01-31T09:00:00Z", "2019-04-30T09:00", "2020-02-29T09:00", "2019-05-30 09:00:00"] {
            assert!(matched(day), "{day}");
        }
        // Days no month has are refused by the pattern; those some months lack (31 April) by
        // `format` and by the service.
        for not_a_day in ["2019-05-32T09:00", "2019-05-00T09:00", "2019-13-01T09:00", "2019-05-30T24:00", "2019-05-30"] {
            assert!(!matched(not_a_day), "{not_a_day}");
        }
        for (parameter, path) in [("from", "/api/v1/sessions"), ("from", "/feeds/{collection}/{file}")] {
            let schema = doc["paths"][path]["get"]["parameters"].as_array().unwrap().iter().find(|p| p["name"] == parameter).unwrap()["schema"].clone();
            let texts = if schema["oneOf"].is_array() { schema["oneOf"].as_array().unwrap().clone() } else { vec![schema.clone()] };
            let pattern_matches = |text: &str| texts.iter().any(|t| regex::Regex::new(t["pattern"].as_str().unwrap()).unwrap().is_match(text));
            assert!(pattern_matches("2019-05-30T00:00:00+08:00"), "{path} {schema}");
            assert_eq!(pattern_matches("2019-05-30"), path.starts_with("/feeds"), "{path} {schema}");
        }
        // Time zones are named, not listed: a generated client gets a string, and every name
        // the tz database knows fits the pattern.
        let zone = &schemas["ProgramIn"]["properties"]["time_zone"];
        assert!(zone.get("enum").is_none(), "{zone}");
        let zone_pattern = regex::Regex::new(zone["pattern"].as_str().unwrap()).unwrap();
        for tz in chrono_tz::TZ_VARIANTS {
            assert!(zone_pattern.is_match(tz.name()), "{}", tz.name());
        }
        // Every operation states the answers every handler of its kind can give.
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let answers = operation["responses"].as_object().unwrap();
                if operation["security"].as_array().is_some_and(|s| !s.is_empty()) {
                    assert!(answers.contains_key("401"), "{method} {path}");
                }
                if path.contains('{') {
                    assert!(answers.contains_key("404"), "{method} {path}");
                }
                if operation.get("requestBody").is_some() {
                    for status in ["400", "413", "415", "422"] {
                        assert!(answers.contains_key(status), "{method} {path} {status}");
                    }
                }
            }
        }
        let hours = &doc["paths"]["/api/v1/service-hours"]["get"]["responses"]["200"]["content"];
        assert!(hours.get("text/csv").is_some(), "{hours}");
    }
}

fn collect_references(value: &serde_json::Value, into: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(reference)) = map.get("$ref") {
                into.push(reference.clone());
            }
            map.values().for_each(|v| collect_references(v, into));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_references(v, into)),
        _ => {}
    }
}
