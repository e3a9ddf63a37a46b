//! Asking Corral's DNS server the way people do: Debian's `dig` (dnsutils), on loopback.

use std::process::Command;

use serde_json::Value;

/// What `dig` printed: the status and the answer section's data fields.
#[derive(Debug, Clone)]
pub struct Dig {
    pub status: String,
    /// Each answer's record data ("127.0.0.1"; "0 1 31000 host.mesos." for SRV).
    pub answers: Vec<String>,
    pub flags: String,
    pub output: String,
}

/// `dig @server -p port NAME TYPE` plus `extra` options (`+tcp`, `-b 127.0.0.2`).
pub fn dig(server: &str, name: &str, kind: &str, extra: &[&str]) -> Dig {
    let (ip, port) = server.rsplit_once(':').expect("server is IP:PORT");
    let output = Command::new("dig")
        .arg(format!("@{ip}"))
        .args(["-p", port, "+tries=1", "+time=2", "+nocookie"])
        .args(extra)
        .args([name, kind])
        .output()
        .expect("dig runs (Debian's dnsutils: scripts/setup.sh installs it)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let status = text
        .split("status: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or("NO ANSWER")
        .to_string();
    let flags = text
        .split(";; flags: ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap_or("")
        .to_string();
    let mut answers = Vec::new();
    let mut in_answer = false;
    for line in text.lines() {
        if line.starts_with(";; ANSWER SECTION") {
            in_answer = true;
            continue;
        }
        if in_answer {
            if line.trim().is_empty() {
                break;
            }
            // name TTL class type data...
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() > 4 {
                answers.push(fields[4..].join(" "));
            }
        }
    }
    Dig {
        status,
        answers,
        flags,
        output: text,
    }
}

/// Polls `dig` until `check` accepts its answer, or panics after `secs` with the last one.
pub async fn dig_until(
    server: &str,
    name: &str,
    kind: &str,
    secs: u64,
    check: impl Fn(&Dig) -> bool,
) -> Dig {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let (server_c, name_c, kind_c) = (server.to_string(), name.to_string(), kind.to_string());
        let answer = tokio::task::spawn_blocking(move || dig(&server_c, &name_c, &kind_c, &[]))
            .await
            .expect("dig ran");
        if check(&answer) {
            return answer;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "timed out after {secs} s waiting for {kind} {name}; last answer:\n{}",
                answer.output
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// `GET http://{http}{path}` as JSON.
pub async fn http_json(http: &str, path: &str) -> Value {
    crate::http_get(format!("http://{http}{path}"))
        .await
        .expect("DNS HTTP API answers")
        .json()
        .await
        .expect("JSON")
}
