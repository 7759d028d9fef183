//! Preparation plans: the deadline to the second in the program's zone, extensions, revisions,
//! the review, attachments known by their content, who may read what, who has not submitted,
//! the flag-ceremony session on approval, the deadline in feeds and chat groups, the export.

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_test;
use crate::dispatch::{loopback, quick};
use crate::helpers::{Reply, Seed, TestApp, id, join_all};
use crate::receiver::Receiver;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

const PLAN_TEXT: &str = "以“礼赞共和国、追梦新时代”为主题，组建由医疗、农技、科普专家组成的科技志愿服务队，\
5月30日在党群服务中心举行授旗仪式并与北京主会场视频连线，随后开展义诊、农技咨询和科普讲座，预计200人参加。";

/// The form as a clerk fills it in, with `extra` over it.
pub(crate) fn form(venue: i64, extra: Value) -> Value {
    let mut body = json!({
        "activity_name": "科技志愿服务在行动",
        "organizing_unit": "海州区科技志愿者支队",
        "venue_id": venue,
        "joins_video_link": true,
        "contact": {"name": "王芳", "office_phone": "0518-85803554", "mobile": "14400005678",
                    "fax": "0518-85803555", "email": "kexie@example.cn"},
        "text": PLAN_TEXT,
    });
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    body
}

fn plans(seed: &Seed) -> String {
    format!("/api/v1/programs/{}/plans", seed.program)
}

async fn submit(app: &TestApp, token: &str, seed: &Seed, extra: Value) -> Reply {
    app.post(token, &plans(seed), form(seed.venue, extra)).await
}

async fn put(app: &TestApp, token: &str, path: &str, if_match: Option<&str>, body: Value) -> Reply {
    let mut request = app.request(Method::PUT, path).bearer_auth(token).json(&body);
    if let Some(tag) = if_match {
        request = request.header("If-Match", tag);
    }
    Reply::from_response(request.send().await.unwrap()).await
}

/// Uploads `content` as the multipart part `file` named `file_name`.
pub(crate) async fn upload(app: &TestApp, token: &str, path: &str, file_name: &str, content: &[u8]) -> Reply {
    let boundary = "sciday-test-boundary-7e3f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let request = app
        .request(Method::POST, path)
        .bearer_auth(token)
        .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
        .body(body);
    Reply::from_response(request.send().await.unwrap()).await
}

/// A .docx as Word writes it, in outline: a zip with the content types and the document.
fn docx() -> Vec<u8> {
    use std::io::Write as _;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for name in ["[Content_Types].xml", "_rels/.rels", "word/document.xml"] {
        writer.start_file(name, options).unwrap();
        writer.write_all(b"<?xml version=\"1.0\"?><w:document/>").unwrap();
    }
    writer.finish().unwrap().into_inner()
}

db_test! {
    async fn the_deadline_takes_its_last_second_in_the_program_zone_whatever_the_offset(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let ganyu = app.organizer(seed.ganyu).await;
        // The same instant as Beijing, UTC and Central European summer time.
        let mut programs = Vec::new();
        for (i, deadline) in ["2019-05-17T23:59:59+08:00", "2019-05-17T15:59:59Z", "2019-05-17T17:59:59+02:00"].iter().enumerate() {
            let program = app
                .create(
                    "/api/v1/programs",
                    json!({"key": format!("program.{i}"), "name": "科技工作者日", "time_zone": "Asia/Shanghai",
                           "host_organization_id": seed.city, "plan_deadline": deadline}),
                )
                .await;
            assert_eq!(program["plan_deadline"], "2019-05-17T23:59:59+08:00", "shown in the program's zone");
            programs.push(id(&program));
        }
        for program in programs {
            let path = format!("/api/v1/programs/{program}/plans");
            app.clock.set(at("2019-05-17T23:59:59.900+08:00"));
            let last_second = app.post(&haizhou, &path, form(seed.venue, json!({}))).await;
            assert_eq!(last_second.status, StatusCode::CREATED, "{}", last_second.body);
            app.clock.set(at("2019-05-18T00:00:00+08:00"));
            let before = app.count("plans").await;
            let late = app.post(&ganyu, &path, form(seed.venue, json!({}))).await;
            assert_eq!(late.problem(StatusCode::CONFLICT, "conflict")["code"], "deadline_passed");
            assert!(late.body["detail"].as_str().unwrap().contains("5月17日 23:59:59（北京时间）"), "{}", late.body);
            assert_eq!(app.count("plans").await, before, "a refused plan leaves nothing behind");
            // Revising is refused past the deadline too.
            let plan = &last_second.body;
            let path = format!("{path}/{}", id(plan));
            let revised = put(&app, &haizhou, &path, Some("*"), form(seed.venue, json!({"activity_name": "改名"}))).await;
            assert_eq!(revised.problem(StatusCode::CONFLICT, "conflict")["code"], "deadline_passed");
        }
    }
}

