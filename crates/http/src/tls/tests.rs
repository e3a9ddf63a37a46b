//! The server's TLS: PEM errors that name the file, a silent client that stalls nobody, plain
//! HTTP and foreign or missing client certificates refused.

use std::sync::Arc;

use corral_test_fixtures::pki::{Leaf, TestCa};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ServerTls, TlsFiles, TlsListener};

struct Pki {
    dir: tempfile::TempDir,
    ca: TestCa,
    files: TlsFiles,
}

fn pki(mutual: bool) -> Pki {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new("Corral test CA");
    let server = ca
        .server(&["localhost", "127.0.0.1"])
        .write(dir.path(), "server");
    let client_ca = mutual.then(|| ca.write(dir.path(), "ca"));
    let files = TlsFiles {
        cert: server.cert,
        key: server.key,
        client_ca,
    };
    Pki { dir, ca, files }
}

async fn load_error(files: &TlsFiles) -> String {
    files.load().await.expect_err("must be refused").to_string()
}

#[tokio::test]
async fn a_missing_file_is_named() {
    let pki = pki(false);
    let mut files = pki.files.clone();
    files.cert = pki.dir.path().join("nowhere.crt");
    let error = load_error(&files).await;
    assert!(
        error.contains("cannot read the TLS certificate") && error.contains("nowhere.crt"),
        "{error}"
    );
}

#[tokio::test]
async fn a_file_without_what_it_should_hold_is_named() {
    let pki = pki(false);
    // The key where the certificate belongs, and the other way round.
    let swapped = TlsFiles {
        cert: pki.files.key.clone(),
        key: pki.files.cert.clone(),
        client_ca: None,
    };
    let error = load_error(&swapped).await;
    assert!(
        error.contains("holds no PEM certificate") && error.contains("server.key"),
        "{error}"
    );
    let no_key = TlsFiles {
        key: pki.files.cert.clone(),
        ..pki.files.clone()
    };
    let error = load_error(&no_key).await;
    assert!(
        error.contains("holds no PEM private key") && error.contains("server.crt"),
        "{error}"
    );
    let empty_ca = pki.dir.path().join("empty.pem");
    std::fs::write(&empty_ca, "").expect("write");
    let error = load_error(&TlsFiles {
        client_ca: Some(empty_ca),
        ..pki.files.clone()
    })
    .await;
    assert!(
        error.contains("the client CA") && error.contains("empty.pem"),
        "{error}"
    );
}

#[tokio::test]
async fn a_key_of_another_certificate_is_refused() {
    let pki = pki(false);
    let other = pki.ca.server(&["localhost"]).write(pki.dir.path(), "other");
    let error = load_error(&TlsFiles {
        key: other.key,
        ..pki.files.clone()
    })
    .await;
    assert!(
        error.contains("does not go with the certificate") && error.contains("other.key"),
        "{error}"
    );
}

/// Serves "hello" at every path over `tls` on a loopback port.
async fn serve(tls: &ServerTls) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let router = axum::Router::new().fallback(|| async { "hello" });
    let listener = TlsListener::new(listener, tls);
    tokio::spawn(async move { axum::serve(listener, router).await });
    port
}

fn client(ca: &TestCa, identity: Option<&Leaf>) -> tokio_rustls::TlsConnector {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.cert_pem().as_bytes()).expect("CA pem"))
        .expect("root");
    let builder = rustls::ClientConfig::builder_with_provider(super::provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match identity {
        Some(leaf) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(leaf.cert_pem.as_bytes()).expect("cert")],
                PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).expect("key"),
            )
            .expect("client identity"),
        None => builder.with_no_client_auth(),
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// GET / over TLS; the whole response.
async fn get(connector: &tokio_rustls::TlsConnector, port: u16) -> std::io::Result<String> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = String::new();
    tls.read_to_string(&mut response).await?;
    Ok(response)
}

fn answered(response: &std::io::Result<String>) -> bool {
    matches!(response, Ok(text) if text.starts_with("HTTP/1.1 200") && text.ends_with("hello"))
}

