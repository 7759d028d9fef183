//! `/api/v1/activities`.

use reqwest::StatusCode;
use serde_json::json;

use crate::db_test;
use crate::helpers::id;

db_test! {
    async fn activities_list_in_display_order_and_filter_by_program_organization_and_kind(app: TestApp) {
        let seed = app.seed().await;
        let main = app
            .create("/api/v1/activities", json!({
                "program_id": seed.program, "kind": "main", "display_order": 0,
                "title": "2019年全国科技工作者日活动启动仪式暨李保国同志先进事迹宣讲教育报告会", "organization_id": seed.city,
                "service_kinds": ["科学普及", " 科学普及 ", "人才培养"]
            }))
            .await;
        assert_eq!(main.body_kinds(), ["科学普及", "人才培养"]);
        let contest = app
            .create("/api/v1/activities", json!({
                "program_id": seed.program, "display_order": 9, "title": "第二届连云港市大学生高等数学竞赛", "organization_id": seed.ganyu
            }))
            .await;
        assert_eq!(contest["kind"], "series");
        assert_eq!(contest["public"], true);
        let all = app.get(&format!("/api/v1/activities?program_id={}", seed.program)).await;
        assert_eq!(all.ids(), [id(&main), seed.activity, id(&contest)]);
        let mains = app.get("/api/v1/activities?kind=main").await;
        assert_eq!(mains.ids(), [id(&main)]);
        let city_tree = app.get(&format!("/api/v1/activities?organization_id={}", seed.city)).await;
        assert_eq!(city_tree.ids().len(), 3, "the city's subtree organizes all three");
        let ganyu = app.get(&format!("/api/v1/activities?organization_id={}", seed.ganyu)).await;
        assert_eq!(ganyu.ids(), [id(&contest)]);
        let page = app.get("/api/v1/activities?limit=2").await;
        let next = page.body["next_cursor"].as_str().unwrap().to_owned();
        let rest = app.get(&format!("/api/v1/activities?limit=2&cursor={next}")).await;
        assert_eq!(rest.ids(), [id(&contest)]);
    }
}

trait Kinds {
    fn body_kinds(&self) -> Vec<String>;
}

impl Kinds for serde_json::Value {
    fn body_kinds(&self) -> Vec<String> {
        self["service_kinds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect()
    }
}

db_test! {
    async fn non_public_activities_are_seen_only_by_admins_and_their_organizers(app: TestApp) {
        let seed = app.seed().await;
        let checks = app
            .create("/api/v1/activities", json!({
                "program_id": seed.program, "title": "服务科技工作者走访慰问、座谈交流、免费体检",
                "organization_id": seed.haizhou, "public": false
            }))
            .await;
        let session = app.session(id(&checks), seed.venue, "2019-05-29T08:00+08:00", "2019-05-29T11:00+08:00").await;
        let path = format!("/api/v1/activities/{}", id(&checks));
        let session_path = format!("/api/v1/sessions/{}", id(&session));
        let own = app.organizer(seed.haizhou).await;
        let other = app.organizer(seed.ganyu).await;
        let city = app.organizer(seed.city).await;
        for token in [&app.admin, &own, &city] {
            assert_eq!(app.get_as(token, &path).await.status, StatusCode::OK);
            assert_eq!(app.get_as(token, &session_path).await.status, StatusCode::OK);
            assert!(app.get_as(token, "/api/v1/activities").await.ids().contains(&id(&checks)));
            assert!(app.get_as(token, "/api/v1/sessions").await.ids().contains(&id(&session)));
        }
        app.get(&path).await.problem(StatusCode::NOT_FOUND, "not-found");
        app.get_as(&other, &path).await.problem(StatusCode::NOT_FOUND, "not-found");
        app.get(&session_path).await.problem(StatusCode::NOT_FOUND, "not-found");
        assert!(!app.get("/api/v1/activities").await.ids().contains(&id(&checks)));
        assert!(!app.get_as(&other, "/api/v1/sessions").await.ids().contains(&id(&session)));
    }
}

db_test! {
    async fn an_organizer_cannot_touch_another_organizations_activities(app: TestApp) {
        let seed = app.seed().await;
        let ganyu = app.organizer(seed.ganyu).await;
        let path = format!("/api/v1/activities/{}", seed.activity);
        app.patch(&ganyu, &path, "*", json!({"title": "抢"})).await.problem(StatusCode::FORBIDDEN, "forbidden");
        app.delete(&ganyu, &path).await.problem(StatusCode::FORBIDDEN, "forbidden");
        let create = app
            .post(&ganyu, "/api/v1/activities", json!({"program_id": seed.program, "title": "冒名", "organization_id": seed.haizhou}))
            .await;
        create.problem(StatusCode::FORBIDDEN, "forbidden");
        let session = app
            .post(&ganyu, "/api/v1/sessions", json!({
                "activity_id": seed.activity, "venue_id": seed.venue, "starts_at": "2019-05-20T09:00+08:00", "ends_at": "2019-05-20T10:00+08:00"
            }))
            .await;
        session.problem(StatusCode::FORBIDDEN, "forbidden");
        let haizhou = app.organizer(seed.haizhou).await;
        let own = app.patch(&haizhou, &path, "\"1\"", json!({"description": "一周的科普活动\r\n每天一个主题"})).await;
        assert_eq!(own.status, StatusCode::OK, "{}", own.body);
        assert_eq!(own.body["description"], "一周的科普活动\n每天一个主题");
        let give_away = app.patch(&haizhou, &path, "*", json!({"organization_id": seed.ganyu})).await;
        give_away.problem(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(app.get(&path).await.body["organization_id"], seed.haizhou);
    }
}

db_test! {
    async fn invalid_activities_name_every_bad_field(app: TestApp) {
        let seed = app.seed().await;
        let reply = app
            .post(&app.admin, "/api/v1/activities", json!({
                "program_id": seed.program, "title": "字".repeat(201), "organization_id": seed.city,
                "service_kinds": ["科学普及", ""]
            }))
            .await;
        let mut fields = reply.invalid_fields();
        fields.sort();
        assert_eq!(fields, ["service_kinds[1]", "title"]);
        let no_program = app
            .post(&app.admin, "/api/v1/activities", json!({"program_id": 77, "title": "x", "organization_id": seed.city}))
            .await;
        assert_eq!(no_program.invalid_fields(), ["program_id"]);
        let wrong_kind = app
            .post(&app.admin, "/api/v1/activities", json!({"program_id": seed.program, "title": "x", "organization_id": seed.city, "kind": "side"}))
            .await;
        assert_eq!(wrong_kind.invalid_fields(), ["kind"]);
        assert_eq!(app.count("activities").await, 1);
    }
}

db_test! {
    async fn an_activity_with_live_sessions_cannot_be_deleted(app: TestApp) {
        let seed = app.seed().await;
        let session = app.session(seed.activity, seed.venue, "2019-05-20T09:00+08:00", "2019-05-20T11:00+08:00").await;
        let path = format!("/api/v1/activities/{}", seed.activity);
        assert_eq!(app.delete(&app.admin, &path).await.problem(StatusCode::CONFLICT, "in-use")["code"], "in_use");
        assert_eq!(app.delete(&app.admin, &format!("/api/v1/sessions/{}", id(&session))).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.delete(&app.admin, &path).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.count("sessions").await, 0);
    }
}