db_test! {
    async fn an_extension_lets_one_organization_submit_late_until_it_ends(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let ganyu = app.organizer(seed.ganyu).await;
        app.clock.set(at("2019-05-19T10:00:00+08:00"));
        let late = submit(&app, &ganyu, &seed, json!({})).await;
        assert_eq!(late.problem(StatusCode::CONFLICT, "conflict")["code"], "deadline_passed");
        let extension = format!("/api/v1/programs/{}/plan-extensions/{}", seed.program, seed.ganyu);
        // Only admins grant, and only past the deadline.
        let by_organizer = put(&app, &ganyu, &extension, None, json!({"until": "2019-05-20T17:00:00"})).await;
        by_organizer.problem(StatusCode::FORBIDDEN, "forbidden");
        let too_early = put(&app, &app.admin, &extension, None, json!({"until": "2019-05-17T12:00:00"})).await;
        assert_eq!(too_early.invalid_fields(), ["until"]);
        let granted = put(&app, &app.admin, &extension, None, json!({"until": "2019-05-20T17:00:00", "reason": "盖章流程延误"})).await;
        assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
        assert_eq!(granted.body["until"], "2019-05-20T17:00:00+08:00");
        let listed = app.get_as(&app.admin, &format!("/api/v1/programs/{}/plan-extensions", seed.program)).await;
        assert_eq!(listed.body.as_array().unwrap().len(), 1);

        let plan = submit(&app, &ganyu, &seed, json!({"organizing_unit": "赣榆区科协"})).await;
        assert_eq!(plan.status, StatusCode::CREATED, "{}", plan.body);
        assert_eq!(plan.body["open_until"], "2019-05-20T17:00:00+08:00");
        let other = submit(&app, &haizhou, &seed, json!({})).await;
        assert_eq!(other.problem(StatusCode::CONFLICT, "conflict")["code"], "deadline_passed", "the extension is one organization's");

        app.clock.set(at("2019-05-20T17:00:01+08:00"));
        let path = format!("{}/{}", plans(&seed), id(&plan.body));
        let after = put(&app, &ganyu, &path, Some("*"), form(seed.venue, json!({"activity_name": "迟到的修改"}))).await;
        assert_eq!(after.problem(StatusCode::CONFLICT, "conflict")["code"], "deadline_passed");

        // Taken back, the deadline is the program's again.
        app.clock.set(at("2019-05-20T09:00:00+08:00"));
        assert_eq!(app.delete(&app.admin, &extension).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.delete(&app.admin, &extension).await.status, StatusCode::NOT_FOUND);
        let revoked = put(&app, &ganyu, &path, Some("*"), form(seed.venue, json!({"activity_name": "迟到的修改"}))).await;
        assert_eq!(revoked.problem(StatusCode::CONFLICT, "conflict")["code"], "deadline_passed");
    }
}

db_test! {
    async fn a_revision_keeps_the_earlier_versions(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let first = submit(&app, &haizhou, &seed, json!({})).await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
        assert_eq!(first.body["organization_id"], seed.haizhou, "an organizer submits its own organization's plan");
        assert_eq!(first.body["revision"], 1);
        assert_eq!(first.body["review"]["status"], "submitted");
        let path = format!("{}/{}", plans(&seed), id(&first.body));
        // A second plan of the same organization points at the first.
        let again = submit(&app, &haizhou, &seed, json!({})).await;
        assert_eq!(again.problem(StatusCode::CONFLICT, "conflict")["code"], "already_submitted");

        app.clock.set(at("2019-05-16T10:30:00+08:00"));
        let changed = form(seed.venue, json!({"activity_name": "科技志愿服务进乡村", "joins_video_link": false}));
        assert_eq!(put(&app, &haizhou, &path, None, changed.clone()).await.status, StatusCode::PRECONDITION_REQUIRED);
        assert_eq!(put(&app, &haizhou, &path, Some("\"7\""), changed.clone()).await.status, StatusCode::PRECONDITION_FAILED);
        let second = put(&app, &haizhou, &path, Some(&first.etag()), changed.clone()).await;
        assert_eq!(second.status, StatusCode::OK, "{}", second.body);
        assert_eq!(second.body["revision"], 2);
        assert_eq!(second.body["activity_name"], "科技志愿服务进乡村");
        assert_eq!(second.body["submitted_at"], first.body["submitted_at"]);
        assert_eq!(second.body["revised_at"], "2019-05-16T02:30:00Z");
        // The same form again is no new version.
        let same = put(&app, &haizhou, &path, Some(&second.etag()), changed).await;
        assert_eq!(same.body["revision"], 2);
        assert_eq!(same.etag(), second.etag());

        let revisions = app.get_as(&haizhou, &format!("{path}/revisions")).await;
        let revisions = revisions.body.as_array().unwrap();
        assert_eq!(revisions.len(), 2);
        assert_eq!(revisions[0]["revision"], 1);
        assert_eq!(revisions[0]["activity_name"], "科技志愿服务在行动");
        assert_eq!(revisions[0]["joins_video_link"], true);
        assert_eq!(revisions[1]["activity_name"], "科技志愿服务进乡村");
        assert_eq!(revisions[1]["contact"]["office_phone"], "0518-85803554");
        // What a plan names stays until the plan goes.
        let venue = app.delete(&app.admin, &format!("/api/v1/venues/{}", seed.venue)).await;
        assert_eq!(venue.problem(StatusCode::CONFLICT, "in-use")["code"], "in_use");
        assert!(venue.body["detail"].as_str().unwrap().contains("preparation plans"), "{}", venue.body);
    }
}

