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

/// Everything the rules look at.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    pub now: DateTime<Utc>,
    pub travel_buffer: TimeDelta,
    pub slot: Slot,
    pub session_cancelled: bool,
    pub needed: i32,
    /// Active assignments the role holds now.
    pub filled: u64,
    /// The required team: its id and path.
    pub team: Option<(i64, &'a str)>,
    pub required: &'a [String],
    /// Paths of the teams the volunteer belongs to.
    pub member_of: &'a [String],
    pub held: &'a [Held],
    pub commitments: &'a [Commitment],
    /// Unavailability windows with their ids.
    pub unavailable: &'a [(i64, TimeWindow)],
}

/// Every rule the assignment would break; empty when it may go ahead.
pub fn check(facts: &Facts<'_>) -> Vec<Violation> {
    let mut broken = Vec::new();
    if facts.session_cancelled {
        broken.push(Violation::new(Rule::SessionCancelled, "the session is cancelled"));
    }
    if facts.slot.window.end() <= facts.now {
        broken.push(Violation::new(Rule::SessionEnded, "the session is over"));
    }
    if facts.filled >= u64::try_from(facts.needed).unwrap_or(0) {
        broken.push(Violation::new(
            Rule::Capacity,
            format!("the role needs {} and has {} already", facts.needed, facts.filled),
        ));
    }
    if let Some((team_id, path)) = facts.team
        && !facts.member_of.iter().any(|member| member.starts_with(path))
    {
        broken.push(Violation {
            team_id: Some(team_id),
            ..Violation::new(Rule::Team, "the volunteer is not in the team the role requires")
        });
    }
    for name in facts.required {
        if !facts.held.iter().any(|q| covers(q, name, facts.slot)) {
            let expired = facts.held.iter().any(|q| q.name == *name);
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
    broken.extend(clashes(facts.slot, facts.commitments, facts.travel_buffer));
    for (id, window) in facts.unavailable {
        if window.overlaps(facts.slot.window) {
            broken.push(Violation {
                unavailability_id: Some(*id),
                ..Violation::new(Rule::Unavailable, "the volunteer is unavailable then")
            });
        }
    }
    broken
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

/// Hours counted for a session: its length, or 8 hours a day for all-day sessions (which
/// span whole days but are not served around the clock).
pub fn service_hours(slot: Slot, all_day: bool) -> f64 {
    if all_day {
        let days = (slot.last_day - slot.first_day).num_days() + 1;
        return 8.0 * days as f64;
    }
    (slot.window.end() - slot.window.start()).num_seconds() as f64 / 3600.0
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
mod tests {
    use super::*;

    const EVERY_RULE: [Rule; 7] = [
        Rule::Overlap,
        Rule::Capacity,
        Rule::Team,
        Rule::Qualification,
        Rule::Unavailable,
        Rule::SessionCancelled,
        Rule::SessionEnded,
    ];

    #[test]
    fn rule_names_are_spelled_as_in_refusals() {
        for rule in EVERY_RULE {
            assert_eq!(serde_json::to_value(rule).unwrap(), rule.name());
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn slot(session_id: i64, venue_id: i64, start: &str, end: &str) -> Slot {
        let window = TimeWindow::new(at(start), at(end)).unwrap();
        let day = window.start().date_naive();
        Slot {
            session_id,
            venue_id,
            window,
            first_day: day,
            last_day: day,
        }
    }

    fn facts<'a>(slot: Slot) -> Facts<'a> {
        Facts {
            now: at("2019-05-01T00:00:00Z"),
            travel_buffer: DEFAULT_TRAVEL_BUFFER,
            slot,
            session_cancelled: false,
            needed: 2,
            filled: 0,
            team: None,
            required: &[],
            member_of: &[],
            held: &[],
            commitments: &[],
            unavailable: &[],
        }
    }

    fn rules(violations: &[Violation]) -> Vec<Rule> {
        violations.iter().map(|v| v.rule).collect()
    }

    fn morning() -> Slot {
        slot(1, 10, "2019-05-28T01:00:00Z", "2019-05-28T03:00:00Z")
    }

    #[test]
    fn an_open_seat_for_a_free_volunteer_breaks_nothing() {
        assert!(check(&facts(morning())).is_empty());
    }

    #[test]
    fn every_broken_rule_is_reported_at_once() {
        let required = ["执业医师".to_owned()];
        let commitments = [Commitment {
            assignment_id: 7,
            slot: slot(2, 10, "2019-05-28T02:00:00Z", "2019-05-28T04:00:00Z"),
        }];
        let unavailable = [(
            3,
            TimeWindow::new(at("2019-05-28T00:00:00Z"), at("2019-05-28T01:30:00Z")).unwrap(),
        )];
        let all = Facts {
            now: at("2019-06-01T00:00:00Z"),
            session_cancelled: true,
            filled: 2,
            team: Some((5, "/5/")),
            required: &required,
            commitments: &commitments,
            unavailable: &unavailable,
            ..facts(morning())
        };
        let broken = check(&all);
        assert_eq!(
            rules(&broken),
            [
                Rule::SessionCancelled,
                Rule::SessionEnded,
                Rule::Capacity,
                Rule::Team,
                Rule::Qualification,
                Rule::Overlap,
                Rule::Unavailable
            ]
        );
        assert_eq!(broken[5].assignment_id, Some(7));
        assert_eq!(broken[4].qualification.as_deref(), Some("执业医师"));
        assert_eq!(broken[6].unavailability_id, Some(3));
    }

    #[test]
    fn back_to_back_sessions_are_fine_at_one_venue_but_need_travel_time_between_two() {
        let next_door = [Commitment {
            assignment_id: 1,
            slot: slot(2, 10, "2019-05-28T03:00:00Z", "2019-05-28T04:00:00Z"),
        }];
        assert!(
            check(&Facts {
                commitments: &next_door,
                ..facts(morning())
            })
            .is_empty()
        );
        let across_town = [Commitment {
            assignment_id: 1,
            slot: slot(2, 11, "2019-05-28T03:20:00Z", "2019-05-28T04:00:00Z"),
        }];
        assert_eq!(
            rules(&check(&Facts {
                commitments: &across_town,
                ..facts(morning())
            })),
            [Rule::Overlap]
        );
        let far_enough = [Commitment {
            assignment_id: 1,
            slot: slot(2, 11, "2019-05-28T03:30:00Z", "2019-05-28T04:00:00Z"),
        }];
        assert!(
            check(&Facts {
                commitments: &far_enough,
                ..facts(morning())
            })
            .is_empty()
        );
    }

    #[test]
    fn a_sub_team_satisfies_a_team_requirement() {
        let member_of = ["/5/9/".to_owned()];
        assert!(
            check(&Facts {
                team: Some((5, "/5/")),
                member_of: &member_of,
                ..facts(morning())
            })
            .is_empty()
        );
        let sibling = ["/55/".to_owned()];
        let refused = check(&Facts {
            team: Some((5, "/5/")),
            member_of: &sibling,
            ..facts(morning())
        });
        assert_eq!(rules(&refused), [Rule::Team]);
    }

    #[test]
    fn a_qualification_must_be_valid_on_every_day_of_the_session() {
        let required = ["执业医师".to_owned()];
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
        let valid = [Held {
            name: "执业医师".into(),
            valid_from: day("2010-01-01"),
            valid_until: day("2019-05-28"),
        }];
        assert!(
            check(&Facts {
                required: &required,
                held: &valid,
                ..facts(morning())
            })
            .is_empty()
        );
        let expired = [Held {
            name: "执业医师".into(),
            valid_from: None,
            valid_until: day("2019-05-27"),
        }];
        let refused = check(&Facts {
            required: &required,
            held: &expired,
            ..facts(morning())
        });
        assert_eq!(rules(&refused), [Rule::Qualification]);
        assert!(refused[0].message.contains("not valid"));
    }

    #[test]
    fn hours_are_the_length_of_a_timed_session_and_eight_a_day_for_an_all_day_one() {
        assert!((service_hours(morning(), false) - 2.0).abs() < 1e-9);
        let mut week = morning();
        week.last_day = week.first_day + chrono::Days::new(4);
        assert!((service_hours(week, true) - 40.0).abs() < 1e-9);
    }

    #[test]
    fn only_overlap_team_qualification_and_unavailability_can_be_overridden() {
        let overridable: Vec<Rule> = EVERY_RULE.into_iter().filter(|r| r.overridable()).collect();
        assert_eq!(
            overridable,
            [Rule::Overlap, Rule::Team, Rule::Qualification, Rule::Unavailable]
        );
    }
}
