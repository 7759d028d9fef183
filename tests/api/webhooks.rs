//! Webhook subscriptions: addresses checked against the platforms and internal networks,
//! secrets shown once, tokens never shown, and organizers confined to their organizations.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Seed, id};

const DINGTALK: &str = "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef";

fn standard(seed: &Seed) -> Value {
    json!({
        "organization_id": seed.haizhou, "name": "海州区志愿者群",
        "url": "https://hooks.example.cn/sciday", "format": "standard",
        "scope": {"kind": "program", "id": seed.program},
    })
}

db_test! {
    async fn a_standard_subscription_shows_its_generated_secret_once(app: TestApp) {
        let seed = app.seed().await;
        let created = app.create("/api/v1/webhooks", standard(&seed)).await;
        let secret = created["secret"].as_str().unwrap();
        assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");
        assert_eq!(created["has_secret"], true);
        assert_eq!(created["events"].as_array().unwrap().len(), 6, "every event type by default");
        assert_eq!(created["offsets"], json!(["P1D", "PT1H"]));
        assert_eq!(created["enabled"], true);

        let path = format!("/api/v1/webhooks/{}", id(&created));
        let read = app.get_as(&app.admin, &path).await;
        assert_eq!(read.status, StatusCode::OK);
        assert!(read.body.get("secret").is_none());
        assert!(!read.body.to_string().contains(secret));
        let listed = app.get_as(&app.admin, "/api/v1/webhooks").await;
        assert_eq!(listed.ids(), [id(&created)]);
        assert!(!listed.body.to_string().contains(secret));
    }
}

db_test! {
    async fn robot_addresses_never_show_their_tokens(app: TestApp) {
        let seed = app.seed().await;
        let created = app
            .create(
                "/api/v1/webhooks",
                json!({"organization_id": seed.city, "url": DINGTALK, "format": "dingtalk",
                       "scope": {"kind": "organization", "id": seed.city}, "keyword": "科协",
                       "secret": "SEC0123456789", "mention": true, "events": ["session.reminder", "session.cancelled"],
                       "offsets": ["PT2H", "P1D", "PT15M"]}),
            )
            .await;
        assert!(created.get("secret").is_none(), "a robot's own secret is not echoed");
        assert_eq!(created["url"], "https://oapi.dingtalk.com/robot/send?access_token=REDACTED");
        assert_eq!(created["offsets"], json!(["P1D", "PT2H", "PT15M"]));
        assert_eq!((created["keyword"].as_str(), created["mention"].as_bool()), (Some("科协"), Some(true)));
        let read = app.get_as(&app.admin, &format!("/api/v1/webhooks/{}", id(&created))).await;
        assert!(!read.body.to_string().contains("0123456789abcdef"));
        assert!(!read.body.to_string().contains("SEC0123456789"));
    }
}

db_test! {
    async fn bad_subscriptions_are_refused_field_by_field_and_nothing_is_stored(app: TestApp) {
        let seed = app.seed().await;
        let cases = [
            (json!({"url": "http://127.0.0.1:9000/in"}), "url", "blocked_address"),
            (json!({"url": "http://[::1]/in"}), "url", "blocked_address"),
            (json!({"url": "http://169.254.169.254/latest"}), "url", "blocked_address"),
            (json!({"url": "ftp://hooks.example.cn/"}), "url", "invalid_webhook_url"),
            (json!({"format": "dingtalk"}), "url", "invalid_webhook_url"),
            (json!({"events": ["session.moved"]}), "events[0]", "unknown_event"),
            (json!({"events": []}), "events", "required"),
            (json!({"offsets": ["PT1H", "tomorrow"]}), "offsets[1]", "invalid_duration"),
            (json!({"offsets": ["P60D"]}), "offsets[0]", "out_of_range"),
            (json!({"mention": true}), "mention", "not_supported"),
            (json!({"keyword": "科协"}), "keyword", "not_supported"),
            (json!({"secret": "whsec_mine"}), "secret", "generated"),
        ];
        for (change, field, code) in cases {
            let mut body = standard(&seed);
            body.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
            let reply = app.post(&app.admin, "/api/v1/webhooks", body).await;
            assert_eq!(reply.invalid_fields(), [field], "{change}");
            assert_eq!(reply.body["errors"][0]["code"], code, "{change}");
        }
        let mut missing = standard(&seed);
        missing["scope"] = json!({"kind": "team", "id": 999});
        app.post(&app.admin, "/api/v1/webhooks", missing).await.problem(StatusCode::NOT_FOUND, "not-found");
        let mut unknown = standard(&seed);
        unknown["format"] = json!("telegram");
        assert_eq!(app.post(&app.admin, "/api/v1/webhooks", unknown).await.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(app.get_as(&app.admin, "/api/v1/webhooks").await.ids().is_empty());
    }
}

db_test! {
    async fn organizers_manage_only_their_organizations_subscriptions(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let ganyu = app.organizer(seed.ganyu).await;
        let mut ours = standard(&seed);
        ours["scope"] = json!({"kind": "organization", "id": seed.haizhou});
        assert_eq!(app.post(&haizhou, "/api/v1/webhooks", ours).await.status, StatusCode::CREATED);
        let mut theirs = standard(&seed);
        theirs["organization_id"] = json!(seed.ganyu);
        theirs["scope"] = json!({"kind": "organization", "id": seed.ganyu});
        let reply = app.post(&haizhou, "/api/v1/webhooks", theirs.clone()).await;
        reply.problem(StatusCode::FORBIDDEN, "forbidden");
        let other = app.post(&ganyu, "/api/v1/webhooks", theirs).await;
        assert_eq!(other.status, StatusCode::CREATED);

        let mine = app.get_as(&haizhou, "/api/v1/webhooks").await.ids();
        assert_eq!(mine.len(), 1);
        assert!(!mine.contains(&id(&other.body)));
        assert_eq!(app.get_as(&app.admin, "/api/v1/webhooks").await.ids().len(), 2);
        app.get_as(&haizhou, &format!("/api/v1/webhooks/{}", id(&other.body)))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        app.get("/api/v1/webhooks").await.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        app.delete(&haizhou, &format!("/api/v1/webhooks/{}", id(&other.body)))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
    }
}

db_test! {
    async fn a_subscription_is_changed_with_if_match_paused_and_deleted(app: TestApp) {
        let seed = app.seed().await;
        let created = app.create("/api/v1/webhooks", standard(&seed)).await;
        let path = format!("/api/v1/webhooks/{}", id(&created));
        let changed = app
            .patch_current(&path, json!({"name": "城市分队", "offsets": ["PT30M"], "enabled": false}))
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
        assert_eq!(changed.body["offsets"], json!(["PT30M"]));
        assert_eq!((changed.body["enabled"].as_bool(), changed.body["version"].as_i64()), (Some(false), Some(2)));
        let stale = app.patch(&app.admin, &path, "\"1\"", json!({"name": "x"})).await;
        stale.problem(StatusCode::PRECONDITION_FAILED, "stale-version");
        let bad = app.patch_current(&path, json!({"url": "http://10.0.0.8/in"})).await;
        assert_eq!(bad.invalid_fields(), ["url"]);
        assert_eq!(app.get_as(&app.admin, &path).await.body["name"], "城市分队");
        assert_eq!(app.delete(&app.admin, &path).await.status, StatusCode::NO_CONTENT);
        app.get_as(&app.admin, &path).await.problem(StatusCode::NOT_FOUND, "not-found");
    }
}