db_test! {
    async fn concurrent_submissions_of_one_organization_leave_one_plan(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let body = form(seed.venue, json!({}));
        let requests = (0..8).map(|_| {
            let request = app.request(Method::POST, &plans(&seed)).bearer_auth(&haizhou).json(&body);
            async move { Reply::from_response(request.send().await.unwrap()).await }
        });
        let replies = join_all(requests).await;
        let created = replies.iter().filter(|r| r.status == StatusCode::CREATED).count();
        assert_eq!(created, 1, "{replies:?}");
        for reply in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
            assert_eq!(reply.problem(StatusCode::CONFLICT, "conflict")["code"], "already_submitted");
        }
        assert_eq!(app.count("plans").await, 1);
        assert_eq!(app.count("plan_revisions").await, 1);
    }
}

db_test! {
    async fn what_a_clerk_mistypes_is_refused_field_by_field_and_nothing_is_stored(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let bad = submit(
            &app,
            &haizhou,
            &seed,
            json!({
                "activity_name": " ",
                "contact": {"name": "王芳", "office_phone": "85803554", "mobile": "1390000", "email": "kexie@"},
                "text": "科普活动",
            }),
        )
        .await;
        let mut fields = bad.invalid_fields();
        fields.sort();
        assert_eq!(fields, ["activity_name", "contact.email", "contact.mobile", "contact.office_phone", "text"]);
        let text = bad.body["errors"].as_array().unwrap().iter().find(|e| e["field"] == "text").unwrap().clone();
        assert_eq!(text["code"], "too_short");
        let long = submit(&app, &haizhou, &seed, json!({"text": "科".repeat(5_001)})).await;
        assert_eq!(long.body["errors"][0]["code"], "too_long");
        let no_mobile = submit(&app, &haizhou, &seed, json!({"contact": {"name": "王芳"}})).await;
        assert_eq!(no_mobile.invalid_fields(), ["contact.mobile"]);
        // The platform is a service center, a practice center or "other" — not a school.
        let school = app
            .create("/api/v1/venues", json!({"name": "新海高级中学", "kind": "school", "time_zone": "Asia/Shanghai"}))
            .await;
        let wrong = submit(&app, &haizhou, &seed, json!({"venue_id": id(&school)})).await;
        assert_eq!(wrong.body["errors"][0]["code"], "wrong_kind");
        let unknown = submit(&app, &haizhou, &seed, json!({"venue_id": 9999})).await;
        assert_eq!(unknown.invalid_fields(), ["venue_id"]);
        let extra = submit(&app, &haizhou, &seed, json!({"budget": 3})).await;
        assert_eq!(extra.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.count("plans").await, 0);
        assert_eq!(app.count("plan_revisions").await, 0);
        // An admin names the organization; an organization outside the program cannot submit.
        let unnamed = submit(&app, &app.admin, &seed, json!({})).await;
        assert_eq!(unnamed.invalid_fields(), ["organization_id"]);
        let outside = app.create("/api/v1/organizations", json!({"kind": "county_association", "name": "外市某区科协"})).await;
        let foreign = submit(&app, &app.admin, &seed, json!({"organization_id": id(&outside)})).await;
        assert_eq!(foreign.body["errors"][0]["code"], "not_in_program");
    }
}