#[tokio::test]
async fn a_silent_client_stalls_no_other_handshake() {
    let pki = pki(false);
    let tls = pki.files.load().await.expect("load");
    let port = serve(&tls).await;
    // Connects and never says a word.
    let silent = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let response = get(&client(&pki.ca, None), port).await;
    assert!(answered(&response), "{response:?}");
    // Handshakes one at a time would have served the second only once the silent one was
    // closed (after HANDSHAKE_TIMEOUT): it is still open.
    let mut byte = [0u8; 1];
    match silent.try_read(&mut byte) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the silent connection was closed or answered: {other:?}"),
    }
}

#[tokio::test]
async fn plain_http_to_a_tls_port_gets_no_answer() {
    let pki = pki(false);
    let port = serve(&pki.files.load().await.expect("load")).await;
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut response = Vec::new();
    let _ = tcp.read_to_end(&mut response).await;
    assert!(
        !String::from_utf8_lossy(&response).contains("hello"),
        "plain HTTP was served: {response:?}"
    );
    // The server goes on.
    let response = get(&client(&pki.ca, None), port).await;
    assert!(answered(&response), "{response:?}");
}

#[tokio::test]
async fn mutual_tls_takes_only_clients_of_the_client_ca() {
    let pki = pki(true);
    let tls = pki.files.load().await.expect("load");
    assert!(tls.mutual());
    let port = serve(&tls).await;

    let ours = pki.ca.client("agent-1");
    let response = get(&client(&pki.ca, Some(&ours)), port).await;
    assert!(answered(&response), "{response:?}");

    let response = get(&client(&pki.ca, None), port).await;
    assert!(
        response.is_err(),
        "a client without a certificate: {response:?}"
    );

    let stranger = TestCa::new("Another CA").client("agent-1");
    let response = get(&client(&pki.ca, Some(&stranger)), port).await;
    assert!(
        response.is_err(),
        "a certificate from another CA: {response:?}"
    );
}

#[tokio::test]
async fn a_server_certificate_from_elsewhere_is_not_trusted() {
    let pki = pki(false);
    let port = serve(&pki.files.load().await.expect("load")).await;
    let response = get(&client(&TestCa::new("Another CA"), None), port).await;
    assert!(response.is_err(), "{response:?}");
}

#[test]
fn a_client_certificate_names_its_common_name() {
    let ca = TestCa::new("Corral test CA");
    let leaf = ca.client("agent-1");
    let der = CertificateDer::from_pem_slice(leaf.cert_pem.as_bytes()).expect("cert pem");
    let principal = super::certificate_principal(Some(&[der]));
    assert_eq!(principal.as_deref(), Some("agent-1"));
    assert_eq!(super::certificate_principal(None), None);
    let garbage = CertificateDer::from(vec![0x30, 0x03, 0x01, 0x01, 0xff]);
    assert_eq!(super::certificate_principal(Some(&[garbage])), None);
}

/// Every request requires credentials; a mutual-TLS client without any is its certificate's
/// principal, which a handler sees as its caller.
#[tokio::test]
async fn a_mutual_tls_client_is_authenticated_as_its_certificate() {
    use crate::auth::{AuthConfig, Caller, Identities, Realm, Required};

    let pki = pki(true);
    let tls = pki.files.load().await.expect("load");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let router = axum::Router::new().fallback(|caller: Caller| async move {
        format!("hello {}", caller.name().unwrap_or("<anonymous>"))
    });
    let required = Required {
        readonly: true,
        readwrite: true,
        ..Default::default()
    };
    let auth = AuthConfig {
        identities: Arc::new(Identities::default()),
        required,
    };
    let classify: crate::auth::Classify = |_, _| Realm::ReadOnly;
    let http_auth = auth.for_server(classify);
    tokio::spawn(async move {
        crate::serve(
            listener,
            Some(&tls),
            router,
            http_auth,
            std::future::pending(),
            "test",
        )
        .await;
    });
    let holder = pki.ca.client("agent-1");
    let mut response = Err(std::io::Error::other("not yet asked"));
    for _ in 0..50 {
        response = get(&client(&pki.ca, Some(&holder)), port).await;
        if response.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let text = response.expect("served");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("hello agent-1"), "{text}");
}
