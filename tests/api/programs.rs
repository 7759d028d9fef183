//! `/api/v1/programs`.

use reqwest::StatusCode;
use serde_json::json;

use crate::db_test;
use crate::helpers::id;

db_test! {
    async fn a_local_deadline_is_read_in_the_programs_zone_and_shown_with_its_offset(app: TestApp) {
        let seed = app.seed().await;
        let program = app.get(&format!("/api/v1/programs/{}", seed.program)).await;
        assert_eq!(program.body["plan_deadline"], "2019-05-17T23:59:59+08:00");
        assert_eq!(program.body["time_zone"], "Asia/Shanghai");
        // The same instant given in UTC reads back identically.
        let path = format!("/api/v1/programs/{}", seed.program);
        let same = app.patch(&app.admin, &path, "\"1\"", json!({"plan_deadline": "2019-05-17T15:59:59Z"})).await;
        assert_eq!(same.status, StatusCode::OK);
        assert_eq!(same.etag(), "\"1\"", "an equal instant is no change");
        let in_utc = app.patch(&app.admin, &path, "\"1\"", json!({"time_zone": "UTC"})).await;
        assert_eq!(in_utc.body["plan_deadline"], "2019-05-17T15:59:59Z");
    }
}

db_test! {
    async fn invalid_programs_are_refused_with_every_problem(app: TestApp) {
        let seed = app.seed().await;
        let reply = app
            .post(&app.admin, "/api/v1/programs", json!({
                "name": "", "time_zone": "Mars/Olympus", "host_organization_id": seed.city, "plan_deadline": "next friday"
            }))
            .await;
        let mut fields = reply.invalid_fields();
        fields.sort();
        assert_eq!(fields, ["name", "time_zone"]);
        let bad_deadline = app
            .post(&app.admin, "/api/v1/programs", json!({
                "name": "x", "time_zone": "Asia/Shanghai", "host_organization_id": seed.city, "plan_deadline": "next friday"
            }))
            .await;
        assert_eq!(bad_deadline.invalid_fields(), ["plan_deadline"]);
        let no_host = app
            .post(&app.admin, "/api/v1/programs", json!({"name": "x", "time_zone": "Asia/Shanghai", "host_organization_id": 404}))
            .await;
        assert_eq!(no_host.invalid_fields(), ["host_organization_id"]);
        assert_eq!(app.count("programs").await, 1);
    }
}

db_test! {
    async fn only_managers_of_the_host_change_a_program(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let path = format!("/api/v1/programs/{}", seed.program);
        app.patch(&haizhou, &path, "*", json!({"theme": "改"})).await.problem(StatusCode::FORBIDDEN, "forbidden");
        let own = app
            .post(&haizhou, "/api/v1/programs", json!({"name": "海州区科技周", "time_zone": "Asia/Shanghai", "host_organization_id": seed.haizhou}))
            .await;
        assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
        let listed = app.get(&format!("/api/v1/programs?organization_id={}", seed.haizhou)).await;
        assert_eq!(listed.ids(), [id(&own.body)]);
        let city = app.organizer(seed.city).await;
        let theme = app.patch(&city, &path, "\"1\"", json!({"theme": "礼赞共和国、追梦新时代——科技志愿服务行动"})).await;
        assert_eq!(theme.status, StatusCode::OK, "{}", theme.body);
    }
}

db_test! {
    async fn a_program_with_activities_cannot_be_deleted(app: TestApp) {
        let seed = app.seed().await;
        let path = format!("/api/v1/programs/{}", seed.program);
        let reply = app.delete(&app.admin, &path).await;
        assert_eq!(reply.problem(StatusCode::CONFLICT, "in-use")["code"], "in_use");
        assert_eq!(app.delete(&app.admin, &format!("/api/v1/activities/{}", seed.activity)).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.delete(&app.admin, &path).await.status, StatusCode::NO_CONTENT);
    }
}
