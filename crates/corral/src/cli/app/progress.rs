//! How `corral app` shows a deployment while it runs: on a terminal, one line redrawn in
//! place with a bar of the running share of the desired instances; on a pipe or in a log, a
//! line each time the step or a count changes (what scripts and tests read).

use std::io::{IsTerminal, Write};

/// Width of the bar, in characters.
const BAR_WIDTH: usize = 24;

/// Where a deployment is: step `step` of `steps`, and the app's task counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub step: u64,
    pub steps: u64,
    pub running: u64,
    pub healthy: u64,
    pub desired: u64,
}

pub struct Progress {
    terminal: bool,
    last: Option<Counts>,
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            terminal: std::io::stdout().is_terminal(),
            last: None,
        }
    }

    pub fn show(&mut self, counts: Counts) {
        if self.last == Some(counts) {
            return;
        }
        self.last = Some(counts);
        let text = line(counts);
        if self.terminal {
            // Back to the line's start, the new text, then the rest of the old one cleared.
            print!("\r{} {text}\x1b[K", bar(counts.running, counts.desired));
            let _ = std::io::stdout().flush();
        } else {
            println!("{text}");
        }
    }

    /// Ends a line redrawn in place, so what follows starts on its own.
    pub fn finish(&mut self) {
        if self.terminal && self.last.is_some() {
            println!();
        }
    }
}

fn line(c: Counts) -> String {
    format!(
        "step {}/{}  running {}  healthy {}  desired {}",
        c.step, c.steps, c.running, c.healthy, c.desired
    )
}

/// `[#####......]`: `done` of `of`, full when nothing is desired.
fn bar(done: u64, of: u64) -> String {
    let filled = done
        .min(of)
        .saturating_mul(BAR_WIDTH as u64)
        .checked_div(of)
        .map_or(BAR_WIDTH, |n| usize::try_from(n).unwrap_or(BAR_WIDTH));
    format!("[{}{}]", "#".repeat(filled), ".".repeat(BAR_WIDTH - filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_running_share() {
        assert_eq!(bar(0, 4), format!("[{}]", ".".repeat(BAR_WIDTH)));
        assert_eq!(
            bar(1, 4),
            format!("[{}{}]", "#".repeat(6), ".".repeat(BAR_WIDTH - 6))
        );
        assert_eq!(
            bar(9, 4),
            format!("[{}]", "#".repeat(BAR_WIDTH)),
            "over is full"
        );
        assert_eq!(
            bar(0, 0),
            format!("[{}]", "#".repeat(BAR_WIDTH)),
            "nothing desired"
        );
    }

    #[test]
    fn the_line_names_the_step_and_the_counts() {
        let counts = Counts {
            step: 1,
            steps: 2,
            running: 3,
            healthy: 2,
            desired: 4,
        };
        assert_eq!(line(counts), "step 1/2  running 3  healthy 2  desired 4");
    }
}
