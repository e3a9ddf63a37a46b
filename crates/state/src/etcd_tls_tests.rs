//! The flags of TLS to etcd and a real etcd serving TLS that requires client certificates
//! (certificates made here with rcgen).

use std::path::Path;
use std::time::Duration;

use corral_test_fixtures::pki::TestCa;

use super::*;
use crate::etcd_launcher::{LocalEtcd, MemberTls};
use crate::spec::{connect_with_retry, current_leader};
use crate::{Election, StateError, StateSpec, StateStore, WriteOp};

fn files(ca: Option<&Path>, cert: Option<&Path>, key: Option<&Path>) -> EtcdTlsFiles {
    EtcdTlsFiles {
        ca: ca.map(Path::to_path_buf),
        cert: cert.map(Path::to_path_buf),
        key: key.map(Path::to_path_buf),
    }
}

#[test]
fn a_certificate_goes_with_its_key_and_a_ca() {
    let (ca, cert, key) = (
        Some(Path::new("ca.pem")),
        Some(Path::new("c.crt")),
        Some(Path::new("c.key")),
    );
    assert!(files(None, None, None).check().is_ok());
    assert!(!files(None, None, None).any());
    assert!(files(ca, None, None).check().is_ok());
    assert!(files(ca, cert, key).check().is_ok());
    for (half, says) in [
        (files(ca, cert, None), "--etcd-cert needs --etcd-key"),
        (files(ca, None, key), "--etcd-key needs --etcd-cert"),
        (files(None, cert, key), "--etcd-cert needs --etcd-ca"),
    ] {
        let error = half.check().expect_err("refused").to_string();
        assert!(error.contains(says), "{error}");
    }
    let error = files(None, cert, key)
        .check()
        .expect_err("no CA")
        .to_string();
    assert!(error.contains("never the system's roots"), "{error}");
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as files in `dir`.
struct Pki {
    ca: std::path::PathBuf,
    server: corral_test_fixtures::pki::LeafFiles,
    client: corral_test_fixtures::pki::LeafFiles,
}

fn pki(dir: &Path, name: &str) -> Pki {
    let ca = TestCa::new(name);
    Pki {
        ca: ca.write(dir, &format!("{name}-ca")),
        server: ca
            .server(&["localhost", "127.0.0.1"])
            .write(dir, &format!("{name}-server")),
        client: ca.client("corral").write(dir, &format!("{name}-client")),
    }
}

#[tokio::test]
async fn bad_files_are_refused_with_the_file_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ours = pki(dir.path(), "ours");
    let theirs = pki(dir.path(), "theirs");
    let missing = dir.path().join("missing.pem");
    let error = files(Some(&missing), None, None)
        .load()
        .await
        .expect_err("missing CA")
        .to_string();
    assert!(
        error.contains("--etcd-ca") && error.contains("missing.pem"),
        "{error}"
    );

    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").expect("write");
    let error = files(Some(&not_pem), None, None)
        .load()
        .await
        .expect_err("no certificate")
        .to_string();
    assert!(
        error.contains("not.pem") && error.contains("no certificate"),
        "{error}"
    );

    // Another certificate's key.
    let error = files(
        Some(&ours.ca),
        Some(&ours.client.cert),
        Some(&theirs.client.key),
    )
    .load()
    .await
    .expect_err("a key that is not the certificate's")
    .to_string();
    assert!(
        error.contains("--etcd-key") && error.contains("theirs-client.key"),
        "{error}"
    );

    let tls = files(
        Some(&ours.ca),
        Some(&ours.client.cert),
        Some(&ours.client.key),
    )
    .load()
    .await
    .expect("good files")
    .expect("TLS asked for");
    assert!(
        files(None, None, None)
            .load()
            .await
            .expect("none")
            .is_none()
    );

    // --state forms with and without the files.
    let error = StateSpec::parse("etcd+tls://127.0.0.1:2379").expect_err("no CA");
    assert!(error.to_string().contains("--etcd-ca"), "{error}");
    for text in ["etcd+tls://127.0.0.1:2379/p", "etcd://127.0.0.1:2379/p"] {
        let spec = StateSpec::parse_with_tls(text, Some(tls.clone())).expect(text);
        assert_eq!(
            spec,
            StateSpec::Etcd {
                endpoints: vec!["127.0.0.1:2379".into()],
                prefix: "/p/".into(),
                tls: Some(tls.clone()),
            }
        );
    }
    let error = StateSpec::parse_with_tls("memory", Some(tls)).expect_err("not etcd");
    assert!(error.to_string().contains("etcd:// state only"), "{error}");
}

