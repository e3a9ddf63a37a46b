//! Starting and stopping real `corral` processes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The `corral` binary of this build: `$CORRAL_BIN`, else `target/<profile>/corral` next to
/// the test executable (which lives in `target/<profile>/deps/`).
pub fn corral_bin() -> PathBuf {
    if let Ok(path) = std::env::var("CORRAL_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable is in target/<profile>/deps");
    let bin = profile_dir.join("corral");
    assert!(
        bin.exists(),
        "{} does not exist: run `cargo build -p corral` first (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// A built plugin component (e.g. "loop_allocator"), from the plugins build that
/// crates/builtin-plugins and crates/test-fixtures run (their build.rs).
pub fn plugin_wasm(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("test executable is in target/<profile>/deps");
    let path = target
        .join("wasm-plugins")
        .join("wasm32-wasip2")
        .join("release")
        .join(format!("{name}.wasm"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// A loopback port that was free a moment ago, outside the kernel's ephemeral range and
/// never handed out twice in this test process (so a parallel test's connection or server
/// cannot take it before the server it is for binds it).
pub fn free_port() -> u16 {
    corral_state::loopback_port::free_loopback_port().expect("a free loopback port")
}

/// A child process that is killed when dropped; its stderr goes to a log file so a failing
/// test can show it.
pub struct Process {
    pub name: String,
    child: Option<Child>,
    pub log: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Process {
    pub fn start(name: &str, args: &[String], log_dir: &Path) -> Process {
        Process::start_with_env(name, args, log_dir, &[])
    }

    /// [`Process::start`] with `env` added to the process's environment (kept on restarts).
    pub fn start_with_env(
        name: &str,
        args: &[String],
        log_dir: &Path,
        env: &[(&str, &str)],
    ) -> Process {
        let log = log_dir.join(format!("{name}.log"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open log file");
        let child = Command::new(corral_bin())
            .args(args)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone log handle"))
            .stderr(file)
            .spawn()
            .expect("spawn corral");
        Process {
            name: name.to_string(),
            child: Some(child),
            log,
            args: args.to_vec(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the same command again (after `kill9`).
    pub fn restart(&mut self) {
        self.kill9();
        let log_dir = self.log.parent().expect("log dir").to_path_buf();
        let env = self.env.clone();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        *self = Process::start_with_env(&self.name.clone(), &self.args.clone(), &log_dir, &env);
    }

    /// Starts the same command again with `extra` flags added (after `kill9`).
    pub fn restart_with(&mut self, extra: &[&str]) {
        self.kill9();
        let mut args = self.args.clone();
        args.extend(extra.iter().map(|s| s.to_string()));
        let log_dir = self.log.parent().expect("log dir").to_path_buf();
        let env = self.env.clone();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        *self = Process::start_with_env(&self.name.clone(), &args, &log_dir, &env);
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to `secs` for `needle` in this process's log; returns the log then.
    pub async fn wait_for_log(&self, needle: &str, secs: u64) -> String {
        let what = format!("{needle:?} in {}'s log", self.name);
        crate::eventually(secs, &what, || {
            let log = self.log_text();
            async move { log.contains(needle).then_some(log) }
        })
        .await
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill9();
        // A failing test shows what its processes said (the temp dir goes with the test).
        if std::thread::panicking() {
            let tail = log_tail(&self.log, 6000);
            eprintln!("---- the end of {}'s log ----{tail}", self.name);
        }
    }
}

/// The last `max_bytes` (or a little less, at a character boundary) of the log at `path`;
/// empty if it cannot be read.
pub fn log_tail(path: &Path, max_bytes: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let start = (text.len().saturating_sub(max_bytes)..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_string()
}

/// A master and its agents, each a real process, with a temporary work dir.
pub struct Cluster {
    pub master: Process,
    pub master_addr: String,
    pub agents: Vec<Process>,
    pub agent_addrs: Vec<String>,
    pub dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        kill_processes_under(self.dir.path());
    }
}

/// Kills (SIGKILL) every process whose working directory is under `dir`: the tasks of a
/// test's agents run in sandboxes there and outlive a killed agent by design (agent
/// recovery), so without this they would pile up over a suite run.
pub fn kill_processes_under(dir: &Path) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) else {
            continue;
        };
        if cwd.starts_with(dir) {
            // SAFETY: kill(2) with a pid read from /proc and a valid signal number.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

impl Cluster {
    /// `corral master` with an in-memory registry, plus extra flags.
    pub async fn master(extra: &[&str]) -> Cluster {
        Cluster::master_with_state("memory", extra).await
    }

    /// `corral master --state <state>` (e.g. `etcd://127.0.0.1:2379`), plus extra flags.
    pub async fn master_with_state(state: &str, extra: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut args: Vec<String> = vec![
            "master".into(),
            "--ip".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--state".into(),
            state.into(),
        ];
        // A short allocation interval, unless the test sets its own.
        if !extra.contains(&"--allocation-interval") {
            args.extend(["--allocation-interval".into(), "200ms".into()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let master = Process::start("master", &args, dir.path());
        let cluster = Cluster {
            master,
            master_addr: format!("127.0.0.1:{port}"),
            agents: Vec::new(),
            agent_addrs: Vec::new(),
            dir,
        };
        cluster.wait_healthy(&cluster.master_addr.clone()).await;
        cluster
    }

    /// Adds `corral agent` with the given resources and extra flags, and waits until the
    /// master lists it.
    pub async fn add_agent(&mut self, resources: &str, extra: &[&str]) -> usize {
        let index = self.agents.len();
        let port = free_port();
        let work = self.dir.path().join(format!("agent{index}"));
        let mut args: Vec<String> = vec![
            "agent".into(),
            "--master".into(),
            self.master_addr.clone(),
            "--ip".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--work-dir".into(),
            work.display().to_string(),
            "--resources".into(),
            resources.into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let before = self.active_agents().await;
        self.agents.push(Process::start(
            &format!("agent{index}"),
            &args,
            self.dir.path(),
        ));
        let addr = format!("127.0.0.1:{port}");
        self.agent_addrs.push(addr.clone());
        self.wait_healthy(&addr).await;
        let master = self.master_addr.clone();
        crate::eventually(30, "the agent to register", || {
            let master = master.clone();
            async move {
                let n = count_active_agents(&master).await;
                (n > before).then_some(())
            }
        })
        .await;
        index
    }

    /// `corral dev` (master and agent in one process; its services API on a free port).
    pub async fn dev(resources: &str) -> Cluster {
        Cluster::dev_with(resources, &["--services-port", "0"]).await
    }

    /// `corral dev` with extra flags.
    pub async fn dev_with(resources: &str, extra: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let agent_port = free_port();
        let mut args: Vec<String> = vec![
            "dev".into(),
            "--port".into(),
            port.to_string(),
            "--agent-port".into(),
            agent_port.to_string(),
            "--work-dir".into(),
            dir.path().join("dev").display().to_string(),
            "--resources".into(),
            resources.into(),
        ];
        // Tests run side by side: the DNS server takes free ports unless a test picks them.
        if !extra
            .iter()
            .any(|a| a.starts_with("--dns-port") || *a == "--no-dns")
        {
            args.extend(["--dns-port", "0", "--dns-http-port", "0"].map(String::from));
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let master = Process::start("dev", &args, dir.path());
        let cluster = Cluster {
            master,
            master_addr: format!("127.0.0.1:{port}"),
            agents: Vec::new(),
            agent_addrs: vec![format!("127.0.0.1:{agent_port}")],
            dir,
        };
        cluster.wait_healthy(&cluster.master_addr.clone()).await;
        let master = cluster.master_addr.clone();
        crate::eventually(30, "the dev agent to register", || {
            let master = master.clone();
            async move { (count_active_agents(&master).await > 0).then_some(()) }
        })
        .await;
        cluster
    }

    /// Waits until `addr` answers `/health` (e.g. after restarting the master).
    pub async fn wait_healthy(&self, addr: &str) {
        let url = format!("http://{addr}/health");
        let logs = self.master.log.clone();
        crate::eventually(60, &format!("{url} to answer"), || {
            let url = url.clone();
            async move {
                let ok = crate::http_get(&url)
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                ok.then_some(())
            }
        })
        .await;
        let _ = logs;
    }

    pub async fn active_agents(&self) -> usize {
        count_active_agents(&self.master_addr).await
    }

    /// Runs `corral <args>` against this cluster's master and returns (exit code, stdout,
    /// stderr).
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        run_cli(&self.master_addr, args)
    }

    /// [`Cluster::cli`] off the async threads (for commands that talk to the cluster while
    /// the test's runtime serves it, such as `task logs --follow`).
    pub async fn cli_off_thread(&self, args: &[&str]) -> (i32, String, String) {
        let master = self.master_addr.clone();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_cli(&master, &args)
        })
        .await
        .expect("the CLI ran")
    }

    /// All process logs, for assertion messages.
    pub fn logs(&self) -> String {
        let mut out = format!("--- {} ---\n{}", self.master.name, self.master.log_text());
        for a in &self.agents {
            out.push_str(&format!("\n--- {} ---\n{}", a.name, a.log_text()));
        }
        out
    }
}

/// How many agents the master at `master` lists as active (0 if it does not answer).
pub async fn count_active_agents(master: &str) -> usize {
    let Ok(v) = crate::operator(master, "GET_AGENTS").await else {
        return 0;
    };
    v["get_agents"]["agents"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| x["active"] == Value::Bool(true))
                .count()
        })
        .unwrap_or(0)
}

/// Gives a child process time to flush logs before a test reads them.
pub fn settle() {
    std::thread::sleep(Duration::from_millis(200));
}

/// `corral ARGS` against `master`: exit code, stdout, stderr.
fn run_cli(master: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(corral_bin())
        .args(args)
        .env("CORRAL_MASTER", master)
        .stdin(Stdio::null())
        .output()
        .expect("run corral");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
