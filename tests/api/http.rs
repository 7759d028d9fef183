//! How the API answers requests it cannot use: always problem+json, never a write.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::db_test;
use crate::helpers::{Reply, TestApp};

async fn raw(app: &TestApp, content_type: &str, body: Vec<u8>) -> Reply {
    let response = app
        .request(Method::POST, "/api/v1/organizations")
        .bearer_auth(&app.admin)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap();
    Reply { status, headers, body }
}

db_test! {
    async fn unreadable_bodies_are_400_and_write_nothing(app: TestApp) {
        let malformed = raw(&app, "application/json", b"{\"kind\": \"society\", ".to_vec()).await;
        assert!(malformed.problem(StatusCode::BAD_REQUEST, "malformed-request")["detail"].as_str().unwrap().contains("not valid JSON"));
        let mut latin1 = b"{\"kind\": \"society\", \"name\": \"".to_vec();
        latin1.extend([0xC0, 0xAF, 0xFF]);
        latin1.extend(b"\"}");
        let not_utf8 = raw(&app, "application/json", latin1).await;
        assert!(not_utf8.problem(StatusCode::BAD_REQUEST, "malformed-request")["detail"].as_str().unwrap().contains("UTF-8"));
        let trailing = raw(&app, "application/json", br#"{"kind": "society", "name": "a"} {"#.to_vec()).await;
        trailing.problem(StatusCode::BAD_REQUEST, "malformed-request");
        assert_eq!(app.count("organizations").await, 0);
    }
}

db_test! {
    async fn bodies_of_the_wrong_shape_are_422_naming_the_field(app: TestApp) {
        let unknown = app.post(&app.admin, "/api/v1/organizations", json!({"kind": "society", "name": "a", "nmae": "b"})).await;
        assert!(unknown.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation-failed")["detail"].as_str().unwrap().contains("nmae"));
        let wrong_type = app
            .post(&app.admin, "/api/v1/organizations", json!({"kind": "society", "name": "a", "contact": {"email": 5}}))
            .await;
        assert_eq!(wrong_type.invalid_fields(), ["contact.email"]);
        let missing = app.post(&app.admin, "/api/v1/organizations", json!({"name": "a"})).await;
        assert!(missing.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation-failed")["detail"].as_str().unwrap().contains("kind"));
        let not_an_object = app.post(&app.admin, "/api/v1/organizations", json!([1, 2])).await;
        not_an_object.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation-failed");
        assert_eq!(app.count("organizations").await, 0);
    }
}

db_test! {
    async fn non_json_bodies_are_415_and_oversized_ones_413(app: TestApp) {
        let form = raw(&app, "application/x-www-form-urlencoded", b"kind=society&name=a".to_vec()).await;
        form.problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type");
        let huge = format!("{{\"kind\": \"society\", \"name\": \"{}\"}}", "科".repeat(400_000));
        let too_large = raw(&app, "application/json", huge.into_bytes()).await;
        too_large.problem(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
        let merge_patch = raw(&app, "application/merge-patch+json", br#"{"kind": "society", "name": "a"}"#.to_vec()).await;
        assert_eq!(merge_patch.status, StatusCode::CREATED, "any +json type is JSON");
        assert_eq!(app.count("organizations").await, 1);
    }
}

db_test! {
    async fn unknown_paths_methods_ids_and_parameters_answer_with_problems(app: TestApp) {
        app.get("/api/v1/planets").await.problem(StatusCode::NOT_FOUND, "not-found");
        app.get("/api/v1/sessions/abc").await.problem(StatusCode::NOT_FOUND, "not-found");
        app.get("/api/v1/sessions/-1").await.problem(StatusCode::NOT_FOUND, "not-found");
        app.get("/api/v1/sessions/99999999999999999999").await.problem(StatusCode::NOT_FOUND, "not-found");
        let put = app.request(Method::PUT, "/api/v1/sessions").send().await.unwrap();
        assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(put.headers()["content-type"], "application/problem+json");
        let typo = app.get("/api/v1/sessions?progam_id=1").await;
        typo.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation-failed");
        assert_eq!(app.get("/api/v1/sessions?limit=abc").await.invalid_fields(), ["limit"]);
        assert_eq!(app.get("/api/v1/sessions?limit=0").await.invalid_fields(), ["limit"]);
        assert_eq!(app.get("/api/v1/sessions?venue_id=0").await.invalid_fields(), ["venue_id"]);
        assert_eq!(app.get("/api/v1/venues?organization_id=-3").await.invalid_fields(), ["organization_id"]);
        assert_eq!(app.get("/api/v1/sessions?cursor=bm9wZQ").await.invalid_fields(), ["cursor"]);
        let bad_if_match = app.patch(&app.admin, "/api/v1/organizations/1", "version-one", json!({})).await;
        bad_if_match.problem(StatusCode::BAD_REQUEST, "malformed-request");
        let empty_if_match = app.patch(&app.admin, "/api/v1/organizations/1", "", json!({})).await;
        empty_if_match.problem(StatusCode::BAD_REQUEST, "malformed-request");
    }
}

db_test! {
    async fn head_requests_answer_like_get_without_a_body(app: TestApp) {
        let seed = app.seed().await;
        let response = app.request(Method::HEAD, &format!("/api/v1/programs/{}", seed.program)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["etag"], "\"1\"");
        assert!(response.bytes().await.unwrap().is_empty());
    }
}
