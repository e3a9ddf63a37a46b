//! The epoch ticker behind every call deadline: a background thread advances the engine's
//! epoch every [`EPOCH_TICK`]; a store whose deadline (in ticks) passes traps with
//! `Trap::Interrupt` at its next loop header or function entry.

use std::time::Duration;

/// How often the epoch advances: the resolution of call deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Starts the ticker. It holds only a weak reference, so it stops once the engine is gone.
pub(crate) fn start_ticker(engine: &wasmtime::Engine) -> std::io::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("corral-plugin-epoch".to_string())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(|_| ())
}

/// The number of ticks to allow for `deadline`: rounded up, plus one because the current
/// tick is already partly over. A call therefore runs at least `deadline` and at most one
/// tick (plus scheduling delay) longer.
pub(crate) fn deadline_ticks(deadline: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos();
    let ticks = deadline.as_nanos().div_ceil(tick);
    u64::try_from(ticks).unwrap_or(u64::MAX - 1).max(1) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_is_never_shorter_than_asked() {
        assert_eq!(deadline_ticks(Duration::from_millis(100)), 11);
        assert_eq!(deadline_ticks(Duration::from_millis(101)), 12);
        assert_eq!(deadline_ticks(Duration::ZERO), 2);
    }
}
