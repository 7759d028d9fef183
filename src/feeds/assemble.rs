//! Putting a feed's body together from events rendered before.
//!
//! Each event's text is kept by what it shows: the session, the versions of the records it
//! comes from, the assignments it counts and the feed's options. A body is assembled by
//! reading only the stamps of the feed's rows ([`rows::stamps`]), rendering the events whose
//! text is not kept, and joining the texts in order, so after one session changes, one event
//! is rendered. Bodies are kept by ETag in a cache bounded in bytes, and concurrent requests
//! for one ETag wait for a single assembly.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use chrono::TimeDelta;
use sea_orm::ConnectionTrait;

use super::render::{self, Audience};
use super::service::{Validated, shared_error};
use crate::error::{Error, Result};
use crate::metrics::{self, Cache};
use crate::store::feeds::{self as rows, EventStamp, Versions};

/// A rendered feed, plain and (once asked for) gzipped.
#[derive(Debug)]
pub struct Body {
    /// The iCalendar text.
    pub plain: Bytes,
    gzip: tokio::sync::OnceCell<Bytes>,
}

impl Body {
    fn new(text: String) -> Self {
        Self {
            plain: Bytes::from(text),
            gzip: tokio::sync::OnceCell::new(),
        }
    }

    /// The gzipped text, compressed on first use off the async threads and kept.
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

/// What an event's text depends on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct EventKey {
    audience: Audience,
    alarms: Vec<TimeDelta>,
    session: i64,
    versions: Versions,
    /// Id, version and role version of each assignment the event counts.
    assignments: Vec<(i64, i32, i32)>,
}

/// A body, or how many events made it too large to send.
#[derive(Debug)]
enum Assembled {
    Body(Arc<Body>),
    TooLarge(usize),
}

/// The kept bodies and event texts.
pub struct Events {
    bodies: moka::future::Cache<String, Arc<Assembled>>,
    texts: moka::sync::Cache<EventKey, Arc<str>>,
    rendered: std::sync::atomic::AtomicU64,
}

impl Events {
    /// Caches holding about `bytes` of bodies and half as much of event texts.
    pub fn new(bytes: u64) -> Self {
        let weight = |len: usize| u32::try_from(len).unwrap_or(u32::MAX);
        Self {
            bodies: moka::future::Cache::builder()
                .max_capacity(bytes)
                .weigher(move |_, assembled: &Arc<Assembled>| match &**assembled {
                    // The gzip copy, when made, is about a fifth of the plain text.
                    Assembled::Body(body) => weight(body.plain.len() + body.plain.len() / 5),
                    Assembled::TooLarge(_) => 64,
                })
                .build(),
            texts: moka::sync::Cache::builder()
                .max_capacity(bytes / 2)
                .weigher(move |_, text: &Arc<str>| weight(text.len() + 64))
                .build(),
            rendered: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many events were rendered since start (a feed rendered whole counts its events).
    pub fn rendered(&self) -> u64 {
        self.rendered.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count(&self, events: usize) {
        self.rendered
            .fetch_add(events as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// The body of `validated`, from the cache or assembled; `Err(events)` when the feed has
    /// more than `max_events`. `rendered` is called for each assembly.
    pub async fn body(
        &self,
        conn: &impl ConnectionTrait,
        validated: &Validated,
        max_events: u32,
        rendered: impl Fn(),
    ) -> Result<std::result::Result<Arc<Body>, usize>> {
        let mut assembled_here = false;
        let assemble = async {
            assembled_here = true;
            let started = std::time::Instant::now();
            let assembled = self.assemble(conn, validated, max_events as usize).await?;
            rendered();
            metrics::rendered(Cache::Feed, started.elapsed());
            Ok::<_, Error>(Arc::new(assembled))
        };
        let assembled = self
            .bodies
            .try_get_with(validated.etag.clone(), assemble)
            .await
            .map_err(shared_error)?;
        metrics::looked_up(Cache::Feed, !assembled_here);
        Ok(match &*assembled {
            Assembled::Body(body) => Ok(Arc::clone(body)),
            Assembled::TooLarge(events) => Err(*events),
        })
    }

    async fn assemble(&self, conn: &impl ConnectionTrait, validated: &Validated, max: usize) -> Result<Assembled> {
        let plan = &validated.plan;
        let options = &plan.options;
        if options.audience == Audience::Personal {
            // One subscriber, a few events: rendered whole.
            let rows = rows::events(conn, &plan.scope, &plan.window).await?;
            if rows.len() > max {
                return Ok(Assembled::TooLarge(rows.len()));
            }
            self.count(rows.len());
            return Ok(Assembled::Body(Arc::new(Body::new(render::render(
                &plan.info, &rows, options,
            )))));
        }
        // Team feeds have a row per assignment; a session rarely has more than a few.
        let limit = if plan.scope.is_staffed() {
            4 * (max + 1)
        } else {
            max + 1
        };
        let stamps = rows::stamps(conn, &plan.scope, &plan.window, limit).await?;
        let items = group(&stamps, options.audience, &options.alarms);
        if items.len() > max || stamps.len() == limit {
            // Reading stopped at the limit: there are more than counted.
            return Ok(Assembled::TooLarge(items.len().max(max + 1)));
        }
        let missing: Vec<i64> = items
            .iter()
            .filter(|key| !self.texts.contains_key(*key))
            .map(|key| key.session)
            .collect();
        let mut fresh: HashMap<i64, Arc<str>> = HashMap::with_capacity(missing.len());
        if !missing.is_empty() {
            let rows = rows::events_of(conn, &plan.scope, &plan.window, &missing).await?;
            let mut rows_by_session: Vec<_> = rows.iter().collect();
            rows_by_session.sort_by_key(|row| row.id);
            let rows: Vec<_> = rows_by_session.into_iter().cloned().collect();
            for item in render::items(&rows, options.audience) {
                let key = EventKey {
                    audience: options.audience,
                    alarms: options.alarms.clone(),
                    session: item.row.id,
                    versions: item.row.versions,
                    assignments: item
                        .assignments
                        .iter()
                        .map(|a| (a.id, a.version, a.role_version))
                        .collect(),
                };
                let text: Arc<str> = render::event(&item, options).into();
                self.count(1);
                self.texts.insert(key, Arc::clone(&text));
                fresh.insert(item.row.id, text);
            }
        }
        let mut writer = render::head(&plan.info, stamps.iter().map(|s| &s.times), items.len());
        for key in &items {
            // A session changed since its stamp was read shows as it is now.
            let text = fresh.get(&key.session).cloned().or_else(|| self.texts.get(key));
            if let Some(text) = text {
                writer.written(&text);
            }
        }
        Ok(Assembled::Body(Arc::new(Body::new(render::tail(
            writer, &plan.info, options,
        )))))
    }
}

/// The feed's events in order, each with what its text depends on. A team's rows (one per
/// assignment) make one event per session.
fn group(stamps: &[EventStamp], audience: Audience, alarms: &[TimeDelta]) -> Vec<EventKey> {
    let mut items: Vec<EventKey> = Vec::with_capacity(stamps.len());
    for stamp in stamps {
        if audience == Audience::Team
            && let Some(last) = items.last_mut()
            && last.session == stamp.id
        {
            last.assignments.extend(stamp.assignment);
            continue;
        }
        items.push(EventKey {
            audience,
            alarms: alarms.to_vec(),
            session: stamp.id,
            versions: stamp.versions,
            assignments: stamp.assignment.into_iter().collect(),
        });
    }
    items
}
