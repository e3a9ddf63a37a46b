//! One health check attempt of each kind against real sockets and processes.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::health_checks::{CheckPlace, attempt};
use crate::processes::TaskEnvironment;
use corral_api::v1::CommandInfo;
use corral_plugin_host::health_check::{CheckKind, HttpCheck};

fn place(dir: &std::path::Path) -> CheckPlace {
    CheckPlace {
        sandbox: dir.to_path_buf(),
        env: TaskEnvironment {
            sandbox: dir.display().to_string(),
            task_id: "t1".into(),
            framework_id: "f1".into(),
            agent_id: "a1".into(),
            container_id: "c1".into(),
        },
        container: None,
        user: None,
        task_group: None,
    }
}

fn shell(value: &str) -> CheckKind {
    CheckKind::Command(CommandInfo {
        shell: Some(true),
        value: Some(value.into()),
        ..Default::default()
    })
}

/// A port nobody listens on (bound, then released).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Answers every connection with `status`.
async fn http_server(status: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    port
}

#[tokio::test]
async fn tcp_checks_connect() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let open = listener.local_addr().expect("addr").port();
    let (healthy, message) = attempt(&CheckKind::Tcp(open), 1.0, place(dir.path())).await;
    assert!(healthy, "{message}");
    let (healthy, message) =
        attempt(&CheckKind::Tcp(closed_port().await), 1.0, place(dir.path())).await;
    assert!(!healthy);
    assert!(message.contains("failed"), "{message}");
}

#[tokio::test]
async fn http_checks_want_2xx_or_3xx() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (status, expected) in [(200, true), (302, true), (404, false), (500, false)] {
        let kind = CheckKind::Http(HttpCheck {
            port: http_server(status).await,
            path: "/health".into(),
            scheme: "http".into(),
        });
        let (healthy, message) = attempt(&kind, 2.0, place(dir.path())).await;
        assert_eq!(healthy, expected, "{status}: {message}");
        assert!(message.contains(&status.to_string()), "{message}");
    }
    let nobody = CheckKind::Http(HttpCheck {
        port: closed_port().await,
        path: "/".into(),
        scheme: "http".into(),
    });
    assert!(!attempt(&nobody, 1.0, place(dir.path())).await.0);
}

#[tokio::test]
async fn http_check_that_never_answers_times_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let kind = CheckKind::Http(HttpCheck {
        port: listener.local_addr().expect("addr").port(),
        path: "/".into(),
        scheme: "http".into(),
    });
    let (healthy, message) = attempt(&kind, 0.3, place(dir.path())).await;
    assert!(!healthy);
    assert!(message.contains("timed out"), "{message}");
}

#[tokio::test]
async fn command_checks_run_in_the_sandbox_with_the_task_env() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("ready"), "").expect("write");
    let check = shell("test -f ready && test \"$MESOS_TASK_ID\" = t1");
    let (healthy, message) = attempt(&check, 5.0, place(dir.path())).await;
    assert!(healthy, "{message}");
    let (healthy, message) = attempt(&shell("exit 3"), 5.0, place(dir.path())).await;
    assert!(!healthy);
    assert!(message.contains('3'), "{message}");
}

#[tokio::test]
async fn a_command_check_past_its_timeout_is_killed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let (healthy, message) = attempt(&shell("sleep 30"), 0.3, place(dir.path())).await;
    assert!(!healthy);
    assert!(message.contains("timed out"), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the check was not waited out"
    );
}
