use super::*;
use corral_api::operator::{AgentEntry, FrameworkEntry, GetState};
use corral_api::v1::{AgentInfo, FrameworkId, Id, TaskState};

fn agent(id: &str, host: &str) -> AgentEntry {
    AgentEntry {
        agent_info: AgentInfo {
            hostname: host.into(),
            port: Some(5051),
            id: Some(Id::new(id)),
            ..Default::default()
        },
        active: true,
        ..Default::default()
    }
}

fn framework(id: &str, name: &str) -> FrameworkEntry {
    FrameworkEntry {
        framework_info: FrameworkInfo {
            name: name.into(),
            id: Some(Id::new(id)),
            ..Default::default()
        },
        active: true,
        connected: true,
        ..Default::default()
    }
}

fn task(framework: &str, id: &str, state: TaskState) -> Task {
    Task {
        name: id.into(),
        task_id: Id::new(id),
        framework_id: Id::new(framework),
        agent_id: Id::new("a1"),
        state,
        ..Default::default()
    }
}

fn status(id: &str, state: TaskState) -> TaskStatus {
    TaskStatus {
        task_id: Id::new(id),
        state,
        ..Default::default()
    }
}

#[test]
fn subscribed_replaces_everything_and_skips_terminal_tasks() {
    let mut view = ClusterView::default();
    view.apply(&OperatorEvent::agent_added(agent("old", "h0")));
    let mut state = GetState::default();
    state.get_agents.agents.push(agent("a1", "h1"));
    state.get_frameworks.frameworks.push(framework("f1", "fw"));
    state
        .get_tasks
        .tasks
        .push(task("f1", "t1", TaskState::TaskRunning));
    state
        .get_tasks
        .tasks
        .push(task("f1", "t2", TaskState::TaskFinished));
    assert!(view.apply(&OperatorEvent::subscribed(state, 15.0)));
    assert_eq!(view.agents.keys().collect::<Vec<_>>(), vec!["a1"]);
    assert_eq!(view.tasks.len(), 1);
    assert_eq!(view.unresolved_hosts(), vec!["h1".to_string()]);
}

#[test]
fn a_task_lives_from_added_to_its_terminal_update() {
    let mut view = ClusterView::default();
    let fw = FrameworkId::new("f1");
    assert!(view.apply(&OperatorEvent::task_added(task(
        "f1",
        "t1",
        TaskState::TaskStaging
    ))));
    assert!(view.apply(&OperatorEvent::task_updated(
        fw.clone(),
        status("t1", TaskState::TaskRunning),
        TaskState::TaskRunning
    )));
    assert_eq!(
        view.tasks[&("f1".into(), "t1".into())].state,
        TaskState::TaskRunning
    );
    assert!(!view.apply(&OperatorEvent::task_updated(
        fw.clone(),
        status("t9", TaskState::TaskRunning),
        TaskState::TaskRunning
    )));
    assert!(view.apply(&OperatorEvent::task_updated(
        fw,
        status("t1", TaskState::TaskFinished),
        TaskState::TaskFinished
    )));
    assert!(view.tasks.is_empty());
}

#[test]
fn removals_forget_agents_and_frameworks_with_their_tasks() {
    let mut view = ClusterView::default();
    view.apply(&OperatorEvent::agent_added(agent("a1", "h1")));
    view.apply(&OperatorEvent::framework_added(framework("f1", "fw")));
    view.apply(&OperatorEvent::task_added(task(
        "f1",
        "t1",
        TaskState::TaskRunning,
    )));
    assert!(!view.apply(&OperatorEvent::framework_updated(framework("f1", "fw"))));
    assert!(view.apply(&OperatorEvent::agent_removed(Id::new("a1"))));
    assert!(view.agents.is_empty());
    let info = framework("f1", "fw").framework_info;
    assert!(view.apply(&OperatorEvent::framework_removed(info)));
    assert!(view.tasks.is_empty() && view.frameworks.is_empty());
    assert!(!view.apply(&OperatorEvent::heartbeat()));
}

#[test]
fn host_ips_are_literal_addresses_or_resolved_names() {
    let mut view = ClusterView::default();
    assert_eq!(view.host_ip("10.1.2.3"), Some("10.1.2.3".parse().unwrap()));
    assert_eq!(view.host_ip("node"), None);
    view.hosts
        .insert("node".into(), Some("10.9.9.9".parse().unwrap()));
    assert_eq!(view.host_ip("node"), Some("10.9.9.9".parse().unwrap()));
}
