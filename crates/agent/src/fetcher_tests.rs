//! The fetcher against a real HTTP server on a free port and real files.

use std::os::unix::fs::PermissionsExt;

use super::*;

/// Serves `/big` (`size` bytes), `/hello.txt`, `/archive.tgz` and a 404 for the rest.
async fn serve(archive: Vec<u8>, size: usize) -> String {
    use axum::routing::get;
    let app = axum::Router::new()
        .route("/hello.txt", get(|| async { "hello from http" }))
        .route("/big", get(move || async move { vec![b'x'; size] }))
        .route("/archive.tgz", get(move || async move { archive }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("has an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn uri(value: &str) -> CommandUri {
    CommandUri {
        value: value.to_string(),
        ..Default::default()
    }
}

fn tgz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, *bytes)
            .expect("appends");
    }
    builder
        .into_inner()
        .expect("tar ends")
        .finish()
        .expect("gzip ends")
}

#[tokio::test]
async fn http_uris_land_in_the_sandbox_renamed_executable_and_extracted() {
    let base = serve(tgz(&[("dir/inner.txt", b"inside")]), 10).await;
    let sandbox = tempfile::tempdir().expect("tempdir");
    let uris = vec![
        CommandUri {
            value: format!("{base}/hello.txt?token=1"),
            executable: Some(true),
            output_file: Some("bin/run".into()),
            ..Default::default()
        },
        uri(&format!("{base}/hello.txt")),
        uri(&format!("{base}/archive.tgz")),
    ];
    fetch_all(&uris, sandbox.path(), FetcherConfig::default())
        .await
        .expect("fetches");
    let run = sandbox.path().join("bin/run");
    assert_eq!(
        std::fs::read_to_string(&run).expect("reads"),
        "hello from http"
    );
    let mode = std::fs::metadata(&run).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    let plain = sandbox.path().join("hello.txt");
    assert_eq!(
        std::fs::read_to_string(plain).expect("reads"),
        "hello from http"
    );
    let inner = sandbox.path().join("dir/inner.txt");
    assert_eq!(std::fs::read_to_string(inner).expect("extracted"), "inside");
}

#[tokio::test]
async fn local_paths_and_file_uris_are_copied() {
    let source_dir = tempfile::tempdir().expect("tempdir");
    let source = source_dir.path().join("prog.wasm");
    std::fs::write(&source, b"\0asm").expect("writes");
    let sandbox = tempfile::tempdir().expect("tempdir");
    let uris = vec![
        uri(&source.display().to_string()),
        CommandUri {
            value: format!("file://{}", source.display()),
            output_file: Some("copy.wasm".into()),
            extract: Some(false),
            ..Default::default()
        },
    ];
    fetch_all(&uris, sandbox.path(), FetcherConfig::default())
        .await
        .expect("fetches");
    for name in ["prog.wasm", "copy.wasm"] {
        let bytes = std::fs::read(sandbox.path().join(name)).expect("copied");
        assert_eq!(bytes, b"\0asm", "{name}");
    }
}

#[tokio::test]
async fn a_download_past_the_cap_fails_naming_the_uri_and_leaves_nothing() {
    let base = serve(Vec::new(), 4096).await;
    let sandbox = tempfile::tempdir().expect("tempdir");
    let big = format!("{base}/big");
    let err = fetch_all(
        &[uri(&big)],
        sandbox.path(),
        FetcherConfig { max_bytes: 1000 },
    )
    .await
    .expect_err("too large");
    assert!(
        matches!(
            err,
            FetchError::TooLarge {
                max_bytes: 1000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&big), "{err}");
    assert!(!sandbox.path().join("big").exists());
    // At the cap exactly it is fine.
    fetch_all(
        &[uri(&big)],
        sandbox.path(),
        FetcherConfig { max_bytes: 4096 },
    )
    .await
    .expect("fits");
}

#[tokio::test]
async fn an_archive_that_unpacks_past_the_cap_is_refused() {
    let archive = tgz(&[("a.bin", &[0u8; 3000]), ("b.bin", &[0u8; 3000])]);
    let base = serve(archive, 0).await;
    let sandbox = tempfile::tempdir().expect("tempdir");
    let err = fetch_all(
        &[uri(&format!("{base}/archive.tgz"))],
        sandbox.path(),
        FetcherConfig { max_bytes: 5000 },
    )
    .await
    .expect_err("unpacks too much");
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err}");
}

#[tokio::test]
async fn bad_uris_fail_with_the_reason_and_the_uri() {
    let base = serve(Vec::new(), 0).await;
    let sandbox = tempfile::tempdir().expect("tempdir");
    let cases = [
        (uri(&format!("{base}/missing.wasm")), "404"),
        // https to a server that speaks plain HTTP: the handshake fails, named.
        (
            uri(&format!(
                "https://{}/hello.txt",
                base.trim_start_matches("http://")
            )),
            "request failed",
        ),
        (uri("relative/x.wasm"), "only http://"),
        (uri("/no/such/file.wasm"), "cannot open"),
        (uri(&format!("{base}/")), "set output_file"),
        (
            CommandUri {
                output_file: Some("../escape".into()),
                ..uri(&format!("{base}/hello.txt"))
            },
            "inside the sandbox",
        ),
    ];
    for (bad, expected) in cases {
        let err = fetch_all(
            std::slice::from_ref(&bad),
            sandbox.path(),
            FetcherConfig::default(),
        )
        .await
        .expect_err("fails");
        let message = err.to_string();
        assert!(message.contains(&bad.value), "{message}");
        assert!(message.contains(expected), "{message} lacks {expected}");
    }
}
