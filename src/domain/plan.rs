//! Preparation plans (附件1 筹备工作方案): the rules that hold whatever stores them — when a
//! plan may still be submitted, how a review moves, and what a plan's text must be.

use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};

use super::field::FieldError;
use super::text;

/// Where a plan stands in the association's review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Review {
    /// Submitted (or revised) by its organization.
    Submitted,
    /// Picked by the city association for a closer look.
    Shortlisted,
    /// Sent on to the provincial association.
    Forwarded,
    /// Chosen by the province.
    Selected,
    /// Not taken further.
    NotSelected,
}

impl Review {
    /// Whether a reviewer may move a plan from `self` to `to`: forward through submitted →
    /// shortlisted → forwarded → selected, or to not selected from any open step.
    pub fn may_become(self, to: Review) -> bool {
        use Review::{Forwarded, NotSelected, Selected, Shortlisted, Submitted};
        matches!(
            (self, to),
            (Submitted, Shortlisted)
                | (Shortlisted, Forwarded)
                | (Forwarded, Selected)
                | (Submitted | Shortlisted | Forwarded, NotSelected)
        )
    }

    /// Whether the review has ended.
    pub fn is_final(self) -> bool {
        matches!(self, Review::Selected | Review::NotSelected)
    }
}

/// Whether a plan may be submitted or revised at `now`: up to and including the deadline's
/// last second (a deadline of 23:59:59 takes a plan at 23:59:59.999), or until an extension
/// granted to the organization ends, whichever is later.
pub fn open_at(deadline: DateTime<Utc>, extended_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    let last = extended_until.map_or(deadline, |extended| extended.max(deadline));
    let last_second = last.duration_trunc(TimeDelta::seconds(1)).unwrap_or(last);
    now < last_second + TimeDelta::seconds(1)
}

/// Most characters of a plan's text. The form asks for about 800; this leaves room for a
/// long one while refusing a pasted document.
pub const TEXT_MAX: usize = 5_000;

/// The fewest characters a plan's text may have: a sentence or two is not a plan.
pub const TEXT_MIN: usize = 20;

/// A plan's text: several lines, between [`TEXT_MIN`] and [`TEXT_MAX`] characters.
pub fn plan_text(field: &str, value: &str) -> Result<String, FieldError> {
    let text = text::optional_multiline(field, Some(value), TEXT_MAX)?
        .ok_or_else(|| FieldError::new(field, "required", "write the plan (about 800 characters)"))?;
    let length = text.chars().count();
    if length < TEXT_MIN {
        return Err(FieldError::new(
            field,
            "too_short",
            format!("{length} characters is not a plan; the form asks for about 800"),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::zone::Zone;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn the_deadline_takes_its_last_second_and_not_the_next_in_any_offset() {
        // 17 May 2019, 23:59:59 in Asia/Shanghai.
        let local = chrono::NaiveDate::from_ymd_opt(2019, 5, 17)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap();
        let deadline = local
            .and_local_timezone(Zone::from_stored("Asia/Shanghai").tz())
            .unwrap()
            .to_utc();
        assert!(open_at(deadline, None, at("2019-05-17T23:59:59+08:00")));
        assert!(open_at(deadline, None, at("2019-05-17T23:59:59.999+08:00")));
        assert!(
            open_at(deadline, None, at("2019-05-17T15:59:59Z")),
            "the same instant in UTC"
        );
        assert!(!open_at(deadline, None, at("2019-05-18T00:00:00+08:00")));
        assert!(!open_at(deadline, None, at("2019-05-17T16:00:00Z")));
        assert!(!open_at(deadline, None, at("2019-05-17T18:00:00+02:00")));
    }

    #[test]
    fn an_extension_moves_the_deadline_later_never_earlier() {
        let deadline = at("2019-05-17T23:59:59+08:00");
        let extended = at("2019-05-20T12:00:00+08:00");
        assert!(open_at(deadline, Some(extended), at("2019-05-20T11:59:59+08:00")));
        assert!(!open_at(deadline, Some(extended), at("2019-05-20T12:00:01+08:00")));
        let earlier = at("2019-05-10T00:00:00+08:00");
        assert!(open_at(deadline, Some(earlier), at("2019-05-17T23:00:00+08:00")));
    }

    #[test]
    fn a_review_moves_forward_or_ends_and_never_back() {
        use Review::*;
        assert!(Submitted.may_become(Shortlisted));
        assert!(Shortlisted.may_become(Forwarded));
        assert!(Forwarded.may_become(Selected));
        assert!(Submitted.may_become(NotSelected) && Forwarded.may_become(NotSelected));
        assert!(!Submitted.may_become(Forwarded), "no step is skipped");
        assert!(!Forwarded.may_become(Shortlisted), "no step back");
        assert!(!Selected.may_become(NotSelected) && !NotSelected.may_become(Selected));
        assert!(Selected.is_final() && NotSelected.is_final() && !Forwarded.is_final());
    }

    #[test]
    fn a_plan_is_neither_empty_nor_a_pasted_document() {
        let plan = "围绕“科技工作者日”主题，组织科普报告会、科技志愿服务和优秀科技工作者风采展示等活动。";
        assert_eq!(plan_text("text", &format!("  {plan}\r\n")).unwrap(), plan);
        assert_eq!(plan_text("text", " \n ").unwrap_err().code, "required");
        assert_eq!(plan_text("text", "科普活动").unwrap_err().code, "too_short");
        assert_eq!(
            plan_text("text", &"科".repeat(TEXT_MAX + 1)).unwrap_err().code,
            "too_long"
        );
        assert!(plan_text("text", &"科".repeat(TEXT_MAX)).is_ok());
    }
}
