//! Serving feeds to many subscribers cheaply.
//!
//! A feed's ETag comes from its owner record and one aggregate over its rows
//! ([`store::feeds::fingerprint`]), never from rendered bytes. The result is kept per feed
//! and trusted until this instance handles a write, the day changes (the window moves), or
//! [`FeedSettings::recheck`] passes (for writes made through other instances). Rendered
//! bodies are kept by ETag in a cache bounded in bytes, and concurrent requests for a body
//! being rendered wait for that one render, so a popular feed is rendered once per change.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone as _, Utc};
use sha2::{Digest as _, Sha256};

use super::render::{self, Audience, CalendarInfo, Options};
use crate::db::Db;
use crate::domain::time::Bound;
use crate::domain::zone::Zone;
use crate::error::{Error, Result};
use crate::store::feeds::{self as rows, Fingerprint, Scope, Window};
use crate::store::{Visibility, activities, organizations, programs, teams, venues, volunteers};

/// The zone of feeds whose owner has none of its own (organizations, teams, volunteers).
pub const DEFAULT_ZONE: &str = "Asia/Shanghai";

/// Reminders of a personal feed unless the request asks otherwise: a day and an hour before.
pub const PERSONAL_ALARMS: [TimeDelta; 2] = [TimeDelta::days(1), TimeDelta::hours(1)];

/// The latest instant a feed window can reach (PostgreSQL's range ends long after).
fn far_future() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// How feeds are published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedSettings {
    /// Where clients reach the service, without a trailing slash (`https://sciday.example`);
    /// by default the address the service listens on. Feed links are built on it and event
    /// UIDs carry its host, so a deployment should set it and keep it.
    pub public_url: Option<String>,
    /// By default a feed starts this many days before today.
    pub past_days: u32,
    /// Cancelled and deleted sessions stay in feeds this many days after their end.
    pub cancelled_days: u32,
    /// Bytes of rendered feeds kept in memory.
    pub cache_bytes: u64,
    /// How long a feed's ETag is trusted without asking the database again, for writes
    /// made through other instances (this instance's own writes count at once).
    pub recheck: TimeDelta,
}

impl Default for FeedSettings {
    fn default() -> Self {
        Self {
            public_url: None,
            past_days: 30,
            cancelled_days: 30,
            cache_bytes: 64 * 1024 * 1024,
            recheck: TimeDelta::seconds(1),
        }
    }
}

/// Whose feed. (`Debug` never shows a feed token.)
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A program's public sessions.
    Program(i64),
    /// A public activity's sessions.
    Activity(i64),
    /// A venue's public sessions.
    Venue(i64),
    /// The public sessions of an organization and those below it.
    Organization(i64),
    /// The public sessions a team's members serve at.
    Team(i64),
    /// A volunteer's assignments, by their feed token.
    Volunteer(String),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Volunteer(_) => f.write_str("Volunteer(…)"),
            other => write!(f, "{}/{}", other.collection(), other.name()),
        }
    }
}

impl Target {
    /// The collection in the feed's URL.
    pub fn collection(&self) -> &'static str {
        match self {
            Self::Program(_) => "programs",
            Self::Activity(_) => "activities",
            Self::Venue(_) => "venues",
            Self::Organization(_) => "organizations",
            Self::Team(_) => "teams",
            Self::Volunteer(_) => "volunteers",
        }
    }

    /// The last segment of the feed's URL, without `.ics`.
    pub fn name(&self) -> String {
        match self {
            Self::Program(id) | Self::Activity(id) | Self::Venue(id) | Self::Organization(id) | Self::Team(id) => {
                id.to_string()
            }
            Self::Volunteer(token) => token.clone(),
        }
    }

    /// A personal feed (not to be cached by shared caches).
    pub fn is_personal(&self) -> bool {
        matches!(self, Self::Volunteer(_))
    }
}

/// What a request may choose.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Params {
    /// Start of the window (default: [`FeedSettings::past_days`] before today).
    pub from: Option<Bound>,
    /// End of the window (default: open).
    pub to: Option<Bound>,
    /// Reminders before each event (default: none, or [`PERSONAL_ALARMS`] for personal feeds).
    pub alarms: Option<Vec<TimeDelta>>,
}

/// One feed as a request names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FeedKey {
    /// Whose.
    pub target: Target,
    /// With which options.
    pub params: Params,
}