db_test! {
    async fn an_organizer_reads_only_its_own_organizations_plans(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let ganyu = app.organizer(seed.ganyu).await;
        let plan = submit(&app, &haizhou, &seed, json!({})).await.body;
        let path = format!("{}/{}", plans(&seed), id(&plan));
        assert_eq!(app.get_as(&haizhou, &path).await.status, StatusCode::OK);
        app.get_as(&ganyu, &path).await.problem(StatusCode::FORBIDDEN, "forbidden");
        app.get_as(&ganyu, &format!("{path}/revisions")).await.problem(StatusCode::FORBIDDEN, "forbidden");
        app.get(&path).await.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        assert_eq!(app.get_as(&ganyu, &plans(&seed)).await.ids(), Vec::<i64>::new());
        assert_eq!(app.get_as(&haizhou, &plans(&seed)).await.ids(), [id(&plan)]);
        assert_eq!(app.get_as(&app.admin, &plans(&seed)).await.ids(), [id(&plan)]);
        let for_other = submit(&app, &ganyu, &seed, json!({"organization_id": seed.haizhou})).await;
        for_other.problem(StatusCode::FORBIDDEN, "forbidden");
        let changed = put(&app, &ganyu, &path, Some("*"), form(seed.venue, json!({}))).await;
        changed.problem(StatusCode::FORBIDDEN, "forbidden");
        // Not even an organizer of the association above: a plan is its organization's and the admins'.
        let city = app.organizer(seed.city).await;
        app.get_as(&city, &path).await.problem(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(app.get_as(&city, &plans(&seed)).await.ids(), Vec::<i64>::new());
        let asked = app.get_as(&city, &format!("{}?organization_id={}", plans(&seed), seed.haizhou)).await;
        asked.problem(StatusCode::FORBIDDEN, "forbidden");
        submit(&app, &city, &seed, json!({"organization_id": seed.ganyu})).await.problem(StatusCode::FORBIDDEN, "forbidden");
        let download = format!("{path}/attachments/1");
        app.get_as(&city, &download).await.problem(StatusCode::FORBIDDEN, "forbidden");
        // A plan of another program is not found under this one.
        let other = app
            .create("/api/v1/programs", json!({"name": "另一年", "time_zone": "Asia/Shanghai", "host_organization_id": seed.city}))
            .await;
        let elsewhere = format!("/api/v1/programs/{}/plans/{}", id(&other), id(&plan));
        assert_eq!(app.get_as(&app.admin, &elsewhere).await.status, StatusCode::NOT_FOUND);
    }
}

db_test! {
    async fn a_review_moves_forward_step_by_step_and_the_organizer_sees_it(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let plan = submit(&app, &haizhou, &seed, json!({})).await.body;
        let path = format!("{}/{}", plans(&seed), id(&plan));
        let review = format!("{path}/review");
        let by_organizer = app.post(&haizhou, &review, json!({"status": "shortlisted"})).await;
        by_organizer.problem(StatusCode::FORBIDDEN, "forbidden");
        let skipped = app.post(&app.admin, &review, json!({"status": "forwarded"})).await;
        assert_eq!(skipped.problem(StatusCode::CONFLICT, "conflict")["code"], "invalid_transition");
        assert!(skipped.body["detail"].as_str().unwrap().contains("shortlisted or not_selected"), "{}", skipped.body);

        app.clock.set(at("2019-05-20T09:00:00+08:00"));
        let shortlisted = app.post(&app.admin, &review, json!({"status": "shortlisted", "comment": "思路清晰，请补充议程"})).await;
        assert_eq!(shortlisted.status, StatusCode::OK, "{}", shortlisted.body);
        let seen = app.get_as(&haizhou, &path).await;
        assert_eq!(seen.body["review"]["status"], "shortlisted");
        assert_eq!(seen.body["review"]["comment"], "思路清晰，请补充议程");
        assert_eq!(seen.body["review"]["reviewed_at"], "2019-05-20T01:00:00Z");
        // Under review, the organization no longer changes it (even with an extension).
        let extension = format!("/api/v1/programs/{}/plan-extensions/{}", seed.program, seed.haizhou);
        put(&app, &app.admin, &extension, None, json!({"until": "2019-05-25T17:00:00"})).await;
        let revised = put(&app, &haizhou, &path, Some("*"), form(seed.venue, json!({"activity_name": "改"}))).await;
        assert_eq!(revised.problem(StatusCode::CONFLICT, "conflict")["code"], "under_review");

        let stale = app
            .request(Method::POST, &review)
            .bearer_auth(&app.admin)
            .header("If-Match", "\"1\"")
            .json(&json!({"status": "forwarded"}))
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
        for step in ["forwarded", "selected"] {
            let moved = app.post(&app.admin, &review, json!({"status": step})).await;
            assert_eq!(moved.body["review"]["status"], step, "{}", moved.body);
        }
        let reopened = app.post(&app.admin, &review, json!({"status": "not_selected"})).await;
        assert_eq!(reopened.problem(StatusCode::CONFLICT, "conflict")["code"], "invalid_transition");
        let unknown = app.post(&app.admin, &review, json!({"status": "approved"})).await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.get_as(&app.admin, &path).await.body["review"]["status"], "selected");
    }
}

