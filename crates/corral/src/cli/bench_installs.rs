//! `corral bench installs`: the memory a master takes for a burst of large plugin INSTALLs
//! (issue 16: twelve 90 MiB uploads at once took 1.74 GB when every one ran at once).
//!
//! Starts a real `corral master` (its embedded file store in a temp dir, nothing else
//! running), and sends
//! `--concurrent` INSTALL calls at once, each a body of `--size-mib` MiB: the built-in `drf`
//! allocator padded with a custom section to that size (distinct bytes and name per call, so
//! none is a repeat of another). A thread samples the master's resident memory every 5 ms
//! while they run; the figures are its resident memory before, its peak (the kernel's
//! `VmHWM`), the peak over the start per call, what it still holds after the last answer,
//! and the peak of the same burst sent again (what the allocator kept is reused, not added).

use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::json;

use super::bench_support::{ChildGuard, RemoveOnDrop, free_port, wait_for};

#[derive(Debug, Clone, clap::Args)]
pub struct InstallsArgs {
    /// INSTALL calls sent at once.
    #[arg(long, default_value_t = 12)]
    pub concurrent: usize,
    /// The size of each request body, in MiB (the master reads up to 86: the base64 of its
    /// 64 MiB plugin limit; a larger body is refused before it is read).
    #[arg(long, default_value_t = 85)]
    pub size_mib: usize,
}

pub async fn installs(args: InstallsArgs) -> anyhow::Result<ExitCode> {
    if args.concurrent == 0 || args.size_mib == 0 || args.size_mib > 96 {
        bail!("--concurrent must be positive and --size-mib between 1 and 96");
    }
    let port = free_port()?;
    let dir = std::env::temp_dir().join(format!("corral-bench-installs-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(dir.clone());
    let master = start_master(port, &dir)?;
    let pid = master.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    wait_for("the master", Duration::from_secs(60), async || {
        let health = http.get(format!("{base}/health")).send().await.ok()?;
        health.status().is_success().then_some(())
    })
    .await?;
    let (concurrent, size) = (args.concurrent, args.size_mib << 20);
    let bodies: Vec<bytes::Bytes> = tokio::task::spawn_blocking(move || {
        (0..concurrent)
            .map(|i| install_body(i, size).map(bytes::Bytes::from))
            .collect::<anyhow::Result<_>>()
    })
    .await
    .context("building the bodies failed")??;
    // /proc answers from kernel memory: no disk.
    let before = resident_kib(pid).context("the master's memory")?;

    let sampling = Arc::new(AtomicBool::new(true));
    let peak_sampled = Arc::new(AtomicU64::new(before));
    let sampler = {
        let (sampling, peak) = (sampling.clone(), peak_sampled.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                if let Some(kib) = resident_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let url = format!("{base}/api/corral/v1/plugins");
    let started = Instant::now();
    let answers = burst(&http, &url, &bodies).await?;
    let took = started.elapsed();
    let after = resident_kib(pid).context("the master's memory")?;
    let hwm = status_kib(pid, "VmHWM:").context("the master's peak memory")?;
    // The same burst again: what the first left resident is the allocator's to reuse.
    let again = burst(&http, &url, &bodies).await?;
    let hwm_again = status_kib(pid, "VmHWM:").context("the master's peak memory")?;
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.join();
    let sampled = peak_sampled.load(Ordering::Relaxed);

    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "{} INSTALLs of {} MiB at once against a master (pid {pid}), {:.1} s",
        args.concurrent,
        args.size_mib,
        took.as_secs_f64()
    );
    println!("answers: {answers}");
    println!("master RSS before: {:.0} MiB", mib(before));
    println!("master peak RSS: {:.0} MiB (VmHWM)", mib(hwm));
    println!(
        "peak over before: {:.0} MiB ({:.0} MiB per upload, of {})",
        mib(hwm.saturating_sub(before)),
        mib(hwm.saturating_sub(before)) / args.concurrent as f64,
        args.concurrent
    );
    println!(
        "master RSS after the last answer: {:.0} MiB ({:.0} MiB over before)",
        mib(after),
        mib(after.saturating_sub(before))
    );
    println!(
        "the same burst again ({again}): peak RSS {:.0} MiB (sampled every 5 ms over both: {:.0} MiB)",
        mib(hwm_again),
        mib(sampled)
    );
    Ok(ExitCode::SUCCESS)
}

/// Sends every body at once; the answers, counted by status (and message when refused).
async fn burst(
    http: &reqwest::Client,
    url: &str,
    bodies: &[bytes::Bytes],
) -> anyhow::Result<String> {
    let calls = bodies.iter().map(|body| {
        let (http, url, body) = (http.clone(), url.to_string(), body.clone());
        tokio::spawn(async move {
            let answered = http
                .post(url)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await;
            match answered {
                Ok(response) if response.status().is_success() => {
                    response.status().as_u16().to_string()
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let text = response.text().await.unwrap_or_default();
                    format!("{status} {}", text.chars().take(120).collect::<String>())
                }
                Err(e) => format!("error: {e}"),
            }
        })
    });
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    for call in futures::future::join_all(calls).await {
        *answers.entry(call.context("a call panicked")?).or_default() += 1;
    }
    let answers: Vec<String> = answers.iter().map(|(s, n)| format!("{n}x {s}")).collect();
    Ok(answers.join(", "))
}

fn start_master(port: u16, dir: &std::path::Path) -> anyhow::Result<ChildGuard> {
    let exe = std::env::current_exe().context("cannot find the corral binary")?;
    let child = Command::new(exe)
        .args(["master", "--ip", "127.0.0.1", "--hostname", "127.0.0.1"])
        .args(["--port", &port.to_string()])
        .args([
            "--state",
            &format!("file://{}", dir.join("state").display()),
        ])
        .arg("--work-dir")
        .arg(dir.join("work"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start a master")?;
    Ok(ChildGuard(child))
}

/// An INSTALL call of about `size` bytes: `drf` with a custom section that fills it up.
fn install_body(index: usize, size: usize) -> anyhow::Result<Vec<u8>> {
    let mut wasm = corral_builtin_plugins::builtin("drf")
        .context("the built-in drf component")?
        .to_vec();
    // base64 takes 4 bytes per 3; leave room for the JSON around it.
    let room = (size.saturating_sub(4096) / 4 * 3).saturating_sub(wasm.len() + 32);
    append_custom_section(&mut wasm, &format!("bench-padding-{index}"), room);
    let manifest = format!(
        "name = \"bench-upload-{index}\"\nkind = \"allocator\"\nversion = \"0.1.0\"\nwit = \"0.1.1\"\n"
    );
    let call = json!({
        "type": "INSTALL",
        "install": {
            "wasm": base64::engine::general_purpose::STANDARD.encode(&wasm),
            "manifest": manifest,
            "accept_capabilities": true,
        },
    });
    Ok(serde_json::to_vec(&call)?)
}

/// Appends a custom section (id 0) named `name` holding `len` bytes of its name, repeated.
fn append_custom_section(wasm: &mut Vec<u8>, name: &str, len: usize) {
    let mut content = Vec::with_capacity(len + name.len() + 8);
    leb128(&mut content, name.len() as u64);
    content.extend_from_slice(name.as_bytes());
    content.extend(name.bytes().cycle().take(len));
    wasm.push(0);
    leb128(wasm, content.len() as u64);
    wasm.extend_from_slice(&content);
}

fn leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn resident_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// A `kB` line of /proc/PID/status.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}
