//! Time arithmetic that never panics.
//!
//! Waits come from the network (`Retry-After`, `Crawl-delay`) and from the
//! configuration, so they can be as large as a `u64` of seconds. `Instant +
//! Duration`, `DateTime + TimeDelta` and `Duration::mul_f64` panic on
//! overflow; every deadline in the daemon is computed here instead, where an
//! overflowing result saturates to a far but representable time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// The longest wait any deadline is allowed to express (about 100 years):
/// further than any interval the daemon means, near enough to be representable.
pub const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `from + wait`, at most [`FOREVER`] later.
pub fn instant_after(from: Instant, wait: Duration) -> Instant {
    let wait = wait.min(FOREVER);
    from.checked_add(wait).unwrap_or(from)
}

/// `Instant::now() + wait`, saturating.
pub fn instant_in(wait: Duration) -> Instant {
    instant_after(Instant::now(), wait)
}

/// `from + wait` in wall-clock time, at most [`FOREVER`] later (and never
/// past the last date chrono can represent).
pub fn utc_after(from: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(wait.min(FOREVER))
        .ok()
        .and_then(|delta| from.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `from - wait` in wall-clock time, saturating at the first date chrono can represent.
pub fn utc_before(from: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(wait.min(FOREVER))
        .ok()
        .and_then(|delta| from.checked_sub_signed(delta))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// `Utc::now() + wait`, saturating.
pub fn utc_in(wait: Duration) -> DateTime<Utc> {
    utc_after(Utc::now(), wait)
}

/// `wait × factor` for a factor ≥ 0, saturating at [`FOREVER`]
/// (`Duration::mul_f64` panics when the product does not fit).
pub fn scaled(wait: Duration, factor: f64) -> Duration {
    if factor.is_nan() || factor < 0.0 {
        return wait.min(FOREVER);
    }
    Duration::try_from_secs_f64(wait.min(FOREVER).as_secs_f64() * factor)
        .unwrap_or(FOREVER)
        .min(FOREVER)
}

/// Seconds since 1970 as the state store keeps them (u32 lasts until 2106;
/// earlier times read as 0, later ones as the last second).
pub fn unix_seconds(at: DateTime<Utc>) -> u32 {
    u32::try_from(at.timestamp().max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_waits_saturate_instead_of_panicking() {
        let huge = Duration::from_secs(u64::MAX);
        let now = Instant::now();
        let at = instant_after(now, huge);
        assert_eq!(at.duration_since(now), FOREVER);
        assert!(instant_in(Duration::from_secs(100_000_000_000_000)) > now);

        let wall = Utc::now();
        let later = utc_after(wall, huge);
        assert!(later > wall);
        assert!((later - wall).num_days() <= 100 * 366);
        assert!(utc_in(Duration::from_secs(100_000_000_000_000)) > wall);
        assert_eq!(
            utc_after(DateTime::<Utc>::MAX_UTC, huge),
            DateTime::<Utc>::MAX_UTC
        );

        assert_eq!(scaled(huge, 1.1), FOREVER);
        assert_eq!(scaled(Duration::from_secs(10), 0.5), Duration::from_secs(5));
        assert_eq!(
            scaled(Duration::from_secs(10), f64::NAN),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn ordinary_waits_are_exact() {
        let now = Instant::now();
        assert_eq!(
            instant_after(now, Duration::from_secs(90)).duration_since(now),
            Duration::from_secs(90)
        );
        let wall = Utc::now();
        assert_eq!(
            (utc_after(wall, Duration::from_secs(90)) - wall).num_seconds(),
            90
        );
    }
}
