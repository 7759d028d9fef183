//! Serving feeds to many subscribers cheaply.
//!
//! A feed's ETag comes from its owner record and its change stamp ([`crate::store::stamps`]):
//! a few counters every write raises, never an aggregate over its rows. The validators are
//! kept per feed and trusted until a change to something the feed depends on is marked (by
//! this instance's writes, or other instances' through `LISTEN/NOTIFY`; see
//! [`super::changes`]), the day changes (the window moves), or the recheck period passes (for
//! changes no one announced). Rendered bodies are kept by ETag in a cache bounded in bytes,
//! and a body is assembled from events kept by the versions of what they show
//! ([`super::assemble`]), so one change re-renders one event.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, Utc};
use sha2::{Digest as _, Sha256};

use super::assemble::{Body, Events};
use super::changes::Changes;
pub use super::key::{FeedKey, Params, Target};
pub use super::owner::DEFAULT_ZONE;
use super::owner::{self, Owner};
use super::render::{Audience, CalendarInfo, Options};
use crate::db::Db;
use crate::domain::time::Bound;
use crate::domain::zone::Zone;
use crate::error::{Error, FeedLink, Result};
use crate::store::feeds::{Scope, Window};
use crate::store::stamps::{self, Dependency};

/// Reminders of a personal feed unless the request asks otherwise: a day and an hour before.
pub const PERSONAL_ALARMS: [TimeDelta; 2] = [TimeDelta::days(1), TimeDelta::hours(1)];

/// How long validators are trusted while other instances' changes are heard: only changes
/// made without announcing them (a command run beside the service) wait this long.
const HEARD_RECHECK: TimeDelta = TimeDelta::seconds(30);

/// How feeds are published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedSettings {
    /// Where clients reach the service, without a trailing slash (`https://sciday.example`);
    /// by default the address the service listens on. Feed links are built on it and event
    /// UIDs carry its host, so a deployment should set it and keep it.
    pub public_url: Option<String>,
    /// By default a feed starts this many days before today.
    pub past_days: u32,
    /// By default a feed ends this many days after today.
    pub future_days: u32,
    /// Cancelled and deleted sessions stay in feeds this many days after their end.
    pub cancelled_days: u32,
    /// The most events one feed may hold; a request for more is refused with narrower feeds.
    pub max_events: u32,
    /// Bytes of rendered feeds and events kept in memory.
    pub cache_bytes: u64,
    /// How long a feed's ETag is trusted without asking the database again while other
    /// instances' changes are not heard (SQLite, or the listener is down).
    pub recheck: TimeDelta,
}

impl Default for FeedSettings {
    fn default() -> Self {
        Self {
            public_url: None,
            past_days: 30,
            future_days: 400,
            cancelled_days: 30,
            max_events: 5_000,
            cache_bytes: 64 * 1024 * 1024,
            recheck: TimeDelta::seconds(1),
        }
    }
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
    pub(super) plan: Plan,
}

impl std::fmt::Debug for Validated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validated")
            .field("etag", &self.etag)
            .field("last_modified", &self.last_modified)
            .finish_non_exhaustive()
    }
}

/// How a validated feed is rendered.
pub(super) struct Plan {
    pub target: Target,
    pub scope: Scope,
    pub window: Window,
    pub info: CalendarInfo,
    pub options: Options,
}

