//! Import and export: idempotent, round-tripping, atomic, and the sample program.

use reqwest::StatusCode;
use sciday::transfer::{self, Document, import::Tally};
use serde_json::json;

use crate::db_test;
use crate::helpers::{TestApp, id};

fn sample() -> Document {
    serde_json::from_str(sciday::cli::SAMPLE_PROGRAM).unwrap()
}

async fn export(app: &TestApp) -> Document {
    transfer::export(app.db.reader(), transfer::Options::default())
        .await
        .unwrap()
}

/// Everything, secrets and sent messages included: what a restore gives back unchanged.
async fn export_all(app: &TestApp) -> Document {
    let options = transfer::Options {
        include_secrets: true,
        include_deliveries: true,
        program: None,
    };
    transfer::export(app.db.reader(), options).await.unwrap()
}

db_test! {
    async fn importing_the_sample_twice_changes_nothing(app: TestApp) {
        let document = sample();
        let first = transfer::import(&app.db, &document, app.policy(), &|| {}).await.unwrap();
        assert_eq!(first.organizations.created, document.organizations.len());
        assert_eq!(first.sessions.created, document.sessions.len());
        let after_first = export(&app).await;
        let versions = app.get("/api/v1/sessions?limit=500").await.body;
        let second = transfer::import(&app.db, &document, app.policy(), &|| {}).await.unwrap();
        for (kind, tally, records) in [
            ("organizations", second.organizations, document.organizations.len()),
            ("venues", second.venues, document.venues.len()),
            ("programs", second.programs, document.programs.len()),
            ("activities", second.activities, document.activities.len()),
            ("sessions", second.sessions, document.sessions.len()),
        ] {
            assert_eq!(tally, Tally { created: 0, updated: 0, unchanged: records }, "{kind}");
        }
        assert_eq!(export(&app).await, after_first);
        assert_eq!(app.get("/api/v1/sessions?limit=500").await.body, versions, "not even a version moved");
    }
}

db_test! {
    async fn an_export_imports_into_a_fresh_database_as_the_same_data(app: TestApp) {
        transfer::import(&app.db, &sample(), app.policy(), &|| {}).await.unwrap();
        let exported = export_all(&app).await;
        let flagged = exported.organizations.iter().filter(|o| o.plan_expected).count();
        assert_eq!(flagged, 4, "the societies expected to submit a plan");
        let fresh = TestApp::spawn_empty(app.backend).await.unwrap();
        let json = serde_json::to_string(&exported).unwrap();
        let reread: Document = serde_json::from_str(&json).unwrap();
        let report = transfer::import(&fresh.db, &reread, fresh.policy(), &|| {}).await.unwrap();
        assert!(report.restored);
        assert_eq!(export_all(&fresh).await, exported);
    }
}

db_test! {
    async fn the_sample_program_is_complete(app: TestApp) {
        transfer::import(&app.db, &sample(), app.policy(), &|| {}).await.unwrap();
        let activities = app.get_as(&app.admin, "/api/v1/activities").await;
        let titles: Vec<&str> = activities.body["data"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap()).collect();
        assert_eq!(titles.len(), 11);
        assert_eq!(titles[0], "2019年全国科技工作者日活动启动仪式暨李保国同志先进事迹宣讲教育报告会");
        for title in ["第三十一届科普宣传周", "第二届连云港市大学生高等数学竞赛", "青少年科技创新作品义卖", "寻找连云港\"十大最美科技创新之星\""] {
            assert!(titles.contains(&title), "{title} is missing");
        }
        let counties = app.get("/api/v1/organizations?kind=county_association").await;
        assert_eq!(counties.ids().len(), 6);
        // Six county associations and four societies owe a preparation plan.
        let missing = app.get_as(&app.admin, "/api/v1/programs/1/plans/missing").await;
        assert_eq!(missing.body["expected"], 10, "{}", missing.body);
        let beijing = app.get("/api/v1/venues?kind=remote_main_venue").await;
        assert_eq!(beijing.body["data"][0]["name"], "科技会堂");
        let launch = app
            .get_as(&app.admin, &format!("/api/v1/sessions?activity_id={}", id(&activities.body["data"][0])))
            .await;
        assert!(launch.body["data"][0]["starts_at"].as_str().unwrap().starts_with("2019-05-28T"));
    }
}