db_test! {
    async fn attachments_are_known_by_their_content_and_only_their_organization_downloads_them(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let ganyu = app.organizer(seed.ganyu).await;
        let plan = submit(&app, &haizhou, &seed, json!({})).await.body;
        let path = format!("{}/{}/attachments", plans(&seed), id(&plan));

        let pdf = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
        let stamped = upload(&app, &haizhou, &path, "海州区科协筹备工作方案（盖章）.pdf", &pdf).await;
        assert_eq!(stamped.status, StatusCode::CREATED, "{}", stamped.body);
        assert_eq!(stamped.body["kind"], "pdf");
        assert_eq!(stamped.body["size"], pdf.len());
        // A Word file named as if it were a PDF is still a Word file.
        let word = upload(&app, &haizhou, &path, "方案.pdf", &docx()).await;
        assert_eq!(word.body["kind"], "docx", "{}", word.body);

        // A program renamed to .pdf or .docx is refused, and so is a spreadsheet.
        let before = app.count("plan_attachments").await;
        let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run in DOS mode.".to_vec();
        for name in ["方案.pdf", "方案.docx"] {
            let refused = upload(&app, &haizhou, &path, name, &exe).await;
            assert_eq!(refused.invalid_fields(), ["file"]);
            assert_eq!(refused.body["errors"][0]["code"], "unsupported_content");
        }
        let sheet = {
            use std::io::Write as _;
            let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            writer.start_file("[Content_Types].xml", zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored)).unwrap();
            writer.write_all(b"<Types/>").unwrap();
            writer.finish().unwrap().into_inner()
        };
        assert_eq!(upload(&app, &haizhou, &path, "方案.docx", &sheet).await.invalid_fields(), ["file"]);
        assert_eq!(upload(&app, &haizhou, &path, "空.pdf", b"").await.invalid_fields(), ["file"]);
        let not_multipart = app.post(&haizhou, &path, json!({"file": "JVBERi0="})).await;
        not_multipart.problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type");
        upload(&app, &ganyu, &path, "a.pdf", &pdf).await.problem(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(app.count("plan_attachments").await, before);

        let download = stamped.body["url"].as_str().unwrap().to_owned();
        let file = app.request(Method::GET, &download).bearer_auth(&haizhou).send().await.unwrap();
        assert_eq!(file.status(), StatusCode::OK);
        assert_eq!(file.headers()["content-type"], "application/pdf");
        assert_eq!(file.headers()["x-content-type-options"], "nosniff");
        let disposition = file.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment; filename=\"plan-"), "{disposition}");
        assert!(disposition.contains("filename*=UTF-8''%E6%B5%B7"), "{disposition}");
        assert_eq!(file.bytes().await.unwrap().to_vec(), pdf);
        let admin = app.request(Method::GET, &download).bearer_auth(&app.admin).send().await.unwrap();
        assert_eq!(admin.status(), StatusCode::OK);
        app.get_as(&ganyu, &download).await.problem(StatusCode::FORBIDDEN, "forbidden");
        app.get(&download).await.problem(StatusCode::UNAUTHORIZED, "unauthenticated");

        let listed = app.get_as(&haizhou, &format!("{}/{}", plans(&seed), id(&plan))).await;
        let attachments = listed.body["attachments"].as_array().unwrap();
        assert_eq!(attachments.len(), 2);
        assert!(attachments.iter().all(|a| a["current"] == true), "one of each kind");
        assert_eq!(attachments[0]["file_name"], "海州区科协筹备工作方案（盖章）.pdf");

        // Uploads are kept, up to a limit per plan.
        for _ in 2..sciday::domain::plan::ATTACHMENTS_PER_PLAN {
            assert_eq!(upload(&app, &haizhou, &path, "再扫一次.pdf", &pdf).await.status, StatusCode::CREATED);
        }
        let one_more = upload(&app, &haizhou, &path, "再扫一次.pdf", &pdf).await;
        assert_eq!(one_more.problem(StatusCode::CONFLICT, "conflict")["code"], "too_many_attachments");
        let listed = app.get_as(&haizhou, &format!("{}/{}", plans(&seed), id(&plan))).await;
        let current: Vec<&Value> = listed.body["attachments"].as_array().unwrap().iter().filter(|a| a["current"] == true).collect();
        assert_eq!(current.len(), 2, "the latest of each kind");
        assert_eq!(current[1]["file_name"], "再扫一次.pdf");
    }
}