/// Feeds of one instance: settings, what changed, and the caches of validators and bodies.
pub struct Feeds {
    settings: FeedSettings,
    uid_domain: String,
    changes: Changes,
    renders: AtomicU64,
    reads: AtomicU64,
    dependencies: moka::sync::Cache<Target, Dependency>,
    validations: moka::future::Cache<(FeedKey, Epoch), Arc<Validated>>,
    events: Events,
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
        let longest_trust = settings.recheck.max(HEARD_RECHECK).to_std().unwrap_or_default() * 2;
        Self {
            uid_domain,
            changes: Changes::default(),
            renders: AtomicU64::new(0),
            reads: AtomicU64::new(0),
            dependencies: moka::sync::Cache::new(100_000),
            // An entry is read only within its epoch; the time to live frees it.
            validations: moka::future::Cache::builder()
                .max_capacity(50_000)
                .time_to_live(longest_trust.max(std::time::Duration::from_secs(2)))
                .build(),
            events: Events::new(settings.cache_bytes),
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

    /// What this instance knows has changed.
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// Runs `work` (which writes), then marks what its writes touched: at once here, and
    /// for other instances once announced.
    pub async fn writing<F: Future>(&self, work: F) -> F::Output {
        let (output, keys) = stamps::collecting(work).await;
        self.changes.written(keys);
        output
    }

    /// How many changes this instance has heard of: pages cached under one number are stale
    /// under the next.
    pub fn generation(&self) -> u64 {
        self.changes.total()
    }

    /// How many feeds this instance has rendered.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    /// How many events this instance has rendered (a feed assembled after one change renders
    /// one).
    pub fn events_rendered(&self) -> u64 {
        self.events.rendered()
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

    /// The feed's current validators: from memory while nothing it depends on is known to
    /// have changed, else read anew (the owner and a few counters). Requests that find none
    /// wait for a single read.
    pub async fn validate(&self, db: &Db, now: DateTime<Utc>, key: &FeedKey) -> Result<Arc<Validated>> {
        let recheck = if self.changes.listening() {
            HEARD_RECHECK.max(self.settings.recheck)
        } else {
            self.settings.recheck
        };
        let recheck = recheck.num_milliseconds();
        if recheck <= 0 {
            return self.read(db, now, key).await.map(Arc::new);
        }
        let epoch = |dependency: &Dependency| Epoch {
            standing: self.changes.standing(dependency),
            day: now.date_naive(),
            period: now.timestamp_millis().div_euclid(recheck),
        };
        let Some(dependency) = self.dependencies.get(&key.target) else {
            // The first request for this feed: what it depends on is known once it is read.
            let marked = self.changes.total();
            let validated = Arc::new(self.read(db, now, key).await?);
            if let Some(dependency) = self.dependencies.get(&key.target)
                && self.changes.total() == marked
            {
                self.validations
                    .insert((key.clone(), epoch(&dependency)), Arc::clone(&validated))
                    .await;
            }
            return Ok(validated);
        };
        self.validations
            .try_get_with((key.clone(), epoch(&dependency)), async {
                self.read(db, now, key).await.map(Arc::new)
            })
            .await
            .map_err(shared_error)
    }

    /// Reads the validators from the database.
    async fn read(&self, db: &Db, now: DateTime<Utc>, key: &FeedKey) -> Result<Validated> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let conn = db.reader();
        let owner = owner::read(conn, &key.target).await?;
        // Read before the counters, so a change in between is only ever counted early.
        self.dependencies.insert(key.target.clone(), owner.dependency.clone());
        let stamp = stamps::read(conn, &owner.dependency).await?;
        Ok(self.validated(key, owner, stamp, now))
    }

    /// The rendered feed, assembled if no request has since its last change; a feed with
    /// more events than [`FeedSettings::max_events`] is refused, naming narrower feeds.
    pub async fn body(&self, db: &Db, validated: &Validated, now: DateTime<Utc>) -> Result<Arc<Body>> {
        let assembled = self
            .events
            .body(db.reader(), validated, self.settings.max_events, || {
                self.renders.fetch_add(1, Ordering::Relaxed);
            })
            .await?;
        match assembled {
            Ok(body) => Ok(body),
            Err(events) => Err(self.too_large(db, validated, events, now).await?),
        }
    }

    /// For a feed (with default options) too large to subscribe to, the feeds to offer
    /// instead; `None` for a feed that can be subscribed to as it is.
    pub async fn narrower_than(&self, db: &Db, target: &Target, now: DateTime<Utc>) -> Result<Option<Vec<FeedLink>>> {
        let key = FeedKey {
            target: target.clone(),
            params: Params::default(),
        };
        let validated = self.validate(db, now, &key).await?;
        match self.body(db, &validated, now).await {
            Ok(_) => Ok(None),
            Err(Error::FeedTooLarge { narrower, .. }) => Ok(Some(narrower)),
            Err(other) => Err(other),
        }
    }

    /// The refusal of a feed over the limit, with feeds that show less of it.
    async fn too_large(&self, db: &Db, validated: &Validated, events: usize, now: DateTime<Utc>) -> Result<Error> {
        let target = &validated.plan.target;
        let mut narrower: Vec<FeedLink> = owner::narrower(db.reader(), target)
            .await?
            .into_iter()
            .map(|(target, title)| self.link(&target, title, ""))
            .collect();
        let today = now.date_naive();
        let month = today + Days::new(30);
        narrower.push(self.link(
            target,
            format!("{}（{today} 起 30 天）", validated.title),
            &format!("?from={today}&to={month}"),
        ));
        Ok(Error::FeedTooLarge {
            events,
            limit: self.settings.max_events as usize,
            narrower,
        })
    }

    fn link(&self, target: &Target, title: String, query: &str) -> FeedLink {
        FeedLink {
            title,
            url: format!("{}{query}", self.feed_url(target)),
            webcal: format!("{}{query}", self.webcal_url(target)),
        }
    }

    /// The part of time a feed covers, from the request or the settings. Bounds given as
    /// instants are widened to whole days in the feed's zone, so that subscribers asking from
    /// nearby times share one rendered body.
    fn window(&self, now: DateTime<Utc>, zone: Zone, params: &Params) -> Window {
        let start_of_today = now.date_naive().and_time(NaiveTime::MIN).and_utc();
        let day_of = |at: DateTime<Utc>| at.with_timezone(&zone.tz()).date_naive();
        let from = match params.from {
            None => start_of_today - Days::new(u64::from(self.settings.past_days)),
            Some(Bound::Day(day)) => Bound::Day(day).instant(zone),
            Some(Bound::Instant(at)) => Bound::Day(day_of(at)).instant(zone),
        };
        let to = match params.to {
            None => start_of_today + Days::new(u64::from(self.settings.future_days)),
            Some(Bound::Day(day)) => Bound::Day(day).instant(zone),
            Some(Bound::Instant(at)) => {
                let day = Bound::Day(day_of(at)).instant(zone);
                if day == at {
                    at
                } else {
                    Bound::Day(day_of(at) + Days::new(1)).instant(zone)
                }
            }
        };
        Window {
            from,
            to: to.max(from),
            cancelled_since: start_of_today - Days::new(u64::from(self.settings.cancelled_days)),
        }
    }

    /// Derives the validators from the owner and its change stamp.
    fn validated(&self, key: &FeedKey, owner: Owner, stamp: stamps::Stamp, now: DateTime<Utc>) -> Validated {
        let Owner {
            name,
            description,
            zone,
            scope,
            dependency: _,
            audience,
            stamp: owner_stamp,
            changed,
            file_id,
            mut deadlines,
        } = owner;
        let zone = Zone::from_stored(&zone);
        let window = self.window(now, zone, &key.params);
        deadlines.retain(|d| d.due >= window.from && d.due < window.to);
        let today = now.date_naive();
        let start_of_today = today.and_time(NaiveTime::MIN).and_utc();
        let alarms = key.params.alarms.clone().unwrap_or_else(|| match audience {
            Audience::Personal => PERSONAL_ALARMS.to_vec(),
            _ => Vec::new(),
        });
        let mut digest = Sha256::new();
        let identity = format!(
            "{}|{}/{}|{alarms:?}|{owner_stamp:?}|{deadlines:?}|{scope:?}|{window:?}|{}|{:?}|{today}",
            super::render::PRODID,
            key.target.collection(),
            key.target.name(),
            stamp.sum,
            self.settings,
        );
        digest.update(identity.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(&digest.finalize()[..15]);
        let deadlines_changed = deadlines.iter().map(|d| d.changed).max();
        let last_modified = [stamp.changed, Some(changed), deadlines_changed, Some(start_of_today)]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(start_of_today);
        let source = self.feed_url(&key.target);
        Validated {
            etag: format!("\"{tag}\""),
            gzip_etag: format!("\"{tag}-gz\""),
            last_modified,
            filename: format!("sciday-{}-{}.ics", key.target.collection(), file_id),
            title: name.clone(),
            plan: Plan {
                target: key.target.clone(),
                scope,
                window,
                info: CalendarInfo {
                    name,
                    description,
                    time_zone: zone.name().to_owned(),
                    source,
                    deadlines,
                },
                options: Options {
                    audience,
                    alarms,
                    uid_domain: self.uid_domain.clone(),
                    public_url: self.public_url().to_owned(),
                },
            },
        }
    }
}

/// When validators were read: they are trusted while all of this stays the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Epoch {
    /// Where the changes the feed depends on stand.
    standing: (u64, u64),
    /// The day (a feed's window starts a number of days back).
    day: NaiveDate,
    /// The recheck period, counted from the Unix epoch.
    period: i64,
}

/// An error shared by requests that waited for one read.
pub(super) fn shared_error(error: Arc<Error>) -> Error {
    match &*error {
        Error::NotFound(what) => Error::NotFound(what),
        other => Error::Internal(anyhow::anyhow!("reading a feed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feeds() -> Feeds {
        Feeds::new(
            FeedSettings::default(),
            std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
        )
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn instants_are_widened_to_whole_days_in_the_feed_zone() {
        let feeds = feeds();
        let zone = Zone::from_stored(DEFAULT_ZONE);
        let now = at("2026-05-01T00:00:00Z");
        let window = |from: &str, to: &str| {
            let params = Params {
                from: Some(Bound::parse("from", from).unwrap_or(Bound::Day(NaiveDate::MIN))),
                to: Some(Bound::parse("to", to).unwrap_or(Bound::Day(NaiveDate::MIN))),
                alarms: None,
            };
            feeds.window(now, zone, &params)
        };
        let morning = window("2026-05-30T09:00:00+08:00", "2026-05-31T10:00:00+08:00");
        let evening = window("2026-05-30T21:30:00+08:00", "2026-05-31T23:00:00+08:00");
        let days = window("2026-05-30", "2026-06-01");
        assert_eq!(morning, evening);
        assert_eq!(morning, days);
        assert_eq!(morning.from, at("2026-05-29T16:00:00Z"));
        assert_eq!(morning.to, at("2026-05-31T16:00:00Z"));
        // An instant at midnight is a whole day already.
        assert_eq!(window("2026-05-30", "2026-06-01T00:00:00+08:00"), days);
    }

    #[test]
    fn a_feed_without_bounds_ends_some_days_after_today() {
        let feeds = feeds();
        let window = feeds.window(
            at("2026-05-01T10:00:00Z"),
            Zone::from_stored(DEFAULT_ZONE),
            &Params::default(),
        );
        assert_eq!(window.from, at("2026-04-01T00:00:00Z"));
        assert_eq!(window.to, at("2027-06-05T00:00:00Z"));
    }
}
