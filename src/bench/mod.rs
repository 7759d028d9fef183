//! `sciday bench …`: measurements of the real service on loopback.

pub mod assign;
pub mod feeds;
pub mod kill;
pub mod load;
pub mod national;
pub mod receiver;
pub mod serving;
pub mod webhooks;

use std::time::Duration;

pub use assign::*;

/// An admin token for a benchmark's requests.
pub async fn admin_token(db: &crate::db::Db, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<String> {
    let txn = db.begin().await?;
    let grant = crate::store::tokens::Grant {
        name: "benchmark".to_owned(),
        role: entity::kinds::Role::Admin,
        organization_id: None,
        volunteer_id: None,
        expires_at: None,
    };
    let (_, token) = crate::store::tokens::create(&txn, grant, now).await?;
    txn.commit().await?;
    Ok(token)
}

/// The median of `values` (the upper one of an even count).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// The value at or above `share` of the `sorted` values (nearest rank); zero for none.
pub(crate) fn percentile(sorted: &[Duration], share: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 * share).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_value_at_or_above_the_share() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 0.50), Duration::from_millis(50));
        assert_eq!(percentile(&values, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.99), Duration::ZERO);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
    }
}
