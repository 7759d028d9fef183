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
            "POST /api/v1/volunteers/{id}/feed-token",
            "GET /feeds/{collection}/{file}",
            "GET /api/v1/webhooks/{id}/deliveries",
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
