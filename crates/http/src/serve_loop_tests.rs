//! The accept loop on real sockets, with timeouts short enough for a test: what a client that
//! stalls sees (its connection closed), and what one that behaves keeps (a stream longer than
//! every timeout, its own address in the handler, TLS, graceful shutdown). Each wait below is
//! a bound on a hang (without the timeouts these connections are never closed), not a timing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use corral_test_fixtures::pki::TestCa;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use crate::auth::HttpAuth;
use crate::connection_limits::{ConnectionCounts, ConnectionLimits};
use crate::peer::PeerAddr;
use crate::serve::{ConnectionPolicy, serve_under};
use crate::server_settings::HttpTimeouts;
use crate::tls::{ServerTls, TlsFiles};

/// Far longer than any timeout here: a connection still open then is never closed.
const HANG: Duration = Duration::from_secs(20);

const SHORT: HttpTimeouts = HttpTimeouts {
    header: Duration::from_millis(300),
    idle: Duration::from_millis(400),
    body: Duration::from_millis(300),
    body_min_rate: 1000,
};

/// Chunks of `/stream`, 100 ms apart: it streams for 2 s, several times every timeout.
const CHUNKS: usize = 20;

/// `entered` is told when `/slow`'s handler starts.
fn router(entered: Arc<Notify>) -> Router {
    Router::new()
        .route(
            "/peer",
            get(
                |ConnectInfo(PeerAddr(addr, principal)): ConnectInfo<PeerAddr>| async move {
                    format!("{addr} {}", principal.as_deref().unwrap_or("-"))
                },
            ),
        )
        .route(
            "/echo",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route(
            "/slow",
            get(move || async move {
                entered.notify_one();
                tokio::time::sleep(Duration::from_millis(500)).await;
                "slow answer"
            }),
        )
        .route(
            "/stream",
            get(|| async {
                let chunks = async_stream::stream! {
                    for n in 0..CHUNKS {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        yield Ok::<_, std::io::Error>(Bytes::from(format!("chunk {n}\n")));
                    }
                };
                Body::from_stream(chunks)
            }),
        )
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    served: JoinHandle<()>,
    slow_entered: Arc<Notify>,
}

async fn start(tls: Option<ServerTls>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let policy = ConnectionPolicy {
        timeouts: SHORT,
        counts: ConnectionCounts::new(ConnectionLimits {
            total: 100,
            per_source: 100,
        }),
    };
    let slow_entered = Arc::new(Notify::new());
    let router = router(slow_entered.clone());
    let served = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        serve_under(
            policy,
            listener,
            tls.as_ref(),
            router,
            HttpAuth::open(),
            shutdown,
            "test",
        )
        .await;
    });
    Server {
        addr,
        stop: Some(stop),
        served,
        slow_entered,
    }
}

/// Reads until the server closes the connection (or resets it); what it sent.
async fn until_closed(io: &mut (impl AsyncRead + Unpin)) -> String {
    let mut got = Vec::new();
    let read = tokio::time::timeout(HANG, async {
        let mut buf = [0u8; 4096];
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the connection open; it sent {:?}",
        String::from_utf8_lossy(&got)
    );
    String::from_utf8_lossy(&got).into_owned()
}

/// One HTTP/1.1 response with a Content-Length body, read without waiting for a close.
async fn one_response(io: &mut (impl AsyncRead + Unpin)) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|l| l.trim().parse::<usize>().ok())
                .expect("a content-length");
            if body.len() >= length {
                return text;
            }
        }
        let n = tokio::time::timeout(HANG, io.read(&mut buf))
            .await
            .expect("a response")
            .expect("read");
        assert!(n > 0, "closed before the response: {text:?}");
        got.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_and_the_handler_saw_its_peer() {
    let server = start(None).await;
    let mut client = TcpStream::connect(server.addr).await.expect("connect");
    let own = client.local_addr().expect("own address");
    client
        .write_all(b"GET /peer HTTP/1.1\r\nHost: corral\r\n\r\n")
        .await
        .expect("send");
    let response = one_response(&mut client).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(&format!("{own} -")), "{response}");
    // Keep-alive: the connection stays open for a next request that never comes.
    let rest = until_closed(&mut client).await;
    assert_eq!(rest, "", "nothing more is sent");
}

#[tokio::test]
async fn a_client_that_connects_and_says_nothing_is_closed() {
    let server = start(None).await;
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    until_closed(&mut silent).await;
}

