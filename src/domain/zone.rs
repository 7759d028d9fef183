//! `Zone`: an IANA time zone known to chrono-tz.

use std::fmt;

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;

use super::field::FieldError;

/// A valid IANA time zone such as `Asia/Shanghai`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zone(Tz);

impl Zone {
    /// Parses an IANA zone name, exactly as spelled in the tz database.
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldError> {
        name.parse::<Tz>().map(Self).map_err(|_| {
            FieldError::new(
                field,
                "unknown_time_zone",
                format!("{name:?} is not an IANA time zone (for example \"Asia/Shanghai\")"),
            )
        })
    }

    /// The zone as chrono-tz knows it.
    pub fn tz(self) -> Tz {
        self.0
    }

    /// The IANA name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// `at` as people there read it: the local time with the zone's offset.
    pub fn local(self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        at.with_timezone(&self.0).fixed_offset()
    }

    /// A zone read back from the database, which only ever holds names that parsed.
    /// Falls back to UTC rather than failing a read if the tz database dropped a name.
    pub fn from_stored(name: &str) -> Self {
        Self(name.parse().unwrap_or(Tz::UTC))
    }
}

impl From<Tz> for Zone {
    fn from(tz: Tz) -> Self {
        Self(tz)
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_zones_parse_and_unknown_ones_are_named_in_the_error() {
        assert_eq!(Zone::parse("tz", "Asia/Shanghai").unwrap().name(), "Asia/Shanghai");
        let err = Zone::parse("tz", "Asia/Beijing").unwrap_err();
        assert_eq!(err.code, "unknown_time_zone");
        assert!(err.message.contains("Asia/Beijing"));
    }
}
