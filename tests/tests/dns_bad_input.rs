//! Bad input to the DNS server: garbage and truncated packets, names over 255 bytes, ANY
//! queries, TCP junk, and a query flood from one source, none of which may stop it from
//! answering the others.

use std::net::UdpSocket;
use std::time::Duration;

use corral_e2e::dns::{dig, dig_until, http_json};
use corral_e2e::{Cluster, Process, free_port};

const RESOURCES: &str = "cpus:2;mem:1024;ports:[31000-31099]";

/// A DNS query for `labels` (type A), built by hand: id, RD, one question.
fn query(id: u16, labels: &[&str], qtype: u16) -> Vec<u8> {
    let mut packet = Vec::new();
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in labels {
        packet.push(label.len() as u8);
        packet.extend_from_slice(label.as_bytes());
    }
    packet.push(0);
    packet.extend_from_slice(&qtype.to_be_bytes());
    packet.extend_from_slice(&1u16.to_be_bytes());
    packet
}

/// Sends `packet` and returns the RCODE of the answer with its id, or None when none comes
/// within `wait` (answers to earlier packets that come late are passed over).
fn ask(socket: &UdpSocket, server: &str, packet: &[u8], wait: Duration) -> Option<u8> {
    socket.set_read_timeout(Some(wait)).expect("timeout");
    socket.send_to(packet, server).expect("send");
    let mut buf = [0u8; 4096];
    loop {
        match socket.recv_from(&mut buf) {
            Ok((n, _)) if n >= 4 && packet.len() >= 2 && buf[..2] != packet[..2] => continue,
            Ok((n, _)) if n >= 4 => return Some(buf[3] & 0x0f),
            _ => return None,
        }
    }
}

