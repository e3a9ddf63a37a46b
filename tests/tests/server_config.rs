//! Server flags from the command line, `CORRAL_<FLAG>` and a TOML `--config` file, in that
//! order of precedence over the defaults; a misspelt key is refused; `--log-format json`.

use std::process::{Child, Command, Stdio};

use corral_e2e::{corral_bin, eventually, free_port, operator};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_beat_the_environment_which_beats_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = dir.path().join("master.toml");
    std::fs::write(
        &config,
        format!(
            "ip = \"127.0.0.1\"\nport = {port}\nstate = \"memory\"\n\
             allocation-interval = \"250ms\"\nhostname = \"from-file\"\n"
        ),
    )
    .expect("write config");
    let log = std::fs::File::create(dir.path().join("master.log")).expect("log");
    let master = Server(
        Command::new(corral_bin())
            .args(["master", "--config"])
            .arg(&config)
            .args(["--hostname", "from-flag", "--log-format", "json"])
            .env("CORRAL_ALLOCATION_INTERVAL", "400ms")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("corral master starts"),
    );
    let addr = format!("127.0.0.1:{port}");
    let flags = eventually(30, "the master on the file's port", || {
        let addr = addr.clone();
        async move { operator(&addr, "GET_FLAGS").await.ok() }
    })
    .await;
    let value = |name: &str| {
        flags["get_flags"]["flags"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["name"] == name)
            .and_then(|f| f["value"].as_str().map(String::from))
    };
    assert_eq!(
        value("port"),
        Some(port.to_string()),
        "file over default: {flags}"
    );
    assert_eq!(
        value("allocation_interval").as_deref(),
        Some("400ms"),
        "env over file"
    );
    assert_eq!(
        value("hostname").as_deref(),
        Some("from-flag"),
        "flag over all"
    );
    let info = operator(&addr, "GET_MASTER").await.expect("GET_MASTER");
    assert_eq!(
        info["get_master"]["master_info"]["hostname"], "from-flag",
        "{info}"
    );

    // --log-format json: every line of the log is a JSON object.
    let text = std::fs::read_to_string(dir.path().join("master.log")).expect("log");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the master logged something");
    for line in lines {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(parsed["level"].is_string(), "{line}");
    }
    drop(master);

    // A key that is no flag is refused, naming it.
    std::fs::write(&config, "prot = 5050\n").expect("write config");
    let out = Command::new(corral_bin())
        .args(["master", "--config"])
        .arg(&config)
        .output()
        .expect("corral runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("'prot' is not a flag of `corral master`"),
        "{err}"
    );
}
