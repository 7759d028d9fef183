//! The national data set: generated once (about two minutes at full size) and found again by
//! the keys the generator gives its rows, so later runs measure the same database.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Asia::Shanghai;
use entity::prelude::{Assignment, Program, Session, Volunteer};
use entity::{program, session};
use migration::{Migrator, MigratorTrait as _};
use sea_orm::{
    ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use crate::db::Db;
use crate::generate::{self, Generated, Sizes};

/// The seed of the national data set: its program's key is `gen2019-1.program`.
const SEED: u64 = 2019;

/// The national sizes (issue 17) times `scale`, each at least one.
pub fn sizes(scale: f64, today: NaiveDate) -> Sizes {
    let scaled = |n: f64| ((n * scale).round() as usize).max(1);
    Sizes {
        organizations: scaled(2_000.0),
        venues: scaled(10_000.0),
        sessions: scaled(100_000.0),
        volunteers: scaled(1_000_000.0),
        assignments: scaled(1_500_000.0),
        seats_per_session: 20,
        days: 30,
        // As `sciday generate` does: every session lies ahead for a month.
        first_day: today + Days::new(30),
        seed: SEED,
    }
}

/// The data set a run measures.
#[derive(Clone, Debug)]
pub struct DataSet {
    /// What the generator made (counted again when reused).
    pub generated: Generated,
    /// The day of the program's first session, in Beijing.
    pub first_day: NaiveDate,
    /// The day of its last session.
    pub last_day: NaiveDate,
    /// Whether it was there already.
    pub reused: bool,
    /// How long generating it took, when it was generated now.
    pub generated_in: Option<Duration>,
}

/// The national data set of `sizes` in `db`: the one there if its counts match, else a new one
/// into an empty database. `regenerate` empties a database of generated data first; a
/// database holding anything else is never emptied.
pub async fn ensure(db: &Db, sizes: &Sizes, regenerate: bool, now: DateTime<Utc>) -> anyhow::Result<DataSet> {
    if !regenerate && let Some(found) = find(db, sizes, now).await? {
        return Ok(found);
    }
    let programs: Vec<String> = Program::find()
        .select_only()
        .column(program::Column::Key)
        .into_tuple()
        .all(db.reader())
        .await?;
    if let Some(other) = programs.iter().find(|key| !key.starts_with("gen")) {
        bail!("the database holds a program that sciday generate did not make ({other}); give an empty database");
    }
    if crate::store::holds_data(db.reader()).await? {
        if !regenerate {
            bail!(
                "the database holds a generated data set of other sizes, or one whose sessions have begun; \
                 give --regenerate to empty it and generate the national one"
            );
        }
        eprintln!("emptying the database of its generated data (--regenerate)");
        Migrator::fresh(db.reader()).await.context("emptying the database")?;
    }
    eprintln!(
        "generating {} sessions, {} volunteers and up to {} assignments (about two minutes at full size)",
        sizes.sessions, sizes.volunteers, sizes.assignments
    );
    let started = Instant::now();
    generate::generate(db, sizes, now, &|step| eprintln!("  generated {step}")).await?;
    let mut made = find(db, sizes, now)
        .await?
        .context("the generated data set is not where it was written")?;
    made.reused = false;
    made.generated_in = Some(started.elapsed());
    Ok(made)
}

/// The data set of `sizes`, if the database holds it and its sessions are still to come.
async fn find(db: &Db, sizes: &Sizes, now: DateTime<Utc>) -> anyhow::Result<Option<DataSet>> {
    let conn = db.reader();
    let Some(program) = Program::find()
        .filter(program::Column::Key.eq(format!("gen{}-1.program", sizes.seed)))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let in_program = || Session::find().filter(session::Column::ProgramId.eq(program.id));
    let sessions = usize::try_from(in_program().count(conn).await?)?;
    let volunteers = usize::try_from(Volunteer::find().count(conn).await?)?;
    if sessions != sizes.sessions || volunteers != sizes.volunteers {
        return Ok(None);
    }
    let first = in_program().order_by_asc(session::Column::StartsAt).one(conn).await?;
    let last = in_program().order_by_desc(session::Column::StartsAt).one(conn).await?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(None);
    };
    // Feeds, lists and reminders are measured over sessions still to come.
    if last.starts_at < now + Days::new(2) {
        return Ok(None);
    }
    let assignments = Assignment::find()
        .inner_join(Session)
        .filter(session::Column::ProgramId.eq(program.id))
        .count(conn)
        .await?;
    let day = |at: DateTime<Utc>| at.with_timezone(&Shanghai).date_naive();
    Ok(Some(DataSet {
        generated: Generated {
            program_id: program.id,
            root_organization_id: program.host_organization_id,
            sessions,
            roles: sessions,
            volunteers,
            assignments: usize::try_from(assignments)?,
        },
        first_day: day(first.starts_at),
        last_day: day(last.starts_at),
        reused: true,
        generated_in: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_national_sizes_scale_down_to_at_least_one_of_each() {
        let today = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap_or_default();
        let full = sizes(1.0, today);
        assert_eq!(
            (full.sessions, full.volunteers, full.assignments),
            (100_000, 1_000_000, 1_500_000)
        );
        assert_eq!((full.organizations, full.venues), (2_000, 10_000));
        let tiny = sizes(0.0001, today);
        assert_eq!((tiny.sessions, tiny.volunteers, tiny.organizations), (10, 100, 1));
    }
}
