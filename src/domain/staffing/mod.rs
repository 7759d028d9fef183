//! The staffing rules: whether a volunteer may take a seat in a session role.
//!
//! [`check`] looks at facts gathered inside the assigning transaction and returns every rule
//! the assignment would break, so a refusal can name them all at once. The same overlap test
//! serves [`clashes`], which finds the assignments a moved session now collides with.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::time::TimeWindow;

/// Default time a volunteer needs between sessions at different venues.
pub const DEFAULT_TRAVEL_BUFFER: TimeDelta = TimeDelta::minutes(30);

/// A staffing rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The volunteer is already busy then (travel time between venues included).
    Overlap,
    /// The role already has as many volunteers as it needs.
    Capacity,
    /// The volunteer is not in the team the role requires (or one below it).
    Team,
    /// The volunteer lacks a qualification the role requires, valid on the session's days.
    Qualification,
    /// The volunteer said they cannot serve then.
    Unavailable,
    /// The session is cancelled.
    SessionCancelled,
    /// The session is over.
    SessionEnded,
}

impl Rule {
    /// Every rule, in the order they are listed to people.
    pub const ALL: [Self; 7] = [
        Self::SessionCancelled,
        Self::SessionEnded,
        Self::Capacity,
        Self::Team,
        Self::Qualification,
        Self::Overlap,
        Self::Unavailable,
    ];

    /// Whether an admin may set the rule aside (with a reason).
    pub fn overridable(self) -> bool {
        matches!(
            self,
            Self::Overlap | Self::Team | Self::Qualification | Self::Unavailable
        )
    }

    /// The rule's name, as the API spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Overlap => "overlap",
            Self::Capacity => "capacity",
            Self::Team => "team",
            Self::Qualification => "qualification",
            Self::Unavailable => "unavailable",
            Self::SessionCancelled => "session_cancelled",
            Self::SessionEnded => "session_ended",
        }
    }
}

/// One broken rule, with the records involved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Violation {
    pub rule: Rule,
    /// What is wrong, for people.
    pub message: String,
    /// The volunteer's assignment that collides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment_id: Option<i64>,
    /// The session of that assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<i64>,
    /// The team the role requires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<i64>,
    /// The missing qualification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualification: Option<String>,
    /// The unavailability window in the way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailability_id: Option<i64>,
}

impl Violation {
    fn new(rule: Rule, message: impl Into<String>) -> Self {
        Self {
            rule,
            message: message.into(),
            assignment_id: None,
            session_id: None,
            team_id: None,
            qualification: None,
            unavailability_id: None,
        }
    }
}

/// The session an assignment is for.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    pub session_id: i64,
    pub venue_id: i64,
    pub window: TimeWindow,
    /// Local first and last day, for qualification validity.
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

/// Something already in the volunteer's calendar: another active assignment.
#[derive(Clone, Copy, Debug)]
pub struct Commitment {
    pub assignment_id: i64,
    pub slot: Slot,
}

/// A qualification the volunteer holds.
#[derive(Clone, Debug)]
pub struct Held {
    pub name: String,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

/// The role the volunteer would take, as it stands: its session, its seats and what it asks
/// of whoever takes it. The same for every volunteer judged for the role.
#[derive(Clone, Debug)]
pub struct Seat {
    pub slot: Slot,
    /// The session is cancelled or deleted.
    pub session_cancelled: bool,
    pub needed: i32,
    /// Active assignments the role holds now.
    pub filled: u64,
    /// The team the role requires.
    pub team: Option<RequiredTeam>,
    /// Qualifications the role requires.
    pub required: Vec<String>,
}

/// The team a role requires: a volunteer in it or in a team below it qualifies.
#[derive(Clone, Debug)]
pub struct RequiredTeam {
    pub id: i64,
    pub path: String,
    pub name: String,
}

/// What the rules weigh about one volunteer around the seat's time.
#[derive(Clone, Copy, Debug, Default)]
pub struct Person<'a> {
    /// Paths of the teams the volunteer belongs to.
    pub member_of: &'a [String],
    pub held: &'a [Held],
    /// Active assignments near the seat's session.
    pub commitments: &'a [Commitment],
    /// Unavailability windows with their ids.
    pub unavailable: &'a [(i64, TimeWindow)],
}

/// Everything the rules look at: a seat and a volunteer, at `now`.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub now: DateTime<Utc>,
    pub travel_buffer: TimeDelta,
    pub seat: &'a Seat,
    pub person: Person<'a>,
}

