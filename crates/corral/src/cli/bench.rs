//! `corral bench allocator`: times allocation cycles of an allocator policy as a WebAssembly
//! component and compiled natively, on Mesos' DeclineOffers benchmark shape, in memory.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use super::table::Table;
use corral_bench::allocator::{CycleTimes, Shape, run};
use corral_bench::native_allocator::native;
use corral_plugin_host::{PluginEngine, PluginLimits};

/// Limits for the component under benchmark: the master's one-second deadline would cut
/// the large shapes short, and the point is to measure, not to police.
const BENCH_LIMITS: PluginLimits = PluginLimits {
    call_deadline: Duration::from_secs(600),
    memory_bytes: 2 << 30,
};

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub target: BenchTarget,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchTarget {
    /// Time allocation cycles, WASM vs native, with every framework declining every offer.
    Allocator(AllocatorArgs),
    /// The cost of authentication and authorization on a task launch and a busy read
    /// endpoint, open against secured.
    Auth(super::bench_auth::AuthArgs),
    /// Kill -9 the leading master under many simulated agents; time the new leader's
    /// election and every agent's re-registration.
    Failover(super::bench_failover::FailoverArgs),
    /// Time a live allocator swap (request to new policy active) on a busy cluster.
    HotSwap(HotSwapArgs),
    /// A master's peak memory under a burst of large plugin INSTALLs.
    Installs(super::bench_installs::InstallsArgs),
    /// ns per plugin call on a task's launch path, WASM vs native, and their share of a
    /// whole task launch.
    Plugins(super::bench_plugins::PluginsArgs),
    /// The services component at scale: deploy, rolling restart, and a services-leader
    /// failover to every task reconciled, on simulated agents.
    Services(super::bench_services::ServicesBenchArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct AllocatorArgs {
    /// Agent counts to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000,10000")]
    pub agents: Vec<usize>,
    /// Framework counts to run with each agent count, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    pub frameworks: Vec<usize>,
    /// The built-in policy: drf, priority or binpack (each also compiled into the host).
    #[arg(long, default_value = "drf")]
    pub policy: String,
    /// Timed cycles per shape (after the first cycle and one warm-up); the median is shown.
    #[arg(long, default_value_t = 5)]
    pub cycles: usize,
}

pub async fn run_bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    match args.target {
        BenchTarget::Allocator(args) => tokio::task::spawn_blocking(move || allocator(args))
            .await
            .context("the benchmark thread failed")?,
        BenchTarget::Auth(args) => super::bench_auth::auth(args).await,
        BenchTarget::Failover(args) => super::bench_failover::failover(args).await,
        BenchTarget::HotSwap(args) => tokio::task::spawn_blocking(move || hot_swap(args))
            .await
            .context("the benchmark thread failed")?,
        BenchTarget::Installs(args) => super::bench_installs::installs(args).await,
        BenchTarget::Plugins(args) => super::bench_plugins::plugins(args).await,
        BenchTarget::Services(args) => super::bench_services::services(args).await,
    }
}

fn allocator(args: AllocatorArgs) -> anyhow::Result<ExitCode> {
    if native(&args.policy).is_none() {
        bail!(
            "no native build of policy '{}' to compare with; the built-ins are drf, priority \
             and binpack",
            args.policy
        );
    }
    if args.cycles == 0 || args.agents.contains(&0) || args.frameworks.contains(&0) {
        bail!("--cycles, --agents and --frameworks must be positive");
    }
    let engine = PluginEngine::new().context("cannot start the plugin engine")?;
    let factory = engine
        .allocator_factory(&args.policy, "", BENCH_LIMITS)
        .context("cannot load the allocator component")?;
    println!(
        "allocation cycle (median of {} after a warm-up) and first cycle, policy {}",
        args.cycles, args.policy
    );
    let header = [
        "agents",
        "frameworks",
        "wasm ms",
        "native ms",
        "wasm/native",
        "first wasm ms",
        "first native ms",
        "first wasm/native",
        "grants",
    ];
    let mut table = Table::new(header);
    for &agents in &args.agents {
        for &frameworks in &args.frameworks {
            let shape = Shape { agents, frameworks };
            let mut wasm = factory().context("cannot instantiate the component")?;
            let wasm_times = run(wasm.as_mut(), shape, args.cycles)
                .with_context(|| format!("WASM run at {agents} x {frameworks}"))?;
            drop(wasm);
            let Some(mut native) = native(&args.policy) else {
                bail!("no native build of policy '{}'", args.policy);
            };
            let native_times = run(native.as_mut(), shape, args.cycles)
                .with_context(|| format!("native run at {agents} x {frameworks}"))?;
            if (wasm_times.first_grants, wasm_times.last_grants)
                != (native_times.first_grants, native_times.last_grants)
            {
                bail!(
                    "WASM and native disagree at {agents} x {frameworks}: {wasm_times:?} vs {native_times:?}"
                );
            }
            let row = row(shape, &wasm_times, &native_times);
            // Each shape can take a while: show its line as soon as it is done.
            eprintln!("{}", row.join("  "));
            std::io::stderr().flush().ok();
            table.row(row);
        }
    }
    print!("{}", table.render(""));
    Ok(ExitCode::SUCCESS)
}

fn row(shape: Shape, wasm: &CycleTimes, native: &CycleTimes) -> Vec<String> {
    vec![
        shape.agents.to_string(),
        shape.frameworks.to_string(),
        ms(wasm.median),
        ms(native.median),
        ratio(wasm.median, native.median),
        ms(wasm.first),
        ms(native.first),
        ratio(wasm.first, native.first),
        format!("{}/{}", wasm.first_grants, wasm.last_grants),
    ]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        "-".to_string()
    } else {
        format!("{:.2}", a.as_secs_f64() / b.as_secs_f64())
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct HotSwapArgs {
    #[arg(long, default_value_t = 10_000)]
    pub agents: usize,
    #[arg(long, default_value_t = 1_000)]
    pub frameworks: usize,
    /// A built-in allocator.
    #[arg(long, default_value = "drf")]
    pub policy: String,
    /// Swaps timed; the median is shown.
    #[arg(long, default_value_t = 5)]
    pub samples: usize,
}

fn hot_swap(args: HotSwapArgs) -> anyhow::Result<ExitCode> {
    if args.samples == 0 || args.agents == 0 || args.frameworks == 0 {
        bail!("--samples, --agents and --frameworks must be positive");
    }
    let engine = PluginEngine::new().context("cannot start the plugin engine")?;
    let shape = Shape {
        agents: args.agents,
        frameworks: args.frameworks,
    };
    let mut times = corral_bench::hot_swap::run(
        &engine,
        &args.policy,
        PluginLimits::ALLOCATOR,
        shape,
        args.samples,
    )
    .context("the hot swap failed")?;
    times.sort_by_key(|t| t.swap);
    let median = &times[times.len() / 2];
    let mut table = Table::new([
        "agents",
        "frameworks",
        "swap ms (median)",
        "replay+switch ms",
        "max swap ms",
        "compile ms (install)",
    ]);
    table.row([
        args.agents.to_string(),
        args.frameworks.to_string(),
        ms(median.swap),
        ms(median.replay),
        ms(times.last().map_or(Duration::ZERO, |t| t.swap)),
        ms(median.compile),
    ]);
    println!(
        "hot swap of {} (request to new policy active), {} samples",
        args.policy, args.samples
    );
    print!("{}", table.render(""));
    Ok(ExitCode::SUCCESS)
}
