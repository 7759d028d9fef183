//! Ordinary requests never make the server fail: odd query text, deletes of records that
//! others still use, and names that would read backwards.

use reqwest::StatusCode;
use serde_json::json;

use crate::db_test;
use crate::helpers::id;

db_test! {
    async fn a_feed_asked_for_reminders_in_any_script_answers_422_not_500(app: TestApp) {
        let seed = app.seed().await;
        for alarms in ["aaaaaaaaaaaaaaaaaaaaa%C3%AC", "1%C3%A9", "%E5%A4%A9", "1%E5%A4%A9,2h"] {
            let reply = app.get(&format!("/feeds/programs/{}.ics?alarms={alarms}", seed.program)).await;
            let body = reply.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation-failed");
            assert_eq!(body["errors"][0]["field"], "alarms", "{alarms}");
        }
    }
}

db_test! {
    async fn deleting_an_organization_that_is_still_used_names_every_use(app: TestApp) {
        let seed = app.seed().await;
        let county = id(&app
            .create("/api/v1/organizations", json!({"parent_id": seed.city, "kind": "county_association", "name": "连云港市连云区科学技术协会"}))
            .await);
        let path = format!("/api/v1/organizations/{county}");
        let team = id(&app.create("/api/v1/teams", json!({"name": "连云区分队", "organization_id": county})).await);
        let volunteer = id(&app.create("/api/v1/volunteers", json!({"name": "孙敏", "organization_id": county})).await);
        let webhook = id(&app
            .create("/api/v1/webhooks", json!({"organization_id": county, "url": "https://hooks.example.cn/in", "format": "standard",
                                               "scope": {"kind": "organization", "id": county}}))
            .await);
        let reply = app.delete(&app.admin, &path).await;
        let body = reply.problem(StatusCode::CONFLICT, "in-use");
        assert_eq!(body["code"], "in_use");
        let detail = body["detail"].as_str().unwrap();
        for what in ["1 teams", "1 volunteers", "1 webhook subscriptions"] {
            assert!(detail.contains(what), "{detail}");
        }
        // Each use removed in turn, the delete goes through; a revoked token does not hold it back.
        let token = app.create("/api/v1/tokens", json!({"name": "连云区", "role": "organizer", "organization_id": county})).await;
        app.delete(&app.admin, &format!("/api/v1/tokens/{}", id(&token))).await;
        for gone in [format!("/api/v1/webhooks/{webhook}"), format!("/api/v1/volunteers/{volunteer}"), format!("/api/v1/teams/{team}")] {
            assert_eq!(app.delete(&app.admin, &gone).await.status, StatusCode::NO_CONTENT, "{gone}");
        }
        assert_eq!(app.delete(&app.admin, &path).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
    }
}

db_test! {
    async fn deleted_sessions_do_not_hold_a_venue_or_activity_back_unless_volunteers_served_there(app: TestApp) {
        let seed = app.seed().await;
        let venue = id(&app
            .create("/api/v1/venues", json!({"name": "海州区新东社区", "kind": "community", "time_zone": "Asia/Shanghai", "organization_id": seed.haizhou}))
            .await);
        let session = id(&app.session(seed.activity, venue, "2019-05-30T09:00:00+08:00", "2019-05-30T11:00:00+08:00").await);
        app.create("/api/v1/session-roles", json!({"session_id": session, "name": "讲解员", "needed": 2})).await;
        assert_eq!(app.delete(&app.admin, &format!("/api/v1/sessions/{session}")).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.delete(&app.admin, &format!("/api/v1/venues/{venue}")).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.count("sessions").await, 0);

        // A deleted session that a volunteer was assigned to keeps the assignment as history.
        let session = id(&app.session(seed.activity, seed.venue, "2019-05-30T09:00:00+08:00", "2019-05-30T11:00:00+08:00").await);
        let role = id(&app.create("/api/v1/session-roles", json!({"session_id": session, "name": "讲解员", "needed": 2})).await);
        let volunteer = id(&app.create("/api/v1/volunteers", json!({"name": "孙敏", "organization_id": seed.haizhou})).await);
        app.create("/api/v1/assignments", json!({"role_id": role, "volunteer_id": volunteer})).await;
        assert_eq!(app.delete(&app.admin, &format!("/api/v1/sessions/{session}")).await.status, StatusCode::NO_CONTENT);
        for path in [format!("/api/v1/activities/{}", seed.activity), format!("/api/v1/venues/{}", seed.venue)] {
            let reply = app.delete(&app.admin, &path).await;
            let detail = reply.problem(StatusCode::CONFLICT, "in-use")["detail"].as_str().unwrap().to_owned();
            assert!(detail.contains("1 assignments"), "{path}: {detail}");
        }
        assert_eq!(app.count("assignments").await, 1);
        assert_eq!(app.count("activities").await, 1);
    }
}

db_test! {
    async fn names_with_bidirectional_controls_are_refused_and_nothing_is_written(app: TestApp) {
        let seed = app.seed().await;
        let backwards = "连云港市\u{202E}馆技科";
        let cases = [
            ("/api/v1/venues", json!({"name": backwards, "kind": "other", "time_zone": "Asia/Shanghai", "organization_id": seed.city}), "name"),
            ("/api/v1/volunteers", json!({"name": backwards, "organization_id": seed.city}), "name"),
            ("/api/v1/volunteers", json!({"name": "王芳", "organization_id": seed.city, "tags": [format!("医院\u{2067}院长")]}), "tags[0]"),
            ("/api/v1/activities", json!({"program_id": seed.program, "title": backwards, "organization_id": seed.city}), "title"),
            ("/api/v1/organizations", json!({"parent_id": seed.city, "kind": "society", "name": "学会", "short_name": backwards}), "short_name"),
            ("/api/v1/teams", json!({"name": backwards, "organization_id": seed.city}), "name"),
        ];
        for (path, body, field) in cases {
            let before = app.count(path.trim_start_matches("/api/v1/")).await;
            let reply = app.post(&app.admin, path, body).await;
            assert_eq!(reply.invalid_fields(), vec![field.to_owned()], "{path}");
            assert!(reply.body["errors"][0]["message"].as_str().unwrap().contains("U+"), "{}", reply.body);
            assert_eq!(app.count(path.trim_start_matches("/api/v1/")).await, before, "{path}");
        }
        let renamed = app.patch_current(&format!("/api/v1/venues/{}", seed.venue), json!({"name": backwards})).await;
        assert_eq!(renamed.invalid_fields(), vec!["name".to_owned()]);
    }
}

db_test! {
    async fn every_foreign_key_that_restricts_a_delete_is_named_by_the_in_use_check(app: TestApp) {
        use sciday::store::uses::Referenced;
        use sea_orm::{ConnectionTrait, Statement};
        let sql = match app.backend {
            crate::helpers::Backend::Sqlite => {
                "SELECT m.name AS referring, p.\"from\" AS col, p.\"table\" AS target, p.on_delete AS on_delete \
                 FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) p WHERE m.type = 'table'"
            }
            crate::helpers::Backend::Postgres => {
                "SELECT kcu.table_name AS referring, kcu.column_name AS col, ccu.table_name AS target, rc.delete_rule AS on_delete \
                 FROM information_schema.referential_constraints rc \
                 JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = rc.constraint_name \
                 JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = rc.constraint_name"
            }
        };
        let backend = app.db.backend();
        let rows = app.db.reader().query_all_raw(Statement::from_string(backend, sql.to_owned())).await.unwrap();
        let kinds = [
            Referenced::Organization, Referenced::Venue, Referenced::Program, Referenced::Activity,
            Referenced::Team, Referenced::Volunteer, Referenced::SessionRole,
        ];
        let mut checked = 0;
        for row in rows {
            let (referring, column, target, on_delete): (String, String, String, String) = (
                row.try_get("", "referring").unwrap(),
                row.try_get("", "col").unwrap(),
                row.try_get("", "target").unwrap(),
                row.try_get("", "on_delete").unwrap(),
            );
            if matches!(on_delete.to_uppercase().as_str(), "CASCADE" | "SET NULL") {
                continue;
            }
            let Some(kind) = kinds.iter().find(|k| k.table() == target) else { continue };
            assert!(
                kind.references().iter().any(|r| r.table == referring && r.column == column),
                "{referring}.{column} refers to {target} ({on_delete}) but deleting a {target} row does not check it"
            );
            checked += 1;
        }
        assert!(checked >= 20, "the schema's foreign keys were read ({checked})");
    }
}

db_test! {
    async fn every_missing_required_field_is_named_at_once(app: TestApp) {
        let seed = app.seed().await;
        let reply = app.post(&app.admin, "/api/v1/volunteers", json!({"unavailable": [{"starts_at": "2019-05-30T09:00:00+08:00"}]})).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
        let mut fields = reply.invalid_fields();
        fields.sort();
        assert_eq!(fields, ["name", "organization_id", "unavailable[0].ends_at"], "{}", reply.body);
        assert!(reply.body["errors"].as_array().unwrap().iter().all(|e| e["code"] == "required"));

        let plan = app
            .post(&app.admin, &format!("/api/v1/programs/{}/plans", seed.program), json!({"contact": {"office_phone": "0518-88881234"}}))
            .await;
        let fields = plan.invalid_fields();
        for field in ["activity_name", "organizing_unit", "venue_id", "joins_video_link", "text"] {
            assert!(fields.iter().any(|f| f == field), "{field} is not named: {}", plan.body);
        }
        assert!(!fields.iter().any(String::is_empty), "{}", plan.body);
    }
}
