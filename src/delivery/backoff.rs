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

/// The least wait after a timeout or an answer that says to slow down.
pub const SLOW_DOWN: TimeDelta = TimeDelta::seconds(60);

/// How an attempt failed, as far as retrying goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A network error or a server error: try again on the schedule.
    Transient,
    /// No answer within the timeout.
    Timeout,
    /// The receiver asked to slow down (HTTP 429 or the platform's rate-limit code).
    RateLimited,
    /// The receiver will never accept it (bad token, signature or keyword rejected, 4xx).
    Permanent,
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// Stop: the failure is permanent, or the attempts are used up.
    GiveUp,
    /// Stop: the next try would come after the deadline (a reminder after its session started).
    Expire,
}

/// The next step after attempt number `attempts` (1 for the first) failed at `now`.
///
/// `jitter` in `[-1, 1]` scales the ±20 % spread (drawn by the caller, so this stays a pure
/// function); `retry_after` is the receiver's `Retry-After`, honoured when it asks for longer.
pub fn next_attempt(
    attempts: u32,
    now: DateTime<Utc>,
    failure: Failure,
    retry_after: Option<TimeDelta>,
    jitter: f64,
    deadline: Option<DateTime<Utc>>,
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
    let mut wait = *base + TimeDelta::milliseconds(spread.round() as i64);
    if matches!(failure, Failure::Timeout | Failure::RateLimited) {
        wait = wait.max(SLOW_DOWN);
    }
    if let Some(asked) = retry_after {
        wait = wait.max(asked.min(TimeDelta::days(1)));
    }
    let at = now + wait;
    match deadline {
        Some(deadline) if at >= deadline => Next::Expire,
        _ => Next::RetryAt(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2019-05-29T09:00:00Z").unwrap().to_utc()
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
            let next = next_attempt(attempts, now(), Failure::Transient, None, 0.0, None);
            assert_eq!(wait(next), TimeDelta::seconds(seconds), "after attempt {attempts}");
        }
        assert_eq!(
            next_attempt(MAX_ATTEMPTS, now(), Failure::Transient, None, 0.0, None),
            Next::GiveUp
        );
        assert_eq!(MAX_ATTEMPTS, 8);
    }

    #[test]
    fn jitter_spreads_each_wait_by_a_fifth_either_way() {
        let low = wait(next_attempt(2, now(), Failure::Transient, None, -1.0, None));
        let high = wait(next_attempt(2, now(), Failure::Transient, None, 1.0, None));
        assert_eq!((low, high), (TimeDelta::seconds(240), TimeDelta::seconds(360)));
        // Out-of-range draws are clamped.
        assert_eq!(wait(next_attempt(2, now(), Failure::Transient, None, 7.0, None)), high);
    }

    #[test]
    fn timeouts_and_rate_limits_wait_at_least_a_minute_and_retry_after_is_honoured() {
        for failure in [Failure::Timeout, Failure::RateLimited] {
            assert_eq!(
                wait(next_attempt(1, now(), failure, None, 0.0, None)),
                TimeDelta::seconds(60)
            );
        }
        let asked = Some(TimeDelta::seconds(120));
        assert_eq!(
            wait(next_attempt(1, now(), Failure::RateLimited, asked, 0.0, None)),
            TimeDelta::seconds(120)
        );
        // A shorter Retry-After does not shorten the schedule.
        let short = Some(TimeDelta::seconds(1));
        assert_eq!(
            wait(next_attempt(2, now(), Failure::Transient, short, 0.0, None)),
            TimeDelta::minutes(5)
        );
    }

    #[test]
    fn permanent_failures_stop_and_a_deadline_expires_instead_of_sending_late() {
        assert_eq!(
            next_attempt(1, now(), Failure::Permanent, None, 0.0, None),
            Next::GiveUp
        );
        let start = now() + TimeDelta::minutes(3);
        assert_eq!(
            next_attempt(2, now(), Failure::Transient, None, 0.0, Some(start)),
            Next::Expire
        );
        assert_eq!(
            next_attempt(1, now(), Failure::Transient, None, 0.0, Some(start)),
            Next::RetryAt(now() + TimeDelta::seconds(5))
        );
    }
}
