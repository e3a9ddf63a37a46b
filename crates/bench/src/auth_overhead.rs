//! What authentication and authorization cost (issue 17's target: under 5% of a task launch
//! and of a busy read endpoint). Two in-process clusters as [`crate::task_launch`]'s run side
//! by side, one open and one secured, and each launch and each read goes to both in turn, so
//! the machine's drift hits both alike. Secured means every realm requires credentials
//! (frameworks, agents, reads, writes), the framework, the agent and the reader present HTTP
//! Basic, and ACLs on `register_frameworks` and `run_tasks` make every launch take the
//! authorization round outside the core's lock; with `with_plugin`, the `policy` authorizer
//! plugin is asked after the ACLs, behind the master's decision cache. Beside the end-to-end
//! figures, the checks alone, per call, and the view filtering of one `/master/state`
//! answer alone (what a secured read does beyond an open one when views can be refused).

use std::sync::Arc;
use std::time::{Duration, Instant};

use corral_authz::{Acls, Action, AllOf, Authorizer, Request};
use corral_http::auth::{AuthConfig, Credential, Identities, Required, TokenTable};

use corral_client::MasterAddress;

use super::auth_plugin::{CACHE_TTL, PluginDecision, cached_policy, decision_times};
use super::task_launch::{LaunchBenchError, LaunchSecurity, LaunchSetup, schedule, with_cluster};

const ACLS: &str = r#"{
  "register_frameworks": [
    {"principals": {"values": ["framework"]}, "roles": {"type": "ANY"}},
    {"principals": {"type": "NONE"}, "roles": {"type": "ANY"}}],
  "run_tasks": [
    {"principals": {"values": ["framework"]}, "users": {"type": "ANY"}},
    {"principals": {"type": "NONE"}, "users": {"type": "ANY"}}]
}"#;

/// Medians of one run.
#[derive(Debug, Clone)]
pub struct AuthOverhead {
    pub launch_open: Duration,
    pub launch_secured: Duration,
    pub read_open: Duration,
    pub read_secured: Duration,
    /// Checking one HTTP Basic header against the credentials.
    pub identify: Duration,
    /// One `run_tasks` decision of the local ACLs.
    pub authorize: Duration,
    /// One `run_tasks` decision of the `policy` authorizer plugin.
    pub plugin: PluginDecision,
    /// Filtering one secured `/master/state` answer for the reader, mean per answer.
    pub view_filter: Duration,
}

pub struct AuthBenchPlan {
    pub rounds: usize,
    pub launches_per_round: usize,
    pub reads_per_round: usize,
    pub checks: usize,
    /// The secured cluster also asks the `policy` authorizer plugin (cached).
    pub with_plugin: bool,
}

fn credential(principal: &str) -> Credential {
    Credential {
        principal: principal.into(),
        secret: format!("{principal}-secret-for-the-benchmark"),
    }
}

fn secured(with_plugin: bool) -> Result<LaunchSecurity, LaunchBenchError> {
    let identities = Identities::new(
        ["framework", "agent", "reader"].map(credential).to_vec(),
        TokenTable::default(),
    );
    let required = Required {
        readonly: true,
        readwrite: true,
        frameworks: true,
        agents: true,
        executors: false,
    };
    let setup_error = |reason: String| LaunchBenchError::Start {
        what: "secured master",
        reason,
    };
    let auth = AuthConfig::new(identities, required).map_err(|e| setup_error(e.to_string()))?;
    let acls: Arc<dyn Authorizer> =
        Arc::new(Acls::parse(ACLS).map_err(|e| setup_error(e.to_string()))?);
    let authorizer: Arc<dyn Authorizer> = if with_plugin {
        Arc::new(AllOf(vec![acls, cached_policy(CACHE_TTL)?]))
    } else {
        acls
    };
    Ok(LaunchSecurity {
        auth,
        authorizer: Some(authorizer),
        agent_credential: Some(credential("agent")),
        framework_credential: Some(credential("framework")),
    })
}

pub async fn measure(
    setup: &LaunchSetup,
    plan: &AuthBenchPlan,
) -> Result<AuthOverhead, LaunchBenchError> {
    let secured = secured(plan.with_plugin)?;
    let open = LaunchSecurity::default();
    let authorizer = secured.authorizer.clone();
    let mut times = Interleaved::default();
    let patience = Duration::from_secs(1800);
    for round in 0..plan.rounds {
        let here = |name: &str| LaunchSetup {
            work_dir: setup.work_dir.join(format!("{name}-{round}")),
            ..setup.clone()
        };
        let (open_setup, secured_setup) = (here("open"), here("secured"));
        let secured = &secured;
        let round_times = with_cluster(&open_setup, &open, patience, |open_master| async move {
            with_cluster(&secured_setup, secured, patience, |secured_master| async move {
                interleave(&open_master, &secured_master, plan).await
            })
            .await
        })
        .await?;
        times.extend(round_times);
    }
    Ok(AuthOverhead {
        launch_open: median(times.launch_open),
        launch_secured: median(times.launch_secured),
        read_open: median(times.read_open),
        read_secured: median(times.read_secured),
        identify: identify_time(plan.checks),
        authorize: authorize_time(plan.checks)?,
        plugin: decision_times(plan.checks)?,
        view_filter: view_filter_time(times.state_sample, authorizer, plan.checks),
    })
}

