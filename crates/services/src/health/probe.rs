//! One attempt of a Marathon-side check against a task's host and port, each bounded by the
//! check's timeout: an HTTP GET (a small HTTP/1.1 client: the status line, the content type
//! and up to 64 KiB of body are read), a TCP connect, or, for HTTPS, a TLS handshake begun
//! (Corral has no TLS client: a port that answers a ClientHello with a TLS handshake record
//! counts as healthy; the HTTP status behind TLS is not read).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bodies longer than this are cut (a readiness check keeps the last response).
const MAX_BODY: usize = 64 * 1024;

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// `GET http://host:port/path`.
pub async fn http_get(
    host: &str,
    port: u32,
    path: &str,
    timeout: Duration,
) -> Result<HttpAnswer, String> {
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let url = format!("http://{host}:{port}{path}");
    let attempt = async {
        let mut stream = connect(host, port).await?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: corral-services\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => {
                    raw.extend_from_slice(&buf[..n]);
                    if raw.len() > MAX_BODY + 16 * 1024 {
                        break;
                    }
                }
                // A server that resets after answering still answered.
                Err(_) if !raw.is_empty() => break,
                Err(e) => return Err(e.to_string()),
            }
        }
        parse_answer(&raw)
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(format!("GET {url} failed: {e}")),
        Err(_) => Err(format!("GET {url} timed out after {timeout:?}")),
    }
}

/// A connection to `host:port` within `timeout`.
pub async fn tcp_connect(host: &str, port: u32, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, connect(host, port)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("TCP connection to {host}:{port} failed: {e}")),
        Err(_) => Err(format!(
            "TCP connection to {host}:{port} timed out after {timeout:?}"
        )),
    }
}

/// A TLS ClientHello to `host:port`, answered with a handshake record.
pub async fn tls_handshake(host: &str, port: u32, timeout: Duration) -> Result<(), String> {
    let attempt = async {
        let mut stream = connect(host, port).await?;
        stream
            .write_all(&CLIENT_HELLO)
            .await
            .map_err(|e| e.to_string())?;
        let mut first = [0u8; 1];
        stream
            .read_exact(&mut first)
            .await
            .map_err(|e| e.to_string())?;
        match first[0] {
            0x16 => Ok(()),
            0x15 => Err("the server refused the TLS handshake (alert)".to_string()),
            other => Err(format!("not a TLS answer (first byte {other:#04x})")),
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result.map_err(|e| format!("HTTPS check of {host}:{port}: {e}")),
        Err(_) => Err(format!(
            "HTTPS check of {host}:{port} timed out after {timeout:?}"
        )),
    }
}

async fn connect(host: &str, port: u32) -> Result<TcpStream, String> {
    let port = u16::try_from(port).map_err(|_| format!("{port} is not a port"))?;
    TcpStream::connect((host, port))
        .await
        .map_err(|e| e.to_string())
}

/// The status, content type and body of a raw HTTP/1.x answer (chunked bodies decoded).
fn parse_answer(raw: &[u8]) -> Result<HttpAnswer, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| "not an HTTP answer".to_string())?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|_| status_line.starts_with("HTTP/"))
        .ok_or_else(|| format!("not an HTTP status line: {status_line:?}"))?;
    let mut content_type = String::new();
    let mut chunked = false;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-type") {
                content_type = value.to_string();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
    let body = &raw[split + 4..];
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_vec()
    };
    let body = String::from_utf8_lossy(&body[..body.len().min(MAX_BODY)]).into_owned();
    Ok(HttpAnswer {
        status,
        content_type,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        let start = line_end + 2;
        if size == 0 || start + size > data.len() {
            out.extend_from_slice(&data[start.min(data.len())..(start + size).min(data.len())]);
            break;
        }
        out.extend_from_slice(&data[start..start + size]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// A TLS 1.2 ClientHello (no SNI; common AES-GCM and ChaCha20 suites; the extensions a
/// modern server needs to answer: supported groups, signature algorithms, EC point formats).
const CLIENT_HELLO: [u8; 93] = [
    0x16, 0x03, 0x01, 0x00, 0x58, // record: handshake, TLS 1.0 on the wire, 88 bytes
    0x01, 0x00, 0x00, 0x54, // ClientHello, 84 bytes
    0x03, 0x03, // TLS 1.2
    // random (32 bytes)
    0x43, 0x6f, 0x72, 0x72, 0x61, 0x6c, 0x20, 0x68, 0x65, 0x61, 0x6c, 0x74, 0x68, 0x20, 0x63, 0x68,
    0x65, 0x63, 0x6b, 0x20, 0x70, 0x72, 0x6f, 0x62, 0x65, 0x20, 0x30, 0x31, 0x32, 0x33, 0x34,
    0x35, //
    0x00, // no session id
    0x00, 0x08, 0xc0, 0x2f, 0xc0, 0x2b, 0xcc, 0xa8, 0x00, 0x9c, // 4 cipher suites
    0x01, 0x00, // null compression
    0x00, 0x23, // extensions, 35 bytes
    0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17, // groups: x25519, P-256
    0x00, 0x0d, 0x00, 0x0a, 0x00, 0x08, 0x04, 0x01, 0x04, 0x03, 0x08, 0x04, 0x05,
    0x01, // sigalgs
    0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // EC point formats: uncompressed
    0xff, 0x01, 0x00, 0x01, 0x00, // renegotiation info
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_with_their_status_type_and_body() {
        let raw = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        let answer = parse_answer(raw).expect("parsed");
        assert_eq!(answer.status, 503);
        assert_eq!(answer.content_type, "application/json");
        assert_eq!(answer.body, "{}");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_answer(chunked).expect("parsed").body, "abcde");
        assert!(parse_answer(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
    }

    #[test]
    fn the_client_hello_lengths_add_up() {
        let record = usize::from(CLIENT_HELLO[3]) << 8 | usize::from(CLIENT_HELLO[4]);
        assert_eq!(record, CLIENT_HELLO.len() - 5);
        let hello = usize::from(CLIENT_HELLO[7]) << 8 | usize::from(CLIENT_HELLO[8]);
        assert_eq!(hello, CLIENT_HELLO.len() - 9);
        let extensions = usize::from(CLIENT_HELLO[56]) << 8 | usize::from(CLIENT_HELLO[57]);
        assert_eq!(extensions, CLIENT_HELLO.len() - 58);
    }

    #[tokio::test]
    async fn a_closed_port_fails_and_a_listening_one_connects() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = u32::from(listener.local_addr().expect("addr").port());
        let t = Duration::from_secs(2);
        let server = tokio::spawn(async move {
            for _ in 0..2 {
                let (mut s, _) = listener.accept().await.expect("accept");
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.0 204 No Content\r\nContent-Type: text/plain\r\n\r\n")
                    .await;
            }
        });
        assert!(tcp_connect("127.0.0.1", port, t).await.is_ok());
        let answer = http_get("127.0.0.1", port, "ok", t).await.expect("answer");
        assert_eq!(answer.status, 204);
        server.await.expect("server");
        assert!(http_get("127.0.0.1", 1, "/", t).await.is_err());
        assert!(tls_handshake("127.0.0.1", 1, t).await.is_err());
    }
}