db_test! {
    async fn the_sample_program_is_staffed_with_fake_numbers(app: TestApp) {
        transfer::import(&app.db, &sample(), app.policy(), &|| {}).await.unwrap();
        let teams = app.get("/api/v1/teams?limit=500").await;
        let names: Vec<&str> = teams.body["data"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        for team in ["江苏省科技志愿者总队连云港支队", "科普专家讲师团", "科普志愿者服务团", "\"夕阳红\"老专家宣讲团", "农业技术专家服务团", "科普大篷车志愿者服务团"] {
            assert!(names.contains(&team), "{team} is missing");
        }
        let volunteers = app.get_as(&app.admin, "/api/v1/volunteers?limit=500").await;
        let people = volunteers.body["data"].as_array().unwrap();
        assert!((50..=80).contains(&people.len()), "about sixty volunteers, got {}", people.len());
        for person in people {
            if let Some(mobile) = person["mobile"].as_str() {
                assert!(mobile.starts_with("1440"), "{mobile} is outside the fake range");
            }
        }
        let staffed = app.get_as(&app.admin, "/api/v1/assignments?status=checked_in&limit=500").await;
        assert!(staffed.ids().len() >= 50);
        let roles = app.get("/api/v1/session-roles?limit=500").await;
        assert!(roles.ids().len() >= 30);
    }
}

db_test! {
    async fn an_imported_assignment_must_still_fit_its_role(app: TestApp) {
        let mut document = sample();
        let role = document.session_roles.iter().find(|r| r.needed == 1).cloned().unwrap_or_else(|| document.session_roles[0].clone());
        let mut full = role.clone();
        full.key = "role.test.full".into();
        full.needed = 1;
        full.team = None;
        full.qualifications.clear();
        document.session_roles.push(full);
        let free: Vec<String> = document.volunteers.iter().rev().take(2).map(|v| v.key.clone()).collect();
        for (i, volunteer) in free.iter().enumerate() {
            document.assignments.push(sciday::transfer::format::AssignmentRecord {
                key: format!("assignment.test.{i}"),
                role: "role.test.full".into(),
                volunteer: volunteer.clone(),
                status: entity::kinds::AssignmentStatus::Confirmed,
                reason: None,
                checked_in_at: None,
                stored: None,
                overridden: None,
                conflicts: Vec::new(),
                flagged_at: None,
            });
        }
        let error = transfer::import(&app.db, &document, app.policy(), &|| {}).await.unwrap_err();
        match error {
            sciday::error::Error::Refused(violations) => {
                assert_eq!(violations[0].rule, sciday::domain::staffing::Rule::Capacity);
                let last = document.assignments.len() - 1;
                assert!(violations[0].message.starts_with(&format!("assignments[{last}]")), "{}", violations[0].message);
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(app.count("assignments").await, 0, "nothing of the file was written");
    }
}

db_test! {
    async fn a_sample_session_linked_to_beijing_moves_when_the_slot_moves(app: TestApp) {
        transfer::import(&app.db, &sample(), app.policy(), &|| {}).await.unwrap();
        let slot = sciday::store::sessions::by_key(app.db.reader(), "session.beijing-symposium").await.unwrap().unwrap();
        let before = app.get(&format!("/api/v1/sessions?linked_session_id={}", slot.id)).await;
        assert!(before.ids().len() >= 3);
        let reply = app
            .patch(&app.admin, &format!("/api/v1/sessions/{}", slot.id), "*", json!({"starts_at": "2019-05-30T15:00:00+08:00"}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let after = app.get(&format!("/api/v1/sessions?linked_session_id={}", slot.id)).await;
        for session in after.body["data"].as_array().unwrap() {
            assert_eq!(session["starts_at"], "2019-05-30T15:00:00+08:00");
        }
    }
}

db_test! {
    async fn an_invalid_record_aborts_the_whole_import_and_names_itself(app: TestApp) {
        let mut document = sample();
        let last = document.sessions.len() - 1;
        document.sessions[last].ends_at = Some("2019-05-01T00:00:00+08:00".into());
        document.sessions[last].starts_at = Some("2019-05-02T00:00:00+08:00".into());
        document.sessions[last].all_day = false;
        document.sessions[last].start_date = None;
        document.sessions[last].end_date = None;
        let error = transfer::import(&app.db, &document, app.policy(), &|| {}).await.unwrap_err();
        match error {
            sciday::error::Error::Validation(problems) => {
                assert_eq!(problems[0].field, format!("sessions[{last}].ends_at"));
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert_eq!(app.count("organizations").await, 0, "nothing of the file was written");
        let mut unknown = sample();
        unknown.activities[0].program = "program.nowhere".into();
        let error = transfer::import(&app.db, &unknown, app.policy(), &|| {}).await.unwrap_err();
        assert!(matches!(error, sciday::error::Error::Validation(ref p) if p[0].field == "activities[0].program"));
    }
}

db_test! {
    async fn a_reimport_restores_what_the_file_says(app: TestApp) {
        let document = sample();
        transfer::import(&app.db, &document, app.policy(), &|| {}).await.unwrap();
        let record = &document.sessions[0];
        let session = sciday::store::sessions::by_key(app.db.reader(), &record.key).await.unwrap().unwrap();
        let path = format!("/api/v1/sessions/{}", session.id);
        app.patch(&app.admin, &path, "*", json!({"title": "临时改动", "capacity": 3})).await;
        let report = transfer::import(&app.db, &document, app.policy(), &|| {}).await.unwrap();
        assert_eq!(report.sessions.updated, 1);
        assert_eq!(app.get_as(&app.admin, &path).await.body["title"], json!(record.title));
    }
}
