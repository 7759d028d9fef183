//! `sciday generate`: deterministic, plausible, and valid by construction.

use chrono::NaiveDate;
use sciday::generate::{Sizes, generate};
use sea_orm::{ConnectionTrait, Statement};

use crate::db_test;

fn sizes(seed: u64) -> Sizes {
    Sizes {
        organizations: 5,
        venues: 12,
        sessions: 60,
        volunteers: 200,
        assignments: 500,
        seats_per_session: 12,
        days: 10,
        first_day: NaiveDate::from_ymd_opt(2019, 6, 1).unwrap(),
        seed,
    }
}

async fn scalar(app: &crate::helpers::TestApp, sql: &str) -> i64 {
    let backend = app.db.backend();
    let row = app
        .db
        .reader()
        .query_one_raw(Statement::from_string(backend, sql.to_owned()))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

db_test! {
    async fn the_same_seed_generates_the_same_program(app: TestApp) {
        let first = generate(&app.db, &sizes(7), app.policy().now, &|_| {}).await.unwrap();
        assert_eq!((first.sessions, first.volunteers, first.assignments), (60, 200, 500));
        let names = |offset: i64| format!(
            "SELECT COUNT(*) FROM volunteers a JOIN volunteers b ON b.id = a.id + {offset} WHERE a.name = b.name AND a.id <= 200"
        );
        let second = generate(&app.db, &sizes(7), app.policy().now, &|_| {}).await.unwrap();
        let shift = second.volunteers as i64;
        // Key prefixes differ per run, but the same seed draws the same names in the same order.
        assert_eq!(scalar(&app, &names(shift)).await, 200);
        let other = generate(&app.db, &sizes(8), app.policy().now, &|_| {}).await.unwrap();
        assert_eq!(other.volunteers, 200);
        assert!(scalar(&app, &names(2 * shift)).await < 200, "another seed draws other names");
    }
}

db_test! {
    async fn generated_assignments_obey_the_staffing_rules(app: TestApp) {
        generate(&app.db, &sizes(11), app.policy().now, &|_| {}).await.unwrap();
        let overfilled = scalar(&app, "SELECT COUNT(*) FROM (SELECT r.id FROM session_roles r JOIN assignments a ON a.role_id = r.id \
             GROUP BY r.id, r.needed HAVING COUNT(a.id) > r.needed) over").await;
        assert_eq!(overfilled, 0);
        let double_booked = scalar(&app, "SELECT COUNT(*) FROM assignments a JOIN sessions s ON s.id = a.session_id \
             JOIN assignments b ON b.volunteer_id = a.volunteer_id AND b.id <> a.id JOIN sessions t ON t.id = b.session_id \
             WHERE s.starts_at < t.ends_at AND t.starts_at < s.ends_at").await;
        assert_eq!(double_booked, 0);
        let fake = scalar(&app, "SELECT COUNT(*) FROM volunteers WHERE mobile NOT LIKE '1440%'").await;
        assert_eq!(fake, 0, "generated mobiles stay in the range that reaches nobody");
    }
}

db_test! {
    async fn generating_refreshes_the_planner_statistics_of_what_it_filled(app: TestApp) {
        generate(&app.db, &sizes(12), app.policy().now, &|_| {}).await.unwrap();
        // Only ANALYZE writes these: SQLite's table does not even exist before it runs.
        let statistics = match app.backend {
            crate::helpers::Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'volunteers'",
            crate::helpers::Backend::Postgres => "SELECT COUNT(*) FROM pg_stats WHERE tablename = 'volunteers'",
        };
        assert!(scalar(&app, statistics).await > 0);
    }
}

db_test! {
    async fn a_generated_program_keeps_each_volunteers_hours_for_ranking(app: TestApp) {
        let generated = generate(&app.db, &sizes(13), app.policy().now, &|_| {}).await.unwrap();
        let kept = sciday::store::program_hours::of(app.db.reader(), generated.program_id).await.unwrap();
        let everyone: Vec<i64> = kept.keys().copied().collect();
        let counted = sciday::store::hours::assigned_in_program(app.db.reader(), &everyone, generated.program_id)
            .await
            .unwrap();
        assert!(!kept.is_empty());
        for (volunteer, seconds) in kept {
            assert!((seconds as f64 / 3600.0 - counted[&volunteer]).abs() < 1e-9, "volunteer {volunteer}");
        }
        let assigned = scalar(&app, "SELECT COUNT(DISTINCT volunteer_id) FROM assignments").await;
        assert_eq!(everyone.len() as i64, assigned, "everyone assigned has hours");
    }
}

db_test! {
    async fn the_main_activity_of_a_generated_program_is_the_hosts_own(app: TestApp) {
        generate(&app.db, &sizes(14), app.policy().now, &|_| {}).await.unwrap();
        // As the launch ceremony is the city association's: its roles without a team are open
        // to the volunteers of every organization, which a national measurement of the
        // candidates needs.
        let hosts_own = scalar(&app, "SELECT COUNT(*) FROM activities a JOIN programs p ON p.id = a.program_id \
             WHERE a.kind = 'main' AND a.organization_id = p.host_organization_id").await;
        assert_eq!(hosts_own, 1);
        let series_by_others = scalar(&app, "SELECT COUNT(*) FROM activities a JOIN programs p ON p.id = a.program_id \
             WHERE a.kind = 'series' AND a.organization_id <> p.host_organization_id").await;
        assert_eq!(series_by_others, 10);
    }
}
