//! Closed vocabularies shared by the tables and the API.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an organization is in the association hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum OrganizationKind {
    /// 中国科协, the national association.
    #[sea_orm(string_value = "national_association")]
    NationalAssociation,
    /// 省科协, a provincial association.
    #[sea_orm(string_value = "provincial_association")]
    ProvincialAssociation,
    /// 市科协, a city association (the usual program host).
    #[sea_orm(string_value = "city_association")]
    CityAssociation,
    /// 县区科协, a county or district association.
    #[sea_orm(string_value = "county_association")]
    CountyAssociation,
    /// 学会, a learned society.
    #[sea_orm(string_value = "society")]
    Society,
    /// Anything else: a university, hospital, company or volunteer corps.
    #[sea_orm(string_value = "other")]
    Other,
}

/// The kind of place a session happens at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "snake_case")]
pub enum VenueKind {
    /// 党群服务中心.
    #[sea_orm(string_value = "party_masses_service_center")]
    PartyMassesServiceCenter,
    /// 新时代文明实践中心.
    #[sea_orm(string_value = "civilization_practice_center")]
    CivilizationPracticeCenter,
    /// 企业.
    #[sea_orm(string_value = "enterprise")]
    Enterprise,
    /// 园区.
    #[sea_orm(string_value = "park")]
    Park,
    /// 社区.
    #[sea_orm(string_value = "community")]
    Community,
    /// 乡村.
    #[sea_orm(string_value = "village")]
    Village,
    /// 学校.
    #[sea_orm(string_value = "school")]
    School,
    /// 医院.
    #[sea_orm(string_value = "hospital")]
    Hospital,
    /// A remote main venue that local sessions link to by video (e.g. 科技会堂 in Beijing).
    #[sea_orm(string_value = "remote_main_venue")]
    RemoteMainVenue,
    /// 其他.
    #[sea_orm(string_value = "other")]
    Other,
}

/// Whether an activity is the program's main event (the "1") or one of its series (the "N").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// The main event.
    #[sea_orm(string_value = "main")]
    Main,
    /// One of the series activities.
    #[sea_orm(string_value = "series")]
    Series,
}

/// Whether a session takes place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// It is on.
    #[sea_orm(string_value = "scheduled")]
    Scheduled,
    /// It was called off; kept so subscribers learn of it.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

/// What an API token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    #[sea_orm(string_value = "admin")]
    Admin,
    /// One organization and its subtree.
    #[sea_orm(string_value = "organizer")]
    Organizer,
    /// One volunteer's own assignments.
    #[sea_orm(string_value = "volunteer")]
    Volunteer,
}

/// Where an assignment stands. Declined and cancelled ones free the seat and are kept as history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum AssignmentStatus {
    /// Asked, not yet answered.
    #[sea_orm(string_value = "proposed")]
    Proposed,
    /// The volunteer said yes.
    #[sea_orm(string_value = "confirmed")]
    Confirmed,
    /// The volunteer said no (请假).
    #[sea_orm(string_value = "declined")]
    Declined,
    /// Withdrawn by an organizer, or by the session's cancellation.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
    /// The volunteer arrived.
    #[sea_orm(string_value = "checked_in")]
    CheckedIn,
    /// The volunteer did not come.
    #[sea_orm(string_value = "no_show")]
    NoShow,
}

impl AssignmentStatus {
    /// The statuses that hold a seat and a place in the volunteer's time.
    pub const ACTIVE: [Self; 4] = [Self::Proposed, Self::Confirmed, Self::CheckedIn, Self::NoShow];

    /// Whether the assignment holds a seat and a place in the volunteer's time.
    pub fn is_active(self) -> bool {
        Self::ACTIVE.contains(&self)
    }
}

/// How a webhook's messages are shaped and signed, and what counts as delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// Generic JSON signed per Standard Webhooks 1.0; any 2xx is delivered.
    #[sea_orm(string_value = "standard")]
    Standard,
    /// DingTalk (钉钉) group robot.
    #[sea_orm(string_value = "dingtalk")]
    #[serde(rename = "dingtalk")]
    DingTalk,
    /// WeCom (企业微信) group robot.
    #[sea_orm(string_value = "wecom")]
    #[serde(rename = "wecom")]
    WeCom,
    /// Feishu (飞书) or Lark custom robot.
    #[sea_orm(string_value = "feishu")]
    Feishu,
    /// Slack incoming webhook.
    #[sea_orm(string_value = "slack")]
    Slack,
}

