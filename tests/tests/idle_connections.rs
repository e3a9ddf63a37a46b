//! A real `corral master` under thousands of idle connections (issue 16: 21,000 idle sockets
//! took every descriptor, and neither master nor agent answered again): started with a low
//! `--max-connections` and short `--http-*-timeout`s, it holds connections up to its cap and
//! closes the ones past it at once, still answers `/health` while the held ones sit idle,
//! and closes those idle ones itself after the header timeout.
//!
//! Prints the figures docs/benchmarks.md records (`cargo test -p corral-e2e --test
//! idle_connections -- --nocapture`): connections held before refusal, and `/health`
//! latency under that load. Timings are printed, never asserted.

use std::time::{Duration, Instant};

use corral_e2e::{Cluster, eventually};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The master's cap: a few thousand, within the descriptor limit of any CI machine.
const CAP: usize = 3000;
/// Connections opened past the cap.
const PAST_CAP: usize = 100;
/// Long enough to open and count every connection first, even on a loaded machine.
const HEADER_TIMEOUT: &str = "20secs";
/// /health requests timed under load.
const SAMPLES: usize = 50;

/// This test's own descriptor limit raised to the hard one: it holds CAP + PAST_CAP sockets.
fn raise_own_descriptor_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a rlimit this function owns.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    limit.rlim_cur
}

/// Whether the server has closed `socket` (EOF or reset); `false` while it is open and idle.
fn closed(socket: &TcpStream) -> bool {
    let mut buf = [0u8; 64];
    match socket.try_read(&mut buf) {
        Ok(_) => true,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// GET /health on a new connection; its time, or `None` when it got no 200.
async fn health(addr: &str) -> Option<Duration> {
    let started = Instant::now();
    let mut socket = TcpStream::connect(addr).await.ok()?;
    socket
        .write_all(b"GET /health HTTP/1.1\r\nHost: corral\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut answer))
        .await
        .ok()?
        .ok()?;
    let took = started.elapsed();
    answer.starts_with(b"HTTP/1.1 200").then_some(took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_capped_and_closed_while_health_answers() {
    let own = raise_own_descriptor_limit();
    assert!(
        own as usize > CAP + PAST_CAP + 200,
        "this test needs {} descriptors; the hard limit is {own}",
        CAP + PAST_CAP + 200
    );
    let cap = CAP.to_string();
    let cluster = Cluster::master(&[
        "--max-connections",
        &cap,
        "--http-header-timeout",
        HEADER_TIMEOUT,
        "--http-idle-timeout",
        HEADER_TIMEOUT,
    ])
    .await;
    let addr = cluster.master_addr.clone();

    // Connect and say nothing, CAP + PAST_CAP times.
    let mut sockets = Vec::with_capacity(CAP + PAST_CAP);
    for _ in 0..CAP + PAST_CAP {
        sockets.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    // The master takes CAP of them and closes the rest as it accepts them.
    let refused = eventually(60, "the connections past the cap to be closed", || {
        let refused = sockets.iter().filter(|s| closed(s)).count();
        async move { (refused >= PAST_CAP).then_some(refused) }
    })
    .await;
    let held = sockets.len() - refused;
    println!(
        "connections held before refusal: {held} (--max-connections {CAP}; {refused} of {} closed at once)",
        sockets.len()
    );
    assert!(held <= CAP, "{held} held past a cap of {CAP}");
    assert!(
        held + 10 >= CAP,
        "only {held} of a cap of {CAP} held: something else holds the rest"
    );

    // A few slots given back, /health answers while the rest stay held.
    sockets.retain(|s| !closed(s));
    sockets.truncate(sockets.len() - 10);
    eventually(30, "/health under load", || {
        let addr = addr.clone();
        async move { health(&addr).await }
    })
    .await;
    let mut times = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        times.push(health(&addr).await.expect("/health answers 200 under load"));
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "/health with {} idle connections held: min {:.2} ms, median {:.2} ms, max {:.2} ms over {SAMPLES} requests",
        sockets.len(),
        ms(times[0]),
        ms(times[SAMPLES / 2]),
        ms(times[SAMPLES - 1])
    );

    // The idle ones are closed by the master itself, with no client doing anything.
    let still_open = sockets.len();
    eventually(
        120,
        "the idle connections to be closed by the master",
        || {
            let open = sockets.iter().filter(|s| !closed(s)).count();
            async move { (open == 0).then_some(()) }
        },
    )
    .await;
    println!(
        "all {still_open} idle connections closed by the master after its header timeout ({HEADER_TIMEOUT})"
    );
    drop(sockets);
    assert!(health(&addr).await.is_some(), "the master answers after");
}