/// Filtering `sample` (a secured `/master/state` answer) for the reader, mean per answer.
/// Each round filters a fresh copy made just before (untimed), as the master filters an
/// answer it has just built: still in the cache.
fn view_filter_time(
    sample: Option<serde_json::Value>,
    authorizer: Option<Arc<dyn Authorizer>>,
    checks: usize,
) -> Duration {
    let (Some(sample), Some(authorizer)) = (sample, authorizer) else {
        return Duration::ZERO;
    };
    let rounds = checks.clamp(1, 1000);
    let mut filtering = Duration::ZERO;
    for _ in 0..rounds {
        let mut answer = sample.clone();
        let started = Instant::now();
        corral_master::filter_v0_state(Some("reader"), authorizer.clone(), &mut answer);
        filtering += started.elapsed();
        std::hint::black_box(&answer);
    }
    filtering / rounds as u32
}

#[derive(Default)]
struct Interleaved {
    launch_open: Vec<Duration>,
    launch_secured: Vec<Duration>,
    read_open: Vec<Duration>,
    read_secured: Vec<Duration>,
    /// The last secured `/master/state` answer.
    state_sample: Option<serde_json::Value>,
}

impl Interleaved {
    fn extend(&mut self, other: Interleaved) {
        self.launch_open.extend(other.launch_open);
        self.launch_secured.extend(other.launch_secured);
        self.read_open.extend(other.read_open);
        self.read_secured.extend(other.read_secured);
        self.state_sample = other.state_sample.or(self.state_sample.take());
    }
}

/// Both clusters run side by side; each launch and each read goes to one then the other,
/// which goes first alternating, so the machine's drift and noise hit both alike.
async fn interleave(
    open: &MasterAddress,
    secured: &MasterAddress,
    plan: &AuthBenchPlan,
) -> Result<Interleaved, LaunchBenchError> {
    let mut times = Interleaved::default();
    for i in 0..plan.launches_per_round {
        let first_open = i % 2 == 0;
        for is_open in [first_open, !first_open] {
            let master = if is_open { open } else { secured };
            let took = schedule(master, 1).await?;
            let into = if is_open {
                &mut times.launch_open
            } else {
                &mut times.launch_secured
            };
            into.extend(took);
        }
    }
    let reader = credential("reader");
    let open_reads = ReadClient::new(open, None)?;
    let secured_reads = ReadClient::new(secured, Some(&reader))?;
    for i in 0..plan.reads_per_round {
        let first_open = i % 2 == 0;
        for is_open in [first_open, !first_open] {
            if is_open {
                times.read_open.push(open_reads.read().await?.0);
            } else {
                times.read_secured.push(secured_reads.read().await?.0);
            }
        }
    }
    let (_, sample) = secured_reads.read().await?;
    times.state_sample =
        Some(serde_json::from_slice(&sample).map_err(|e| read_error(e.to_string()))?);
    Ok(times)
}

/// GET /master/state, presenting a credential or not.
struct ReadClient {
    http: reqwest::Client,
    url: String,
}

impl ReadClient {
    fn new(
        master: &MasterAddress,
        credential: Option<&Credential>,
    ) -> Result<Self, LaunchBenchError> {
        let http = corral_client::master_address::with_credential(
            corral_client::client_tls::client_builder(),
            credential,
        )
        .build()
        .map_err(|e| read_error(e.to_string()))?;
        Ok(ReadClient {
            http,
            url: master.url("/master/state"),
        })
    }

    /// How long the read took, and the answer.
    async fn read(&self) -> Result<(Duration, bytes::Bytes), LaunchBenchError> {
        let started = Instant::now();
        let answer = self
            .http
            .get(&self.url)
            .send()
            .await
            .map_err(|e| read_error(e.to_string()))?;
        if !answer.status().is_success() {
            return Err(read_error(format!(
                "{} answered {}",
                self.url,
                answer.status()
            )));
        }
        let body = answer
            .bytes()
            .await
            .map_err(|e| read_error(e.to_string()))?;
        Ok((started.elapsed(), body))
    }
}

fn read_error(detail: String) -> LaunchBenchError {
    LaunchBenchError::Task {
        task: "GET /master/state".into(),
        detail,
    }
}

fn identify_time(checks: usize) -> Duration {
    let identities = Identities::new(vec![credential("reader")], TokenTable::default());
    let mut headers = reqwest::header::HeaderMap::new();
    if let Ok(value) = credential("reader").basic_header().parse() {
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    let started = Instant::now();
    for _ in 0..checks {
        std::hint::black_box(identities.identify(std::hint::black_box(&headers))).ok();
    }
    started.elapsed() / checks.max(1) as u32
}

fn authorize_time(checks: usize) -> Result<Duration, LaunchBenchError> {
    let acls = Acls::parse(ACLS).map_err(|e| LaunchBenchError::Start {
        what: "ACLs",
        reason: e.to_string(),
    })?;
    let request = Request {
        subject: Some("framework"),
        action: Action::RunTasks,
        object: Some("root"),
    };
    let started = Instant::now();
    for _ in 0..checks {
        std::hint::black_box(acls.authorize(std::hint::black_box(&request))).ok();
    }
    Ok(started.elapsed() / checks.max(1) as u32)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}
