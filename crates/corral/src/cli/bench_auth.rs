//! `corral bench auth`: the cost of authentication and authorization on a task's launch path
//! and on a busy read endpoint (`/master/state`), open against secured in alternating
//! rounds, and the two checks alone per call.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use super::table::Table;
use corral_bench::auth_overhead::{AuthBenchPlan, AuthOverhead, measure};
use corral_bench::task_launch::LaunchSetup;
use corral_cgroups::IsolationMode;

/// Issue 17's target.
const TARGET_PERCENT: f64 = 5.0;

#[derive(Debug, Clone, clap::Args)]
pub struct AuthArgs {
    /// Rounds, each open then secured.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Task launches per round and mode (one after another).
    #[arg(long, default_value_t = 20)]
    pub launches: usize,
    /// GET /master/state per round and mode (one after another).
    #[arg(long, default_value_t = 500)]
    pub reads: usize,
    /// Calls timed of each check alone.
    #[arg(long, default_value_t = 100_000)]
    pub checks: usize,
    /// The secured cluster also asks the shipped `policy` authorizer plugin after the ACLs,
    /// behind the master's decision cache (10 s).
    #[arg(long)]
    pub with_authorizer_plugin: bool,
    /// How the benchmark's agent isolates its tasks: cgroups, posix or auto.
    #[arg(long, default_value = "auto")]
    pub isolation: IsolationMode,
}

pub async fn auth(args: AuthArgs) -> anyhow::Result<ExitCode> {
    print!("{}", report(&args, true).await?);
    Ok(ExitCode::SUCCESS)
}

async fn report(args: &AuthArgs, supervised: bool) -> anyhow::Result<String> {
    if args.rounds == 0 || args.launches == 0 || args.reads == 0 || args.checks == 0 {
        bail!("--rounds, --launches, --reads and --checks must be positive");
    }
    let setup = LaunchSetup::in_temp("corral-bench-auth", args.isolation, supervised);
    let plan = AuthBenchPlan {
        rounds: args.rounds,
        launches_per_round: args.launches,
        reads_per_round: args.reads,
        checks: args.checks,
        with_plugin: args.with_authorizer_plugin,
    };
    let measured = measure(&setup, &plan).await;
    let _ = std::fs::remove_dir_all(&setup.work_dir);
    Ok(render(&measured.context("the benchmark failed")?, args))
}

fn render(m: &AuthOverhead, args: &AuthArgs) -> String {
    let ms = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
    let overhead = |open: Duration, secured: Duration| {
        100.0 * (secured.as_secs_f64() - open.as_secs_f64()) / open.as_secs_f64().max(1e-12)
    };
    let mut table = Table::new(["path", "open ms", "secured ms", "overhead %", "< 5%?"]);
    for (path, open, secured) in [
        (
            "task launch (ACCEPT to TASK_RUNNING)",
            m.launch_open,
            m.launch_secured,
        ),
        ("GET /master/state", m.read_open, m.read_secured),
    ] {
        let cost = overhead(open, secured);
        table.row([
            path.to_string(),
            ms(open),
            ms(secured),
            format!("{cost:.2}"),
            if cost < TARGET_PERCENT { "yes" } else { "no" }.to_string(),
        ]);
    }
    let ns = |d: Duration| d.as_secs_f64() * 1e9;
    let plugin = if args.with_authorizer_plugin {
        ", then the policy authorizer plugin (decisions cached 10 s)"
    } else {
        ""
    };
    format!(
        "medians of {} rounds x {} launches and {} reads per mode ({} isolation); secured: \
         every realm requires HTTP Basic, ACLs on register_frameworks and run_tasks{plugin}\n\
         {}one HTTP Basic check: {:.0} ns; one ACL decision (run_tasks): {:.0} ns; one policy \
         authorizer plugin decision: {:.0} ns through the WASM boundary, {:.0} ns cached \
         (mean of {} calls each); view filtering of one secured /master/state answer: \
         {:.1} us\n",
        args.rounds,
        args.launches,
        args.reads,
        args.isolation,
        table.render(""),
        ns(m.identify),
        ns(m.authorize),
        ns(m.plugin.uncached),
        ns(m.plugin.cached),
        args.checks,
        m.view_filter.as_secs_f64() * 1e6,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the whole benchmark with tiny counts, so it cannot rot; no timing is asserted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_benchmark_runs_and_prints_every_row() {
        let args = AuthArgs {
            rounds: 1,
            launches: 2,
            reads: 3,
            checks: 10,
            with_authorizer_plugin: true,
            isolation: IsolationMode::Posix,
        };
        let text = report(&args, false).await.expect("the benchmark runs");
        for row in [
            "task launch",
            "GET /master/state",
            "one HTTP Basic check",
            "policy authorizer plugin decision",
            "view filtering of one secured /master/state",
        ] {
            assert!(text.contains(row), "{row} missing from:\n{text}");
        }
    }
}
