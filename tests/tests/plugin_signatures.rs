//! Signed plugins through the CLI: `corral plugin keygen`, `corral plugin sign`, and a master
//! started with `--trusted-keys --require-signed` that refuses unsigned, tampered or
//! untrusted plugin files with the reason, and starts with a well-signed one.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use corral_e2e::{Cluster, corral_bin, free_port, plugin_wasm};

fn corral(args: &[&str]) -> (i32, String) {
    let out = Command::new(corral_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run corral");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Starts a master with `extra` flags and expects it to exit with an error; returns its
/// output. Kills it (and fails) if it is still running after 60 s.
fn master_refuses(extra: &[&str]) -> String {
    let port = free_port().to_string();
    let mut args = vec!["master", "--state", "memory", "--port", &port];
    args.extend_from_slice(extra);
    let mut child = Command::new(corral_bin())
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn corral master");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the master started with {extra:?}; it must refuse the plugin");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("output");
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_plugins_signed_by_a_trusted_key_load_when_signatures_are_required() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("publisher.key");
    let (code, text) = corral(&[
        "plugin",
        "keygen",
        "--out",
        &path(&key),
        "--comment",
        "test",
    ]);
    assert_eq!(code, 0, "{text}");
    let public = path(&dir.path().join("publisher.key.pub"));
    assert!(text.contains("ed25519:"), "keygen names the key id: {text}");
    let (code, text) = corral(&["plugin", "keygen", "--out", &path(&key)]);
    assert_ne!(code, 0, "keygen does not overwrite a key: {text}");

    let wasm = dir.path().join("labels_copy.wasm");
    std::fs::copy(plugin_wasm("labels"), &wasm).expect("copy plugin");
    let trust = ["--trusted-keys", &public, "--require-signed"];
    let hook_flag = ["--hook", &path(&wasm)];
    let flags: Vec<&str> = trust.iter().chain(hook_flag.iter()).copied().collect();

    let unsigned = master_refuses(&flags);
    assert!(unsigned.contains("is not signed"), "{unsigned}");

    let (code, text) = corral(&["plugin", "sign", &path(&wasm), "--key", &path(&key)]);
    assert_eq!(code, 0, "{text}");
    assert!(dir.path().join("labels_copy.wasm.sig").exists());
    let cluster = Cluster::master(&flags).await;
    corral_e2e::cluster::settle();
    assert!(
        cluster
            .master
            .log_text()
            .contains("plugin signature verified"),
        "{}",
        cluster.logs()
    );
    drop(cluster);

    // Tampered after signing: refused, naming the key.
    let mut bytes = std::fs::read(&wasm).expect("read");
    bytes.extend_from_slice(b"\0");
    std::fs::write(&wasm, &bytes).expect("write");
    let tampered = master_refuses(&flags);
    assert!(tampered.contains("does not match"), "{tampered}");

    // Signed by a key the master does not trust: refused, naming that key.
    let other = dir.path().join("other.key");
    assert_eq!(corral(&["plugin", "keygen", "--out", &path(&other)]).0, 0);
    assert_eq!(
        corral(&["plugin", "sign", &path(&wasm), "--key", &path(&other)]).0,
        0
    );
    let untrusted = master_refuses(&flags);
    assert!(
        untrusted.contains("not a trusted publisher key"),
        "{untrusted}"
    );
}
