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
