//! What the volunteer endpoints read and write: the request and answer bodies, how a
//! volunteer is shown to each reader (personal data and secret links only to those who may
//! see them), and the checks of the lists a volunteer carries.

use chrono::{DateTime, NaiveDate, Utc};
use entity::volunteer::Model;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::patch::{Change, Patch};
use super::super::{Feeds, Target, feed_links};
use crate::auth::Actor;
use crate::domain::contact::{self, mask_mobile};
use crate::domain::field::{Checked, FieldError};
use crate::error::Result;
use crate::store::organizations;
use crate::store::volunteers::{self as store, Away, Details, Held, Membership};
use crate::validate;

pub(super) const TAGS_MAX: usize = 16;
pub(super) const TAG_LEN: usize = 32;
pub(super) const TEAMS_MAX: usize = 50;
pub(super) const QUALIFICATIONS_MAX: usize = 50;
pub(super) const UNAVAILABLE_MAX: usize = 200;

/// A team membership.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipIo {
    pub(super) team_id: i64,
    /// Whether the volunteer leads the team.
    #[serde(default)]
    pub(super) leader: bool,
    /// The team's page for its leader (`/v/{token}/teams/{id}`): today's roster, check-in and
    /// no-show. A secret like `page_url`, shown on leaders' memberships to those who see the
    /// volunteer's personal data; ignored on input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub(super) page_url: Option<String>,
}

/// A qualification, valid on the days given (inclusive) when they are set.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QualificationIo {
    /// E.g. 执业医师 (licensed physician) or 教师资格 (registered teacher).
    pub(super) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) valid_from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) valid_until: Option<NaiveDate>,
}

/// A time the volunteer cannot serve.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnavailableIn {
    /// RFC 3339 with offset.
    pub(super) starts_at: String,
    /// RFC 3339 with offset.
    pub(super) ends_at: String,
    pub(super) reason: Option<String>,
}

/// A time the volunteer cannot serve.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UnavailableOut {
    pub(super) starts_at: DateTime<Utc>,
    pub(super) ends_at: DateTime<Utc>,
    pub(super) reason: Option<String>,
}

/// A new volunteer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VolunteerIn {
    /// Stable key for imports, and the volunteer number on service records (the number the
    /// organization registered the volunteer under); generated when absent.
    pub(super) key: Option<String>,
    pub(super) name: String,
    /// Mainland mobile number.
    pub(super) mobile: Option<String>,
    pub(super) email: Option<String>,
    pub(super) organization_id: i64,
    /// Labels such as 医院院长 or 科学普及.
    #[serde(default)]
    pub(super) tags: Vec<String>,
    #[serde(default)]
    pub(super) teams: Vec<MembershipIo>,
    #[serde(default)]
    pub(super) qualifications: Vec<QualificationIo>,
    #[serde(default)]
    pub(super) unavailable: Vec<UnavailableIn>,
}

/// Changes to a volunteer; lists given replace the stored ones.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VolunteerPatch {
    #[serde(default)]
    pub(super) name: Change<String>,
    #[serde(default)]
    pub(super) mobile: Patch<String>,
    #[serde(default)]
    pub(super) email: Patch<String>,
    #[serde(default)]
    pub(super) organization_id: Change<i64>,
    #[serde(default)]
    pub(super) tags: Patch<Vec<String>>,
    #[serde(default)]
    pub(super) teams: Patch<Vec<MembershipIo>>,
    #[serde(default)]
    pub(super) qualifications: Patch<Vec<QualificationIo>>,
    #[serde(default)]
    pub(super) unavailable: Patch<Vec<UnavailableIn>>,
}

/// A volunteer as the reader may see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct VolunteerOut {
    pub(super) id: i64,
    pub(super) key: String,
    pub(super) name: String,
    /// In full for those who manage the volunteer, `138****1234` for everyone else.
    pub(super) mobile: Option<String>,
    /// Only for those who manage the volunteer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) email: Option<String>,
    pub(super) organization_id: i64,
    pub(super) tags: Vec<String>,
    pub(super) teams: Vec<MembershipIo>,
    pub(super) qualifications: Vec<QualificationIo>,
    /// Only for those who manage the volunteer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) unavailable: Option<Vec<UnavailableOut>>,
    pub(super) version: i32,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
    /// The calendar feed (iCalendar); only for those who see personal data. The link is a secret: whoever has it reads the volunteer's schedule until it is rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) feed_url: Option<String>,
    /// The same feed as a `webcal://` link, which calendar apps open as a subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) webcal_url: Option<String>,
    /// The volunteer's personal page (`/v/{token}`), to send them by SMS or chat: their
    /// assignments with 确认 and 请假 buttons, their calendar and check-in codes. A secret, for
    /// those who see personal data; renewed by `POST /volunteers/{id}/page-token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) page_url: Option<String>,
}

