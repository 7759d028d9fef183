//! What a reminder or change notice says, in the words volunteers read in their chat groups.
//! Pure text: the delivery side shapes it into each platform's message.

use chrono::{DateTime, Datelike as _, NaiveDate, TimeDelta, Timelike as _, Utc};

use super::contact::mask_mobile;
use super::zone::Zone;

/// A session as a notice shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionFacts {
    /// Session id.
    pub id: i64,
    /// The session's title, or its activity's.
    pub title: String,
    /// The activity's title.
    pub activity: String,
    /// When.
    pub when: When,
    /// The zone times are told in (the program's).
    pub zone: Zone,
    /// Venue id.
    pub venue_id: i64,
    /// Venue name.
    pub venue: String,
    /// Venue address.
    pub address: Option<String>,
    /// The video link (its own or its slot's).
    pub video_url: Option<String>,
    /// Where the session is described.
    pub link: String,
    /// The volunteer's own page, for a message to that volunteer's own subscription only.
    pub personal_link: Option<String>,
    /// Who is on duty.
    pub roster: Vec<OnDuty>,
}

/// When a session takes place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// From one instant to another.
    Timed(DateTime<Utc>, DateTime<Utc>),
    /// Whole days, first to last.
    AllDay(NaiveDate, NaiveDate),
}

/// One assignment on a roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnDuty {
    /// Volunteer's name.
    pub name: String,
    /// Role name.
    pub role: String,
    /// Stored assignment status.
    pub status: String,
    /// Mobile number, for masking or for @-mentions where the subscription allows them.
    pub mobile: Option<String>,
}

impl OnDuty {
    /// Assignments that still count (not declined or cancelled).
    pub fn is_active(&self) -> bool {
        is_active(&self.status)
    }

    /// The mobile number with its middle hidden.
    pub fn masked_mobile(&self) -> Option<String> {
        self.mobile.as_deref().map(mask_mobile)
    }
}

/// What happened.
#[derive(Clone, Debug, PartialEq)]
pub enum Happening {
    /// The session starts in `before`.
    Reminder {
        /// How long before the start.
        before: TimeDelta,
    },
    /// The session moved in time or place.
    Rescheduled {
        /// Where it was before.
        was: Box<SessionFacts>,
    },
    /// The session is called off.
    Cancelled,
    /// A volunteer was assigned.
    AssignmentCreated(OnDuty),
    /// An assignment was withdrawn by an organizer.
    AssignmentCancelled(OnDuty),
    /// A volunteer declined.
    AssignmentDeclined {
        /// Who.
        who: OnDuty,
        /// Their reason, when given.
        reason: Option<String>,
    },
}

impl Happening {
    /// The event type subscribers choose (`session.reminder`, …).
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Reminder { .. } => "session.reminder",
            Self::Rescheduled { .. } => "session.rescheduled",
            Self::Cancelled => "session.cancelled",
            Self::AssignmentCreated(_) => "assignment.created",
            Self::AssignmentCancelled(_) => "assignment.cancelled",
            Self::AssignmentDeclined { .. } => "assignment.declined",
        }
    }
}

/// Every event type, in the order the API documents them.
pub const EVENT_TYPES: [&str; 8] = [
    "session.reminder",
    "session.rescheduled",
    "session.cancelled",
    "assignment.created",
    "assignment.cancelled",
    "assignment.declined",
    "plan.deadline",
    "plan.submitted",
];

/// The events a subscription gets when it names none: everything about sessions and their
/// staffing. Plan events go to the groups that ask for them (the association's own).
pub const DEFAULT_EVENTS: [&str; 6] = [
    EVENT_TYPES[0],
    EVENT_TYPES[1],
    EVENT_TYPES[2],
    EVENT_TYPES[3],
    EVENT_TYPES[4],
    EVENT_TYPES[5],
];

/// A program's plan deadline as a reminder tells it.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadlineFacts {
    /// Program name.
    pub program: String,
    /// The deadline.
    pub deadline: DateTime<Utc>,
    /// The program's zone.
    pub zone: Zone,
    /// The organizations expected to submit that have not, by name.
    pub missing: Vec<String>,
    /// Where the plans are submitted.
    pub link: String,
}

/// A submitted plan as its notice tells it (no contact details).
#[derive(Clone, Debug, PartialEq)]
pub struct SubmittedFacts {
    /// Plan id.
    pub id: i64,
    /// Program name.
    pub program: String,
    /// The submitting organization.
    pub organization: String,
    /// 主题活动名称.
    pub activity: String,
    /// Which version this is (1 for the first).
    pub revision: i32,
    /// Whether it joins the Beijing video link.
    pub joins_video_link: bool,
    /// When this version came in.
    pub at: DateTime<Utc>,
    /// The program's zone.
    pub zone: Zone,
    /// Where the plan is read.
    pub link: String,
}