db_test! {
    async fn an_attachment_over_the_limit_is_refused_with_413(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let plan = submit(&app, &haizhou, &seed, json!({})).await.body;
        let path = format!("{}/{}/attachments", plans(&seed), id(&plan));
        let mut big = b"%PDF-1.7\n".to_vec();
        big.resize(sciday::domain::plan::ATTACHMENT_MAX + 1, b' ');
        let refused = upload(&app, &haizhou, &path, "scan.pdf", &big).await;
        refused.problem(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
        assert_eq!(app.count("plan_attachments").await, 0);
    }
}

db_test! {
    async fn admins_see_who_is_expected_and_has_not_submitted(app: TestApp) {
        let seed = app.seed().await;
        let city = app.organizer(seed.city).await;
        // A flagged society is expected; an unflagged one is not; flags are set by admins.
        let flagged = app
            .create("/api/v1/organizations", json!({"parent_id": seed.city, "kind": "society", "name": "连云港市数学学会",
                                                    "plan_expected": true, "contact": {"name": "李明", "mobile": "14400001111"}}))
            .await;
        assert_eq!(flagged["plan_expected"], true);
        let unflagged = app
            .create("/api/v1/organizations", json!({"parent_id": seed.city, "kind": "society", "name": "连云港市农学会"}))
            .await;
        let by_organizer = app
            .post(&city, "/api/v1/organizations", json!({"parent_id": seed.city, "kind": "society", "name": "某学会", "plan_expected": true}))
            .await;
        by_organizer.problem(StatusCode::FORBIDDEN, "forbidden");
        let path = format!("/api/v1/organizations/{}", id(&unflagged));
        let etag = app.get_as(&app.admin, &path).await.etag();
        let flag = app.patch(&city, &path, &etag, json!({"plan_expected": true})).await;
        flag.problem(StatusCode::FORBIDDEN, "forbidden");

        let missing = format!("{}/missing", plans(&seed));
        let names = |reply: &Reply| -> Vec<String> {
            reply.body["data"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_owned()).collect()
        };
        let before = app.get_as(&app.admin, &missing).await;
        assert_eq!(names(&before), ["连云港市海州区科学技术协会", "连云港市赣榆区科学技术协会", "连云港市数学学会"]);
        assert_eq!(before.body["expected"], 3);
        assert_eq!(before.body["data"][2]["contact_mobile"], "14400001111");
        app.get_as(&city, &missing).await.problem(StatusCode::FORBIDDEN, "forbidden");

        let haizhou = app.organizer(seed.haizhou).await;
        submit(&app, &haizhou, &seed, json!({})).await;
        let after = app.get_as(&app.admin, &missing).await;
        assert_eq!(names(&after), ["连云港市赣榆区科学技术协会", "连云港市数学学会"]);
        assert_eq!(after.body["submitted"], 1);
    }
}

db_test! {
    async fn approving_a_video_link_plan_makes_its_flag_ceremony_linked_to_beijing(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let ganyu = app.organizer(seed.ganyu).await;
        let center = app
            .create("/api/v1/venues", json!({"name": "海州区朝阳街道党群服务中心", "kind": "party_masses_service_center", "time_zone": "Asia/Shanghai"}))
            .await;
        let plan = submit(&app, &haizhou, &seed, json!({"venue_id": id(&center)})).await.body;
        let review = format!("{}/{}/review", plans(&seed), id(&plan));
        let without_slot = app.post(&app.admin, &review, json!({"status": "shortlisted", "create_session": true})).await;
        assert_eq!(without_slot.problem(StatusCode::CONFLICT, "conflict")["code"], "no_slot");
        let sessions_before = app.count("sessions").await;
        let slot = id(&crate::sessions::beijing_slot(&app, &seed, 0).await.0);

        let approved = app.post(&app.admin, &review, json!({"status": "shortlisted", "create_session": true})).await;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
        let session_id = approved.body["session_id"].as_i64().expect("a session was made");
        let session = app.get_as(&app.admin, &format!("/api/v1/sessions/{session_id}")).await.body;
        assert_eq!(session["linked_session_id"], slot);
        assert_eq!(session["venue_id"], id(&center));
        assert_eq!(session["starts_at"], "2019-05-30T09:00:00+08:00");
        assert_eq!(session["ends_at"], "2019-05-30T11:00:00+08:00");
        assert_eq!(session["video_url"], "https://meeting.example.org/sciday-2019-0530");
        assert!(session["title"].as_str().unwrap().starts_with("授旗仪式"), "{session}");
        assert_eq!(app.count("sessions").await, sessions_before + 2, "the slot and the ceremony");
        // The ceremony follows the slot when Beijing moves.
        let moved = app.patch_current(&format!("/api/v1/sessions/{slot}"), json!({"starts_at": "2019-05-30T14:00+08:00", "ends_at": "2019-05-30T16:00+08:00"})).await;
        assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
        let followed = app.get_as(&app.admin, &format!("/api/v1/sessions/{session_id}")).await.body;
        assert_eq!(followed["starts_at"], "2019-05-30T14:00:00+08:00");
        // Once only, and only for plans that join the link.
        let twice = app.post(&app.admin, &review, json!({"status": "forwarded", "create_session": true})).await;
        assert_eq!(twice.problem(StatusCode::CONFLICT, "conflict")["code"], "session_exists");
        let offline = submit(&app, &ganyu, &seed, json!({"joins_video_link": false})).await.body;
        let offline_review = format!("{}/{}/review", plans(&seed), id(&offline));
        let refused = app.post(&app.admin, &offline_review, json!({"status": "shortlisted", "create_session": true})).await;
        assert_eq!(refused.problem(StatusCode::CONFLICT, "conflict")["code"], "no_video_link");
        assert_eq!(app.get_as(&app.admin, &format!("{}/{}", plans(&seed), id(&offline))).await.body["review"]["status"], "submitted", "the refused review changed nothing");
    }
}

db_test! {
    async fn chat_groups_hear_of_submissions_and_of_the_deadline_naming_who_is_missing(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let ganyu = app.organizer(seed.ganyu).await;
        let webhook = app
            .create(
                "/api/v1/webhooks",
                json!({"organization_id": seed.city, "name": "市科协工作群", "url": receiver.url("/standard/plans"),
                       "format": "standard", "scope": {"kind": "program", "id": seed.program},
                       "events": ["plan.deadline", "plan.submitted"]}),
            )
            .await;
        // A group that asked for nothing in particular gets no plan events.
        app.create(
            "/api/v1/webhooks",
            json!({"organization_id": seed.city, "url": receiver.url("/standard/volunteers"),
                   "format": "standard", "scope": {"kind": "program", "id": seed.program}}),
        )
        .await;
        let dispatcher = quick(&app);
        submit(&app, &haizhou, &seed, json!({})).await;
        dispatcher.dispatch_due().await.unwrap();
        let got = receiver.received("/standard/plans");
        assert_eq!(got.len(), 1);
        let submitted = got[0].json();
        assert_eq!(submitted["type"], "plan.submitted");
        assert_eq!(submitted["data"]["plan"]["organization"], "连云港市海州区科学技术协会");
        assert!(!got[0].body.windows(11).any(|w| w == b"14400005678"), "no contact details in chat");

        // Two days before the deadline (15 May, 23:59:59 Beijing time): who is missing.
        app.clock.set(at("2019-05-15T23:59:59+08:00"));
        dispatcher.dispatch_due().await.unwrap();
        let got = receiver.received("/standard/plans");
        assert_eq!(got.len(), 2);
        let reminder = got[1].json();
        assert_eq!(reminder["type"], "plan.deadline");
        assert_eq!(reminder["data"]["missing"], json!(["连云港市赣榆区科学技术协会"]));
        assert_eq!(reminder["data"]["deadline_text"], "5月17日 23:59:59（北京时间）");
        assert_eq!(reminder["data"]["before_minutes"], 2 * 24 * 60);

        // Everyone submits: the one-day reminder is withdrawn rather than sent.
        submit(&app, &ganyu, &seed, json!({})).await;
        app.clock.set(at("2019-05-16T23:59:59+08:00"));
        dispatcher.dispatch_due().await.unwrap();
        let types: Vec<String> = receiver.received("/standard/plans").iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
        assert_eq!(types, ["plan.submitted", "plan.deadline", "plan.submitted"]);
        assert!(receiver.received("/standard/volunteers").is_empty());
        let log = app.get_as(&app.admin, &format!("/api/v1/webhooks/{}/deliveries", id(&webhook))).await;
        let withdrawn = log.body["data"].as_array().unwrap().iter().filter(|d| d["status"] == "withdrawn").count();
        assert_eq!(withdrawn, 1, "{}", log.body);
    }
}

db_test! {
    async fn a_moved_deadline_moves_its_reminders_and_a_chat_robot_names_the_missing(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        app.create(
            "/api/v1/webhooks",
            json!({"organization_id": seed.city, "url": receiver.url("/dingtalk/robot/send?access_token=t"),
                   "format": "dingtalk", "scope": {"kind": "organization", "id": seed.city}, "events": ["plan.deadline"]}),
        )
        .await;
        let program = format!("/api/v1/programs/{}", seed.program);
        let moved = app.patch_current(&program, json!({"plan_deadline": "2019-05-24T17:00:00"})).await;
        assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
        let dispatcher = quick(&app);
        // The old deadline's reminder time passes in silence.
        app.clock.set(at("2019-05-16T00:00:00+08:00"));
        dispatcher.dispatch_due().await.unwrap();
        assert!(receiver.all().is_empty());
        app.clock.set(at("2019-05-22T17:00:00+08:00"));
        dispatcher.dispatch_due().await.unwrap();
        let got = receiver.all();
        assert_eq!(got.len(), 1);
        let text = got[0].chat_text();
        assert!(text.contains("筹备工作方案2天后截止"), "{text}");
        assert!(text.contains("尚未提交（2家）：连云港市海州区科学技术协会、连云港市赣榆区科学技术协会"), "{text}");
        assert!(text.contains("5月24日 17:00:00（北京时间）"), "{text}");
    }
}

db_test! {
    async fn the_deadline_is_an_event_in_the_organizations_calendar(app: TestApp) {
        let seed = app.seed().await;
        let feed = app.feed(&format!("/feeds/organizations/{}.ics", seed.ganyu), &[]).await;
        assert_eq!(feed.status, StatusCode::OK);
        let calendar = feed.calendar();
        let uid = format!("plan-deadline-{}-{}@", seed.program, seed.ganyu);
        let event = *calendar.events().iter().find(|e| e.get("UID").unwrap().starts_with(&uid)).expect("the deadline is in the feed");
        assert_eq!(event.get("DTSTART"), Some("20190517T235900"));
        assert_eq!(event.line("DTSTART").unwrap().param("TZID"), Some("Asia/Shanghai"));
        assert_eq!(event.get("DTEND"), Some("20190518T000000"));
        assert_eq!(event.get("TRANSP"), Some("TRANSPARENT"));
        assert!(event.text("SUMMARY").unwrap().starts_with("筹备工作方案提交截止"));
        crate::ical::assert_zones_complete(&calendar);

        // An extension moves this organization's deadline (and only its own).
        let extension = format!("/api/v1/programs/{}/plan-extensions/{}", seed.program, seed.ganyu);
        put(&app, &app.admin, &extension, None, json!({"until": "2019-05-20T17:00:00"})).await;
        let after = app.feed(&format!("/feeds/organizations/{}.ics", seed.ganyu), &[]).await;
        assert_ne!(after.etag(), feed.etag());
        let calendar = after.calendar();
        let event = *calendar.events().iter().find(|e| e.get("UID").unwrap().starts_with(&uid)).unwrap();
        assert_eq!(event.get("DTSTART"), Some("20190520T170000"), "the minute its last second is in");
        let sequence: i64 = event.get("SEQUENCE").unwrap().parse().unwrap();
        assert!(sequence > 1, "a moved deadline is a new sequence");
        let haizhou = app.feed(&format!("/feeds/organizations/{}.ics", seed.haizhou), &[]).await.calendar();
        let theirs = format!("plan-deadline-{}-{}@", seed.program, seed.haizhou);
        let event = *haizhou.events().iter().find(|e| e.get("UID").unwrap().starts_with(&theirs)).unwrap();
        assert_eq!(event.get("DTSTART"), Some("20190517T235900"));
        // The host association's feed shows the day it collects the plans; a venue's shows none.
        let host = app.feed(&format!("/feeds/organizations/{}.ics", seed.city), &[]).await.calendar();
        assert!(host.events().iter().any(|e| e.text("SUMMARY").unwrap().starts_with("筹备工作方案收取截止")));
        let venue = app.feed(&format!("/feeds/venues/{}.ics", seed.venue), &[]).await.calendar();
        assert!(venue.events().iter().all(|e| !e.get("UID").unwrap().starts_with("plan-deadline")));
    }
}

db_test! {
    async fn the_export_is_csv_with_a_byte_order_mark_in_the_forms_columns(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        submit(&app, &haizhou, &seed, json!({"organizing_unit": "=HYPERLINK(\"http://x\")"})).await;
        let path = format!("{}/export", plans(&seed));
        app.get_as(&haizhou, &path).await.problem(StatusCode::FORBIDDEN, "forbidden");
        let response = app.request(Method::GET, &path).bearer_auth(&app.admin).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        let bytes = response.bytes().await.unwrap();
        assert!(bytes.starts_with("\u{feff}".as_bytes()), "UTF-8 with a byte-order mark");
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(header[1..4], ["主办单位名称", "主题活动名称", "承办单位名称"]);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(&rows[0][1], "连云港市海州区科学技术协会");
        assert_eq!(&rows[0][3], "'=HYPERLINK(\"http://x\")", "a formula is shown, not run");
        assert_eq!(&rows[0][6], "是");
        assert_eq!(&rows[0][8], "0518-85803554");
        assert_eq!(&rows[0][12], PLAN_TEXT);
        assert_eq!(&rows[0][14], "2019-05-10 08:00:00", "in the program's zone");
    }
}
