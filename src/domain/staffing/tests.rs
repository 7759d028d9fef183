use super::*;

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

fn seat(slot: Slot) -> Seat {
    Seat {
        slot,
        session_cancelled: false,
        needed: 2,
        filled: 0,
        team: None,
        required: Vec::new(),
    }
}

fn team() -> Option<RequiredTeam> {
    Some(RequiredTeam {
        id: 5,
        path: "/5/".to_owned(),
        name: "科普大篷车志愿者服务团".to_owned(),
    })
}

/// The rules broken by `person` for `seat`, on 1 May 2019.
fn judged(seat: &Seat, person: Person<'_>) -> Vec<Violation> {
    check(&Facts {
        now: at("2019-05-01T00:00:00Z"),
        travel_buffer: DEFAULT_TRAVEL_BUFFER,
        seat,
        person,
    })
}

fn rules(violations: &[Violation]) -> Vec<Rule> {
    violations.iter().map(|v| v.rule).collect()
}

fn morning() -> Slot {
    slot(1, 10, "2019-05-28T01:00:00Z", "2019-05-28T03:00:00Z")
}

#[test]
fn an_open_seat_for_a_free_volunteer_breaks_nothing() {
    assert!(judged(&seat(morning()), Person::default()).is_empty());
}

#[test]
fn every_broken_rule_is_reported_at_once() {
    let commitments = [Commitment {
        assignment_id: 7,
        slot: slot(2, 10, "2019-05-28T02:00:00Z", "2019-05-28T04:00:00Z"),
    }];
    let unavailable = [(
        3,
        TimeWindow::new(at("2019-05-28T00:00:00Z"), at("2019-05-28T01:30:00Z")).unwrap(),
    )];
    let full = Seat {
        session_cancelled: true,
        filled: 2,
        team: team(),
        required: vec!["执业医师".to_owned()],
        ..seat(morning())
    };
    let broken = check(&Facts {
        now: at("2019-06-01T00:00:00Z"),
        travel_buffer: DEFAULT_TRAVEL_BUFFER,
        seat: &full,
        person: Person {
            commitments: &commitments,
            unavailable: &unavailable,
            ..Person::default()
        },
    });
    assert_eq!(rules(&broken), Rule::ALL);
    assert_eq!(broken[5].assignment_id, Some(7));
    assert_eq!(broken[4].qualification.as_deref(), Some("执业医师"));
    assert_eq!(broken[6].unavailability_id, Some(3));
}

#[test]
fn a_full_role_and_a_finished_session_refuse_everyone() {
    let full = Seat {
        filled: 2,
        ..seat(morning())
    };
    assert_eq!(rules(&judged(&full, Person::default())), [Rule::Capacity]);
    let over = check(&Facts {
        now: at("2019-05-28T03:00:00Z"),
        travel_buffer: DEFAULT_TRAVEL_BUFFER,
        seat: &seat(morning()),
        person: Person::default(),
    });
    assert_eq!(rules(&over), [Rule::SessionEnded]);
}

#[test]
fn a_seat_is_closed_exactly_when_a_rule_about_it_alone_is_broken() {
    let now = at("2019-05-01T00:00:00Z");
    assert!(!closed(&seat(morning()), now));
    assert!(closed(
        &Seat {
            filled: 2,
            ..seat(morning())
        },
        now
    ));
    assert!(closed(
        &Seat {
            session_cancelled: true,
            ..seat(morning())
        },
        now
    ));
    assert!(closed(&seat(morning()), at("2019-05-28T03:00:00Z")));
    // Rules about the person do not close the seat.
    assert!(!closed(
        &Seat {
            team: team(),
            required: vec!["执业医师".to_owned()],
            ..seat(morning())
        },
        now
    ));
}

