//! What names a feed: whose it is, and the options a request chose.

use crate::domain::time::Bound;
use chrono::TimeDelta;

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
    /// Start of the window (default: [`super::service::FeedSettings::past_days`] before today).
    pub from: Option<Bound>,
    /// End of the window (default: [`super::service::FeedSettings::future_days`] after today).
    pub to: Option<Bound>,
    /// Reminders before each event (default: none, or [`super::service::PERSONAL_ALARMS`] for
    /// personal feeds).
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
