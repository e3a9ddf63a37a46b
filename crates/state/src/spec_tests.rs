use super::*;

fn etcd(endpoints: &[&str], prefix: &str) -> StateSpec {
    StateSpec::Etcd {
        endpoints: endpoints.iter().map(|e| e.to_string()).collect(),
        prefix: prefix.to_string(),
        tls: None,
    }
}

#[test]
fn state_flag_forms() {
    assert_eq!(
        StateSpec::parse("memory").expect("memory"),
        StateSpec::Memory
    );
    assert_eq!(
        StateSpec::parse("file:///tmp/r.redb").expect("file"),
        StateSpec::File(PathBuf::from("/tmp/r.redb"))
    );
    assert_eq!(
        StateSpec::parse("file://rel/r.redb").expect("relative file"),
        StateSpec::File(PathBuf::from("rel/r.redb"))
    );
    assert!(matches!(
        StateSpec::parse("etcd://127.0.0.1:2379").expect("etcd"),
        StateSpec::Etcd { .. }
    ));
    assert!(crate::names_etcd(" etcd+tls://127.0.0.1:2379"));
    assert!(!crate::names_etcd("https://m1:5050"));
    for bad in [
        "file://",
        "etcd://127.0.0.1",
        "/tmp/r.redb",
        "mem",
        "etcd+tls://h:2379",
    ] {
        let err = StateSpec::parse(bad).expect_err("refused");
        assert!(err.to_string().contains("--state"), "{err}");
    }
}

#[test]
fn endpoints_and_prefix() {
    assert_eq!(
        parse_etcd("127.0.0.1:2379").expect("one"),
        etcd(&["127.0.0.1:2379"], "/corral/")
    );
    assert_eq!(
        parse_etcd("h1:2379,h2:2379/").expect("two"),
        etcd(&["h1:2379", "h2:2379"], "/corral/")
    );
    assert_eq!(
        parse_etcd("h1:2379/team/a").expect("prefix"),
        etcd(&["h1:2379"], "/team/a/")
    );
    for bad in ["", "h1", "h1:x", ":2379", "h1:2379,/p", "h1:99999"] {
        let err = parse_etcd(bad).expect_err(bad);
        assert!(err.to_string().contains("--state etcd://"), "{err}");
    }
}

/// An etcd that is not up yet at start: the master keeps trying (no crash) and connects
/// once it listens; one that never comes is a clear error naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_etcd_that_comes_up_late_is_waited_for_and_one_that_never_does_is_named() {
    let port = crate::loopback_port::free_loopback_port().expect("free port");
    let endpoints = vec![format!("127.0.0.1:{port}")];
    let err = connect_with_retry(&endpoints, "/late/", None, Duration::from_secs(1))
        .await
        .expect_err("nothing listens");
    let text = err.to_string();
    assert!(text.contains("gave up reaching etcd"), "{text}");
    assert!(text.contains(&endpoints[0]), "{text}");

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    let late = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        crate::etcd_launcher::LocalEtcd::start_at(&path, port).expect("etcd starts")
    });
    let store = connect_with_retry(&endpoints, "/late/", None, Duration::from_secs(30)).await;
    let _etcd = late.join().expect("launcher thread");
    store.expect("connects once etcd listens");
}