#[test]
fn back_to_back_sessions_are_fine_at_one_venue_but_need_travel_time_between_two() {
    let seat = seat(morning());
    let with = |commitments: &[Commitment]| {
        rules(&judged(
            &seat,
            Person {
                commitments,
                ..Person::default()
            },
        ))
    };
    let next_door = [Commitment {
        assignment_id: 1,
        slot: slot(2, 10, "2019-05-28T03:00:00Z", "2019-05-28T04:00:00Z"),
    }];
    assert!(with(&next_door).is_empty());
    let across_town = [Commitment {
        assignment_id: 1,
        slot: slot(2, 11, "2019-05-28T03:20:00Z", "2019-05-28T04:00:00Z"),
    }];
    assert_eq!(with(&across_town), [Rule::Overlap]);
    let far_enough = [Commitment {
        assignment_id: 1,
        slot: slot(2, 11, "2019-05-28T03:30:00Z", "2019-05-28T04:00:00Z"),
    }];
    assert!(with(&far_enough).is_empty());
}

#[test]
fn a_sub_team_satisfies_a_team_requirement() {
    let seat = Seat {
        team: team(),
        ..seat(morning())
    };
    let member_of = ["/5/9/".to_owned()];
    let person = Person {
        member_of: &member_of,
        ..Person::default()
    };
    assert!(judged(&seat, person).is_empty());
    let sibling = ["/55/".to_owned()];
    let refused = judged(
        &seat,
        Person {
            member_of: &sibling,
            ..Person::default()
        },
    );
    assert_eq!(rules(&refused), [Rule::Team]);
}

#[test]
fn a_qualification_must_be_valid_on_every_day_of_the_session() {
    let seat = Seat {
        required: vec!["执业医师".to_owned()],
        ..seat(morning())
    };
    let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
    let valid = [Held {
        name: "执业医师".into(),
        valid_from: day("2010-01-01"),
        valid_until: day("2019-05-28"),
    }];
    let holding = |held| Person {
        held,
        ..Person::default()
    };
    assert!(judged(&seat, holding(&valid)).is_empty());
    let expired = [Held {
        name: "执业医师".into(),
        valid_from: None,
        valid_until: day("2019-05-27"),
    }];
    let refused = judged(&seat, holding(&expired));
    assert_eq!(rules(&refused), [Rule::Qualification]);
    assert!(refused[0].message.contains("not valid"));
}

#[test]
fn a_volunteer_who_breaks_nothing_is_told_why_for_every_rule() {
    let seat = Seat {
        filled: 1,
        team: team(),
        required: vec!["执业医师".to_owned()],
        ..seat(morning())
    };
    let member_of = ["/5/".to_owned()];
    let held = [Held {
        name: "执业医师".into(),
        valid_from: None,
        valid_until: NaiveDate::from_ymd_opt(2020, 1, 1),
    }];
    let facts = Facts {
        now: at("2019-05-01T00:00:00Z"),
        travel_buffer: DEFAULT_TRAVEL_BUFFER,
        seat: &seat,
        person: Person {
            member_of: &member_of,
            held: &held,
            ..Person::default()
        },
    };
    assert!(check(&facts).is_empty());
    let reasons = kept(&facts);
    assert_eq!(reasons.len(), Rule::ALL.len());
    assert!(reasons.contains(&"a seat is free: 1 of 2 taken".to_owned()));
    assert!(reasons.contains(&"member of 科普大篷车志愿者服务团 or a team below it".to_owned()));
    assert!(reasons.contains(&"holds 执业医师 (valid until 2020-01-01)".to_owned()));
}

#[test]
fn rule_names_are_spelled_as_in_refusals() {
    for rule in Rule::ALL {
        assert_eq!(serde_json::to_value(rule).unwrap(), rule.name());
    }
}

#[test]
fn only_overlap_team_qualification_and_unavailability_can_be_overridden() {
    let overridable: Vec<Rule> = Rule::ALL.into_iter().filter(|r| r.overridable()).collect();
    assert_eq!(
        overridable,
        [Rule::Team, Rule::Qualification, Rule::Overlap, Rule::Unavailable]
    );
}
