//! `corral plugin install | list | activate | deactivate | remove` against a real master:
//! capabilities must be accepted, bad plugins are refused with the reason and nothing is
//! stored, an active plugin is not removed, and `list` shows call stats.

use corral_e2e::{Cluster, plugin_wasm};

/// A manifest for the command executor's component as plugin `name`, asking for
/// `capabilities` (TOML lines); returns its path.
fn executor_manifest(dir: &std::path::Path, name: &str, capabilities: &str) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "name = \"{name}\"\nkind = \"executor\"\nversion = \"0.3.0\"\nwit = \"0.1.0\"\n\n\
             [capabilities]\n{capabilities}\n"
        ),
    )
    .expect("write manifest");
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_list_activate_remove() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cluster = Cluster::master(&[]).await;
    let command = plugin_wasm("command").display().to_string();
    let manifest = executor_manifest(dir.path(), "shell", "task_environment = true");

    // stdin is not a terminal: without the flag the capabilities are not granted.
    let (code, _, err) = cluster.cli(&["plugin", "install", &command, "--manifest", &manifest]);
    assert_ne!(code, 0);
    assert!(err.contains("task environment"), "{err}");
    assert!(err.contains("--accept-capabilities"), "{err}");
    let (_, listed, _) = cluster.cli(&["plugin", "list"]);
    assert!(!listed.contains("shell"), "nothing stored: {listed}");

    let (code, out, err) = cluster.cli(&[
        "plugin",
        "install",
        &command,
        "--manifest",
        &manifest,
        "--accept-capabilities",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("installed shell 0.3.0 (executor)"), "{out}");

    let (code, listed, err) = cluster.cli(&["plugin", "list"]);
    assert_eq!(code, 0, "{err}");
    let header = listed.lines().next().unwrap_or("");
    for column in [
        "NAME", "VERSION", "KIND", "SHA256", "ACTIVE", "CALLS", "ERRORS", "P99",
    ] {
        assert!(header.contains(column), "{listed}");
    }
    let drf = listed
        .lines()
        .find(|l| l.starts_with("drf (built-in)"))
        .expect("the built-in allocator is listed");
    assert!(drf.contains("allocator"), "{drf}");
    let shell = listed
        .lines()
        .find(|l| l.starts_with("shell"))
        .expect("listed");
    assert!(
        shell.contains("0.3.0") && shell.contains("executor"),
        "{shell}"
    );

    assert_eq!(cluster.cli(&["plugin", "activate", "shell"]).0, 0);
    let (_, listed, _) = cluster.cli(&["plugin", "list"]);
    let shell = listed
        .lines()
        .find(|l| l.starts_with("shell"))
        .expect("row");
    assert!(shell.contains("agents"), "{shell}");
    let (code, _, err) = cluster.cli(&["plugin", "remove", "shell"]);
    assert_ne!(code, 0, "an active plugin stays");
    assert!(err.contains("active"), "{err}");
    assert_eq!(cluster.cli(&["plugin", "deactivate", "shell"]).0, 0);
    let (code, _, err) = cluster.cli(&["plugin", "remove", "shell"]);
    assert_eq!(code, 0, "{err}");
    let (_, listed, _) = cluster.cli(&["plugin", "list"]);
    assert!(!listed.contains("shell"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_plugins_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cluster = Cluster::master(&[]).await;
    let text = dir.path().join("notes.wasm");
    std::fs::write(&text, "hello").expect("write");
    let manifest = dir.path().join("m.toml");
    std::fs::write(
        &manifest,
        "name = \"x\"\nkind = \"allocator\"\nversion = \"1.0.0\"\nwit = \"0.1.0\"\n",
    )
    .expect("write");
    let manifest = manifest.display().to_string();
    let (code, _, err) = cluster.cli(&[
        "plugin",
        "install",
        &text.display().to_string(),
        "--manifest",
        &manifest,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("magic"), "{err}");

    // An executor installed as an allocator: the kind is checked.
    let command = plugin_wasm("command").display().to_string();
    let (code, _, err) = cluster.cli(&["plugin", "install", &command, "--manifest", &manifest]);
    assert_ne!(code, 0);
    assert!(err.contains("executor"), "{err}");

    // No manifest at all (none beside the file, none inside it).
    let copy = dir.path().join("lonely.wasm");
    std::fs::copy(plugin_wasm("drf"), &copy).expect("copy");
    let (code, _, err) = cluster.cli(&["plugin", "install", &copy.display().to_string()]);
    assert_ne!(code, 0);
    assert!(err.contains("manifest"), "{err}");

    // The same file with its manifest beside it installs.
    std::fs::write(
        dir.path().join("lonely.toml"),
        "name = \"lonely\"\nkind = \"allocator\"\nversion = \"1.0.0\"\nwit = \"0.1.0\"\n",
    )
    .expect("write");
    let (code, out, err) = cluster.cli(&["plugin", "install", &copy.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("installed lonely"), "{out}");
    let (_, listed, _) = cluster.cli(&["plugin", "list"]);
    assert_eq!(
        listed.lines().filter(|l| l.starts_with("lonely")).count(),
        1
    );
    assert!(!listed.lines().any(|l| l.starts_with("x ")), "{listed}");
}

/// The master's `--plugin-capabilities-allowed` bounds what any installer may accept, and an
/// accepted grant is in the audit log with who accepted it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_master_bounds_what_capabilities_an_installer_may_accept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cluster = Cluster::master(&["--plugin-capabilities-allowed", "devices"]).await;
    let command = plugin_wasm("command").display().to_string();
    let manifest = executor_manifest(dir.path(), "shell", "task_environment = true");
    let install = ["plugin", "install", &command, "--manifest", &manifest];
    let (code, _, err) = cluster.cli(&[&install[..], &["--accept-capabilities"]].concat());
    assert_ne!(code, 0);
    assert!(
        err.contains("--plugin-capabilities-allowed") && err.contains("task_environment"),
        "{err}"
    );
    let (_, listed, _) = cluster.cli(&["plugin", "list"]);
    assert!(!listed.contains("shell"), "nothing stored: {listed}");

    let manifest = executor_manifest(dir.path(), "lister", "devices = [\"/dev/null\"]");
    let install = ["plugin", "install", &command, "--manifest", &manifest];
    let (code, out, err) = cluster.cli(&[&install[..], &["--accept-capabilities"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("installed lister"), "{out}");
    corral_e2e::cluster::settle();
    let log = cluster.master.log_text();
    assert!(
        log.lines().any(|l| l.contains("corral::audit")
            && l.contains("plugin capabilities accepted")
            && l.contains("devices")),
        "{log}"
    );
}
