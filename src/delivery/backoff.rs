//! When to try a failed delivery again, and when to stop.

use chrono::{DateTime, TimeDelta, Utc};

/// Waits after the first, second, … failed attempt; after the last one the delivery fails.
/// The first attempt is made when the delivery falls due.
pub const RETRY_AFTER: [TimeDelta; 7] = [
    TimeDelta::seconds(5),
    TimeDelta::minutes(5),
    TimeDelta::minutes(30),
    TimeDelta::hours(2),
    TimeDelta::hours(5),
    TimeDelta::hours(10),
    TimeDelta::hours(10),
];

/// Attempts a delivery gets in all.
pub const MAX_ATTEMPTS: u32 = RETRY_AFTER.len() as u32 + 1;

/// Share of each wait that jitter may add or take away.
pub const JITTER: f64 = 0.2;

/// The least wait after an answer that says to slow down.
pub const SLOW_DOWN: TimeDelta = TimeDelta::seconds(60);

/// How an attempt failed, as far as retrying goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A refused connection, a name that did not resolve, a server error: try again on the
    /// schedule.
    Transient,
    /// No answer within the timeout (it may have arrived): try again on the schedule.
    Timeout,
    /// The receiver asked to slow down (HTTP 429 or the platform's rate-limit code).
    RateLimited,
    /// The receiver will never accept it (bad token, signature or keyword rejected, a 4xx, a
    /// redirect to elsewhere).
    Permanent,
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// Stop: the failure is permanent, or the attempts are used up.
    GiveUp,
    /// Stop: no try fits before the deadline (a reminder after its session started).
    Expire,
}

/// What the receiver said about when to come back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Asked {
    /// `Retry-After`, honoured when it asks for longer than the schedule.
    pub retry_after: Option<TimeDelta>,
    /// How long the platform holds the robot (DingTalk's throttle): nothing goes sooner.
    pub hold: Option<TimeDelta>,
}