/// What a webhook listens to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum WebhookScope {
    /// Every session of a program.
    #[sea_orm(string_value = "program")]
    Program,
    /// The sessions of an activity.
    #[sea_orm(string_value = "activity")]
    Activity,
    /// The sessions members of a team (or its sub-teams) are assigned to.
    #[sea_orm(string_value = "team")]
    Team,
    /// The sessions at a venue.
    #[sea_orm(string_value = "venue")]
    Venue,
    /// The sessions of activities an organization (or one below it) organizes.
    #[sea_orm(string_value = "organization")]
    Organization,
    /// The sessions one volunteer is assigned to.
    #[sea_orm(string_value = "volunteer")]
    Volunteer,
}

impl WebhookScope {
    /// The kind of record, as error messages name it.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Program => "program",
            Self::Activity => "activity",
            Self::Team => "team",
            Self::Venue => "venue",
            Self::Organization => "organization",
            Self::Volunteer => "volunteer",
        }
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its time or its next attempt.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Claimed by a dispatcher until its lease ends.
    #[sea_orm(string_value = "sending")]
    Sending,
    /// The receiver accepted it.
    #[sea_orm(string_value = "delivered")]
    Delivered,
    /// Attempts used up, or the receiver refused it for good.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Its deadline (the session's start) passed before it could go out; never sent late.
    #[sea_orm(string_value = "expired")]
    Expired,
    /// No longer wanted: the session moved or was cancelled first.
    #[sea_orm(string_value = "withdrawn")]
    Withdrawn,
    /// Its deadline passed after an attempt whose outcome is unknown (its dispatcher died
    /// mid-send, or no answer came in time): it may have arrived. `expired` never was sent.
    #[sea_orm(string_value = "in_doubt")]
    InDoubt,
}

/// What one attempt came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// Accepted.
    #[sea_orm(string_value = "delivered")]
    Delivered,
    /// Failed; another attempt follows.
    #[sea_orm(string_value = "retrying")]
    Retrying,
    /// Failed for good.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Failed, and the next attempt would come after the deadline.
    #[sea_orm(string_value = "expired")]
    Expired,
    /// Sent by a dispatcher that stopped before recording the answer: it may have arrived.
    /// Sent again (with the same `webhook-id`) if its deadline allows.
    #[sea_orm(string_value = "in_doubt")]
    InDoubt,
}

/// Where a preparation plan stands in the host association's review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum PlanReview {
    /// Submitted (or revised) by its organization, not yet looked at.
    #[sea_orm(string_value = "submitted")]
    Submitted,
    /// Picked by the city association for a closer look.
    #[sea_orm(string_value = "shortlisted")]
    Shortlisted,
    /// Sent on to the provincial association.
    #[sea_orm(string_value = "forwarded")]
    Forwarded,
    /// Chosen by the province.
    #[sea_orm(string_value = "selected")]
    Selected,
    /// Not taken further.
    #[sea_orm(string_value = "not_selected")]
    NotSelected,
}

impl PlanReview {
    /// Whether a reviewer may move a plan from `self` to `to`: forward through submitted →
    /// shortlisted → forwarded → selected, or to not selected from any open step.
    pub fn may_become(self, to: Self) -> bool {
        use PlanReview::{Forwarded, NotSelected, Selected, Shortlisted, Submitted};
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
        matches!(self, Self::Selected | Self::NotSelected)
    }
}

/// What an uploaded plan attachment is, as its content shows (never its file name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, ToSchema)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// A PDF, such as the stamped plan.
    #[sea_orm(string_value = "pdf")]
    Pdf,
    /// A Word document (.docx).
    #[sea_orm(string_value = "docx")]
    Docx,
}

impl AttachmentKind {
    /// The media type it is served as.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        }
    }

    /// The file extension it is saved with.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Docx => "docx",
        }
    }
}
