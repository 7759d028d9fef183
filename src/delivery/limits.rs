//! How often each platform lets one robot post, and when the next message may go.
//!
//! DingTalk and WeCom take 20 messages a minute per robot (going over blocks a DingTalk robot
//! for ten minutes), Feishu 5 a second and 100 a minute, Slack about one a second. Generic
//! receivers have no limit here. The decision is a pure function of the robot's recent sends,
//! so it reads the same whether they come from memory or from the delivery log.

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::webhook::Format;

/// At most `max` messages in any span of `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Messages allowed in the span.
    pub max: usize,
    /// The span.
    pub per: TimeDelta,
}

const MINUTE_20: [Window; 1] = [Window {
    max: 20,
    per: TimeDelta::minutes(1),
}];
const FEISHU: [Window; 2] = [
    Window {
        max: 5,
        per: TimeDelta::seconds(1),
    },
    Window {
        max: 100,
        per: TimeDelta::minutes(1),
    },
];
const SLACK: [Window; 1] = [Window {
    max: 1,
    per: TimeDelta::seconds(1),
}];

/// The windows a robot of `format` must stay within.
pub fn windows(format: Format) -> &'static [Window] {
    match format {
        Format::DingTalk | Format::WeCom => &MINUTE_20,
        Format::Feishu => &FEISHU,
        Format::Slack => &SLACK,
        Format::Standard => &[],
    }
}

/// The longest window of a format: how far back its recent sends matter.
pub fn lookback(format: Format) -> TimeDelta {
    windows(format)
        .iter()
        .map(|w| w.per)
        .max()
        .unwrap_or_else(TimeDelta::zero)
}

/// The earliest instant at or after `now` when one more message stays within every window,
/// given the robot's earlier sends (`sent`, in any order).
pub fn next_free(format: Format, sent: &[DateTime<Utc>], now: DateTime<Utc>) -> DateTime<Utc> {
    let mut sent = sent.to_vec();
    sent.sort_unstable();
    let mut at = now;
    // Moving later lets old sends leave a window but can bring later ones (already planned)
    // into it: repeat until no window moves the time.
    loop {
        let mut moved = false;
        for window in windows(format) {
            // Sends inside (at - per, at]; the message may go once the oldest that must drop
            // out has left the window.
            let inside: Vec<&DateTime<Utc>> = sent.iter().filter(|t| **t > at - window.per && **t <= at).collect();
            if inside.len() >= window.max {
                let must_leave = inside[inside.len() - window.max];
                let free = *must_leave + window.per;
                if free > at {
                    at = free;
                    moved = true;
                }
            }
        }
        if !moved {
            return at;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_559_181_600 + seconds, 0).unwrap()
    }

    /// Sends as many messages as allowed, as early as allowed, and returns their times.
    fn send_greedily(format: Format, count: usize) -> Vec<DateTime<Utc>> {
        let mut sent = Vec::new();
        for _ in 0..count {
            let at = next_free(format, &sent, t(0));
            sent.push(at);
        }
        sent
    }

    fn most_in_any_span(sent: &[DateTime<Utc>], per: TimeDelta) -> usize {
        sent.iter()
            .map(|start| sent.iter().filter(|t| **t >= *start && **t < *start + per).count())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn a_dingtalk_robot_never_gets_more_than_twenty_a_minute() {
        let sent = send_greedily(Format::DingTalk, 45);
        assert_eq!(sent[19], t(0), "the first twenty go at once");
        assert_eq!(
            sent[20],
            t(60),
            "the twenty-first waits for the first to leave the minute"
        );
        assert_eq!(sent[44], t(120));
        assert!(most_in_any_span(&sent, TimeDelta::minutes(1)) <= 20);
    }

    #[test]
    fn feishu_is_held_to_five_a_second_and_a_hundred_a_minute() {
        let sent = send_greedily(Format::Feishu, 130);
        assert!(most_in_any_span(&sent, TimeDelta::seconds(1)) <= 5);
        assert!(most_in_any_span(&sent, TimeDelta::minutes(1)) <= 100);
        assert_eq!(sent[5], t(1));
        assert_eq!(sent[100], t(60), "the hundred-and-first waits out the minute");
    }

    #[test]
    fn generic_receivers_are_not_held_and_old_sends_do_not_count() {
        let sent = vec![t(0); 500];
        assert_eq!(next_free(Format::Standard, &sent, t(0)), t(0));
        let old = vec![t(-61); 20];
        assert_eq!(next_free(Format::WeCom, &old, t(0)), t(0));
        assert_eq!(lookback(Format::Feishu), TimeDelta::minutes(1));
        assert_eq!(lookback(Format::Standard), TimeDelta::zero());
    }
}
