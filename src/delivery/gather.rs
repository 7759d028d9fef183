//! Merging before pacing. Notices due to one chat robot within a short window (a burst of
//! reschedules, the reminders of sessions that start together) wait for the window to close
//! and then go out as one message, up to the platform's length limit, before the robot's
//! rate limit is touched: a burst of thirty changes reaches a group as one or two messages,
//! not twenty. The window is the robot's own (kept on its subscription), so every notice that
//! falls due in it, on any instance, goes out at the same moment.

use chrono::{DateTime, TimeDelta, Utc};

/// What to do with a robot's notices that are due now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gather {
    /// Send them now (merged as far as they fit); the robot's window is closed.
    SendNow,
    /// Hold them until the window closes at this instant, which the robot keeps as its window.
    Wait(DateTime<Utc>),
}

/// The decision for a robot whose window ends at `open` (if one was opened), given the due
/// notices' earliest due time and the latest moment any of them may still be sent
/// (`latest_start`: its deadline less the time a request may take).
pub fn decide(
    open: Option<DateTime<Utc>>,
    earliest_due: DateTime<Utc>,
    latest_start: Option<DateTime<Utc>>,
    window: TimeDelta,
    now: DateTime<Utc>,
) -> Gather {
    if window <= TimeDelta::zero() {
        return Gather::SendNow;
    }
    let end = match open {
        Some(end) if end <= now => return Gather::SendNow,
        Some(end) => end,
        // Notices that have waited a window already (held for the rate limit, or due while
        // no dispatcher ran) go at once.
        None if earliest_due + window <= now => return Gather::SendNow,
        None => earliest_due + window,
    };
    match latest_start {
        Some(latest) if end > latest => Gather::SendNow,
        _ => Gather::Wait(end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(millis: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_559_181_600, 0).unwrap() + TimeDelta::milliseconds(millis)
    }

    const WINDOW: TimeDelta = TimeDelta::seconds(3);

    #[test]
    fn the_first_notice_opens_a_window_that_later_ones_join() {
        assert_eq!(decide(None, t(0), None, WINDOW, t(0)), Gather::Wait(t(3000)));
        // A notice due half a second later waits for the same close, not one of its own.
        assert_eq!(
            decide(Some(t(3000)), t(500), None, WINDOW, t(500)),
            Gather::Wait(t(3000))
        );
        // At the close, everything due goes together.
        assert_eq!(decide(Some(t(3000)), t(0), None, WINDOW, t(3000)), Gather::SendNow);
    }

    #[test]
    fn notices_that_waited_a_window_already_go_at_once() {
        assert_eq!(decide(None, t(0), None, WINDOW, t(5000)), Gather::SendNow);
        assert_eq!(decide(None, t(0), None, TimeDelta::zero(), t(0)), Gather::SendNow);
    }

    #[test]
    fn a_deadline_inside_the_window_sends_at_once() {
        assert_eq!(decide(None, t(0), Some(t(2000)), WINDOW, t(0)), Gather::SendNow);
        assert_eq!(
            decide(Some(t(3000)), t(0), Some(t(2999)), WINDOW, t(1000)),
            Gather::SendNow
        );
        assert_eq!(decide(None, t(0), Some(t(3000)), WINDOW, t(0)), Gather::Wait(t(3000)));
    }
}
