//! The people, places and sessions every browser test meets: a public program on 30 May with
//! a morning session at the science museum and an afternoon one at the cultural centre; a
//! science caravan team led by 李娜 whose three members explain exhibits in the morning; and
//! 陈静 at the afternoon's one-seat information desk, with 赵敏 ready to take her place.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::{Seed, TestApp, id};

/// The morning session's start, 09:00 in Shanghai.
pub const MORNING_STARTS: &str = "2019-05-30T09:00+08:00";

/// Half an hour before the morning session: inside its check-in window.
pub fn before_the_morning() -> DateTime<Utc> {
    "2019-05-30T00:30:00Z".parse().unwrap()
}

/// A volunteer with the address of their page.
pub struct Person {
    pub id: i64,
    pub name: &'static str,
    /// `/v/{page token}` on the test server.
    pub page_url: String,
}

/// A member of the team and their assignment in the morning.
pub struct Member {
    pub person: Person,
    pub assignment: i64,
}

/// Everything [`cast`] made.
pub struct Cast {
    pub seed: Seed,
    /// 连云港市文化馆, the afternoon's venue.
    pub hall: i64,
    pub morning: i64,
    pub afternoon: i64,
    pub team: i64,
    pub leader: Person,
    /// The leader's page of the team.
    pub leader_url: String,
    /// 张伟, 王芳 and 刘洋, as 讲解员 in the morning.
    pub members: Vec<Member>,
    /// 陈静 at the information desk in the afternoon.
    pub desk: Member,
    /// The information desk's role: one seat.
    pub desk_role: i64,
    /// 赵敏, who is free to take the desk.
    pub spare: Person,
}

/// Creates the cast through the API.
pub async fn cast(app: &TestApp) -> Cast {
    let seed = app.seed().await;
    let hall = id(&app
        .create(
            "/api/v1/venues",
            json!({"key": "venue.culture", "name": "连云港市文化馆", "kind": "other", "time_zone": "Asia/Shanghai",
                   "address": "江苏省连云港市海州区朝阳东路 38 号", "organization_id": seed.city}),
        )
        .await);
    let morning = id(&app
        .create(
            "/api/v1/sessions",
            json!({"activity_id": seed.activity, "venue_id": seed.venue, "title": "科普讲解：走进科技馆",
                   "starts_at": MORNING_STARTS, "ends_at": "2019-05-30T11:00+08:00"}),
        )
        .await);
    let afternoon = id(&app
        .create(
            "/api/v1/sessions",
            json!({"activity_id": seed.activity, "venue_id": hall, "title": "科技工作者座谈会",
                   "starts_at": "2019-05-30T14:00+08:00", "ends_at": "2019-05-30T16:00+08:00"}),
        )
        .await);
    let team = id(&app
        .create(
            "/api/v1/teams",
            json!({"organization_id": seed.city, "name": "科普大篷车志愿者服务团"}),
        )
        .await);
    let leader = person(
        app,
        &seed,
        "李娜",
        "13900001111",
        json!([{"team_id": team, "leader": true}]),
    )
    .await;
    let leader_url = app
        .get_as(&app.admin, &format!("/api/v1/volunteers/{}", leader.id))
        .await
        .body["teams"][0]["page_url"]
        .as_str()
        .expect("a leader's membership has the address of the team's page")
        .to_owned();
    let guides = id(&app
        .create(
            "/api/v1/session-roles",
            json!({"session_id": morning, "name": "讲解员", "needed": 3}),
        )
        .await);
    let mut members = Vec::new();
    for (name, mobile) in [
        ("张伟", "13800002222"),
        ("王芳", "13800003333"),
        ("刘洋", "13800004444"),
    ] {
        let person = person(app, &seed, name, mobile, json!([{"team_id": team}])).await;
        let assignment = assign(app, guides, person.id).await;
        members.push(Member { person, assignment });
    }
    let desk_role = id(&app
        .create(
            "/api/v1/session-roles",
            json!({"session_id": afternoon, "name": "咨询台", "needed": 1}),
        )
        .await);
    let chen = person(app, &seed, "陈静", "13800005555", json!([])).await;
    let desk = Member {
        assignment: assign(app, desk_role, chen.id).await,
        person: chen,
    };
    let spare = person(app, &seed, "赵敏", "13800006666", json!([])).await;
    Cast {
        seed,
        hall,
        morning,
        afternoon,
        team,
        leader,
        leader_url,
        members,
        desk,
        desk_role,
        spare,
    }
}

async fn person(app: &TestApp, seed: &Seed, name: &'static str, mobile: &str, teams: Value) -> Person {
    let created = app
        .create(
            "/api/v1/volunteers",
            json!({"name": name, "mobile": mobile, "organization_id": seed.haizhou, "teams": teams}),
        )
        .await;
    let shown = app
        .get_as(&app.admin, &format!("/api/v1/volunteers/{}", id(&created)))
        .await;
    Person {
        id: id(&created),
        name,
        page_url: shown.body["page_url"]
            .as_str()
            .unwrap_or_else(|| panic!("no page_url in {}", shown.body))
            .to_owned(),
    }
}

/// Assigns a volunteer to a role and returns the assignment's id.
pub async fn assign(app: &TestApp, role: i64, volunteer: i64) -> i64 {
    id(&app
        .create(
            "/api/v1/assignments",
            json!({"role_id": role, "volunteer_id": volunteer}),
        )
        .await)
}

/// An assignment's status as the API tells it.
pub async fn status(app: &TestApp, assignment: i64) -> String {
    let reply = app
        .get_as(&app.admin, &format!("/api/v1/assignments/{assignment}"))
        .await;
    reply.body["status"]
        .as_str()
        .unwrap_or_else(|| panic!("no status in {}", reply.body))
        .to_owned()
}