/// What happened to a program's preparation plans.
#[derive(Clone, Debug, PartialEq)]
pub enum PlanHappening {
    /// The deadline is `before` away.
    Deadline {
        /// How long before the deadline.
        before: TimeDelta,
        /// The deadline and who has not submitted.
        facts: DeadlineFacts,
    },
    /// An organization submitted (or revised) its plan.
    Submitted(SubmittedFacts),
}

impl PlanHappening {
    /// `plan.deadline` or `plan.submitted`.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Deadline { .. } => "plan.deadline",
            Self::Submitted(_) => "plan.submitted",
        }
    }

    /// The headline of its notice.
    pub fn headline(&self) -> String {
        match self {
            Self::Deadline { before, facts } => format!(
                "【方案提交提醒】{}：筹备工作方案{}后截止",
                facts.program,
                before_text(*before)
            ),
            Self::Submitted(plan) if plan.revision > 1 => {
                format!("【方案已修改】{}（第{}版）", plan.organization, plan.revision)
            }
            Self::Submitted(plan) => format!("【方案已提交】{}", plan.organization),
        }
    }

    /// The lines under the headline.
    pub fn body_lines(&self) -> Vec<String> {
        match self {
            Self::Deadline { facts, .. } => {
                let mut lines = vec![format!("截止时间：{}", instant_text(facts.deadline, facts.zone, true))];
                if facts.missing.is_empty() {
                    lines.push("应提交的单位均已提交".to_owned());
                } else {
                    lines.push(format!(
                        "尚未提交（{}家）：{}",
                        facts.missing.len(),
                        facts.missing.join("、")
                    ));
                }
                lines.push(format!("提交入口：{}", facts.link));
                lines
            }
            Self::Submitted(plan) => vec![
                format!("主题活动：{}", plan.activity),
                format!(
                    "与北京主会场视频连线：{}",
                    if plan.joins_video_link { "是" } else { "否" }
                ),
                format!("提交时间：{}", instant_text(plan.at, plan.zone, false)),
                format!("详情：{}", plan.link),
            ],
        }
    }
}

/// `5月17日 23:59:59（北京时间）`, or without seconds.
pub fn instant_text(at: DateTime<Utc>, zone: Zone, seconds: bool) -> String {
    let local = at.with_timezone(&zone.tz());
    let clock = if seconds {
        format!("{:02}:{:02}:{:02}", local.hour(), local.minute(), local.second())
    } else {
        format!("{:02}:{:02}", local.hour(), local.minute())
    };
    format!("{} {clock}（{}）", day_text(local.date_naive()), zone_label(zone))
}

/// The zone's name as people in China say it.
pub fn zone_label(zone: Zone) -> String {
    match zone.name() {
        "Asia/Shanghai" | "Asia/Chongqing" | "Asia/Chungking" | "Asia/Harbin" | "PRC" => "北京时间".to_owned(),
        "Asia/Hong_Kong" => "香港时间".to_owned(),
        "Asia/Macau" => "澳门时间".to_owned(),
        "Asia/Taipei" => "台北时间".to_owned(),
        "Asia/Urumqi" => "乌鲁木齐时间".to_owned(),
        other => format!("{other} 时间"),
    }
}

fn day_text(day: NaiveDate) -> String {
    format!("{}月{}日", day.month(), day.day())
}

/// `5月28日 09:00–11:00（北京时间）`, `5月28日 09:00 至 5月29日 17:00（北京时间）`,
/// `5月28日（全天）`, `5月28日至5月30日（全天）`.
pub fn when_text(when: When, zone: Zone) -> String {
    match when {
        When::AllDay(first, last) if first == last => format!("{}（全天）", day_text(first)),
        When::AllDay(first, last) => format!("{}至{}（全天）", day_text(first), day_text(last)),
        When::Timed(start, end) => {
            let (start, end) = (start.with_timezone(&zone.tz()), end.with_timezone(&zone.tz()));
            let clock = |h: u32, m: u32| format!("{h:02}:{m:02}");
            let from = format!(
                "{} {}",
                day_text(start.date_naive()),
                clock(start.hour(), start.minute())
            );
            let to = if start.date_naive() == end.date_naive() {
                format!("–{}", clock(end.hour(), end.minute()))
            } else {
                format!(" 至 {} {}", day_text(end.date_naive()), clock(end.hour(), end.minute()))
            };
            format!("{from}{to}（{}）", zone_label(zone))
        }
    }
}

