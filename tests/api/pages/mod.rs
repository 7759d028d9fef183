//! The pages people open on their phones, read as HTML over HTTP: what the public sees (and
//! never sees), caching, the subscribe box, the volunteer's and the team leader's pages and
//! their forms. The same pages in a real browser are in `browser`.

mod calendar;
mod leader;
mod personal;
mod public;

use regex::Regex;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::helpers::{Seed, TestApp, id};

/// A page as the server answered it.
pub(crate) struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    /// The page's text without tags or drawings, spaces squeezed.
    pub fn text(&self) -> String {
        let no_svg = Regex::new(r"(?s)<svg.*?</svg>").unwrap().replace_all(&self.html, " ");
        let no_tags = Regex::new(r"<[^>]+>").unwrap().replace_all(&no_svg, " ");
        let text = no_tags
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&amp;", "&");
        Regex::new(r"\s+").unwrap().replace_all(&text, " ").into_owned()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }

    /// The hidden `csrf` and `key` of the form posting to `action`.
    pub fn form(&self, action: &str) -> (String, String) {
        let pattern = format!(
            r#"action="{}"[^>]*>\s*<input type="hidden" name="csrf" value="([0-9a-f]+)"><input type="hidden" name="key" value="([0-9a-f]+)">"#,
            regex::escape(action)
        );
        let found = Regex::new(&pattern)
            .unwrap()
            .captures(&self.html)
            .unwrap_or_else(|| panic!("no form posting to {action} in:\n{}", self.html));
        (found[1].to_owned(), found[2].to_owned())
    }
}

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// GET a page (a path, or a full address the service gave).
pub(crate) async fn open(app: &TestApp, path: &str) -> Page {
    open_with(app, path, &[]).await
}

/// GET a page with extra headers.
pub(crate) async fn open_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Page {
    let mut request = client().get(address(app, path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    read(request.send().await.unwrap()).await
}

/// POST a form as a browser on our own page sends it (with our `Origin`).
pub(crate) async fn submit(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Page {
    submit_from(app, path, &app.address.clone(), fields).await
}

/// POST a form as sent from a page at `origin`.
pub(crate) async fn submit_from(app: &TestApp, path: &str, origin: &str, fields: &[(&str, &str)]) -> Page {
    let body = serde_urlencoded::to_string(fields).unwrap();
    let response = client()
        .post(address(app, path))
        .header("Origin", origin)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    read(response).await
}

async fn read(response: reqwest::Response) -> Page {
    Page {
        status: response.status(),
        headers: response.headers().clone(),
        html: response.text().await.unwrap(),
    }
}

fn address(app: &TestApp, path: &str) -> String {
    if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("{}{path}", app.address)
    }
}

/// The path of an address the service gave.
pub(crate) fn path_of(app: &TestApp, url: &str) -> String {
    url.strip_prefix(&app.address)
        .unwrap_or_else(|| panic!("{url} is not on {}", app.address))
        .to_owned()
}

/// A team of the seed's 海州区科协 with a leader and two members, all three assigned to a
/// session on 28 May 2019, 09:00–11:00 Beijing time.
pub(crate) struct Crew {
    pub seed: Seed,
    pub team: i64,
    pub session: i64,
    pub role: i64,
    pub leader: i64,
    pub members: [i64; 2],
    /// The members' assignments.
    pub assignments: [i64; 2],
}

pub(crate) async fn crew(app: &TestApp) -> Crew {
    let seed = app.seed().await;
    let team = id(&app
        .create(
            "/api/v1/teams",
            json!({"organization_id": seed.haizhou, "name": "科普志愿者服务团"}),
        )
        .await);
    let person = |name: &'static str, mobile: &'static str, leader: bool| json!({"name": name, "mobile": mobile, "organization_id": seed.haizhou, "teams": [{"team_id": team, "leader": leader}]});
    let leader = id(&app
        .create("/api/v1/volunteers", person("赵领队", "13900001111", true))
        .await);
    let first = id(&app
        .create("/api/v1/volunteers", person("王志愿", "13800002222", false))
        .await);
    let second = id(&app
        .create("/api/v1/volunteers", person("李志愿", "13700003333", false))
        .await);
    let session = id(&app
        .session(
            seed.activity,
            seed.venue,
            "2019-05-28T09:00+08:00",
            "2019-05-28T11:00+08:00",
        )
        .await);
    let role = id(&app
        .create(
            "/api/v1/session-roles",
            json!({"session_id": session, "name": "讲解员", "needed": 2, "team_id": team}),
        )
        .await);
    let assign = |volunteer: i64| json!({"role_id": role, "volunteer_id": volunteer});
    let a = id(&app.create("/api/v1/assignments", assign(first)).await);
    let b = id(&app.create("/api/v1/assignments", assign(second)).await);
    Crew {
        seed,
        team,
        session,
        role,
        leader,
        members: [first, second],
        assignments: [a, b],
    }
}

/// A volunteer as an admin reads them.
pub(crate) async fn volunteer(app: &TestApp, volunteer: i64) -> Value {
    let reply = app.get_as(&app.admin, &format!("/api/v1/volunteers/{volunteer}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

/// An assignment's status, as an admin reads it.
pub(crate) async fn status(app: &TestApp, assignment: i64) -> String {
    let reply = app
        .get_as(&app.admin, &format!("/api/v1/assignments/{assignment}"))
        .await;
    reply.body["status"].as_str().unwrap().to_owned()
}