/// etcd serving TLS and requiring client certificates of our CA: the store and the
/// election work over it with our CA and certificate; without a certificate, with another
/// CA's, or trusting another CA, connecting fails at once with an error that says TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_etcd_serves_our_certificate_and_refuses_others() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ours = pki(dir.path(), "ours");
    let theirs = pki(dir.path(), "theirs");
    let etcd = LocalEtcd::start_tls(
        &dir.path().join("etcd"),
        &MemberTls {
            cert: ours.server.cert.clone(),
            key: ours.server.key.clone(),
            client_ca: ours.ca.clone(),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let endpoints = vec![etcd.endpoint.clone()];
    let load = |ca: &Path, leaf: Option<&corral_test_fixtures::pki::LeafFiles>| {
        files(
            Some(ca),
            leaf.map(|l| l.cert.as_path()),
            leaf.map(|l| l.key.as_path()),
        )
    };
    let good = load(&ours.ca, Some(&ours.client))
        .load()
        .await
        .expect("our files")
        .expect("TLS");

    let store = connect_with_retry(&endpoints, "/tls/", Some(&good), Duration::from_secs(10))
        .await
        .expect("connects over TLS with our certificate");
    store
        .apply(vec![WriteOp::Put {
            key: "k".into(),
            value: b"v".to_vec(),
        }])
        .await
        .expect("write over TLS");
    assert_eq!(
        store.get("k").await.expect("read over TLS"),
        Some(b"v".to_vec())
    );
    let election = Election::connect(&endpoints, "/tls/", Duration::from_secs(2), Some(&good))
        .await
        .expect("election over TLS");
    let term = election.campaign("m1:5050").await.expect("campaign");
    let leader = current_leader(&endpoints, "/tls/", Some(&good), Duration::from_secs(2))
        .await
        .expect("leader lookup over TLS");
    assert_eq!(leader.as_deref(), Some("m1:5050"));
    election.resign(term).await;

    let refused = [
        ("no client certificate", load(&ours.ca, None)),
        (
            "another CA's certificate",
            load(&ours.ca, Some(&theirs.client)),
        ),
        (
            "trusting another CA",
            load(&theirs.ca, Some(&theirs.client)),
        ),
    ];
    for (what, files) in refused {
        let tls = files.load().await.expect("files").expect("TLS");
        // Retried, it would end in a `StateError::Open` ("gave up reaching etcd").
        let error = connect_with_retry(&endpoints, "/tls/", Some(&tls), Duration::from_secs(60))
            .await
            .expect_err(what);
        assert!(matches!(error, StateError::Tls { .. }), "{what}: {error:?}");
        let text = error.to_string();
        assert!(
            text.contains("TLS to etcd at etcd+tls://127.0.0.1:"),
            "{what}: {text}"
        );
        // Usually the alert too; a request written before the alert arrives sees a broken
        // pipe instead, so only the failure is certain here.
        let error = current_leader(&endpoints, "/tls/", Some(&tls), Duration::from_secs(2))
            .await
            .expect_err(what)
            .to_string();
        assert!(error.contains("etcd"), "{what} (leader lookup): {error}");
    }

    // Plain gRPC to the TLS port: refused (as an etcd that does not answer, for now).
    let error = connect_with_retry(&endpoints, "/tls/", None, Duration::from_secs(1))
        .await
        .expect_err("plain to a TLS etcd")
        .to_string();
    assert!(
        error.contains(&format!("etcd://{}", endpoints[0])),
        "{error}"
    );
}
