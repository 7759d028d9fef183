//! The form an organization fills in (附件1), and how its fields are checked.

use entity::kinds::VenueKind;
use sea_orm::ConnectionTrait;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::field::{FieldError, one};
use crate::domain::plan;
use crate::domain::text::{self, NAME_MAX};
use crate::error::{Error, Result};
use crate::http::as_field;
use crate::http::organizations::ContactIn;
use crate::store::plans::{PlanContact, PlanFields};
use crate::store::venues;
use crate::validate;

/// The kinds of place a plan may name as its platform (对接入驻平台).
const PLATFORM_KINDS: [VenueKind; 3] = [
    VenueKind::PartyMassesServiceCenter,
    VenueKind::CivilizationPracticeCenter,
    VenueKind::Other,
];

/// A plan as an organization fills in the form (附件1).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanIn {
    /// The host unit (主办单位): the submitting organization. An organizer's own when absent;
    /// admins name it.
    pub(super) organization_id: Option<i64>,
    /// 主题活动名称.
    activity_name: String,
    /// 承办单位名称.
    organizing_unit: String,
    /// 对接入驻平台: a venue of kind `party_masses_service_center`,
    /// `civilization_practice_center` or `other`.
    venue_id: i64,
    /// 座谈会当天与北京主场视频连线: whether it joins the Beijing video link on the day.
    joins_video_link: bool,
    /// 联系人: name and mobile are required; office phone and fax with area code.
    contact: ContactIn,
    /// The plan: ideas, how the team is formed, main activities, the flag-ceremony format,
    /// scale, attendees, draft agenda and timeline (about 800 characters; 20–5,000).
    text: String,
}

/// The form's fields, checked as a clerk would fill them in.
pub(super) async fn fields_of(conn: &impl ConnectionTrait, input: &PlanIn) -> Result<PlanFields> {
    validate! {
        activity_name = one(text::required("activity_name", &input.activity_name, NAME_MAX)),
        organizing_unit = one(text::required("organizing_unit", &input.organizing_unit, NAME_MAX)),
        contact = contact_of(&input.contact),
        text = one(plan::plan_text("text", &input.text)),
    }
    let venue = venues::get(conn, input.venue_id).await.map_err(as_field("venue_id"))?;
    if !PLATFORM_KINDS.contains(&venue.kind) {
        return Err(Error::field(
            "venue_id",
            "wrong_kind",
            "the platform must be a party-masses service center, a civilization practice center or another venue of kind other",
        ));
    }
    Ok(PlanFields {
        activity_name,
        organizing_unit,
        venue_id: venue.id,
        joins_video_link: input.joins_video_link,
        contact,
        text,
    })
}

fn contact_of(input: &ContactIn) -> std::result::Result<PlanContact, Vec<FieldError>> {
    let contact = input.parse("contact")?;
    let mut missing = Vec::new();
    if contact.name.is_none() {
        missing.push(FieldError::new("contact.name", "required", "name the contact person"));
    }
    if contact.mobile.is_none() {
        missing.push(FieldError::new(
            "contact.mobile",
            "required",
            "give the contact's mobile number",
        ));
    }
    PlanContact::from_contact(contact).ok_or(missing)
}