#[tokio::test]
async fn a_slowloris_sending_a_header_byte_at_a_time_is_closed() {
    let server = start(None).await;
    let mut slow = TcpStream::connect(server.addr).await.expect("connect");
    slow.write_all(b"GET /peer HTTP/1.1\r\nHost: corral\r\nX-Slow: ")
        .await
        .expect("send");
    // One byte every 50 ms, well within any read timeout a plain socket would have.
    let closed = tokio::time::timeout(HANG, async {
        loop {
            if slow.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut buf = [0u8; 512];
            match slow.try_read(&mut buf) {
                // Closed, or an answer (a 408) before the close.
                Ok(_) => return,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the slowloris was never cut off");
    let rest = until_closed(&mut slow).await;
    assert!(!rest.contains("200 OK"), "{rest}");
}

#[tokio::test]
async fn a_request_body_that_stalls_is_refused_and_its_connection_closed() {
    let server = start(None).await;
    let mut client = TcpStream::connect(server.addr).await.expect("connect");
    client
        .write_all(b"POST /echo HTTP/1.1\r\nHost: corral\r\nContent-Length: 100\r\n\r\n0123456789")
        .await
        .expect("send");
    // 90 bytes never come.
    let response = until_closed(&mut client).await;
    assert!(
        response.is_empty() || response.starts_with("HTTP/1.1 400"),
        "{response}"
    );
    // A body that arrives whole is read as ever.
    let mut client = TcpStream::connect(server.addr).await.expect("connect");
    client
        .write_all(b"POST /echo HTTP/1.1\r\nHost: corral\r\nContent-Length: 10\r\n\r\n0123456789")
        .await
        .expect("send");
    let response = one_response(&mut client).await;
    assert!(
        response.starts_with("HTTP/1.1 200") && response.ends_with("\r\n10"),
        "{response}"
    );
}

#[tokio::test]
async fn a_request_body_that_trickles_is_cut_well_before_it_would_end() {
    let server = start(None).await;
    let client = TcpStream::connect(server.addr).await.expect("connect");
    let (mut reader, mut writer) = client.into_split();
    // A byte every 100 ms (each gap a third of the body timeout): 100 bytes would take 10 s,
    // at 10 bytes/s, far below the 1000 the server asks for.
    let trickle = tokio::spawn(async move {
        let head = b"POST /echo HTTP/1.1\r\nHost: corral\r\nContent-Length: 100\r\n\r\n";
        if writer.write_all(head).await.is_err() {
            return;
        }
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if writer.write_all(b"x").await.is_err() {
                return;
            }
        }
    });
    let begun = std::time::Instant::now();
    let response = until_closed(&mut reader).await;
    assert!(
        response.is_empty() || response.starts_with("HTTP/1.1 400"),
        "{response}"
    );
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "cut after {:?}",
        begun.elapsed()
    );
    trickle.abort();
}

#[tokio::test]
async fn a_response_that_streams_longer_than_every_timeout_is_not_cut() {
    let server = start(None).await;
    let mut client = TcpStream::connect(server.addr).await.expect("connect");
    client
        .write_all(b"GET /stream HTTP/1.1\r\nHost: corral\r\n\r\n")
        .await
        .expect("send");
    // The client says nothing more while the response streams.
    let mut got = String::new();
    let last = format!("chunk {}\n", CHUNKS - 1);
    let mut buf = [0u8; 4096];
    while !got.contains(&last) {
        let n = tokio::time::timeout(HANG, client.read(&mut buf))
            .await
            .expect("the stream goes on")
            .expect("read");
        assert!(n > 0, "the stream was cut: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    for n in 0..CHUNKS {
        assert!(got.contains(&format!("chunk {n}\n")), "{got}");
    }
    // Then the connection idles, and is closed.
    until_closed(&mut client).await;
}

#[tokio::test]
async fn tls_serves_with_the_peer_and_times_out_an_idle_connection() {
    crate::tls::install_crypto_provider();
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new("Corral test CA");
    let leaf = ca.server(&["localhost"]).write(dir.path(), "server");
    let files = TlsFiles {
        cert: leaf.cert,
        key: leaf.key,
        client_ca: None,
    };
    let server = start(Some(files.load().await.expect("load"))).await;
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.cert_pem().as_bytes()).expect("CA pem"))
        .expect("root");
    let config = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(server.addr).await.expect("connect");
    let own = tcp.local_addr().expect("own address");
    let name = ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("handshake");
    tls.write_all(b"GET /peer HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("send");
    let response = one_response(&mut tls).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(&format!("{own} -")), "{response}");
    until_closed(&mut tls).await;
}

#[tokio::test]
async fn shutdown_stops_accepting_and_lets_a_request_in_flight_finish() {
    let mut server = start(None).await;
    let mut client = TcpStream::connect(server.addr).await.expect("connect");
    client
        .write_all(b"GET /slow HTTP/1.1\r\nHost: corral\r\n\r\n")
        .await
        .expect("send");
    // The request is in the handler (it sleeps 500 ms) when the server is told to stop.
    tokio::time::timeout(HANG, server.slow_entered.notified())
        .await
        .expect("the request reaches its handler");
    if let Some(stop) = server.stop.take() {
        let _ = stop.send(());
    }
    let response = until_closed(&mut client).await;
    assert!(
        response.starts_with("HTTP/1.1 200") && response.ends_with("slow answer"),
        "{response}"
    );
    tokio::time::timeout(HANG, &mut server.served)
        .await
        .expect("the server returns once its connections are done")
        .expect("the server task");
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "no longer accepting"
    );
}