/// What the feed is now: its validators, and how to render it.
pub struct Validated {
    /// Strong ETag of the plain body, quoted.
    pub etag: String,
    /// Strong ETag of the gzip body, quoted.
    pub gzip_etag: String,
    /// The latest change to anything the feed shows (or the start of today, when the
    /// window moved).
    pub last_modified: DateTime<Utc>,
    /// File name for `Content-Disposition` (ASCII).
    pub filename: String,
    /// The calendar's name, for `filename*`.
    pub title: String,
    plan: Plan,
}

impl std::fmt::Debug for Validated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validated")
            .field("etag", &self.etag)
            .field("last_modified", &self.last_modified)
            .finish_non_exhaustive()
    }
}

struct Plan {
    scope: Scope,
    window: Window,
    info: CalendarInfo,
    options: Options,
}

/// A rendered feed, plain and (once asked for) gzipped.
#[derive(Debug)]
pub struct Body {
    /// The iCalendar text.
    pub plain: Bytes,
    gzip: tokio::sync::OnceCell<Bytes>,
}

impl Body {
    /// The gzipped text, compressed on first use off the async threads.
    pub async fn gzip(&self) -> Result<Bytes> {
        let plain = self.plain.clone();
        self.gzip
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || {
                    let mut encoder = flate2::write::GzEncoder::new(
                        Vec::with_capacity(plain.len() / 4),
                        flate2::Compression::default(),
                    );
                    encoder.write_all(&plain)?;
                    encoder.finish()
                })
                .await
                .map_err(|e| Error::Internal(e.into()))?
                .map(Bytes::from)
                .map_err(|e| Error::Internal(e.into()))
            })
            .await
            .cloned()
    }
}

/// Feeds of one instance: settings, and the caches of validators and bodies.
pub struct Feeds {
    settings: FeedSettings,
    uid_domain: String,
    generation: AtomicU64,
    renders: AtomicU64,
    reads: AtomicU64,
    validations: moka::future::Cache<(FeedKey, Epoch), Arc<Validated>>,
    bodies: moka::future::Cache<String, Arc<Body>>,
}