/// What a dropped packet is given to show it has no answer.
const DROPPED: Duration = Duration::from_millis(500);
/// What an answered packet is given on a loaded machine.
const ANSWERED: Duration = Duration::from_secs(5);

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packets_are_answered_or_dropped_without_harming_the_server() {
    let dns_port = free_port();
    let cluster = Cluster::dev_with(
        RESOURCES,
        &[
            "--services-port",
            "0",
            "--dns-port",
            &dns_port.to_string(),
            "--dns-http-port",
            "0",
            "--dns-no-forward",
        ],
    )
    .await;
    let server = format!("127.0.0.1:{dns_port}");
    dig_until(&server, "leader.mesos", "A", 20, |d| d.status == "NOERROR").await;

    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    // Shorter than a header: dropped.
    for len in [0usize, 1, 5, 11] {
        assert_eq!(
            ask(&socket, &server, &vec![0xab; len], DROPPED),
            None,
            "{len} bytes"
        );
    }
    // A header that promises a question it does not carry: FORMERR.
    let truncated = query(7, &["leader", "mesos"], 1);
    assert_eq!(
        ask(&socket, &server, &truncated[..14], ANSWERED),
        Some(1),
        "FORMERR"
    );
    // Garbage after a valid header.
    let mut garbage = query(8, &["leader", "mesos"], 1)[..12].to_vec();
    garbage.extend_from_slice(&[0xff; 40]);
    assert_eq!(ask(&socket, &server, &garbage, ANSWERED), Some(1));
    // A name over 255 bytes (five 63-byte labels): FORMERR.
    let long = "a".repeat(63);
    let too_long = query(9, &[&long, &long, &long, &long, &long, "mesos"], 1);
    assert_eq!(ask(&socket, &server, &too_long, ANSWERED), Some(1));
    // Two questions in one query: FORMERR.
    let mut two = query(11, &["leader", "mesos"], 1);
    two[5] = 2;
    two.extend_from_slice(&query(11, &["leader", "mesos"], 1)[12..]);
    assert_eq!(ask(&socket, &server, &two, ANSWERED), Some(1));
    // A valid query still works, and ANY is answered as Mesos-DNS does (every record).
    assert_eq!(
        ask(
            &socket,
            &server,
            &query(12, &["leader", "mesos"], 1),
            ANSWERED
        ),
        Some(0)
    );
    let any = dig(&server, "leader.mesos", "ANY", &[]);
    assert_eq!(any.status, "NOERROR");
    assert_eq!(any.answers, vec!["127.0.0.1"], "{}", any.output);
    let apex = dig(&server, "mesos", "ANY", &[]);
    assert_eq!(apex.answers.len(), 2, "SOA and NS: {}", apex.output);

    // Junk over TCP: the connection is dropped, TCP and UDP go on answering.
    {
        use std::io::Write;
        let mut tcp = std::net::TcpStream::connect(&server).expect("connect");
        let _ = tcp.write_all(&[0, 40, 1, 2, 3]);
        let _ = tcp.write_all(&[0xff; 600]);
    }
    assert_eq!(
        dig(&server, "leader.mesos", "A", &["+tcp"]).status,
        "NOERROR"
    );
    assert_eq!(dig(&server, "leader.mesos", "A", &[]).status, "NOERROR");
    let _ = cluster.logs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_source_is_cut_off_while_others_are_answered() {
    let cluster = Cluster::dev_with(RESOURCES, &["--services-port", "0"]).await;
    let (dns_port, http_port) = (free_port(), free_port());
    let server = format!("127.0.0.1:{dns_port}");
    let http = format!("127.0.0.1:{http_port}");
    let args: Vec<String> = [
        "dns",
        "--master",
        &cluster.master_addr,
        "--listen",
        &server,
        "--http-listen",
        &http,
        "--no-forward",
        "--rate-limit",
        "100",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let dns = Process::start("dns", &args, cluster.dir.path());
    dig_until(&server, "leader.mesos", "A", 20, |d| d.status == "NOERROR").await;
    let before = rss_kb(dns.pid());

    // 127.0.0.1 floods for a few seconds, never reading its answers.
    let flood_server = server.clone();
    let flood = std::thread::spawn(move || {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.set_nonblocking(true).expect("nonblocking");
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        let mut sent = 0u64;
        let mut id = 0u16;
        while std::time::Instant::now() < deadline {
            id = id.wrapping_add(1);
            if socket
                .send_to(&query(id, &["leader", "mesos"], 1), &flood_server)
                .is_ok()
            {
                sent += 1;
            }
            // About 10k queries a second: a hundred times the limit, and little enough that
            // the kernel's socket buffer (which drops without regard to the source) keeps up.
            if sent.is_multiple_of(10) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        sent
    });
    // Meanwhile another source is answered every time.
    let mut answered = 0;
    for _ in 0..10 {
        let server = server.clone();
        let other = tokio::task::spawn_blocking(move || {
            dig(
                &server,
                "leader.mesos",
                "A",
                &["-b", "127.0.0.2", "+tries=3"],
            )
        })
        .await
        .expect("dig ran");
        if other.status == "NOERROR" {
            answered += 1;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sent = flood.join().expect("flood thread");
    assert_eq!(answered, 10, "the other source was answered throughout");
    // The kernel drops what the server's socket cannot hold, so the limit is measured against
    // the queries the server received, once it has read its backlog.
    let (queries, limited, metrics) = counters_once_settled(&http).await;
    assert!(
        limited > 0 && limited > queries / 2,
        "most of the {queries} flooding queries received ({sent} sent) were dropped \
         ({limited}):\n{metrics}"
    );
    let after = rss_kb(dns.pid());
    assert!(
        after < before + 64 * 1024,
        "memory stays bounded: {before} kB before, {after} kB after {sent} queries"
    );
    assert_eq!(dig(&server, "leader.mesos", "A", &[]).status, "NOERROR");
    let config = http_json(&http, "/v1/config").await;
    assert_eq!(config["RateLimit"], 100);
}

/// `corral_dns_queries_total` and `corral_dns_rate_limited_total` (and the metrics text), once
/// two reads a moment apart agree.
async fn counters_once_settled(http: &str) -> (u64, u64, String) {
    let read = || async {
        let metrics = corral_e2e::http_get(format!("http://{http}/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        let counter = |name: &str| -> u64 {
            metrics
                .lines()
                .find(|l| l.starts_with(name) && l.as_bytes().get(name.len()) == Some(&b' '))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .map_or(0, |v| v as u64)
        };
        let (queries, limited) = (
            counter("corral_dns_queries_total"),
            counter("corral_dns_rate_limited_total"),
        );
        (queries, limited, metrics)
    };
    let mut last = read().await;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = read().await;
        if (now.0, now.1) == (last.0, last.1) {
            return now;
        }
        last = now;
    }
    last
}
