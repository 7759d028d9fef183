//! `/api/v1/venues`.

use reqwest::StatusCode;
use serde_json::json;

use crate::db_test;
use crate::helpers::id;

db_test! {
    async fn a_venue_is_created_read_updated_and_deleted(app: TestApp) {
        let seed = app.seed().await;
        let reply = app
            .post(&app.admin, "/api/v1/venues", json!({
                "name": "海州区新南社区党群服务中心", "kind": "party_masses_service_center",
                "address": "连云港市海州区新南路1号", "latitude": 34.59, "longitude": 119.17,
                "time_zone": "Asia/Shanghai", "organization_id": seed.haizhou
            }))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let path = reply.header("location").unwrap();
        assert_eq!(reply.body["kind"], "party_masses_service_center");
        assert!(reply.body["key"].as_str().unwrap().starts_with("venue-"));
        let updated = app.patch(&app.admin, &path, "\"1\"", json!({"latitude": null, "longitude": null})).await;
        assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
        assert_eq!(updated.body["latitude"], serde_json::Value::Null);
        assert_eq!(updated.etag(), "\"2\"");
        let kinds = app.get("/api/v1/venues?kind=party_masses_service_center").await;
        assert_eq!(kinds.ids(), [id(&reply.body)]);
        assert_eq!(app.delete(&app.admin, &path).await.status, StatusCode::NO_CONTENT);
        app.get(&path).await.problem(StatusCode::NOT_FOUND, "not-found");
    }
}

db_test! {
    async fn unknown_zones_and_half_coordinates_are_refused(app: TestApp) {
        let reply = app
            .post(&app.admin, "/api/v1/venues", json!({
                "name": "科技会堂", "kind": "remote_main_venue", "time_zone": "Asia/Beijing", "latitude": 39.9
            }))
            .await;
        let mut fields = reply.invalid_fields();
        fields.sort();
        assert_eq!(fields, ["longitude", "time_zone"]);
        let out_of_range = app
            .post(&app.admin, "/api/v1/venues", json!({
                "name": "科技会堂", "kind": "remote_main_venue", "time_zone": "Asia/Shanghai", "latitude": 91.0, "longitude": 116.3
            }))
            .await;
        assert_eq!(out_of_range.invalid_fields(), ["latitude"]);
        assert_eq!(app.count("venues").await, 0);
    }
}

db_test! {
    async fn organizers_manage_only_their_own_venues(app: TestApp) {
        let seed = app.seed().await;
        let ganyu = app.organizer(seed.ganyu).await;
        let own = app
            .post(&ganyu, "/api/v1/venues", json!({"name": "赣榆区科技馆", "kind": "other", "time_zone": "Asia/Shanghai", "organization_id": seed.ganyu}))
            .await;
        assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
        let foreign = app
            .post(&ganyu, "/api/v1/venues", json!({"name": "海州区科技馆", "kind": "other", "time_zone": "Asia/Shanghai", "organization_id": seed.haizhou}))
            .await;
        foreign.problem(StatusCode::FORBIDDEN, "forbidden");
        let unowned = app
            .post(&ganyu, "/api/v1/venues", json!({"name": "广场", "kind": "other", "time_zone": "Asia/Shanghai"}))
            .await;
        unowned.problem(StatusCode::FORBIDDEN, "forbidden");
        let city_venue = format!("/api/v1/venues/{}", seed.venue);
        app.patch(&ganyu, &city_venue, "*", json!({"name": "改名"})).await.problem(StatusCode::FORBIDDEN, "forbidden");
        app.delete(&ganyu, &city_venue).await.problem(StatusCode::FORBIDDEN, "forbidden");
        let handover = app
            .patch(&ganyu, own.header("location").as_deref().unwrap(), "*", json!({"organization_id": seed.haizhou}))
            .await;
        handover.problem(StatusCode::FORBIDDEN, "forbidden");
    }
}

db_test! {
    async fn a_venue_with_sessions_cannot_be_deleted(app: TestApp) {
        let seed = app.seed().await;
        app.session(seed.activity, seed.venue, "2019-05-20T09:00+08:00", "2019-05-20T11:00+08:00").await;
        let reply = app.delete(&app.admin, &format!("/api/v1/venues/{}", seed.venue)).await;
        assert_eq!(reply.problem(StatusCode::CONFLICT, "in-use")["code"], "in_use");
    }
}