/// The start of a session as a change notice names it: the time alone when the day stays.
fn start_text(when: When, zone: Zone, same_day: bool) -> String {
    match when {
        When::AllDay(first, _) => day_text(first),
        When::Timed(start, _) => {
            let local = start.with_timezone(&zone.tz());
            let clock = format!("{:02}:{:02}", local.hour(), local.minute());
            if same_day {
                clock
            } else {
                format!("{} {clock}", day_text(local.date_naive()))
            }
        }
    }
}

fn first_day(when: When, zone: Zone) -> NaiveDate {
    match when {
        When::AllDay(first, _) => first,
        When::Timed(start, _) => start.with_timezone(&zone.tz()).date_naive(),
    }
}

/// What changed, line by line: `时间由 14:00 改为 15:00`, `地点由 A 改为 B`.
pub fn changes(was: &SessionFacts, now: &SessionFacts) -> Vec<String> {
    let mut lines = Vec::new();
    if was.when != now.when {
        let same_day = first_day(was.when, now.zone) == first_day(now.when, now.zone);
        let (old, new) = (
            start_text(was.when, now.zone, same_day),
            start_text(now.when, now.zone, same_day),
        );
        if old == new {
            lines.push(format!("时间改为 {}", when_text(now.when, now.zone)));
        } else {
            lines.push(format!("时间由 {old} 改为 {new}"));
        }
    }
    if was.venue != now.venue || was.address != now.address {
        lines.push(format!("地点由 {} 改为 {}", place(was), place(now)));
    }
    if was.video_url != now.video_url {
        match &now.video_url {
            Some(url) => lines.push(format!("视频连线改为 {url}")),
            None => lines.push("不再视频连线".to_owned()),
        }
    }
    lines
}

/// `venue（address）`.
pub fn place(session: &SessionFacts) -> String {
    match session.address.as_deref().filter(|a| !a.is_empty()) {
        Some(address) => format!("{}（{address}）", session.venue),
        None => session.venue.clone(),
    }
}

/// `1天`, `1小时`, `30分钟`, `1天2小时`.
pub fn before_text(before: TimeDelta) -> String {
    let minutes = before.num_minutes().max(0);
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let mut text = String::new();
    if days > 0 {
        text.push_str(&format!("{days}天"));
    }
    if hours > 0 {
        text.push_str(&format!("{hours}小时"));
    }
    if minutes > 0 || text.is_empty() {
        text.push_str(&format!("{minutes}分钟"));
    }
    text
}

/// Whether an assignment in this stored status still counts (not declined or cancelled).
pub fn is_active(status: &str) -> bool {
    matches!(status, "proposed" | "confirmed" | "checked_in" | "no_show")
}

/// Chinese for an assignment status.
pub fn status_text(status: &str) -> &'static str {
    match status {
        "proposed" => "待确认",
        "confirmed" => "已确认",
        "declined" => "已请假",
        "cancelled" => "已取消",
        "checked_in" => "已签到",
        "no_show" => "未到岗",
        _ => "未知",
    }
}

/// The headline of a notice.
pub fn headline(session: &SessionFacts, happening: &Happening) -> String {
    match happening {
        Happening::Reminder { before } => format!("【活动提醒】{}（{}后开始）", session.title, before_text(*before)),
        Happening::Rescheduled { .. } => format!("【时间地点变更】{}", session.title),
        Happening::Cancelled => format!("【活动取消】{}", session.title),
        Happening::AssignmentCreated(who) => format!("【新安排】{} 担任 {}：{}", who.name, who.role, session.title),
        Happening::AssignmentCancelled(who) => {
            format!("【安排取消】{} 不再担任 {}：{}", who.name, who.role, session.title)
        }
        Happening::AssignmentDeclined { who, .. } => {
            format!("【请假】{} 无法担任 {}：{}", who.name, who.role, session.title)
        }
    }
}

