//! The test harness: the real service on an ephemeral port over a fresh database per test,
//! SQLite or PostgreSQL, with a clock the test controls.

use std::sync::{Arc, Once};

use chrono::{DateTime, Utc};
use entity::kinds::Role;
use migration::{Migrator, MigratorTrait};
use reqwest::{Method, RequestBuilder, StatusCode};
use sciday::app::App;
use sciday::clock::ManualClock;
use sciday::config::Config;
use sciday::db::{DatabaseUrl, Db};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates the test twice: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! db_test {
    // With the configuration adjusted: `async fn name(app: TestApp) with |config| …; { … }`.
    ($(#[$meta:meta])* async fn $name:ident($app:ident: TestApp) with $adjust:expr; $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: $crate::helpers::TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::helpers::TestApp::spawn_with($crate::helpers::Backend::Sqlite, $adjust).await.unwrap()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::helpers::TestApp::spawn_with($crate::helpers::Backend::Postgres, $adjust).await {
                    run(app).await;
                }
            }
        }
    };
    ($(#[$meta:meta])* async fn $name:ident($app:ident: TestApp) $body:block) => {
        $crate::db_test! { $(#[$meta])* async fn $name($app: TestApp) with |_| {}; $body }
    };
}

/// The instant every test starts at.
pub fn start_of_tests() -> DateTime<Utc> {
    "2019-05-10T00:00:00Z".parse().unwrap()
}

/// A running service and everything a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// A token with the admin role.
    pub admin: String,
    pub db: Db,
    pub clock: Arc<ManualClock>,
    /// The service's feeds, to count renders.
    pub feeds: Arc<sciday::feeds::service::Feeds>,
    pub backend: Backend,
    database_url: DatabaseUrl,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _storage: Storage,
}

impl TestApp {
    /// Starts the service; `None` when PostgreSQL was asked for but is not configured.
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts the service with an adjusted configuration.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<Self> {
        Self::start(backend, adjust, true).await
    }

    /// Starts the service on a database with no rows at all (no admin token either), as a
    /// backup is restored into.
    pub async fn spawn_empty(backend: Backend) -> Option<Self> {
        Self::start(backend, |_| {}, false).await
    }

    async fn start(backend: Backend, adjust: impl FnOnce(&mut Config), with_admin: bool) -> Option<Self> {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(std::env::var("SCIDAY_LOG").unwrap_or_else(|_| "warn,sciday=warn".into()))
            .try_init();
        let storage = match backend {
            Backend::Sqlite => Storage::sqlite(),
            Backend::Postgres => Storage::postgres().await?,
        };
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: storage.url(),
            max_connections: 8,
            // Tests dispatch step by step, with the test's clock.
            run_dispatcher: false,
            ..Config::default()
        };
        adjust(&mut config);
        let clock = Arc::new(ManualClock::new(start_of_tests()));
        let app = App::build(&config, clock.clone()).await.expect("the app starts");
        let db = app.db().clone();
        let feeds = app.feeds();
        let mut admin = String::new();
        if with_admin {
            let txn = db.begin().await.unwrap();
            let grant = sciday::store::tokens::Grant {
                name: "test admin".into(),
                role: Role::Admin,
                organization_id: None,
                volunteer_id: None,
                expires_at: None,
            };
            admin = sciday::store::tokens::create(&txn, grant, clock.now_utc())
                .await
                .unwrap()
                .1;
            txn.commit().await.unwrap();
        }
        let address = format!("http://{}", app.local_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Some(Self {
            address,
            client: reqwest::Client::new(),
            admin,
            db,
            clock,
            feeds,
            backend,
            database_url: config.database_url,
            stop: Some(stop),
            server: Some(server),
            _storage: storage,
        })
    }

    /// The clock and staffing settings the service decides with now.
    pub fn policy(&self) -> sciday::store::Policy {
        sciday::store::Policy {
            now: sciday::clock::Clock::now(self.clock.as_ref()),
            travel_buffer: sciday::domain::staffing::DEFAULT_TRAVEL_BUFFER,
        }
    }

    /// The database URL, for running the command line against the same data.
    pub fn database_url(&self) -> &str {
        self.database_url.expose()
    }

    /// A request to `path` (relative to the server).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.address))
    }

    /// GET without a token.
    pub async fn get(&self, path: &str) -> Reply {
        Reply::from_response(self.request(Method::GET, path).send().await.unwrap()).await
    }

    /// GET with a token.
    pub async fn get_as(&self, token: &str, path: &str) -> Reply {
        Reply::from_response(self.request(Method::GET, path).bearer_auth(token).send().await.unwrap()).await
    }

    /// POST JSON with a token.
    pub async fn post(&self, token: &str, path: &str, body: Value) -> Reply {
        Reply::from_response(
            self.request(Method::POST, path)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// PATCH JSON with a token and an `If-Match`.
    pub async fn patch(&self, token: &str, path: &str, if_match: &str, body: Value) -> Reply {
        let request = self
            .request(Method::PATCH, path)
            .bearer_auth(token)
            .header("If-Match", if_match)
            .json(&body);
        Reply::from_response(request.send().await.unwrap()).await
    }

    /// PATCH as admin at the resource's current version.
    pub async fn patch_current(&self, path: &str, body: Value) -> Reply {
        let etag = self.get_as(&self.admin, path).await.etag();
        self.patch(&self.admin, path, &etag, body).await
    }

    /// DELETE with a token.
    pub async fn delete(&self, token: &str, path: &str) -> Reply {
        Reply::from_response(
            self.request(Method::DELETE, path)
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// GET a calendar feed with extra request headers, read as bytes.
    pub async fn feed(&self, path: &str, headers: &[(&str, &str)]) -> Feed {
        self.feed_with(Method::GET, path, headers).await
    }

    /// A calendar feed request with any method.
    pub async fn feed_with(&self, method: Method, path: &str, headers: &[(&str, &str)]) -> Feed {
        let mut request = self.request(method, path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Feed::read(request.send().await.unwrap()).await
    }

    /// How many events a GET of the feed at `path` rendered.
    pub async fn events_rendered_by(&self, path: &str) -> u64 {
        let before = self.feeds.events_rendered();
        let reply = self.feed(path, &[]).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{path}: {}",
            String::from_utf8_lossy(&reply.bytes)
        );
        self.feeds.events_rendered() - before
    }

    /// A second instance serving the same database, on its own pool, as a deployment scaled
    /// out runs them; it stops when dropped.
    pub async fn another_instance(&self) -> Instance {
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: self.database_url.clone(),
            max_connections: 4,
            run_dispatcher: false,
            ..Config::default()
        };
        let app = App::build(&config, self.clock.clone())
            .await
            .expect("the other instance starts");
        let address = format!("http://{}", app.local_addr());
        let feeds = app.feeds();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Instance {
            address,
            feeds,
            client: reqwest::Client::new(),
            _stop: stop,
        }
    }

    /// Creates something as admin and returns its JSON, failing the test otherwise.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let reply = self.post(&self.admin, path, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "POST {path}: {}", reply.body);
        reply.body
    }

    /// A token for an organizer of `organization_id`.
    pub async fn organizer(&self, organization_id: i64) -> String {
        let reply = self
            .create(
                "/api/v1/tokens",
                json!({"name": format!("organizer of {organization_id}"), "role": "organizer", "organization_id": organization_id}),
            )
            .await;
        reply["secret"].as_str().unwrap().to_owned()
    }

    /// A token for a volunteer.
    pub async fn volunteer_token(&self, volunteer_id: i64) -> String {
        let reply = self
            .create(
                "/api/v1/tokens",
                json!({"name": format!("volunteer {volunteer_id}"), "role": "volunteer", "volunteer_id": volunteer_id}),
            )
            .await;
        reply["secret"].as_str().unwrap().to_owned()
    }

    /// A small program: 市科协 with two 县区科协, a venue, a program, an activity.
    pub async fn seed(&self) -> Seed {
        let city = self
            .create("/api/v1/organizations", json!({"key": "org.lyg", "kind": "city_association", "name": "连云港市科学技术协会", "short_name": "市科协"}))
            .await;
        let city_id = id(&city);
        let haizhou = self
            .create("/api/v1/organizations", json!({"key": "org.haizhou", "parent_id": city_id, "kind": "county_association", "name": "连云港市海州区科学技术协会"}))
            .await;
        let ganyu = self
            .create("/api/v1/organizations", json!({"key": "org.ganyu", "parent_id": city_id, "kind": "county_association", "name": "连云港市赣榆区科学技术协会"}))
            .await;
        let venue = self
            .create("/api/v1/venues", json!({"key": "venue.museum", "name": "连云港市科技馆", "kind": "other", "time_zone": "Asia/Shanghai", "organization_id": city_id}))
            .await;
        let program = self
            .create(
                "/api/v1/programs",
                json!({"key": "program.2019", "name": "2019年全国科技工作者日系列活动", "time_zone": "Asia/Shanghai", "host_organization_id": city_id, "plan_deadline": "2019-05-17T23:59:59"}),
            )
            .await;
        let activity = self
            .create(
                "/api/v1/activities",
                json!({"key": "activity.week", "program_id": id(&program), "kind": "series", "display_order": 5, "title": "第三十一届科普宣传周", "organization_id": id(&haizhou)}),
            )
            .await;
        Seed {
            city: city_id,
            haizhou: id(&haizhou),
            ganyu: id(&ganyu),
            venue: id(&venue),
            program: id(&program),
            activity: id(&activity),
        }
    }

    /// Creates a timed session of `activity` at the seed venue.
    pub async fn session(&self, activity: i64, venue: i64, starts_at: &str, ends_at: &str) -> Value {
        self.create(
            "/api/v1/sessions",
            json!({"activity_id": activity, "venue_id": venue, "starts_at": starts_at, "ends_at": ends_at}),
        )
        .await
    }

    /// Rows of a table, to prove that a refused request wrote nothing.
    pub async fn count(&self, table: &str) -> i64 {
        let backend = self.db.backend();
        let row = self
            .db
            .reader()
            .query_one_raw(Statement::from_string(
                backend,
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.server.take() {
            Some(server) => server.await?,
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The seed's ids.
#[derive(Clone, Copy, Debug)]
pub struct Seed {
    pub city: i64,
    pub haizhou: i64,
    pub ganyu: i64,
    pub venue: i64,
    pub program: i64,
    pub activity: i64,
}

/// The `id` of a JSON resource.
pub fn id(value: &Value) -> i64 {
    value["id"].as_i64().unwrap_or_else(|| panic!("no id in {value}"))
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Reads a response whole.
    pub async fn from_response(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Self { status, headers, body }
    }

    /// The ETag header.
    pub fn etag(&self) -> String {
        self.header("etag").unwrap_or_else(|| panic!("no ETag in {self:?}"))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }

    /// Asserts a problem+json answer with this status and type, and returns its body.
    pub fn problem(&self, status: StatusCode, kind: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.header("content-type").as_deref(), Some("application/problem+json"));
        assert_eq!(self.body["type"], format!("/problems/{kind}"), "{}", self.body);
        assert_eq!(self.body["status"], status.as_u16());
        &self.body
    }

    /// The fields named in a 422 answer.
    pub fn invalid_fields(&self) -> Vec<String> {
        self.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation-failed");
        self.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The ids of a list answer.
    pub fn ids(&self) -> Vec<i64> {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        self.body["data"].as_array().unwrap().iter().map(id).collect()
    }
}

/// Another instance of the service on a test's database.
pub struct Instance {
    pub address: String,
    pub feeds: Arc<sciday::feeds::service::Feeds>,
    client: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

impl Instance {
    /// A GET of a feed, with headers.
    pub async fn feed(&self, path: &str, headers: &[(&str, &str)]) -> Feed {
        let mut request = self.client.get(format!("{}{path}", self.address));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Feed::read(request.send().await.unwrap()).await
    }
}

/// A feed response, read whole.
#[derive(Debug)]
pub struct Feed {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
}

impl Feed {
    async fn read(response: reqwest::Response) -> Self {
        Self {
            status: response.status(),
            headers: response.headers().clone(),
            bytes: response.bytes().await.unwrap().to_vec(),
        }
    }

    /// The body as text (feeds are UTF-8).
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.bytes).expect("a feed is UTF-8")
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }

    /// The ETag header.
    pub fn etag(&self) -> String {
        self.header("etag")
            .unwrap_or_else(|| panic!("no ETag on {:?}", self.status))
    }

    /// The body parsed, after checking the status and the line rules every feed keeps.
    pub fn calendar(&self) -> crate::ical::Component {
        assert_eq!(self.status, StatusCode::OK, "{}", String::from_utf8_lossy(&self.bytes));
        crate::ical::parse(self.text())
    }
}

trait NowUtc {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl NowUtc for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        sciday::clock::Clock::now(self)
    }
}

/// Where a test's data lives; removed when the test ends.
enum Storage {
    Sqlite(tempfile::TempDir),
    Postgres {
        admin_url: String,
        url: String,
        name: String,
    },
}

impl Storage {
    fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().unwrap())
    }

    /// A fresh database cloned from a migrated template, named after `TEST_DATABASE_URL`.
    async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                use std::io::Write as _;
                // Written past the test harness's capture so it shows in every run.
                let _ = writeln!(
                    std::io::stderr(),
                    "\nNOTE: TEST_DATABASE_URL is not set: the PostgreSQL half of the tests was NOT run \
                     (each `postgres` test passed without doing anything). \
                     Set it, e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres\n"
                );
            });
            return None;
        };
        let admin = Database::connect(&admin_url).await.expect("TEST_DATABASE_URL connects");
        let base = admin_url
            .rsplit('/')
            .next()
            .unwrap_or("postgres")
            .split('?')
            .next()
            .unwrap_or("postgres");
        let template = ensure_template(&admin, base, &admin_url).await;
        let name = format!("{base}_t_{:016x}", rand_u64());
        exec(&admin, &format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"")).await;
        admin.close().await.unwrap();
        let url = replace_database(&admin_url, &name);
        Some(Self::Postgres { admin_url, url, name })
    }

    fn url(&self) -> DatabaseUrl {
        match self {
            Self::Sqlite(dir) => DatabaseUrl::new(format!("sqlite://{}", dir.path().join("sciday.db").display())),
            Self::Postgres { url, .. } => DatabaseUrl::new(url.clone()),
        }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Self::Postgres { admin_url, name, .. } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // The test's runtime is going away; drop the database from a runtime of our own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        exec(&admin, &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Creates, once per migration set, a database with every migration applied; tests clone it.
/// The set is told by the migrations' names and sources, so editing a migration that has not
/// been released yet builds a new template instead of reusing a stale one.
async fn ensure_template(admin: &DatabaseConnection, base: &str, admin_url: &str) -> String {
    let mut fingerprint = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect::<Vec<_>>()
        .join(",");
    let sources = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migration/src");
    let mut files: Vec<_> = std::fs::read_dir(&sources)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        fingerprint.push_str(&std::fs::read_to_string(file).unwrap());
    }
    let name = format!("{base}_tpl_{:016x}", fnv(&fingerprint));
    // Test processes take turns building it.
    exec(admin, "SELECT pg_advisory_lock(7235305302)").await;
    let exists = admin
        .query_one_raw(Statement::from_string(
            admin.get_database_backend(),
            format!("SELECT 1 AS one FROM pg_database WHERE datname = '{name}'"),
        ))
        .await
        .unwrap()
        .is_some();
    if !exists {
        let building = format!("{name}_building");
        exec(admin, &format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)")).await;
        exec(admin, &format!("CREATE DATABASE \"{building}\"")).await;
        let db = Db::connect(&DatabaseUrl::new(replace_database(admin_url, &building)), 2)
            .await
            .unwrap();
        db.migrate().await.unwrap();
        db.close().await.unwrap();
        exec(admin, &format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\"")).await;
    }
    exec(admin, "SELECT pg_advisory_unlock(7235305302)").await;
    name
}

async fn exec(conn: &DatabaseConnection, sql: &str) {
    conn.execute_raw(Statement::from_string(conn.get_database_backend(), sql.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn replace_database(url: &str, name: &str) -> String {
    let (head, tail) = url.rsplit_once('/').unwrap();
    let query = tail.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    format!("{head}/{name}{query}")
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    hasher.finish()
}

/// Runs all the futures at once, each on its own task, and collects their outputs in order.
pub async fn join_all<T: Send + 'static, F: std::future::Future<Output = T> + Send + 'static>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<T> {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}