/// The next step after attempt number `attempts` (1 for the first) failed at `now`.
///
/// `jitter` in `[-1, 1]` scales the ±20 % spread (drawn by the caller, so this stays a pure
/// function). When the schedule's next step falls at or after the `deadline`, one last try is
/// made `last_try` before it (the request's timeout, so its answer comes in time), if that is
/// still ahead; a wait the receiver asked for is never cut short for it.
pub fn next_attempt(
    attempts: u32,
    now: DateTime<Utc>,
    failure: Failure,
    asked: Asked,
    jitter: f64,
    deadline: Option<DateTime<Utc>>,
    last_try: TimeDelta,
) -> Next {
    if failure == Failure::Permanent {
        return Next::GiveUp;
    }
    let Some(base) = attempts
        .checked_sub(1)
        .and_then(|i| RETRY_AFTER.get(usize::try_from(i).ok()?))
    else {
        return Next::GiveUp;
    };
    let spread = base.num_milliseconds() as f64 * JITTER * jitter.clamp(-1.0, 1.0);
    let scheduled = *base + TimeDelta::milliseconds(spread.round() as i64);
    let mut asked_wait = TimeDelta::zero();
    if failure == Failure::RateLimited {
        asked_wait = SLOW_DOWN;
    }
    for wait in [asked.retry_after, asked.hold].into_iter().flatten() {
        asked_wait = asked_wait.max(wait.min(TimeDelta::days(1)));
    }
    let at = now + scheduled.max(asked_wait);
    match deadline {
        Some(deadline) if at >= deadline => {
            let last = deadline - last_try;
            if now + asked_wait >= deadline || last <= now || last < now + asked_wait {
                Next::Expire
            } else {
                Next::RetryAt(last)
            }
        }
        _ => Next::RetryAt(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2019-05-29T09:00:00Z").unwrap().to_utc()
    }

    const LAST_TRY: TimeDelta = TimeDelta::seconds(10);

    fn next(attempts: u32, failure: Failure, asked: Asked, jitter: f64, deadline: Option<DateTime<Utc>>) -> Next {
        next_attempt(attempts, now(), failure, asked, jitter, deadline, LAST_TRY)
    }

    fn wait(next: Next) -> TimeDelta {
        match next {
            Next::RetryAt(at) => at - now(),
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn retries_follow_the_schedule_then_give_up() {
        let expected = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];
        for (i, seconds) in expected.into_iter().enumerate() {
            let attempts = u32::try_from(i).unwrap() + 1;
            let next = next(attempts, Failure::Transient, Asked::default(), 0.0, None);
            assert_eq!(wait(next), TimeDelta::seconds(seconds), "after attempt {attempts}");
        }
        assert_eq!(
            next(MAX_ATTEMPTS, Failure::Transient, Asked::default(), 0.0, None),
            Next::GiveUp
        );
        assert_eq!(MAX_ATTEMPTS, 8);
    }

    #[test]
    fn jitter_spreads_each_wait_by_a_fifth_either_way() {
        let low = wait(next(2, Failure::Transient, Asked::default(), -1.0, None));
        let high = wait(next(2, Failure::Transient, Asked::default(), 1.0, None));
        assert_eq!((low, high), (TimeDelta::seconds(240), TimeDelta::seconds(360)));
        // Out-of-range draws are clamped.
        assert_eq!(wait(next(2, Failure::Transient, Asked::default(), 7.0, None)), high);
    }

    #[test]
    fn timeouts_and_refused_connections_follow_the_schedule_and_only_rate_limits_wait_a_minute() {
        for failure in [Failure::Timeout, Failure::Transient] {
            assert_eq!(
                wait(next(1, failure, Asked::default(), 0.0, None)),
                TimeDelta::seconds(5)
            );
        }
        assert_eq!(
            wait(next(1, Failure::RateLimited, Asked::default(), 0.0, None)),
            TimeDelta::seconds(60)
        );
        let asked = Asked {
            retry_after: Some(TimeDelta::seconds(120)),
            hold: None,
        };
        assert_eq!(
            wait(next(1, Failure::RateLimited, asked, 0.0, None)),
            TimeDelta::seconds(120)
        );
        // A shorter Retry-After does not shorten the schedule.
        let short = Asked {
            retry_after: Some(TimeDelta::seconds(1)),
            hold: None,
        };
        assert_eq!(
            wait(next(2, Failure::Transient, short, 0.0, None)),
            TimeDelta::minutes(5)
        );
    }

    #[test]
    fn a_platforms_hold_is_waited_out_and_never_cut_short_by_a_last_try() {
        let throttled = Asked {
            retry_after: None,
            hold: Some(TimeDelta::minutes(10)),
        };
        assert_eq!(
            wait(next(1, Failure::RateLimited, throttled, 0.0, None)),
            TimeDelta::minutes(10)
        );
        let start = now() + TimeDelta::minutes(3);
        assert_eq!(next(1, Failure::RateLimited, throttled, 0.0, Some(start)), Next::Expire);
    }

    #[test]
    fn the_schedule_is_clipped_to_one_last_try_before_the_deadline() {
        let start = now() + TimeDelta::minutes(3);
        // The 5-minute step would come after the start: one more try, the timeout before it.
        assert_eq!(
            next(2, Failure::Transient, Asked::default(), 0.0, Some(start)),
            Next::RetryAt(start - LAST_TRY)
        );
        assert_eq!(
            next(1, Failure::Transient, Asked::default(), 0.0, Some(start)),
            Next::RetryAt(now() + TimeDelta::seconds(5))
        );
        // That last try failing leaves no time for another: expired.
        let at_last_try = start - LAST_TRY;
        assert_eq!(
            next_attempt(
                3,
                at_last_try,
                Failure::Transient,
                Asked::default(),
                0.0,
                Some(start),
                LAST_TRY
            ),
            Next::Expire
        );
        // Too close to the deadline for a try whose answer would come in time.
        let soon = now() + TimeDelta::seconds(8);
        assert_eq!(
            next(2, Failure::Timeout, Asked::default(), 0.0, Some(soon)),
            Next::Expire
        );
    }

    #[test]
    fn permanent_failures_stop() {
        assert_eq!(next(1, Failure::Permanent, Asked::default(), 0.0, None), Next::GiveUp);
    }
}
