//! `/api/v1/teams`.

use reqwest::StatusCode;
use serde_json::json;

use crate::db_test;
use crate::helpers::id;

db_test! {
    async fn a_detachment_and_its_sub_teams_form_a_tree_with_leaders(app: TestApp) {
        let seed = app.seed().await;
        let detachment = app
            .create("/api/v1/teams", json!({"key": "team.lyg", "organization_id": seed.city, "name": "江苏省科技志愿者总队连云港支队"}))
            .await;
        let caravan = app
            .create("/api/v1/teams", json!({"organization_id": seed.city, "parent_id": id(&detachment), "name": "科普大篷车志愿者服务团"}))
            .await;
        assert_eq!(caravan["parent_id"], id(&detachment));
        let leader = app
            .create("/api/v1/volunteers", json!({
                "name": "王建国", "organization_id": seed.city, "teams": [{"team_id": id(&caravan), "leader": true}]
            }))
            .await;
        let team = app.get_as(&app.admin, &format!("/api/v1/teams/{}", id(&caravan))).await;
        assert_eq!(team.body["leader_ids"], json!([id(&leader)]));
        let tree = app.get(&format!("/api/v1/teams?team_id={}", id(&detachment))).await;
        assert_eq!(tree.ids(), [id(&detachment), id(&caravan)]);
        let in_use = app.delete(&app.admin, &format!("/api/v1/teams/{}", id(&detachment))).await;
        assert_eq!(in_use.problem(StatusCode::CONFLICT, "in-use")["code"], "in_use");
        let circle = app
            .patch(&app.admin, &format!("/api/v1/teams/{}", id(&detachment)), "*", json!({"parent_id": id(&caravan)}))
            .await;
        assert_eq!(circle.invalid_fields(), ["parent_id"]);
    }
}

db_test! {
    async fn organizers_manage_only_their_organizations_teams(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let own = app
            .post(&haizhou, "/api/v1/teams", json!({"organization_id": seed.haizhou, "name": "海州区科技志愿者支队"}))
            .await;
        assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
        let city_team = app
            .create("/api/v1/teams", json!({"organization_id": seed.city, "name": "江苏省科技志愿者总队连云港支队"}))
            .await;
        app.post(&haizhou, "/api/v1/teams", json!({"organization_id": seed.city, "name": "冒名"}))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        app.post(&haizhou, "/api/v1/teams", json!({"organization_id": seed.haizhou, "parent_id": id(&city_team), "name": "挂靠"}))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        app.patch(&haizhou, &format!("/api/v1/teams/{}", id(&city_team)), "*", json!({"name": "改"}))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        let renamed = app
            .patch(&haizhou, own.header("location").as_deref().unwrap(), "\"1\"", json!({"description": "服务海州区基层"}))
            .await;
        assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
        assert_eq!(renamed.etag(), "\"2\"");
    }
}