impl VolunteerOut {
    fn new(model: Model, details: Details, full: bool, feeds: &Feeds) -> Self {
        let links = model
            .feed_token
            .clone()
            .filter(|_| full)
            .map(|token| feed_links(feeds, Target::Volunteer(token)));
        let (feed_url, webcal_url) = links.unzip();
        let page_token = model.page_token.clone().filter(|_| full);
        let public_url = feeds.public_url();
        Self {
            feed_url,
            webcal_url,
            page_url: page_token
                .as_deref()
                .map(|token| crate::web::volunteer_url(public_url, token)),
            tags: store::tags(&model),
            mobile: model.mobile.map(|m| if full { m } else { mask_mobile(&m) }),
            email: model.email.filter(|_| full),
            teams: details
                .teams
                .iter()
                .map(|m| MembershipIo {
                    team_id: m.team_id,
                    leader: m.leader,
                    page_url: page_token
                        .as_deref()
                        .filter(|_| m.leader)
                        .map(|token| crate::web::leader_url(public_url, token, m.team_id)),
                })
                .collect(),
            qualifications: details
                .qualifications
                .iter()
                .map(|q| QualificationIo {
                    name: q.name.clone(),
                    valid_from: q.valid_from,
                    valid_until: q.valid_until,
                })
                .collect(),
            unavailable: full.then(|| {
                details
                    .unavailable
                    .into_iter()
                    .map(|a| UnavailableOut {
                        starts_at: a.window.start(),
                        ends_at: a.window.end(),
                        reason: a.reason,
                    })
                    .collect()
            }),
            id: model.id,
            key: model.key,
            name: model.name,
            organization_id: model.organization_id,
            version: model.version,
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }
}

/// Whether `actor` sees a volunteer's personal data: admins, organizers of the volunteer's
/// organization, and the volunteer.
pub(in crate::http) fn sees_personal_data(actor: &Actor, volunteer_id: i64, organization_path: Option<&str>) -> bool {
    match actor {
        Actor::Volunteer { volunteer_id: own, .. } => *own == volunteer_id,
        other => organization_path.is_some_and(|path| other.manages(path)),
    }
}

/// The volunteers as `actor` may see them.
pub(super) async fn present(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    models: Vec<Model>,
    feeds: &Feeds,
) -> Result<Vec<VolunteerOut>> {
    let ids: Vec<i64> = models.iter().map(|v| v.id).collect();
    let organizations: Vec<i64> = models.iter().map(|v| v.organization_id).collect();
    let paths = organizations::paths(conn, &organizations).await?;
    let mut details = store::details(conn, &ids).await?;
    Ok(models
        .into_iter()
        .map(|v| {
            let full = sees_personal_data(actor, v.id, paths.get(&v.organization_id).map(String::as_str));
            let own = details.remove(&v.id).unwrap_or_default();
            VolunteerOut::new(v, own, full, feeds)
        })
        .collect())
}

pub(super) async fn present_one(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    model: Model,
    feeds: &Feeds,
) -> Result<VolunteerOut> {
    let mut out = present(conn, actor, vec![model], feeds).await?;
    Ok(out.remove(0))
}

/// The new contents of a list in a patch: the stored one when absent, empty for `null`.
pub(super) fn replace<I, T: Clone>(
    patch: Patch<Vec<I>>,
    stored: &[T],
    parse: fn(&[I]) -> Checked<Vec<T>>,
) -> Checked<Vec<T>> {
    match patch {
        Patch::Absent => Ok(stored.to_vec()),
        Patch::Null => Ok(Vec::new()),
        Patch::Value(given) => parse(&given),
    }
}

pub(super) fn optional_mobile(value: Option<&str>) -> Result<Option<String>, FieldError> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| contact::mobile("mobile", v))
        .transpose()
}

pub(super) fn optional_email(value: Option<&str>) -> Result<Option<String>, FieldError> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| contact::email("email", v))
        .transpose()
}

/// All three lists of a new volunteer.
pub(super) fn details(
    teams: &[MembershipIo],
    qualifications: &[QualificationIo],
    unavailable: &[UnavailableIn],
) -> Checked<Details> {
    validate! {
        teams = memberships(teams),
        qualifications = held(qualifications),
        unavailable = away(unavailable),
    }
    Ok(Details {
        teams,
        qualifications,
        unavailable,
    })
}

pub(super) fn memberships(given: &[MembershipIo]) -> Checked<Vec<Membership>> {
    if given.len() > TEAMS_MAX {
        return Err(vec![FieldError::new(
            "teams",
            "too_many",
            format!("at most {TEAMS_MAX} teams"),
        )]);
    }
    Ok(given
        .iter()
        .map(|m| Membership {
            team_id: m.team_id,
            leader: m.leader,
        })
        .collect())
}

pub(super) fn held(given: &[QualificationIo]) -> Checked<Vec<Held>> {
    if given.len() > QUALIFICATIONS_MAX {
        let message = format!("at most {QUALIFICATIONS_MAX} qualifications");
        return Err(vec![FieldError::new("qualifications", "too_many", message)]);
    }
    store::parse_all(given, |i, q| {
        Held::parse(&format!("qualifications[{i}]"), &q.name, q.valid_from, q.valid_until)
    })
}

pub(super) fn away(given: &[UnavailableIn]) -> Checked<Vec<Away>> {
    if given.len() > UNAVAILABLE_MAX {
        let message = format!("at most {UNAVAILABLE_MAX} windows");
        return Err(vec![FieldError::new("unavailable", "too_many", message)]);
    }
    store::parse_all(given, |i, u| {
        Away::parse(
            &format!("unavailable[{i}]"),
            &u.starts_at,
            &u.ends_at,
            u.reason.as_deref(),
        )
    })
}
