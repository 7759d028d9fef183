//! `/api/v1/tokens`.

use reqwest::StatusCode;
use serde_json::json;

use crate::db_test;
use crate::helpers::id;

db_test! {
    async fn an_admin_hands_out_an_organizer_token_that_works_until_revoked(app: TestApp) {
        let seed = app.seed().await;
        let created = app
            .create("/api/v1/tokens", json!({"name": "海州区科协办公室", "role": "organizer", "organization_id": seed.haizhou}))
            .await;
        let secret = created["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("sciday_"));
        assert!(secret.starts_with(created["prefix"].as_str().unwrap()));
        let path = format!("/api/v1/activities/{}", seed.activity);
        assert_eq!(app.patch(&secret, &path, "*", json!({"display_order": 6})).await.status, StatusCode::OK);
        let listed = app.get_as(&app.admin, "/api/v1/tokens").await;
        assert!(!listed.body.to_string().contains(&secret), "secrets are never shown again");
        assert_eq!(app.delete(&app.admin, &format!("/api/v1/tokens/{}", id(&created))).await.status, StatusCode::NO_CONTENT);
        app.patch(&secret, &path, "*", json!({"display_order": 7})).await.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        let listed = app.get_as(&app.admin, "/api/v1/tokens").await;
        let revoked = listed.body["data"].as_array().unwrap().iter().find(|t| id(t) == id(&created)).unwrap().clone();
        assert!(revoked["revoked_at"].is_string());
    }
}

db_test! {
    async fn tokens_are_stored_only_as_digests(app: TestApp) {
        let created = app.create("/api/v1/tokens", json!({"name": "第二位管理员", "role": "admin"})).await;
        let secret = created["secret"].as_str().unwrap();
        let stored = app
            .count(&format!("api_tokens WHERE secret_hash = '{}'", sciday::auth::digest(secret)))
            .await;
        assert_eq!(stored, 1);
        let leaked = app.count(&format!("api_tokens WHERE secret_hash = '{secret}' OR prefix = '{secret}'")).await;
        assert_eq!(leaked, 0);
    }
}

db_test! {
    async fn organizer_tokens_need_an_existing_organization_and_only_admins_make_tokens(app: TestApp) {
        let seed = app.seed().await;
        let missing = app.post(&app.admin, "/api/v1/tokens", json!({"name": "x", "role": "organizer"})).await;
        assert_eq!(missing.invalid_fields(), ["organization_id"]);
        let unknown = app.post(&app.admin, "/api/v1/tokens", json!({"name": "x", "role": "organizer", "organization_id": 999})).await;
        assert_eq!(unknown.invalid_fields(), ["organization_id"]);
        let tied_admin = app.post(&app.admin, "/api/v1/tokens", json!({"name": "x", "role": "admin", "organization_id": seed.city})).await;
        assert_eq!(tied_admin.invalid_fields(), ["organization_id"]);
        let city = app.organizer(seed.city).await;
        app.post(&city, "/api/v1/tokens", json!({"name": "x", "role": "admin"})).await.problem(StatusCode::FORBIDDEN, "forbidden");
        app.get_as(&city, "/api/v1/tokens").await.problem(StatusCode::FORBIDDEN, "forbidden");
    }
}

db_test! {
    async fn a_token_stops_working_the_moment_it_expires_and_shows_when_it_was_last_used(app: TestApp) {
        let seed = app.seed().await;
        let in_the_past = app
            .post(&app.admin, "/api/v1/tokens", json!({"name": "x", "role": "admin", "expires_at": "2019-05-09T00:00:00Z"}))
            .await;
        assert_eq!(in_the_past.invalid_fields(), ["expires_at"]);
        let created = app
            .create("/api/v1/tokens", json!({"name": "海州区科协（活动周）", "role": "organizer", "organization_id": seed.haizhou,
                                             "expires_at": "2019-05-10T12:00:00+08:00"}))
            .await;
        assert_eq!(created["expires_at"], "2019-05-10T04:00:00Z");
        assert_eq!((created["state"].as_str(), created["last_used_at"].is_null()), (Some("active"), true));
        let secret = created["secret"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/activities/{}", seed.activity);
        assert_eq!(app.patch(&secret, &path, "*", json!({"display_order": 6})).await.status, StatusCode::OK);
        assert_eq!(listed(&app, id(&created)).await["last_used_at"], "2019-05-10T00:00:00Z");
        app.clock.set("2019-05-10T04:00:00Z".parse().unwrap());
        app.patch(&secret, &path, "*", json!({"display_order": 7})).await.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        app.get_as(&secret, "/api/v1/programs").await.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        assert_eq!(listed(&app, id(&created)).await["state"], "expired");
    }
}

/// A token as the admin's list shows it.
async fn listed(app: &crate::helpers::TestApp, token: i64) -> serde_json::Value {
    let list = app.get_as(&app.admin, "/api/v1/tokens").await;
    list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| id(t) == token)
        .unwrap()
        .clone()
}