/// The lines of a notice under its headline: what changed, when, where, the video link, who is
/// on duty and who has not confirmed, and the link. Mobiles appear masked only.
pub fn body_lines(session: &SessionFacts, happening: &Happening) -> Vec<String> {
    let mut lines = Vec::new();
    match happening {
        Happening::Rescheduled { was } => lines.extend(changes(was, session)),
        Happening::AssignmentDeclined {
            reason: Some(reason), ..
        } if !reason.is_empty() => {
            lines.push(format!("原因：{reason}"));
        }
        _ => {}
    }
    lines.push(format!("时间：{}", when_text(session.when, session.zone)));
    lines.push(format!("地点：{}", place(session)));
    if let Some(url) = &session.video_url {
        lines.push(format!("视频连线：{url}"));
    }
    if !matches!(happening, Happening::Cancelled) {
        let active: Vec<&OnDuty> = session.roster.iter().filter(|d| d.is_active()).collect();
        if !active.is_empty() {
            let names: Vec<String> = active
                .iter()
                .map(|d| format!("{}（{}，{}）", d.name, d.role, status_text(&d.status)))
                .collect();
            lines.push(format!("在岗：{}", names.join("、")));
            let pending: Vec<&str> = active
                .iter()
                .filter(|d| d.status == "proposed")
                .map(|d| d.name.as_str())
                .collect();
            if !pending.is_empty() {
                lines.push(format!("未确认：{}", pending.join("、")));
            }
        }
    }
    if let Some(page) = &session.personal_link {
        lines.push(format!("我的安排（确认、请假、签到码）：{page}"));
    }
    lines.push(format!("详情：{}", session.link));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn shanghai() -> Zone {
        Zone::from_stored("Asia/Shanghai")
    }

    fn session() -> SessionFacts {
        SessionFacts {
            id: 7,
            title: "科技工作者日启动仪式".to_owned(),
            activity: "启动仪式".to_owned(),
            when: When::Timed(at("2019-05-28T01:00:00Z"), at("2019-05-28T03:00:00Z")),
            zone: shanghai(),
            venue_id: 3,
            venue: "连云港市科技馆".to_owned(),
            address: Some("海州区朝阳东路".to_owned()),
            video_url: None,
            link: "https://sciday.example.cn/api/v1/sessions/7".to_owned(),
            personal_link: None,
            roster: vec![
                OnDuty {
                    name: "张伟".to_owned(),
                    role: "讲解员".to_owned(),
                    status: "confirmed".to_owned(),
                    mobile: Some("14400001234".to_owned()),
                },
                OnDuty {
                    name: "李娜".to_owned(),
                    role: "引导员".to_owned(),
                    status: "proposed".to_owned(),
                    mobile: None,
                },
                OnDuty {
                    name: "王芳".to_owned(),
                    role: "引导员".to_owned(),
                    status: "declined".to_owned(),
                    mobile: None,
                },
            ],
        }
    }

    #[test]
    fn times_are_told_in_the_programs_zone_with_the_zone_named() {
        let zone = shanghai();
        assert_eq!(when_text(session().when, zone), "5月28日 09:00–11:00（北京时间）");
        let overnight = When::Timed(at("2019-05-28T12:00:00Z"), at("2019-05-29T09:00:00Z"));
        assert_eq!(when_text(overnight, zone), "5月28日 20:00 至 5月29日 17:00（北京时间）");
        let day = NaiveDate::from_ymd_opt(2019, 5, 30).unwrap();
        assert_eq!(when_text(When::AllDay(day, day), zone), "5月30日（全天）");
        assert_eq!(
            when_text(When::AllDay(day, NaiveDate::from_ymd_opt(2019, 6, 1).unwrap()), zone),
            "5月30日至6月1日（全天）"
        );
        let new_york = Zone::from_stored("America/New_York");
        assert_eq!(
            when_text(session().when, new_york),
            "5月27日 21:00–23:00（America/New_York 时间）"
        );
    }

    #[test]
    fn a_move_is_told_as_old_and_new() {
        let was = session();
        let mut now = session();
        now.when = When::Timed(at("2019-05-28T02:00:00Z"), at("2019-05-28T04:00:00Z"));
        assert_eq!(changes(&was, &now), ["时间由 09:00 改为 10:00"]);
        now.when = When::Timed(at("2019-05-29T02:00:00Z"), at("2019-05-29T04:00:00Z"));
        now.venue = "连云港市图书馆".to_owned();
        now.address = None;
        assert_eq!(
            changes(&was, &now),
            [
                "时间由 5月28日 09:00 改为 5月29日 10:00",
                "地点由 连云港市科技馆（海州区朝阳东路） 改为 连云港市图书馆"
            ]
        );
        // Only the end moved.
        let mut longer = session();
        longer.when = When::Timed(at("2019-05-28T01:00:00Z"), at("2019-05-28T04:00:00Z"));
        assert_eq!(changes(&was, &longer), ["时间改为 5月28日 09:00–12:00（北京时间）"]);
    }

    #[test]
    fn a_reminder_names_who_is_on_duty_and_who_has_not_confirmed_with_no_mobile() {
        let happening = Happening::Reminder {
            before: TimeDelta::hours(1),
        };
        assert_eq!(
            headline(&session(), &happening),
            "【活动提醒】科技工作者日启动仪式（1小时后开始）"
        );
        let lines = body_lines(&session(), &happening);
        assert!(
            lines.contains(&"在岗：张伟（讲解员，已确认）、李娜（引导员，待确认）".to_owned()),
            "{lines:?}"
        );
        assert!(lines.contains(&"未确认：李娜".to_owned()));
        assert!(
            !lines.iter().any(|l| l.contains("王芳")),
            "declined volunteers are not on duty"
        );
        assert!(!lines.iter().any(|l| l.contains("1234")), "no mobile in the text");
        assert_eq!(session().roster[0].masked_mobile().as_deref(), Some("144****1234"));
    }

    #[test]
    fn durations_before_read_naturally() {
        assert_eq!(before_text(TimeDelta::days(1)), "1天");
        assert_eq!(before_text(TimeDelta::minutes(90)), "1小时30分钟");
        assert_eq!(before_text(TimeDelta::minutes(26 * 60)), "1天2小时");
        assert_eq!(before_text(TimeDelta::zero()), "0分钟");
    }

    #[test]
    fn every_happening_has_its_event_type() {
        let who = session().roster[0].clone();
        let happenings = [
            Happening::Reminder {
                before: TimeDelta::hours(1),
            },
            Happening::Rescheduled {
                was: Box::new(session()),
            },
            Happening::Cancelled,
            Happening::AssignmentCreated(who.clone()),
            Happening::AssignmentCancelled(who.clone()),
            Happening::AssignmentDeclined {
                who,
                reason: Some("临时出差".to_owned()),
            },
        ];
        let types: Vec<&str> = happenings.iter().map(Happening::event_type).collect();
        assert_eq!(types, DEFAULT_EVENTS);
        let declined = body_lines(&session(), &happenings[5]);
        assert_eq!(declined[0], "原因：临时出差");
    }

    fn deadline(missing: &[&str]) -> PlanHappening {
        PlanHappening::Deadline {
            before: TimeDelta::days(2),
            facts: DeadlineFacts {
                program: "2019年全国科技工作者日系列活动".to_owned(),
                deadline: at("2019-05-17T15:59:59Z"),
                zone: shanghai(),
                missing: missing.iter().map(|m| (*m).to_owned()).collect(),
                link: "https://sciday.example/api/v1/programs/1/plans".to_owned(),
            },
        }
    }

    #[test]
    fn a_deadline_reminder_names_who_has_not_submitted_in_local_time() {
        let reminder = deadline(&["灌云县科学技术协会", "连云港市数学学会"]);
        assert_eq!(reminder.event_type(), "plan.deadline");
        assert_eq!(
            reminder.headline(),
            "【方案提交提醒】2019年全国科技工作者日系列活动：筹备工作方案2天后截止"
        );
        let lines = reminder.body_lines();
        assert_eq!(lines[0], "截止时间：5月17日 23:59:59（北京时间）");
        assert_eq!(lines[1], "尚未提交（2家）：灌云县科学技术协会、连云港市数学学会");
        assert_eq!(deadline(&[]).body_lines()[1], "应提交的单位均已提交");
    }

    #[test]
    fn a_revised_plan_says_which_version_it_is() {
        let mut plan = SubmittedFacts {
            id: 3,
            program: "2019年全国科技工作者日系列活动".to_owned(),
            organization: "灌南县科学技术协会".to_owned(),
            activity: "科技志愿服务进乡村".to_owned(),
            revision: 1,
            joins_video_link: true,
            at: at("2019-05-16T02:30:00Z"),
            zone: shanghai(),
            link: "https://sciday.example/api/v1/programs/1/plans/3".to_owned(),
        };
        assert_eq!(
            PlanHappening::Submitted(plan.clone()).headline(),
            "【方案已提交】灌南县科学技术协会"
        );
        assert_eq!(
            PlanHappening::Submitted(plan.clone()).body_lines()[1..3],
            ["与北京主会场视频连线：是", "提交时间：5月16日 10:30（北京时间）"]
        );
        plan.revision = 2;
        assert_eq!(
            PlanHappening::Submitted(plan).headline(),
            "【方案已修改】灌南县科学技术协会（第2版）"
        );
    }
}
