//! Every timing flag on the command line: Mesos-style durations under names without a unit,
//! the old defaults, and errors that name the flag.

use std::time::Duration;

use clap::Parser;

use super::{Cli, Command};

fn parse(args: &[&str]) -> Command {
    match Cli::try_parse_from(std::iter::once("corral").chain(args.iter().copied())) {
        Ok(cli) => cli.command,
        Err(e) => panic!("{args:?} refused: {e}"),
    }
}

fn refusal(args: &[&str]) -> String {
    match Cli::try_parse_from(std::iter::once("corral").chain(args.iter().copied())) {
        Ok(cli) => panic!("{args:?} accepted: {:?}", cli.command),
        Err(e) => e.to_string(),
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn master_defaults_are_the_old_ones() {
    let Command::Master(args) = parse(&["master"]) else {
        panic!("not master");
    };
    assert_eq!(args.allocation_interval, secs(1));
    assert_eq!(args.leader_lease, secs(5));
    assert_eq!(args.agent_ping_timeout, secs(15));
}

#[test]
fn master_timing_flags_take_durations() {
    let Command::Master(args) = parse(&[
        "master",
        "--allocation-interval",
        "200ms",
        "--leader-lease",
        "3secs",
        "--agent-ping-timeout",
        "1.5secs",
    ]) else {
        panic!("not master");
    };
    assert_eq!(args.allocation_interval, Duration::from_millis(200));
    assert_eq!(args.leader_lease, secs(3));
    assert_eq!(args.agent_ping_timeout, Duration::from_millis(1500));
}

#[test]
fn master_minimums_are_kept_and_name_the_flag() {
    let err = refusal(&["master", "--allocation-interval", "0ms"]);
    assert!(err.contains("--allocation-interval"), "{err}");
    assert!(err.contains("below the minimum of 1ms"), "{err}");
    let err = refusal(&["master", "--leader-lease", "1secs"]);
    assert!(err.contains("--leader-lease"), "{err}");
    assert!(err.contains("below the minimum of 2secs"), "{err}");
    let err = refusal(&["master", "--leader-lease", "2500ms"]);
    assert!(err.contains("must be whole seconds"), "{err}");
    let err = refusal(&["master", "--agent-ping-timeout", "0secs"]);
    assert!(err.contains("--agent-ping-timeout"), "{err}");
    assert!(err.contains("must be more than zero"), "{err}");
}

#[test]
fn a_bare_number_is_refused_with_the_flag_and_a_hint() {
    let err = refusal(&["master", "--agent-ping-timeout", "15"]);
    assert!(err.contains("--agent-ping-timeout"), "{err}");
    assert!(err.contains("'15' has no unit: write e.g. 15secs"), "{err}");
}

#[test]
fn the_old_flag_names_are_gone() {
    for (command, old) in [
        ("master", "--allocation-interval-ms"),
        ("master", "--leader-lease-secs"),
        ("dev", "--allocation-interval-ms"),
        ("agent", "--status-update-retry-ms"),
        ("agent", "--executor-registration-timeout-secs"),
        ("agent", "--executor-reregistration-timeout-secs"),
        ("execute", "--kill-after-secs"),
    ] {
        let err = refusal(&[command, old, "5secs"]);
        assert!(
            err.contains(&format!("unexpected argument '{old}'")),
            "{err}"
        );
    }
}

#[test]
fn agent_timing_flags_take_durations_and_keep_their_defaults() {
    let Command::Agent(args) = parse(&["agent"]) else {
        panic!("not agent");
    };
    assert_eq!(args.status_update_retry, secs(10));
    assert_eq!(
        args.executor_registration_timeout,
        corral_agent::DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT
    );
    assert_eq!(args.executor_reregistration_timeout, secs(2));

    let Command::Agent(args) = parse(&[
        "agent",
        "--status-update-retry",
        "300ms",
        "--executor-registration-timeout",
        "2mins",
        "--executor-reregistration-timeout",
        "0secs",
    ]) else {
        panic!("not agent");
    };
    assert_eq!(args.status_update_retry, Duration::from_millis(300));
    assert_eq!(args.executor_registration_timeout, secs(120));
    assert_eq!(args.executor_reregistration_timeout, Duration::ZERO);

    let err = refusal(&["agent", "--status-update-retry", "0ms"]);
    assert!(err.contains("--status-update-retry"), "{err}");
    assert!(err.contains("below the minimum of 1ms"), "{err}");
    // Clap reads a lone "-1secs" as a flag; after '=' it is the value.
    let err = refusal(&["agent", "--executor-registration-timeout=-1secs"]);
    assert!(err.contains("--executor-registration-timeout"), "{err}");
    assert!(err.contains("negative"), "{err}");
}

#[test]
fn dev_execute_and_top_take_durations() {
    let Command::Dev(args) = parse(&["dev"]) else {
        panic!("not dev");
    };
    assert_eq!(args.allocation_interval, secs(1));
    let Command::Dev(args) = parse(&["dev", "--allocation-interval", "1.5secs"]) else {
        panic!("not dev");
    };
    assert_eq!(args.allocation_interval, Duration::from_millis(1500));

    let Command::Execute(args) = parse(&["execute", "--command", "true"]) else {
        panic!("not execute");
    };
    assert_eq!(args.kill_after, None);
    let Command::Execute(args) = parse(&["execute", "--command", "true", "--kill-after", "1mins"])
    else {
        panic!("not execute");
    };
    assert_eq!(args.kill_after, Some(secs(60)));

    let Command::Top(args) = parse(&["top"]) else {
        panic!("not top");
    };
    assert_eq!(args.interval, secs(2));
    let Command::Top(args) = parse(&["top", "--interval", "500ms"]) else {
        panic!("not top");
    };
    assert_eq!(args.interval, Duration::from_millis(500));
    let err = refusal(&["top", "--interval", "0secs"]);
    assert!(err.contains("--interval"), "{err}");
    assert!(err.contains("must be more than zero"), "{err}");
}

#[cfg(feature = "bench")]
#[test]
fn the_failover_bench_passes_its_lease_as_a_duration() {
    let Command::Bench(args) = parse(&["bench", "failover", "--leader-lease", "3secs"]) else {
        panic!("not bench");
    };
    let super::bench::BenchTarget::Failover(failover) = args.target else {
        panic!("not failover");
    };
    assert_eq!(failover.leader_lease, secs(3));
    assert_eq!(super::duration_flag::format(failover.leader_lease), "3secs");
    let err = refusal(&["bench", "failover", "--leader-lease", "1secs"]);
    assert!(err.contains("below the minimum of 2secs"), "{err}");
}

#[test]
fn every_http_server_takes_the_connection_flags_and_refuses_zero() {
    let flags = [
        "--max-connections",
        "500",
        "--max-connections-per-source",
        "20",
        "--http-header-timeout",
        "5secs",
        "--http-idle-timeout",
        "2mins",
        "--http-body-timeout",
        "500ms",
        "--http-body-min-rate",
        "2000",
    ];
    for command in ["master", "agent", "services", "dns", "dev"] {
        let args: Vec<&str> = std::iter::once(command).chain(flags).collect();
        let http = match parse(&args) {
            Command::Master(a) => a.http,
            Command::Agent(a) => a.http,
            Command::Services(a) => a.http,
            Command::Dns(a) => a.serve.http,
            Command::Dev(a) => a.http,
            _ => panic!("{command}: another command"),
        };
        assert_eq!(http.max_connections, Some(500), "{command}");
        assert_eq!(http.max_connections_per_source, 20, "{command}");
        assert_eq!(http.http_header_timeout, secs(5), "{command}");
        assert_eq!(http.http_idle_timeout, secs(120), "{command}");
        assert_eq!(
            http.http_body_timeout,
            Duration::from_millis(500),
            "{command}"
        );
        assert_eq!(http.http_body_min_rate, 2000, "{command}");
    }
    let Command::Master(defaults) = parse(&["master"]) else {
        panic!("not master");
    };
    assert_eq!(defaults.http.max_connections, None);
    assert_eq!(defaults.http.http_header_timeout, secs(30));
    assert_eq!(defaults.http.http_idle_timeout, secs(90));
    assert_eq!(defaults.http.http_body_timeout, secs(60));
    assert_eq!(defaults.http.http_body_min_rate, 500);
    let err = refusal(&["master", "--http-idle-timeout", "0secs"]);
    assert!(
        err.contains("--http-idle-timeout") && err.contains("more than zero"),
        "{err}"
    );
    let err = refusal(&["agent", "--max-connections", "0"]);
    assert!(err.contains("--max-connections"), "{err}");
}
