//! What authentication and authorization cost (issue 17's target: under 5% of a task launch
//! and of a busy read endpoint). The same in-process cluster as [`crate::task_launch`] runs
//! open and secured, in rounds that alternate which goes first: secured
//! means every realm requires credentials (frameworks, agents, reads, writes), the framework,
//! the agent and the reader present HTTP Basic, and ACLs on `register_frameworks` and
//! `run_tasks` make every launch take the authorization round outside the core's lock.
//! Beside the end-to-end figures, the two checks alone, per call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use corral_authz::{Acls, Action, Authorizer, Request};
use corral_http::auth::{AuthConfig, Credential, Identities, Required, TokenTable};

use super::task_launch::{
    LaunchBenchError, LaunchSecurity, LaunchSetup, launch_times, with_cluster,
};

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
}

pub struct AuthBenchPlan {
    pub rounds: usize,
    pub launches_per_round: usize,
    pub reads_per_round: usize,
    pub checks: usize,
}

fn credential(principal: &str) -> Credential {
    Credential {
        principal: principal.into(),
        secret: format!("{principal}-secret-for-the-benchmark"),
    }
}

fn secured() -> Result<LaunchSecurity, LaunchBenchError> {
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
    let acls = Acls::parse(ACLS).map_err(|e| setup_error(e.to_string()))?;
    Ok(LaunchSecurity {
        auth,
        authorizer: Some(Arc::new(acls)),
        agent_credential: Some(credential("agent")),
        framework_credential: Some(credential("framework")),
    })
}

pub async fn measure(
    setup: &LaunchSetup,
    plan: &AuthBenchPlan,
) -> Result<AuthOverhead, LaunchBenchError> {
    let secured = secured()?;
    let open = LaunchSecurity::default();
    let (mut launches_open, mut launches_secured) = (Vec::new(), Vec::new());
    let (mut reads_open, mut reads_secured) = (Vec::new(), Vec::new());
    for round in 0..plan.rounds {
        let mut modes = [
            ("open", &open, &mut launches_open, &mut reads_open),
            (
                "secured",
                &secured,
                &mut launches_secured,
                &mut reads_secured,
            ),
        ];
        // Each mode goes first in every other round, so that what runs first (warm-up, the
        // machine's drift) costs both the same.
        if round % 2 == 1 {
            modes.reverse();
        }
        for (name, security, launches, reads) in modes {
            let here = LaunchSetup {
                work_dir: setup.work_dir.join(format!("{name}-{round}")),
                ..setup.clone()
            };
            launches.extend(launch_times(&here, security, plan.launches_per_round).await?);
            let reader = security
                .framework_credential
                .as_ref()
                .map(|_| credential("reader"));
            let count = plan.reads_per_round;
            let patience = Duration::from_secs(600);
            let here = LaunchSetup {
                work_dir: setup.work_dir.join(format!("{name}-{round}-reads")),
                ..setup.clone()
            };
            reads.extend(
                with_cluster(&here, security, patience, |master| async move {
                    read_times(&master.url("/master/state"), reader.as_ref(), count).await
                })
                .await?,
            );
        }
    }
    Ok(AuthOverhead {
        launch_open: median(launches_open),
        launch_secured: median(launches_secured),
        read_open: median(reads_open),
        read_secured: median(reads_secured),
        identify: identify_time(plan.checks),
        authorize: authorize_time(plan.checks)?,
    })
}

/// `count` GETs of `url`, one after another, each timed.
async fn read_times(
    url: &str,
    credential: Option<&Credential>,
    count: usize,
) -> Result<Vec<Duration>, LaunchBenchError> {
    let http = corral_client::master_address::with_credential(
        corral_client::client_tls::client_builder(),
        credential,
    )
    .build()
    .map_err(|e| read_error(e.to_string()))?;
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let answer = http
            .get(url)
            .send()
            .await
            .map_err(|e| read_error(e.to_string()))?;
        if !answer.status().is_success() {
            return Err(read_error(format!("{url} answered {}", answer.status())));
        }
        answer
            .bytes()
            .await
            .map_err(|e| read_error(e.to_string()))?;
        times.push(started.elapsed());
    }
    Ok(times)
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
