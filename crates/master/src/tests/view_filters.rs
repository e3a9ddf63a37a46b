//! What a caller may view (`view_filter.rs`, `v0_view_filter.rs`): answers filtered by the
//! `view_*` ACLs as Mesos filters them, each distinct object asked about once per request,
//! nothing asked when no ACL can refuse.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use corral_api::operator::{FrameworkEntry, GetFrameworks, GetState, GetTasks};
use corral_api::operator_events::OperatorEvent;
use corral_api::operator_roles::{GetQuota, GetRoles, QuotaConfig, QuotaStatus, RoleEntry};
use corral_api::v1::{FrameworkInfo, Id, Task};
use corral_authz::{Acls, Action, Authorizer, Denied, Request};

use crate::effects::{OperatorUpdate, TaskOwner};
use crate::v0_view_filter;
use crate::view_filter::{FrameworkUsers, ViewMemo, framework_users};

/// Alice and bob each see their own user's frameworks, tasks and executors, alice the role
/// `analytics`, ops the flags; nobody else (anonymous callers included) sees any of it.
const ACLS: &str = r#"{
  "view_frameworks": [
    {"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}},
    {"principals": {"values": ["bob"]}, "users": {"values": ["bob"]}},
    {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
  "view_tasks": [
    {"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}},
    {"principals": {"values": ["bob"]}, "users": {"values": ["bob"]}},
    {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
  "view_roles": [
    {"principals": {"values": ["alice"]}, "roles": {"values": ["analytics"]}},
    {"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}],
  "get_quotas": [
    {"principals": {"values": ["alice"]}, "roles": {"values": ["analytics"]}},
    {"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}],
  "view_flags": [
    {"principals": {"values": ["ops"]}, "flags": {"type": "ANY"}},
    {"principals": {"type": "ANY"}, "flags": {"type": "NONE"}}]
}"#;

/// The ACLs, counting the questions asked of them per action.
#[derive(Debug)]
struct Counting {
    acls: Acls,
    frameworks: AtomicUsize,
    tasks: AtomicUsize,
    other: AtomicUsize,
}

impl Counting {
    fn new(text: &str) -> Counting {
        Counting {
            acls: Acls::parse(text).expect("valid ACLs"),
            frameworks: AtomicUsize::new(0),
            tasks: AtomicUsize::new(0),
            other: AtomicUsize::new(0),
        }
    }

    fn asked(&self) -> (usize, usize, usize) {
        (
            self.frameworks.load(Ordering::SeqCst),
            self.tasks.load(Ordering::SeqCst),
            self.other.load(Ordering::SeqCst),
        )
    }
}

impl Authorizer for Counting {
    fn authorize(&self, request: &Request<'_>) -> Result<(), Denied> {
        let counter = match request.action {
            Action::ViewFrameworks => &self.frameworks,
            Action::ViewTasks => &self.tasks,
            _ => &self.other,
        };
        counter.fetch_add(1, Ordering::SeqCst);
        self.acls.authorize(request)
    }

    fn restricts(&self, action: Action) -> bool {
        self.acls.restricts(action)
    }
}

fn framework(id: &str, user: &str) -> FrameworkEntry {
    FrameworkEntry {
        framework_info: FrameworkInfo {
            id: Some(Id::new(id)),
            user: user.into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn task(id: &str, framework: &str, user: Option<&str>) -> Task {
    Task {
        task_id: Id::new(id),
        framework_id: Id::new(framework),
        user: user.map(str::to_string),
        ..Default::default()
    }
}

/// Framework `fa` of user alice and `fb` of bob, 1000 tasks: alice's framework runs tasks as
/// alice and as carol, bob's as bob (his framework's user).
fn state() -> GetState {
    let mut state = GetState {
        get_frameworks: GetFrameworks {
            frameworks: vec![framework("fa", "alice")],
            completed_frameworks: vec![framework("fb", "bob")],
        },
        ..Default::default()
    };
    for i in 0..1000 {
        let t = match i % 3 {
            0 => task(&format!("a{i}"), "fa", None),
            1 => task(&format!("c{i}"), "fa", Some("carol")),
            _ => task(&format!("b{i}"), "fb", None),
        };
        if i % 2 == 0 {
            state.get_tasks.tasks.push(t);
        } else {
            state.get_tasks.completed_tasks.push(t);
        }
    }
    // A task whose framework the master no longer remembers.
    state
        .get_tasks
        .completed_tasks
        .push(task("lost", "gone", Some("alice")));
    state
}

fn task_ids(tasks: &GetTasks) -> Vec<String> {
    tasks
        .tasks
        .iter()
        .chain(&tasks.completed_tasks)
        .map(|t| t.task_id.value.clone())
        .collect()
}

#[test]
fn each_distinct_user_is_asked_about_once_per_request() {
    let acls = Arc::new(Counting::new(ACLS));
    let mut state = state();
    ViewMemo::new(Some("alice"))
        .with(acls.clone())
        .state(&mut state);
    // Two framework users; three task users (alice, carol, bob's framework's user bob,
    // which `view_frameworks` already hides, is never asked about).
    assert_eq!(acls.asked(), (2, 2, 0), "frameworks, tasks, other");
    let ids = task_ids(&state.get_tasks);
    assert_eq!(ids.len(), 334, "alice's own tasks only");
    assert!(ids.iter().all(|id| id.starts_with('a')), "{ids:?}");
    let frameworks = &state.get_frameworks;
    assert_eq!(frameworks.frameworks.len(), 1);
    assert!(frameworks.completed_frameworks.is_empty());
}

#[test]
fn an_action_no_acl_can_refuse_costs_no_question() {
    let acls = Arc::new(Counting::new(r#"{"run_tasks": []}"#));
    let mut state = state();
    ViewMemo::new(None).with(acls.clone()).state(&mut state);
    assert_eq!(acls.asked(), (0, 0, 0));
    assert_eq!(
        task_ids(&state.get_tasks).len(),
        1001,
        "everything, as before"
    );
}

#[test]
fn an_anonymous_caller_sees_nothing() {
    let acls = Arc::new(Counting::new(ACLS));
    let mut memo = ViewMemo::new(None);
    let mut views = memo.with(acls.clone());
    let mut state = state();
    views.state(&mut state);
    assert!(task_ids(&state.get_tasks).is_empty());
    assert!(state.get_frameworks.frameworks.is_empty());
    let mut roles = GetRoles {
        roles: vec![RoleEntry {
            name: "analytics".into(),
            ..Default::default()
        }],
    };
    views.roles(&mut roles);
    assert!(roles.roles.is_empty());
    assert!(!views.may_view_flags());
}

#[test]
fn tasks_are_filtered_with_their_frameworks_users() {
    let acls = Arc::new(Counting::new(ACLS));
    let mut state = state();
    let users: FrameworkUsers = framework_users(&state.get_frameworks);
    ViewMemo::new(Some("bob"))
        .with(acls.clone())
        .tasks(&mut state.get_tasks, &users);
    let ids = task_ids(&state.get_tasks);
    assert_eq!(ids.len(), 333);
    assert!(ids.iter().all(|id| id.starts_with('b')), "{ids:?}");
}

#[test]
fn roles_and_quotas_are_filtered_by_role() {
    let acls = Arc::new(Counting::new(ACLS));
    let mut memo = ViewMemo::new(Some("alice"));
    let mut views = memo.with(acls.clone());
    let role = |name: &str| RoleEntry {
        name: name.into(),
        ..Default::default()
    };
    let mut roles = GetRoles {
        roles: vec![role("analytics"), role("web")],
    };
    views.roles(&mut roles);
    let names: Vec<&str> = roles.roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["analytics"]);
    let config = |role: &str| QuotaConfig {
        role: role.into(),
        ..Default::default()
    };
    let mut quota = GetQuota {
        status: QuotaStatus {
            infos: Vec::new(),
            configs: vec![config("analytics"), config("web")],
        },
    };
    views.quota(&mut quota);
    assert_eq!(quota.status.configs, vec![config("analytics")]);
}

#[test]
fn subscribers_get_only_the_events_they_may_view() {
    let acls = Arc::new(Counting::new(ACLS));
    let mut alice = ViewMemo::new(Some("alice"));
    let owned = |framework_user: &str, task_user: &str| OperatorUpdate {
        event: OperatorEvent::task_added(task("t", "f", None)),
        owner: Some(TaskOwner {
            framework_user: framework_user.into(),
            task_user: task_user.into(),
        }),
    };
    let mut views = alice.with(acls.clone());
    assert!(views.event(&owned("alice", "alice")).is_some());
    assert!(views.event(&owned("alice", "carol")).is_none());
    assert!(views.event(&owned("bob", "bob")).is_none());
    let unknown = OperatorUpdate::unowned(OperatorEvent::task_added(task("t", "f", None)));
    assert!(
        views.event(&unknown).is_none(),
        "an owner unknown is not shown"
    );
    let added =
        |user: &str| OperatorUpdate::unowned(OperatorEvent::framework_added(framework("f", user)));
    assert!(views.event(&added("alice")).is_some());
    assert!(views.event(&added("bob")).is_none());
    let removed = OperatorUpdate::unowned(OperatorEvent::framework_removed(
        framework("f", "bob").framework_info,
    ));
    assert!(views.event(&removed).is_none());
    let subscribed = OperatorUpdate::unowned(OperatorEvent::subscribed(state(), 15.0));
    let seen = views.event(&subscribed).expect("SUBSCRIBED is always sent");
    let seen = &seen.subscribed.as_ref().expect("its state").get_state;
    assert_eq!(task_ids(&seen.get_tasks).len(), 334);
    // The same decisions serve the whole subscription.
    let asked = acls.asked();
    assert!(views.event(&owned("alice", "alice")).is_some());
    assert_eq!(acls.asked(), asked);
}

#[test]
fn v0_state_keeps_what_the_caller_may_view() {
    // The shape of apache/mesos readonly_handler.cpp's `/state` (FullFrameworkWriter).
    let state = json!({
        "flags": {"port": "5050"},
        "frameworks": [
            {"id": "fa", "user": "alice", "tasks": [
                {"id": "a1"}, {"id": "c1", "user": "carol"}],
             "unreachable_tasks": [], "completed_tasks": [{"id": "a2", "user": "alice"}],
             "executors": []},
            {"id": "fb", "user": "bob", "tasks": [{"id": "b1"}], "unreachable_tasks": [],
             "completed_tasks": [], "executors": []}],
        "completed_frameworks": [{"id": "fc", "user": "bob", "tasks": [],
            "unreachable_tasks": [], "completed_tasks": [{"id": "b2"}], "executors": []}],
    });
    let acls = Arc::new(Counting::new(ACLS));
    let mut alice = state.clone();
    v0_view_filter::state(
        &mut ViewMemo::new(Some("alice")).with(acls.clone()),
        &mut alice,
    );
    assert!(alice.get("flags").is_none(), "view_flags is ops' only");
    assert_eq!(alice["frameworks"].as_array().map(Vec::len), Some(1));
    assert_eq!(alice["frameworks"][0]["tasks"], json!([{"id": "a1"}]));
    assert_eq!(alice["frameworks"][0]["completed_tasks"][0]["id"], "a2");
    assert_eq!(alice["completed_frameworks"], json!([]));
    let mut ops = state.clone();
    v0_view_filter::state(&mut ViewMemo::new(Some("ops")).with(acls.clone()), &mut ops);
    assert_eq!(ops["flags"]["port"], "5050");
    assert_eq!(ops["frameworks"], json!([]));

    let mut summary = json!({"frameworks": [{"id": "fa"}, {"id": "fb"}, {"id": "zz"}]});
    let users: FrameworkUsers = [("fa", "alice"), ("fb", "bob")]
        .into_iter()
        .map(|(id, user)| (id.to_string(), user.to_string()))
        .collect();
    v0_view_filter::summary(
        &mut ViewMemo::new(Some("bob")).with(acls.clone()),
        &mut summary,
        &users,
    );
    assert_eq!(summary["frameworks"], json!([{"id": "fb"}]));
}

#[test]
fn a_task_page_hides_users_decided_nothing_about() {
    let acls = Arc::new(Counting::new(ACLS));
    let framework_users = ["alice".to_string(), "bob".to_string()];
    let task_users = ["carol".to_string()];
    let visible = ViewMemo::new(Some("alice"))
        .with(acls.clone())
        .task_visibility(&framework_users, &task_users);
    assert!(visible.task(None, "alice"));
    assert!(!visible.task(Some("carol"), "alice"));
    assert!(!visible.task(None, "bob"));
    assert!(!visible.task(None, "dave"), "appeared after the decisions");
}

#[test]
fn v0_agents_show_the_reservations_of_viewable_roles_only() {
    // The shape of `SlavesWriter::writeSlave` (apache/mesos readonly_handler.cpp).
    let reserved = |role: &str| {
        json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0},
               "reservations": [{"type": "STATIC", "role": role}]})
    };
    let mut slaves = json!({"slaves": [{
        "reserved_resources": {"analytics": {"cpus": 1.0}, "web": {"cpus": 1.0}},
        "reserved_resources_full": {"analytics": [reserved("analytics")], "web": [reserved("web")]},
        "used_resources_full": [reserved("analytics"), reserved("web"),
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 8.0},
             "allocation_info": {"role": "web"}}],
        "unreserved_resources_full": [{"name": "mem", "type": "SCALAR", "scalar": {"value": 8.0}}],
    }]});
    let acls = Arc::new(Counting::new(ACLS));
    v0_view_filter::agents(
        &mut ViewMemo::new(Some("alice")).with(acls.clone()),
        &mut slaves,
    );
    let agent = &slaves["slaves"][0];
    assert_eq!(
        agent["reserved_resources"],
        json!({"analytics": {"cpus": 1.0}})
    );
    assert_eq!(
        agent["reserved_resources_full"],
        json!({"analytics": [reserved("analytics")]})
    );
    assert_eq!(agent["used_resources_full"], json!([reserved("analytics")]));
    assert_eq!(
        agent["unreserved_resources_full"].as_array().map(Vec::len),
        Some(1)
    );
}
