//! A raw operator API subscriber: HTTP/1.1 written and read by hand on a TCP socket
//! (chunked transfer decoding, then RecordIO), so the tests check the exact framing.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct OperatorSubscriber {
    socket: TcpStream,
    /// Bytes read but not yet decoded (chunked framing).
    raw: Vec<u8>,
    /// De-chunked body bytes not yet split into records.
    body: Vec<u8>,
    pub status: u16,
    /// Response headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Every record's exact bytes as the master framed them, in order.
    pub records: Vec<Vec<u8>>,
}

/// Sends `SUBSCRIBE` to `master`'s `/api/v1` without reading the answer: a subscriber that
/// never reads.
pub async fn subscribe_without_reading(master: &str) -> TcpStream {
    let mut socket = TcpStream::connect(master).await.expect("connect");
    socket
        .write_all(request(master).as_bytes())
        .await
        .expect("send");
    socket
}

fn request(master: &str) -> String {
    request_as(master, None)
}

/// The SUBSCRIBE request, with HTTP Basic for `credential`.
fn request_as(master: &str, credential: Option<(&str, &str)>) -> String {
    let body = r#"{"type":"SUBSCRIBE"}"#;
    let authorization = credential
        .map(|(principal, secret)| {
            use base64::Engine;
            let pair =
                base64::engine::general_purpose::STANDARD.encode(format!("{principal}:{secret}"));
            format!("Authorization: Basic {pair}\r\n")
        })
        .unwrap_or_default();
    format!(
        "POST /api/v1 HTTP/1.1\r\nHost: {master}\r\nContent-Type: application/json\r\n\
         Accept: application/json\r\n{authorization}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

impl OperatorSubscriber {
    /// Subscribes and reads the status line and headers.
    pub async fn connect(master: &str) -> OperatorSubscriber {
        OperatorSubscriber::connect_as(master, None).await
    }

    /// [`OperatorSubscriber::connect`] presenting `(principal, secret)` as HTTP Basic.
    pub async fn connect_as(master: &str, credential: Option<(&str, &str)>) -> OperatorSubscriber {
        let mut socket = TcpStream::connect(master).await.expect("connect");
        socket
            .write_all(request_as(master, credential).as_bytes())
            .await
            .expect("send");
        let mut raw = Vec::new();
        let head_end = loop {
            if let Some(at) = find(&raw, b"\r\n\r\n") {
                break at;
            }
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buf))
                .await
                .expect("response head within 10 s")
                .expect("read");
            assert!(n > 0, "connection closed before the response head");
            raw.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
        raw.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        OperatorSubscriber {
            socket,
            raw,
            body: Vec::new(),
            status,
            headers,
            records: Vec::new(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The next event (HEARTBEATs included), or None after `secs` or at the stream's end.
    pub async fn next_any(&mut self, secs: u64) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(record) = self.take_record() {
                self.records.push(record.clone());
                return Some(serde_json::from_slice(&record).expect("each record is JSON"));
            }
            if self.take_chunk() {
                continue;
            }
            let mut buf = [0u8; 65536];
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.socket.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => self.raw.extend_from_slice(&buf[..n]),
                _ => return None,
            }
        }
    }

    /// The next event other than HEARTBEAT.
    pub async fn next_event(&mut self, secs: u64) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .as_secs()
                .max(1);
            let event = self.next_any(left).await?;
            if event["type"] != "HEARTBEAT" {
                return Some(event);
            }
            if tokio::time::Instant::now() > deadline {
                return None;
            }
        }
    }

    /// Moves one whole chunk from `raw` to `body`; false if none is complete.
    fn take_chunk(&mut self) -> bool {
        let Some(line_end) = find(&self.raw, b"\r\n") else {
            return false;
        };
        let size_text = String::from_utf8_lossy(&self.raw[..line_end]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or_else(|_| panic!("chunk size line {size_text:?}"));
        let needed = line_end + 2 + size + 2;
        if self.raw.len() < needed {
            return false;
        }
        self.body
            .extend_from_slice(&self.raw[line_end + 2..line_end + 2 + size]);
        self.raw.drain(..needed);
        true
    }

    /// One RecordIO record (`<length>\n<bytes>`) out of `body`.
    fn take_record(&mut self) -> Option<Vec<u8>> {
        let newline = self.body.iter().position(|b| *b == b'\n')?;
        let length: usize = std::str::from_utf8(&self.body[..newline])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("record length {:?}", &self.body[..newline]));
        if self.body.len() < newline + 1 + length {
            return None;
        }
        let record = self.body[newline + 1..newline + 1 + length].to_vec();
        self.body.drain(..newline + 1 + length);
        Some(record)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
