//! Executor authentication (`--authenticate-http-executors`): the agent gives each HTTP
//! executor a signed token at launch; the executor API refuses calls without one, with a
//! forged one, or with another executor's.

use std::time::Duration;

use super::fake_master::FakeMaster;
use super::http_executor::{EXECUTOR_COMMAND, Executor, executor_task, sandbox};
use super::support::*;
use corral_api::v1::{Id, TaskState};
use corral_http::auth::{AuthConfig, Identities, Required, TokenSigner};

/// SUBSCRIBE presenting `token` as `Authorization: Bearer`.
async fn subscribe(agent: &crate::AgentHandle, token: Option<&str>) -> (u16, Option<Executor>) {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = token {
        let value =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("a header");
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    let http = corral_client::client_tls::client_builder()
        .default_headers(headers)
        .build()
        .expect("a client");
    Executor::try_subscribe(agent, http).await
}

#[tokio::test]
async fn an_executor_api_call_needs_that_executors_own_token() {
    let master = FakeMaster::start(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let mut config = config(&master, work.path(), Duration::from_secs(1));
    config.auth = AuthConfig::new(
        Identities::default(),
        Required {
            executors: true,
            ..Default::default()
        },
    )
    .expect("executor authentication needs no credentials file");
    let agent = crate::run(config, super::fake_executor::factory())
        .await
        .expect("the agent starts");
    master
        .wait_until("the agent to subscribe", |m| !m.subscriptions().is_empty())
        .await;
    master.send(executor_task("t1", EXECUTOR_COMMAND));
    // `pid` is written after `env.txt` is complete.
    read_when_written(&sandbox(work.path()).join("pid")).await;
    let environment =
        std::fs::read_to_string(sandbox(work.path()).join("env.txt")).expect("env.txt");
    let token = environment
        .lines()
        .find_map(|line| line.strip_prefix("MESOS_EXECUTOR_AUTHENTICATION_TOKEN="))
        .expect("the executor's environment holds its token")
        .to_string();

    let (status, _) = subscribe(&agent, None).await;
    assert_eq!(status, 401, "anonymous");
    let (status, _) = subscribe(&agent, Some("bm90.aXQ")).await;
    assert_eq!(status, 401, "a token the agent never signed");
    // Another executor's genuine token (signed with the agent's own key, read from its work
    // dir as only the agent's user can) does not speak for this one.
    let key = std::fs::read(work.path().join("executor-secret-key")).expect("the agent's key");
    let signer = TokenSigner::new(key).expect("a key");
    let other = signer.issue(&crate::executor_tokens::subject(
        &Id::new(FRAMEWORK),
        &Id::new("another-executor"),
    ));
    let (status, _) = subscribe(&agent, Some(&other)).await;
    assert_eq!(status, 403, "another executor's token");

    let (status, executor) = subscribe(&agent, Some(&token)).await;
    assert_eq!(status, 200, "its own token");
    let mut executor = executor.expect("subscribed");
    assert_eq!(executor.next_event().await["type"], "SUBSCRIBED");
    executor.update("t1", "TASK_RUNNING", None).await;
    master
        .wait_until("t1 to run", |m| {
            m.states_of("t1").contains(&TaskState::TaskRunning)
        })
        .await;
    agent.shutdown().await;
}
