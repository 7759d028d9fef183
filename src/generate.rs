//! `sciday generate`: a synthetic program of any size, for benchmarks and load tests.
//!
//! The data is deterministic for a seed and plausible: Chinese names, organizations under a
//! city association, venues of every kind, sessions spread over the program's days in working
//! hours, roles on every session, and assignments that obey the staffing rules by
//! construction (a volunteer serves at most one session a day, no role is over-filled). Rows
//! are written with bulk inserts, not through the rule-checking path, so millions are quick.

use chrono::{DateTime, Days, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use entity::kinds::{ActivityKind, AssignmentStatus, OrganizationKind, SessionStatus, VenueKind};
use entity::prelude::{Activity, Program, Session, SessionRole, Venue, Volunteer};
use entity::{
    activity, assignment, organization, program, session, session_role, team, team_membership, venue, volunteer,
};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use sea_orm::{ActiveModelTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, Set};

use crate::db::Db;
use crate::error::Result;
use crate::store::insert_all;

/// How much to generate.
#[derive(Clone, Debug)]
pub struct Sizes {
    pub organizations: usize,
    pub venues: usize,
    pub sessions: usize,
    pub volunteers: usize,
    pub assignments: usize,
    /// Seats per role, on average; rooms are left over for new assignments.
    pub seats_per_session: usize,
    /// Days the program spans.
    pub days: u32,
    /// The program's first day.
    pub first_day: NaiveDate,
    pub seed: u64,
}

/// How many steps `generate` reports through its `progress` callback.
pub const STEPS: u64 = 5;

/// The tables `generate` fills, whose statistics it refreshes afterwards.
const FILLED: &[&str] = &[
    "organizations",
    "venues",
    "programs",
    "activities",
    "sessions",
    "session_roles",
    "teams",
    "team_memberships",
    "volunteers",
    "assignments",
    "program_hours",
    "program_hour_blocks",
];

impl Sizes {
    /// Rows written at most: the organizations under their root, a team, venues, the program
    /// and its eleven activities, a session and a role for each session, volunteers, a tenth
    /// of them in the team, and the assignments.
    pub fn rows(&self) -> usize {
        let organizations = self.organizations + 1;
        let program = 1 + 11 + 2 * self.sessions;
        let volunteers = self.volunteers + self.volunteers.div_ceil(10);
        organizations + 1 + self.venues.max(1) + program + volunteers + self.assignments
    }
}

/// What was generated, by id range.
#[derive(Clone, Debug)]
pub struct Generated {
    pub program_id: i64,
    pub root_organization_id: i64,
    pub sessions: usize,
    pub roles: usize,
    pub volunteers: usize,
    pub assignments: usize,
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马",
    "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹", "袁", "邓", "许", "傅", "沈", "曾",
    "彭", "吕",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞",
    "平", "刚", "桂英", "建华", "文", "华", "玉兰", "志强", "海燕", "建国", "红梅", "晓东", "丹", "鹏", "浩然", "思远",
    "雨欣",
];
const PLACES: &[&str] = &[
    "海州", "连云", "赣榆", "东海", "灌云", "灌南", "新浦", "墟沟", "青口", "牛山", "伊山", "新安",
];
const TAGS: &[&str] = &[
    "科学普及",
    "健康服务",
    "农业技术推广",
    "青少年科技辅导",
    "应急技能",
    "医院院长",
    "学校校长",
    "农技站站长",
    "科技型企业企业家",
];
const ROLE_NAMES: &[&str] = &[
    "讲解员",
    "引导员",
    "医生",
    "监考",
    "联络员",
    "主讲专家",
    "农技指导",
    "礼仪",
];

/// Generates into an empty or existing database in one transaction, so a run that is killed or
/// fails leaves nothing behind. `progress` hears each step as it is written, before the commit.
pub async fn generate(
    db: &Db,
    sizes: &Sizes,
    now: DateTime<Utc>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Generated> {
    let mut rng = StdRng::seed_from_u64(sizes.seed);
    let txn = db.begin().await?;
    // Keys carry the seed and a run number, so the same seed can be generated twice into one
    // database; the content depends on the seed alone.
    let runs = Program::find().count(&txn).await?;
    let run = format!("{}-{}", sizes.seed, runs + 1);
    let root = organization::ActiveModel {
        key: Set(format!("gen{run}.org.root")),
        parent_id: Set(None),
        path: Set(String::new()),
        kind: Set(OrganizationKind::CityAssociation),
        name: Set("合成市科学技术协会".to_owned()),
        short_name: Set(Some("合成市科协".to_owned())),
        contact_name: Set(None),
        contact_office_phone: Set(None),
        contact_mobile: Set(None),
        contact_fax: Set(None),
        contact_email: Set(None),
        plan_expected: Set(false),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut root_row: organization::ActiveModel = root.clone().into();
    root_row.path = Set(format!("/{}/", root.id));
    let root = root_row.update(&txn).await?;
    // Children get their paths after insert; insert one at a time is fine for thousands.
    let mut organizations = Vec::with_capacity(sizes.organizations);
    for i in 0..sizes.organizations {
        let place = PLACES[i % PLACES.len()];
        let (kind, name) = if i % 3 == 0 {
            (OrganizationKind::Society, format!("{place}第{i}学会"))
        } else {
            (OrganizationKind::CountyAssociation, format!("{place}第{i}科协"))
        };
        let row = organization::ActiveModel {
            key: Set(format!("gen{run}.org.{i}")),
            parent_id: Set(Some(root.id)),
            path: Set(String::new()),
            kind: Set(kind),
            name: Set(name),
            short_name: Set(None),
            contact_name: Set(None),
            contact_office_phone: Set(None),
            contact_mobile: Set(None),
            contact_fax: Set(None),
            contact_email: Set(None),
            plan_expected: Set(kind == OrganizationKind::Society),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let path = format!("{}{}/", root.path, row.id);
        let mut row: organization::ActiveModel = row.into();
        row.path = Set(path);
        organizations.push(row.update(&txn).await?.id);
    }
    if organizations.is_empty() {
        organizations.push(root.id);
    }
    let team = team::ActiveModel {
        key: Set(format!("gen{run}.team.root")),
        organization_id: Set(root.id),
        parent_id: Set(None),
        path: Set(String::new()),
        name: Set("合成市科技志愿者支队".to_owned()),
        description: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let path = format!("/{}/", team.id);
    let mut team_row: team::ActiveModel = team.into();
    team_row.path = Set(path);
    let team = team_row.update(&txn).await?;
    let kinds = [
        VenueKind::PartyMassesServiceCenter,
        VenueKind::CivilizationPracticeCenter,
        VenueKind::Enterprise,
        VenueKind::Park,
        VenueKind::Community,
        VenueKind::Village,
        VenueKind::School,
        VenueKind::Hospital,
        VenueKind::Other,
    ];
    let venues: Vec<venue::ActiveModel> = (0..sizes.venues.max(1))
        .map(|i| venue::ActiveModel {
            key: Set(format!("gen{run}.venue.{i}")),
            name: Set(format!("{}第{i}号场馆", PLACES[i % PLACES.len()])),
            address: Set(None),
            kind: Set(kinds[i % kinds.len()]),
            latitude: Set(Some(34.5 + rng.random_range(0.0..0.3))),
            longitude: Set(Some(119.0 + rng.random_range(0.0..0.4))),
            time_zone: Set("Asia/Shanghai".to_owned()),
            organization_id: Set(Some(organizations[i % organizations.len()])),
            shared: Set(false),
            illustrative: Set(true),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    insert_all(&txn, venues).await?;
    let venue_ids = ids_by_key_prefix::<Venue>(&txn, &format!("gen{run}.venue.")).await?;
    let program = program::ActiveModel {
        key: Set(format!("gen{run}.program")),
        name: Set(format!("合成科技工作者日系列活动 {run}")),
        theme: Set(None),
        time_zone: Set("Asia/Shanghai".to_owned()),
        host_organization_id: Set(root.id),
        plan_deadline: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let activities: Vec<activity::ActiveModel> = (0..11)
        .map(|i| activity::ActiveModel {
            key: Set(format!("gen{run}.activity.{i}")),
            program_id: Set(program.id),
            kind: Set(if i == 0 {
                ActivityKind::Main
            } else {
                ActivityKind::Series
            }),
            display_order: Set(i),
            title: Set(format!("合成系列活动{i}")),
            description: Set(None),
            // The main activity is the host's own, as the launch ceremony is the city
            // association's: its roles without a team are open to every volunteer.
            organization_id: Set(if i == 0 {
                root.id
            } else {
                organizations[usize::try_from(i).unwrap_or(0) % organizations.len()]
            }),
            service_kinds: Set(serde_json::json!(["科学普及"])),
            public: Set(true),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    insert_all(&txn, activities).await?;
    let activity_ids = ids_by_key_prefix::<Activity>(&txn, &format!("gen{run}.activity.")).await?;
    progress("organizations, venues and activities");

    // Sessions: each on one day, in working hours, so a volunteer with one session a day can
    // never clash.
    let days = sizes.days.max(1);
    let mut session_days = Vec::with_capacity(sizes.sessions);
    let mut rows = Vec::with_capacity(sizes.sessions);
    for i in 0..sizes.sessions {
        let day = u32::try_from(i).unwrap_or(0) % days;
        let date = sizes.first_day + Days::new(u64::from(day));
        let start_hour = rng.random_range(8..16);
        let length = TimeDelta::minutes(60 * rng.random_range(1..3) + 30 * rng.random_range(0..2));
        let local = date.and_hms_opt(start_hour, 0, 0).unwrap_or_default();
        let starts_at = Shanghai
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        session_days.push(day);
        rows.push(session::ActiveModel {
            key: Set(format!("gen{run}.session.{i}")),
            program_id: Set(program.id),
            activity_id: Set(*activity_ids.choose(&mut rng).unwrap_or(&activity_ids[0])),
            venue_id: Set(*venue_ids.choose(&mut rng).unwrap_or(&venue_ids[0])),
            title: Set(None),
            description: Set(None),
            time_zone: Set("Asia/Shanghai".to_owned()),
            all_day: Set(false),
            starts_at: Set(starts_at),
            ends_at: Set(starts_at + length),
            start_date: Set(None),
            end_date: Set(None),
            status: Set(SessionStatus::Scheduled),
            capacity: Set(Some(100)),
            video_url: Set(None),
            linked_session_id: Set(None),
            illustrative: Set(true),
            version: Set(1),
            sequence: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
            ..Default::default()
        });
    }
    insert_all(&txn, rows).await?;
    let session_ids = ids_by_key_prefix::<Session>(&txn, &format!("gen{run}.session.")).await?;
    let seats = sizes.seats_per_session.max(1);
    let roles: Vec<session_role::ActiveModel> = session_ids
        .iter()
        .enumerate()
        .map(|(i, session)| session_role::ActiveModel {
            key: Set(format!("gen{run}.role.{i}")),
            session_id: Set(*session),
            name: Set(ROLE_NAMES[i % ROLE_NAMES.len()].to_owned()),
            needed: Set(i32::try_from(seats).unwrap_or(i32::MAX)),
            team_id: Set(None),
            qualifications: Set(serde_json::json!([])),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    insert_all(&txn, roles).await?;
    let role_ids = ids_by_key_prefix::<SessionRole>(&txn, &format!("gen{run}.role.")).await?;
    progress("sessions and roles");

    let mut rows = Vec::with_capacity(sizes.volunteers);
    for i in 0..sizes.volunteers {
        let name = format!(
            "{}{}",
            SURNAMES.choose(&mut rng).unwrap_or(&"王"),
            GIVEN.choose(&mut rng).unwrap_or(&"伟")
        );
        let tags: Vec<&str> = TAGS.choose_multiple(&mut rng, 2).copied().collect();
        rows.push(volunteer::ActiveModel {
            key: Set(format!("gen{run}.volunteer.{i}")),
            name: Set(name),
            // The 1440 block holds 13-digit IoT numbers: no 11-digit number there is a person's.
            mobile: Set(Some(format!("1440{:07}", i % 10_000_000))),
            email: Set(None),
            organization_id: Set(organizations[i % organizations.len()]),
            tags: Set(serde_json::json!(tags)),
            feed_token: Set(Some(crate::auth::feed_token())),
            page_token: Set(Some(crate::auth::feed_token())),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
    }
    insert_all(&txn, rows).await?;
    let volunteer_ids = ids_by_key_prefix::<Volunteer>(&txn, &format!("gen{run}.volunteer.")).await?;
    let memberships: Vec<team_membership::ActiveModel> = volunteer_ids
        .iter()
        .step_by(10)
        .map(|v| team_membership::ActiveModel {
            team_id: Set(team.id),
            volunteer_id: Set(*v),
            leader: Set(false),
        })
        .collect();
    insert_all(&txn, memberships).await?;
    progress("volunteers");

    // Assignments: walk volunteers round-robin over days, one session per volunteer per day,
    // filling roles up to their seats minus one (so every role keeps an open seat).
    let mut sessions_by_day: Vec<Vec<usize>> = vec![Vec::new(); usize::try_from(days).unwrap_or(1)];
    for (index, day) in session_days.iter().enumerate() {
        sessions_by_day[usize::try_from(*day).unwrap_or(0)].push(index);
    }
    let mut filled = vec![0usize; role_ids.len()];
    let mut cursor = vec![0usize; sessions_by_day.len()];
    let mut rows = Vec::with_capacity(sizes.assignments.min(50_000));
    let mut made = 0usize;
    'outer: for round in 0..usize::try_from(days).unwrap_or(1) {
        for (v, volunteer) in volunteer_ids.iter().enumerate() {
            if made >= sizes.assignments {
                break 'outer;
            }
            let day = (v + round) % sessions_by_day.len();
            let day_sessions = &sessions_by_day[day];
            if day_sessions.is_empty() {
                continue;
            }
            // Find a session of that day with a free seat.
            let mut found = None;
            for _ in 0..day_sessions.len() {
                let index = day_sessions[cursor[day] % day_sessions.len()];
                cursor[day] += 1;
                if filled[index] + 1 < seats {
                    found = Some(index);
                    break;
                }
            }
            let Some(index) = found else { continue };
            filled[index] += 1;
            made += 1;
            rows.push(assignment::ActiveModel {
                key: Set(format!("gen{run}.assignment.{made}")),
                role_id: Set(role_ids[index]),
                session_id: Set(session_ids[index]),
                volunteer_id: Set(*volunteer),
                status: Set(if made.is_multiple_of(5) {
                    AssignmentStatus::Confirmed
                } else {
                    AssignmentStatus::Proposed
                }),
                reason: Set(None),
                checked_in_at: Set(None),
                overridden_rules: Set(serde_json::json!([])),
                override_reason: Set(None),
                overridden_by: Set(None),
                conflicts: Set(None),
                flagged_at: Set(None),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
            if rows.len() == 50_000 {
                insert_all(&txn, std::mem::take(&mut rows)).await?;
            }
        }
    }
    insert_all(&txn, rows).await?;
    // Written in bulk, so the program's totals are computed once at the end.
    crate::store::program_hours::rebuild(&txn, Some(program.id)).await?;
    progress("assignments");
    // One entry in the trail for the whole synthetic program, not one per generated row.
    crate::store::audit::Audit::new(crate::store::audit::Author::cli(), now)
        .record(&txn, "generate", None, Some(&program))
        .await?;
    // Every feed shows the new program.
    crate::store::stamps::raise(&txn, &crate::store::stamps::everything(), now).await?;
    // All or nothing: a run killed before this line leaves the database as it was.
    txn.commit().await?;
    // The planner would otherwise plan for the tables as they were (empty, often) until
    // autovacuum caught up, which can take the first requests seconds instead of milliseconds.
    let txn = db.begin().await?;
    crate::store::analyze(&txn, FILLED).await?;
    txn.commit().await?;
    progress("statistics");
    Ok(Generated {
        program_id: program.id,
        root_organization_id: root.id,
        sessions: session_ids.len(),
        roles: role_ids.len(),
        volunteers: volunteer_ids.len(),
        assignments: made,
    })
}

/// The ids of rows whose key starts with `prefix`, in the order they were generated.
async fn ids_by_key_prefix<E>(txn: &DatabaseTransaction, prefix: &str) -> Result<Vec<i64>>
where
    E: EntityTrait,
    E::Column: std::str::FromStr,
{
    use std::str::FromStr as _;

    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    let column = |name: &str| {
        E::Column::from_str(name).map_err(|_| crate::error::Error::Internal(anyhow::anyhow!("no column {name}")))
    };
    let (id, key) = (column("id")?, column("key")?);
    let rows: Vec<(i64, String)> = E::find()
        .select_only()
        .column(id)
        .column(key)
        .filter(key.starts_with(prefix))
        .into_tuple()
        .all(txn)
        .await?;
    let mut rows: Vec<(usize, i64)> = rows
        .into_iter()
        .filter_map(|(id, key)| key.rsplit('.').next().and_then(|n| n.parse().ok()).map(|n| (n, id)))
        .collect();
    rows.sort_unstable();
    Ok(rows.into_iter().map(|(_, id)| id).collect())
}
