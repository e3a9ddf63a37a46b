//! `corral bench plugins`: ns per call of the plugins on a task's launch path, WASM next to
//! the same plugin code compiled natively, and their share of a whole task launch.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use super::table::Table;
use corral_bench::plugin_overhead::{CallTimes, measure};
use corral_bench::task_launch::{LaunchSetup, launch_times};
use corral_cgroups::IsolationMode;
use corral_plugin_host::PluginEngine;

/// Targets of issue 6.
const TARGET_PER_CALL: Duration = Duration::from_micros(20);
const TARGET_SHARE_PERCENT: f64 = 5.0;

#[derive(Debug, Clone, clap::Args)]
pub struct PluginsArgs {
    /// Calls timed per plugin call and build (the median is shown).
    #[arg(long, default_value_t = 2000)]
    pub iterations: usize,
    /// Task launches timed (one after another; the median is shown).
    #[arg(long, default_value_t = 20)]
    pub launches: usize,
    /// How the benchmark's agent isolates its tasks: cgroups, posix or auto.
    #[arg(long, default_value = "auto")]
    pub isolation: IsolationMode,
}

pub async fn plugins(args: PluginsArgs) -> anyhow::Result<ExitCode> {
    print!("{}", report(&args, true).await?);
    Ok(ExitCode::SUCCESS)
}

/// Runs both parts and renders the table. `supervised`: tasks run under this binary's
/// `supervise` command, as under `corral agent` (not possible from the test harness).
async fn report(args: &PluginsArgs, supervised: bool) -> anyhow::Result<String> {
    if args.iterations == 0 || args.launches == 0 {
        bail!("--iterations and --launches must be positive");
    }
    let iterations = args.iterations;
    let calls = tokio::task::spawn_blocking(move || {
        let engine = PluginEngine::new().context("cannot start the plugin engine")?;
        measure(&engine, iterations).context("a plugin call failed")
    })
    .await
    .context("the benchmark thread failed")??;
    let setup = LaunchSetup::in_temp("corral-bench-launch", args.isolation, supervised);
    let launches = launch_times(&setup, &Default::default(), args.launches).await;
    let _ = std::fs::remove_dir_all(&setup.work_dir);
    let mut launches = launches.context("the task launches failed")?;
    launches.sort();
    let launch = launches[launches.len() / 2];
    Ok(render(&calls, launch, args))
}

fn render(calls: &[CallTimes], launch: Duration, args: &PluginsArgs) -> String {
    let share = |d: Duration| 100.0 * d.as_secs_f64() / launch.as_secs_f64().max(1e-12);
    let mut table = Table::new([
        "call",
        "wasm us",
        "native us",
        "wasm/native",
        "wasm % of launch",
        "< 20 us?",
    ]);
    for c in calls {
        table.row([
            c.call.to_string(),
            us(c.wasm),
            us(c.native),
            format!("{:.1}", c.ratio()),
            format!("{:.2}", share(c.wasm)),
            yes_no(c.wasm < TARGET_PER_CALL),
        ]);
    }
    let all: Duration = calls.iter().map(|c| c.wasm).sum();
    let native: Duration = calls.iter().map(|c| c.native).sum();
    table.row([
        "all four (one launch's calls)".to_string(),
        us(all),
        us(native),
        format!("{:.1}", all.as_secs_f64() / native.as_secs_f64().max(1e-12)),
        format!("{:.2}", share(all)),
        String::new(),
    ]);
    format!(
        "plugin calls: median of {} each; task launch (ACCEPT to TASK_RUNNING of `true`, in \
         process, {} isolation): median of {} = {:.2} ms\n{}plugin share of a launch: {:.2}% \
         (target < {TARGET_SHARE_PERCENT}%: {})\n",
        args.iterations,
        args.isolation,
        args.launches,
        launch.as_secs_f64() * 1000.0,
        table.render(""),
        share(all),
        yes_no(share(all) < TARGET_SHARE_PERCENT),
    )
}

fn us(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e6)
}

fn yes_no(met: bool) -> String {
    if met { "yes" } else { "no" }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the whole benchmark with tiny counts, so it cannot rot; no timing is asserted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_benchmark_runs_and_prints_every_row() {
        let args = PluginsArgs {
            iterations: 3,
            launches: 2,
            isolation: IsolationMode::Posix,
        };
        let text = report(&args, false).await.expect("the benchmark runs");
        for row in [
            "labels on-launch",
            "admission on-launch",
            "command launch",
            "gpu prepare",
            "all four",
            "plugin share of a launch",
        ] {
            assert!(text.contains(row), "{row} missing from:\n{text}");
        }
    }

    #[tokio::test]
    async fn zero_counts_are_refused() {
        let args = PluginsArgs {
            iterations: 0,
            launches: 2,
            isolation: IsolationMode::Posix,
        };
        let err = report(&args, false).await.expect_err("refused");
        assert!(err.to_string().contains("positive"), "{err}");
    }
}
