//! The authorizer plugin kind: the shipped `policy` authorizer decides by its policy
//! document, and a failing authorizer (trap, endless loop, error) refuses the request,
//! naming the plugin, while the engine and the next requests carry on.

use std::time::{Duration, Instant};

use corral_authz::{Action, Authorizer, Denied, Request};
use corral_plugin_host::{PluginEngine, PluginError, PluginLimits};
use corral_test_fixtures::fixture;

const POLICY: &str = r#"{"rules": [
    {"effect": "deny", "subjects": ["intern"], "actions": ["run_tasks"], "objects": ["root"],
     "reason": "interns do not run tasks as root"},
    {"effect": "allow", "subjects": ["@authenticated"]}
]}"#;

fn request<'a>(subject: Option<&'a str>, action: Action, object: Option<&'a str>) -> Request<'a> {
    Request {
        subject,
        action,
        object,
    }
}

fn bad(engine: &PluginEngine, how: &str) -> Result<impl Authorizer, PluginError> {
    let bytes = fixture("bad-authorizer").expect("fixture is embedded");
    engine.authorizer_from_bytes("bad-authorizer", bytes, how, PluginLimits::AUTHORIZER)
}

fn refusal(authorizer: &impl Authorizer) -> Denied {
    authorizer
        .authorize(&request(Some("alice"), Action::RunTasks, Some("root")))
        .expect_err("refused")
}

#[test]
fn the_policy_authorizer_allows_and_denies_as_its_document_says() {
    let engine = PluginEngine::new().expect("engine");
    let policy = engine
        .authorizer("policy", POLICY, PluginLimits::AUTHORIZER)
        .expect("the built-in policy authorizer loads");
    let allowed = request(Some("alice"), Action::RunTasks, Some("root"));
    assert!(policy.authorize(&allowed).is_ok());
    let denied = policy
        .authorize(&request(Some("intern"), Action::RunTasks, Some("root")))
        .expect_err("denied by the first rule");
    assert!(!denied.failure);
    assert_eq!(
        denied.to_string(),
        "Principal 'intern' is not authorized to run_tasks on users 'root': \
         interns do not run tasks as root"
    );
    let anonymous = policy
        .authorize(&request(None, Action::InstallPlugins, None))
        .expect_err("no rule allows an anonymous caller");
    assert_eq!(
        anonymous.reason.as_deref(),
        Some("no rule of the policy allows it")
    );
}

#[test]
fn a_policy_the_plugin_rejects_is_refused_at_load_naming_the_position() {
    let engine = PluginEngine::new().expect("engine");
    let error = engine
        .authorizer(
            "policy",
            r#"{"rules": [{"effect": "maybe"}]}"#,
            PluginLimits::AUTHORIZER,
        )
        .expect_err("refused");
    let text = error.to_string();
    assert!(matches!(error, PluginError::Failed { .. }), "{text}");
    assert!(text.contains("unknown variant `maybe`"), "{text}");
    assert!(text.contains("line 1 column"), "{text}");
    let init = bad(&engine, "init").expect_err("init fails");
    assert!(init.to_string().contains("init always fails"), "{init}");
}

#[test]
fn a_trapping_or_failing_authorizer_denies_and_is_asked_again() {
    let engine = PluginEngine::new().expect("engine");
    let trapping = bad(&engine, "trap").expect("loads");
    for _ in 0..2 {
        let denied = refusal(&trapping);
        assert!(denied.failure, "a failure, not a decision");
        let reason = denied.reason.unwrap_or_default();
        assert!(reason.contains("bad-authorizer"), "{reason}");
        assert!(reason.contains("run_tasks always panics"), "{reason}");
    }
    let failing = bad(&engine, "fail").expect("loads");
    let reason = refusal(&failing).reason.unwrap_or_default();
    assert!(reason.contains("run_tasks always fails"), "{reason}");
    // The engine goes on serving other plugins.
    let policy = engine
        .authorizer("policy", POLICY, PluginLimits::AUTHORIZER)
        .expect("loads after the failures");
    assert!(refusal_free(&policy));
}

fn refusal_free(policy: &impl Authorizer) -> bool {
    policy
        .authorize(&request(Some("alice"), Action::RunTasks, Some("root")))
        .is_ok()
}

#[test]
fn a_looping_authorizer_is_stopped_at_its_deadline_and_denies() {
    let engine = PluginEngine::new().expect("engine");
    let looping = bad(&engine, "loop").expect("loads");
    let started = Instant::now();
    let denied = refusal(&looping);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the deadline stopped it"
    );
    let reason = denied.reason.unwrap_or_default();
    assert!(reason.contains("deadline"), "{reason}");
}

/// On a tokio worker the wasm call runs with `block_in_place`, which needs the multi-thread
/// runtime; the master's handlers ask from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_answers_on_the_async_workers_of_a_multi_thread_runtime() {
    let engine = PluginEngine::new().expect("engine");
    let policy = engine
        .authorizer("policy", POLICY, PluginLimits::AUTHORIZER)
        .expect("loads");
    assert!(refusal_free(&policy));
    let on_current_thread = tokio::task::spawn_blocking(move || refusal_free(&policy));
    assert!(on_current_thread.await.expect("joins"));
}
