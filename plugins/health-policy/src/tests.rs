//! The policy's own tests (moved here from the agent's recovered-task policy), on a simulated
//! clock in milliseconds.

use super::*;

const S: u64 = 1_000;

fn policy(failures: u32, grace_s: f64, launched_ms: u64) -> HealthPolicy {
    HealthPolicy::new(
        Timing::from_seconds(0.0, 1.0, grace_s, failures),
        launched_ms,
    )
}

fn attempt(p: &mut HealthPolicy, healthy: bool, now_ms: u64) -> Verdict {
    let id = p.start_attempt().expect("no attempt in flight");
    p.on_result(id, healthy, "msg", now_ms)
}

#[test]
fn health_is_reported_on_change_and_failures_in_a_row_kill() {
    let mut p = policy(2, 0.0, 0);
    assert_eq!(attempt(&mut p, true, 100 * S), Verdict::Report(true));
    assert_eq!(attempt(&mut p, true, 101 * S), Verdict::Quiet);
    assert_eq!(attempt(&mut p, false, 102 * S), Verdict::Report(false));
    assert_eq!(
        attempt(&mut p, false, 103 * S),
        Verdict::Kill {
            failures: 2,
            message: "msg".into()
        }
    );
}

#[test]
fn grace_counts_from_launch_and_ends_with_the_first_success() {
    let mut p = policy(1, 10.0, 0);
    assert_eq!(
        attempt(&mut p, false, 5 * S),
        Verdict::Quiet,
        "within grace"
    );
    assert_eq!(attempt(&mut p, true, 6 * S), Verdict::Report(true));
    assert!(matches!(
        attempt(&mut p, false, 7 * S),
        Verdict::Kill { .. }
    ));
    let mut late = policy(1, 10.0, 0);
    assert!(
        matches!(attempt(&mut late, false, 11 * S), Verdict::Kill { .. }),
        "a task launched before the grace period ended gets none after recovery"
    );
}

#[test]
fn the_grace_period_counts_from_the_launch_given() {
    // The executor's clock: launched at 1000 s, the grace runs until 1010 s.
    let mut p = policy(1, 10.0, 1_000 * S);
    assert_eq!(attempt(&mut p, false, 1_009 * S), Verdict::Quiet);
    assert!(matches!(
        attempt(&mut p, false, 1_010 * S),
        Verdict::Kill { .. }
    ));
    // A clock that reads before the launch is still within the grace period.
    let mut early = policy(1, 10.0, 1_000 * S);
    assert_eq!(attempt(&mut early, false, 0), Verdict::Quiet);
}

#[test]
fn a_result_for_no_attempt_is_stale() {
    let mut p = policy(1, 0.0, 0);
    assert_eq!(p.on_result(7, false, "", 0), Verdict::Stale);
    assert!(p.start_attempt().is_some());
    assert!(p.start_attempt().is_none(), "one attempt at a time");
}

#[test]
fn a_failure_limit_of_zero_kills_at_the_first_failure() {
    let mut p = policy(0, 0.0, 0);
    assert!(matches!(
        attempt(&mut p, false, S),
        Verdict::Kill { failures: 1, .. }
    ));
}

#[test]
fn times_in_seconds_become_milliseconds_and_bad_ones_zero() {
    let timing = Timing::from_seconds(1.5, 0.0, 10.0, 3);
    assert_eq!(
        timing,
        Timing {
            delay_ms: 1_500,
            interval_ms: 0,
            grace_period_ms: 10_000,
            consecutive_failures: 3
        }
    );
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(millis(bad), 0, "{bad}");
    }
    let p = HealthPolicy::new(timing, 0);
    assert_eq!(p.delay_ms(), 1_500);
    assert_eq!(p.interval_ms(), 1, "never a busy loop");
}