impl std::fmt::Debug for Feeds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feeds")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Feeds {
    /// Feeds published under `settings`, at `listening` unless they name a public URL.
    pub fn new(mut settings: FeedSettings, listening: std::net::SocketAddr) -> Self {
        let public_url = settings.public_url.take().unwrap_or_else(|| {
            let host = match listening.ip() {
                ip if ip.is_unspecified() => "localhost".to_owned(),
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
                std::net::IpAddr::V4(ip) => ip.to_string(),
            };
            format!("http://{host}:{}", listening.port())
        });
        settings.public_url = Some(public_url.trim_end_matches('/').to_owned());
        let uid_domain = url::Url::parse(settings.public_url.as_deref().unwrap_or_default())
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_else(|| "sciday".to_owned());
        let bodies = moka::future::Cache::builder()
            .max_capacity(settings.cache_bytes)
            .weigher(|_, body: &Arc<Body>| {
                // The gzip copy, when made, is about a fifth of the plain text.
                u32::try_from(body.plain.len() + body.plain.len() / 5).unwrap_or(u32::MAX)
            })
            .build();
        Self {
            uid_domain,
            generation: AtomicU64::new(0),
            renders: AtomicU64::new(0),
            reads: AtomicU64::new(0),
            // An entry is read only within its recheck period; the time to live frees it.
            validations: moka::future::Cache::builder()
                .max_capacity(50_000)
                .time_to_live(
                    settings
                        .recheck
                        .to_std()
                        .unwrap_or_default()
                        .max(std::time::Duration::from_secs(1))
                        * 2,
                )
                .build(),
            bodies,
            settings,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &FeedSettings {
        &self.settings
    }

    /// Where clients reach the service.
    pub fn public_url(&self) -> &str {
        self.settings.public_url.as_deref().unwrap_or_default()
    }

    /// Something changed through this instance: every feed is checked again on its next request.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// How many writes this instance has handled: pages cached under one number are stale
    /// under the next.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// How many feeds this instance has rendered.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    /// How many times validators were read from the database, since start.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// The `https://…/feeds/{collection}/{name}.ics` link of a feed.
    pub fn feed_url(&self, target: &Target) -> String {
        format!(
            "{}/feeds/{}/{}.ics",
            self.public_url(),
            target.collection(),
            target.name()
        )
    }

    /// The same link with the `webcal` scheme, which calendar apps open as a subscription.
    pub fn webcal_url(&self, target: &Target) -> String {
        let url = self.feed_url(target);
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .unwrap_or(&url);
        format!("webcal://{rest}")
    }

    /// The feed's current validators, from the cache while they can be trusted, and its body
    /// when reading it came cheaper than not.
    ///
    /// `wants_body` says the request will need the body whatever the validators are (it is
    /// not conditional). A personal feed has one subscriber, so when its validators must be
    /// read anew its rows are read at once, the fingerprint is taken from them and the body
    /// rendered from the same rows: two statements instead of three. Feeds with many
    /// subscribers read the aggregate, whose body is most likely cached already.
    pub async fn open(&self, db: &Db, now: DateTime<Utc>, key: &FeedKey, wants_body: bool) -> Result<Opened> {
        let generation = self.generation.load(Ordering::Acquire);
        let recheck = self.settings.recheck.num_milliseconds();
        if recheck <= 0 {
            return self.read(db, now, key, wants_body).await;
        }
        // Validators are trusted within one write generation, day and recheck period; the
        // requests that find none wait for a single read.
        let epoch = Epoch {
            generation,
            day: now.date_naive(),
            period: now.timestamp_millis().div_euclid(recheck),
        };
        // A body rendered along with the validators (a personal feed's) is this request's.
        let mut fresh = None;
        let validated = self
            .validations
            .try_get_with((key.clone(), epoch), async {
                let opened = self.read(db, now, key, wants_body).await?;
                fresh = opened.body;
                Ok(opened.validated)
            })
            .await
            .map_err(shared_error)?;
        let body = match fresh {
            Some(body) => Some(body),
            None if wants_body => {
                let cached = self.bodies.get(&validated.etag).await;
                // A body not cached is rendered by [`Self::body`], which counts the miss.
                if cached.is_some() {
                    crate::metrics::looked_up(crate::metrics::Cache::Feed, true);
                }
                cached
            }
            None => None,
        };
        Ok(Opened { validated, body })
    }

    /// Reads the validators from the database, and with them the body when that is cheaper.
    async fn read(&self, db: &Db, now: DateTime<Utc>, key: &FeedKey, wants_body: bool) -> Result<Opened> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let conn = db.reader();
        if wants_body && let Target::Volunteer(token) = &key.target {
            // One statement reads the volunteer with the rows; a feed without rows falls
            // through to the owner lookup, which tells an empty feed from an unknown token.
            let window = self.window(now, Zone::from_stored(DEFAULT_ZONE), &key.params);
            if let Some((volunteer, rows)) = rows::personal_events(conn, token, &window).await? {
                let owner = Owner::volunteer(volunteer.id, &volunteer.name, volunteer.version, volunteer.updated_at);
                let plan = Planned { owner, window };
                return self.rendered(key, plan, rows, now).await;
            }
        }
        let plan = self.plan(conn, now, key).await?;
        if wants_body && key.target.is_personal() {
            let rows = rows::events(conn, &plan.owner.scope, &plan.window).await?;
            return self.rendered(key, plan, rows, now).await;
        }
        let fingerprint = rows::fingerprint(conn, &plan.owner.scope, &plan.window).await?;
        Ok(Opened {
            validated: Arc::new(self.validated(key, plan, &fingerprint, now)),
            body: None,
        })
    }

    /// Validators from rows already read, and the body rendered from them.
    async fn rendered(
        &self,
        key: &FeedKey,
        plan: Planned,
        rows: Vec<rows::EventRow>,
        now: DateTime<Utc>,
    ) -> Result<Opened> {
        let validated = Arc::new(self.validated(key, plan, &Fingerprint::of(&rows), now));
        let body = self.cached_body(&validated, async { Ok(rows) }).await?;
        Ok(Opened {
            validated,
            body: Some(body),
        })
    }

    /// The rendered feed, rendering it if no request has since its last change.
    pub async fn body(&self, db: &Db, validated: &Validated) -> Result<Arc<Body>> {
        let plan = &validated.plan;
        self.cached_body(validated, rows::events(db.reader(), &plan.scope, &plan.window))
            .await
    }

    /// The body cached under the validators' ETag, or rendered from `rows` and cached.
    /// Concurrent requests for one ETag wait for a single render.
    async fn cached_body(
        &self,
        validated: &Validated,
        rows: impl Future<Output = Result<Vec<rows::EventRow>>>,
    ) -> Result<Arc<Body>> {
        let mut rendered = false;
        let render = async {
            rendered = true;
            let started = std::time::Instant::now();
            let rows = rows.await?;
            let text = render::render(&validated.plan.info, &rows, &validated.plan.options);
            self.renders.fetch_add(1, Ordering::Relaxed);
            crate::metrics::rendered(crate::metrics::Cache::Feed, started.elapsed());
            Ok::<_, Error>(Arc::new(Body {
                plain: Bytes::from(text),
                gzip: tokio::sync::OnceCell::new(),
            }))
        };
        let body = self
            .bodies
            .try_get_with(validated.etag.clone(), render)
            .await
            .map_err(|e| Error::Internal(anyhow::anyhow!("rendering a feed: {e}")));
        crate::metrics::looked_up(crate::metrics::Cache::Feed, !rendered);
        body
    }

    /// Reads the feed's owner and resolves its scope and window.
    async fn plan(&self, conn: &impl sea_orm::ConnectionTrait, now: DateTime<Utc>, key: &FeedKey) -> Result<Planned> {
        let owner = self.owner(conn, &key.target).await?;
        Ok(Planned {
            window: self.window(now, Zone::from_stored(&owner.zone), &key.params),
            owner,
        })
    }

    /// The part of time a feed covers: from the request, or from the settings.
    fn window(&self, now: DateTime<Utc>, zone: Zone, params: &Params) -> Window {
        let start_of_today = now.date_naive().and_time(NaiveTime::MIN).and_utc();
        Window {
            from: params.from.map_or_else(
                || start_of_today - Days::new(u64::from(self.settings.past_days)),
                |bound| bound.instant(zone),
            ),
            to: params.to.map_or_else(far_future, |bound| bound.instant(zone)),
            cancelled_since: start_of_today - Days::new(u64::from(self.settings.cancelled_days)),
        }
    }

    /// Derives the validators from the owner and the fingerprint of the feed's rows.
    fn validated(&self, key: &FeedKey, planned: Planned, fingerprint: &Fingerprint, now: DateTime<Utc>) -> Validated {
        let Planned { mut owner, window } = planned;
        owner.deadlines.retain(|d| d.due >= window.from && d.due < window.to);
        let scope = owner.scope.clone();
        let today = now.date_naive();
        let start_of_today = today.and_time(NaiveTime::MIN).and_utc();
        let zone = Zone::from_stored(&owner.zone);
        let mut digest = Sha256::new();
        let identity = format!(
            "{}|{}/{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
            render::PRODID,
            key.target.collection(),
            key.target.name(),
            key.params,
            owner.stamp,
            owner.deadlines,
            scope,
            window,
            fingerprint,
            self.settings,
            today,
        );
        digest.update(identity.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(&digest.finalize()[..15]);
        let deadlines_changed = owner.deadlines.iter().map(|d| d.changed).max();
        let last_modified = [
            fingerprint.changed,
            Some(owner.changed),
            deadlines_changed,
            Some(start_of_today),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(start_of_today);

        let alarms = key.params.alarms.clone().unwrap_or_else(|| match owner.audience {
            Audience::Personal => PERSONAL_ALARMS.to_vec(),
            _ => Vec::new(),
        });
        let source = self.feed_url(&key.target);
        Validated {
            etag: format!("\"{tag}\""),
            gzip_etag: format!("\"{tag}-gz\""),
            last_modified,
            filename: format!("sciday-{}-{}.ics", key.target.collection(), owner.file_id),
            title: owner.name.clone(),
            plan: Plan {
                scope,
                window,
                info: CalendarInfo {
                    name: owner.name,
                    description: owner.description,
                    time_zone: zone.name().to_owned(),
                    source,
                    deadlines: owner.deadlines,
                },
                options: Options {
                    audience: owner.audience,
                    alarms,
                    uid_domain: self.uid_domain.clone(),
                    public_url: self.public_url().to_owned(),
                },
            },
        }
    }

    /// The record a feed belongs to; a missing or non-public one is a 404.
    async fn owner(&self, conn: &impl sea_orm::ConnectionTrait, target: &Target) -> Result<Owner> {
        Ok(match target {
            Target::Program(id) => {
                let program = programs::get(conn, *id).await?;
                Owner {
                    name: program.name,
                    description: program.theme,
                    zone: program.time_zone,
                    scope: Scope::Program(program.id),
                    audience: Audience::Public,
                    stamp: (program.version, program.updated_at, 0),
                    changed: program.updated_at,
                    file_id: program.id.to_string(),
                    deadlines: Vec::new(),
                }
            }
            Target::Activity(id) => {
                let activity = activities::get(conn, *id, &Visibility::Public).await?;
                let program = programs::get(conn, activity.program_id).await?;
                Owner {
                    name: activity.title,
                    description: activity.description,
                    zone: program.time_zone,
                    scope: Scope::Activity(activity.id),
                    audience: Audience::Public,
                    stamp: (activity.version, activity.updated_at, program.version),
                    changed: activity.updated_at.max(program.updated_at),
                    file_id: activity.id.to_string(),
                    deadlines: Vec::new(),
                }
            }
            Target::Venue(id) => {
                let venue = venues::get(conn, *id).await?;
                Owner {
                    description: venue.address,
                    name: venue.name,
                    zone: venue.time_zone,
                    scope: Scope::Venue(venue.id),
                    audience: Audience::Public,
                    stamp: (venue.version, venue.updated_at, 0),
                    changed: venue.updated_at,
                    file_id: venue.id.to_string(),
                    deadlines: Vec::new(),
                }
            }
            Target::Organization(id) => {
                let organization = organizations::get(conn, *id).await?;
                let deadlines = crate::store::feeds::plan_deadlines(conn, &organization).await?;
                Owner {
                    deadlines,
                    name: organization.name,
                    description: None,
                    zone: DEFAULT_ZONE.to_owned(),
                    scope: Scope::Organization(organization.path),
                    audience: Audience::Public,
                    stamp: (organization.version, organization.updated_at, 0),
                    changed: organization.updated_at,
                    file_id: organization.id.to_string(),
                }
            }
            Target::Team(id) => {
                let team = teams::get(conn, *id).await?;
                Owner {
                    name: team.name,
                    description: team.description,
                    zone: DEFAULT_ZONE.to_owned(),
                    scope: Scope::Team(team.path),
                    audience: Audience::Team,
                    stamp: (team.version, team.updated_at, 0),
                    changed: team.updated_at,
                    file_id: team.id.to_string(),
                    deadlines: Vec::new(),
                }
            }
            Target::Volunteer(token) => {
                let volunteer = volunteers::by_feed_token(conn, token)
                    .await?
                    .ok_or(Error::NotFound("feed"))?;
                Owner::volunteer(volunteer.id, &volunteer.name, volunteer.version, volunteer.updated_at)
            }
        })
    }
}

/// What a feed's owner contributes.
struct Owner {
    name: String,
    description: Option<String>,
    zone: String,
    scope: Scope,
    audience: Audience,
    /// Versions and change time of the records the calendar's own properties come from.
    stamp: (i32, DateTime<Utc>, i32),
    changed: DateTime<Utc>,
    file_id: String,
    /// Plan deadlines the calendar shows (an organization's).
    deadlines: Vec<crate::store::feeds::DeadlineRow>,
}

impl Owner {
    /// A personal feed's owner, however the volunteer was read.
    fn volunteer(id: i64, name: &str, version: i32, updated_at: DateTime<Utc>) -> Self {
        Self {
            name: format!("{name}的志愿服务"),
            description: None,
            zone: DEFAULT_ZONE.to_owned(),
            scope: Scope::Volunteer(id),
            audience: Audience::Personal,
            stamp: (version, updated_at, 0),
            changed: updated_at,
            // The file name never carries the token.
            file_id: "personal".to_owned(),
            deadlines: Vec::new(),
        }
    }
}

/// When validators were read: they are trusted while all three stay the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Epoch {
    /// Writes handled by this instance.
    generation: u64,
    /// The day (a feed's window starts a number of days back).
    day: NaiveDate,
    /// The recheck period, counted from the Unix epoch.
    period: i64,
}

/// An error shared by requests that waited for one read.
fn shared_error(error: Arc<Error>) -> Error {
    match &*error {
        Error::NotFound(what) => Error::NotFound(what),
        other => Error::Internal(anyhow::anyhow!("reading a feed: {other}")),
    }
}

/// A feed's owner with the part of time it covers.
struct Planned {
    owner: Owner,
    window: Window,
}

/// What [`Feeds::open`] found.
#[derive(Debug)]
pub struct Opened {
    /// The current validators.
    pub validated: Arc<Validated>,
    /// The body, when it was read along with them.
    pub body: Option<Arc<Body>>,
}