/// Every rule the assignment would break; empty when it may go ahead.
pub fn check(facts: &Facts<'_>) -> Vec<Violation> {
    let (seat, person) = (facts.seat, facts.person);
    let mut broken = Vec::new();
    if seat.session_cancelled {
        broken.push(Violation::new(Rule::SessionCancelled, "the session is cancelled"));
    }
    if ended(seat, facts.now) {
        broken.push(Violation::new(Rule::SessionEnded, "the session is over"));
    }
    if !seat_free(seat) {
        broken.push(Violation::new(
            Rule::Capacity,
            format!("the role needs {} and has {} already", seat.needed, seat.filled),
        ));
    }
    if let Some(team) = &seat.team
        && !in_team(team, person)
    {
        broken.push(Violation {
            team_id: Some(team.id),
            ..Violation::new(Rule::Team, "the volunteer is not in the team the role requires")
        });
    }
    for name in &seat.required {
        if !person.held.iter().any(|q| covers(q, name, seat.slot)) {
            let expired = person.held.iter().any(|q| q.name == *name);
            let message = if expired {
                format!("the volunteer's {name} is not valid on the session's days")
            } else {
                format!("the role requires {name}")
            };
            broken.push(Violation {
                qualification: Some(name.clone()),
                ..Violation::new(Rule::Qualification, message)
            });
        }
    }
    broken.extend(clashes(seat.slot, person.commitments, facts.travel_buffer));
    for (id, window) in person.unavailable {
        if window.overlaps(seat.slot.window) {
            broken.push(Violation {
                unavailability_id: Some(*id),
                ..Violation::new(Rule::Unavailable, "the volunteer is unavailable then")
            });
        }
    }
    broken
}

/// Why a volunteer who breaks no rule may take the seat: one line for every rule, in the
/// order of [`Rule::ALL`], for people choosing among candidates.
pub fn kept(facts: &Facts<'_>) -> Vec<String> {
    let seat = facts.seat;
    Rule::ALL
        .iter()
        .map(|rule| match rule {
            Rule::Overlap => "free at that time, travel between venues included".to_owned(),
            Rule::Capacity => format!("a seat is free: {} of {} taken", seat.filled, seat.needed),
            Rule::Team => match &seat.team {
                Some(team) => format!("member of {} or a team below it", team.name),
                None => "no team required".to_owned(),
            },
            Rule::Qualification if seat.required.is_empty() => "no qualification required".to_owned(),
            Rule::Qualification => {
                let held: Vec<String> = seat
                    .required
                    .iter()
                    .map(|name| {
                        let until = facts
                            .person
                            .held
                            .iter()
                            .filter(|q| covers(q, name, seat.slot))
                            .find_map(|q| q.valid_until);
                        match until {
                            Some(until) => format!("{name} (valid until {until})"),
                            None => name.clone(),
                        }
                    })
                    .collect();
                format!("holds {}", held.join(", "))
            }
            Rule::Unavailable => "has not said they are unavailable then".to_owned(),
            Rule::SessionCancelled => "the session goes ahead".to_owned(),
            Rule::SessionEnded => "the session has not ended".to_owned(),
        })
        .collect()
}

/// Whether the seat is closed to everyone at `now`: the session is cancelled or over, or the
/// role is full. Nobody is eligible then, whoever they are.
pub fn closed(seat: &Seat, now: DateTime<Utc>) -> bool {
    seat.session_cancelled || ended(seat, now) || !seat_free(seat)
}

fn ended(seat: &Seat, now: DateTime<Utc>) -> bool {
    seat.slot.window.end() <= now
}

fn seat_free(seat: &Seat) -> bool {
    seat.filled < u64::try_from(seat.needed).unwrap_or(0)
}

fn in_team(team: &RequiredTeam, person: Person<'_>) -> bool {
    person.member_of.iter().any(|member| member.starts_with(&team.path))
}

/// The commitments `slot` collides with: overlapping in time, or too close to reach when the
/// venues differ.
pub fn clashes(slot: Slot, commitments: &[Commitment], travel_buffer: TimeDelta) -> Vec<Violation> {
    commitments
        .iter()
        .filter(|c| collide(slot, c.slot, travel_buffer))
        .map(|c| Violation {
            assignment_id: Some(c.assignment_id),
            session_id: Some(c.slot.session_id),
            ..Violation::new(
                Rule::Overlap,
                if c.slot.venue_id == slot.venue_id || c.slot.window.overlaps(slot.window) {
                    format!(
                        "the volunteer is already assigned to session {} at that time",
                        c.slot.session_id
                    )
                } else {
                    format!(
                        "session {} at another venue is less than {} minutes away",
                        c.slot.session_id,
                        travel_buffer.num_minutes()
                    )
                },
            )
        })
        .collect()
}

fn collide(a: Slot, b: Slot, travel_buffer: TimeDelta) -> bool {
    let buffer = if a.venue_id == b.venue_id {
        TimeDelta::zero()
    } else {
        travel_buffer
    };
    a.window.start() < b.window.end() + buffer && b.window.start() < a.window.end() + buffer
}

fn covers(held: &Held, name: &str, slot: Slot) -> bool {
    held.name == name
        && held.valid_from.is_none_or(|from| from <= slot.first_day)
        && held.valid_until.is_none_or(|until| until >= slot.last_day)
}

#[cfg(test)]
mod tests;
