//! Finding the task a user means: its exact id, else a unique prefix of its id, else its
//! name (`corral execute` names tasks NAME-1, NAME-2, ... and gives them ids with a random
//! suffix, so `corral task logs corral-execute-1` finds task `corral-execute-1-3f2a9c1b`).
//! When nothing matches, the error lists the closest ids ("did you mean").

use anyhow::bail;

use corral_api::operator::GetTasks;
use corral_api::v1::Task;

/// How many candidates an error lists.
const SHOWN: usize = 5;

/// The one task `query` names (of `framework`, when given), live tasks before ended ones.
pub fn find_task<'a>(
    tasks: &'a GetTasks,
    query: &str,
    framework: Option<&str>,
) -> anyhow::Result<&'a Task> {
    let all: Vec<&Task> = [
        &tasks.tasks,
        &tasks.unreachable_tasks,
        &tasks.completed_tasks,
    ]
    .into_iter()
    .flatten()
    .filter(|t| framework.is_none_or(|f| t.framework_id.value == f))
    .collect();
    let exact: Vec<&Task> = all
        .iter()
        .copied()
        .filter(|t| t.task_id.value == query)
        .collect();
    if !exact.is_empty() {
        return one_framework(&exact, query);
    }
    // A name wins over prefixes: `corral-execute-1` is a prefix of `corral-execute-10-...`.
    // Runs of `corral execute` reuse names: the newest task of the name is meant.
    let by_name = distinct_ids(all.iter().copied().filter(|t| t.name == query));
    if let Some(newest) = newest(&by_name) {
        if by_name.len() > 1 {
            eprintln!(
                "note: {} tasks are named '{query}'; this is the newest, {} (give an id for \
                 another: {})",
                by_name.len(),
                newest.task_id.value,
                describe(&by_name)
            );
        }
        return Ok(newest);
    }
    let by_prefix = distinct_ids(
        all.iter()
            .copied()
            .filter(|t| t.task_id.value.starts_with(query)),
    );
    match by_prefix.as_slice() {
        [] => {}
        [one] => return Ok(one),
        several => bail!(
            "'{query}' matches {} tasks: {}; give more of the id",
            several.len(),
            describe(several)
        ),
    }
    let suggestions = closest(&all, query);
    if suggestions.is_empty() {
        bail!("the master knows no task '{query}' (`corral tasks` lists them)");
    }
    bail!(
        "the master knows no task '{query}'; did you mean {}?",
        describe(&suggestions)
    )
}

/// The same id used by several frameworks needs --framework.
fn one_framework<'a>(found: &[&'a Task], query: &str) -> anyhow::Result<&'a Task> {
    let first = found[0];
    let frameworks: Vec<&str> = found
        .iter()
        .map(|t| t.framework_id.value.as_str())
        .collect();
    if frameworks.iter().any(|f| *f != frameworks[0]) {
        bail!(
            "task id '{query}' is used by several frameworks ({}): pick one with --framework",
            frameworks.join(", ")
        );
    }
    Ok(first)
}

/// A live task before an ended one, then the one with the latest status.
fn newest<'a>(tasks: &[&'a Task]) -> Option<&'a Task> {
    let last_seen = |t: &Task| {
        t.statuses
            .iter()
            .filter_map(|s| s.timestamp)
            .fold(0.0_f64, f64::max)
    };
    tasks.iter().copied().max_by(|a, b| {
        (!a.state.is_terminal())
            .cmp(&!b.state.is_terminal())
            .then(last_seen(a).total_cmp(&last_seen(b)))
    })
}

/// One task per (framework, id), in the order given (live first).
fn distinct_ids<'a>(tasks: impl Iterator<Item = &'a Task>) -> Vec<&'a Task> {
    let mut seen = std::collections::HashSet::new();
    tasks
        .filter(|t| seen.insert((t.framework_id.value.clone(), t.task_id.value.clone())))
        .collect()
}

fn describe(tasks: &[&Task]) -> String {
    let mut names: Vec<String> = tasks
        .iter()
        .take(SHOWN)
        .map(|t| format!("{} ({})", t.task_id.value, t.state.as_str()))
        .collect();
    if tasks.len() > SHOWN {
        names.push(format!("and {} more", tasks.len() - SHOWN));
    }
    names.join(", ")
}

/// Ids or names within a few edits of `query` (or containing it), closest first.
fn closest<'a>(tasks: &[&'a Task], query: &str) -> Vec<&'a Task> {
    let limit = (query.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &Task)> = distinct_ids(tasks.iter().copied())
        .into_iter()
        .filter_map(|t| {
            let contains = t.task_id.value.contains(query) || t.name.contains(query);
            let distance = edit_distance(&t.task_id.value, query)
                .min(edit_distance(&t.name, query))
                .min(prefix_distance(&t.task_id.value, query));
            (contains || distance <= limit).then_some((if contains { 0 } else { distance }, t))
        })
        .collect();
    scored.sort_by_key(|(d, t)| (*d, t.task_id.value.clone()));
    scored.into_iter().map(|(_, t)| t).collect()
}

/// The distance from `query` to the start of `id` as long as `query` (a mistyped prefix).
fn prefix_distance(id: &str, query: &str) -> usize {
    let head: String = id.chars().take(query.chars().count()).collect();
    edit_distance(&head, query)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_api::v1::{FrameworkId, TaskId, TaskState, TaskStatus};

    fn task(id: &str, name: &str, framework: &str, state: TaskState) -> Task {
        Task {
            task_id: TaskId::new(id),
            name: name.into(),
            framework_id: FrameworkId::new(framework),
            state,
            ..Default::default()
        }
    }

    fn tasks() -> GetTasks {
        GetTasks {
            tasks: vec![
                task(
                    "corral-execute-1-3f2a9c1b",
                    "corral-execute-1",
                    "f1",
                    TaskState::TaskRunning,
                ),
                task(
                    "corral-execute-10-77aa0011",
                    "corral-execute-10",
                    "f1",
                    TaskState::TaskRunning,
                ),
                task("web-1", "web", "f2", TaskState::TaskRunning),
                task("web-2", "web", "f2", TaskState::TaskRunning),
            ],
            completed_tasks: vec![task("shared", "s", "f1", TaskState::TaskFinished)],
            unreachable_tasks: vec![task("shared", "s", "f2", TaskState::TaskLost)],
            ..Default::default()
        }
    }

    #[test]
    fn exact_ids_names_and_unique_prefixes_are_found() {
        let t = tasks();
        let found = |q: &str| find_task(&t, q, None).map(|t| t.task_id.value.clone());
        assert_eq!(found("web-1").ok().as_deref(), Some("web-1"));
        // The name wins over the longer ids it is a prefix of.
        assert_eq!(
            found("corral-execute-1").ok().as_deref(),
            Some("corral-execute-1-3f2a9c1b")
        );
        assert_eq!(
            found("corral-execute-10").ok().as_deref(),
            Some("corral-execute-10-77aa0011")
        );
        assert_eq!(
            found("corral-execute-1-3f").ok().as_deref(),
            Some("corral-execute-1-3f2a9c1b")
        );
    }

    #[test]
    fn ambiguity_and_misses_say_what_to_type() {
        let t = tasks();
        let error = |q: &str, f: Option<&str>| {
            find_task(&t, q, f)
                .map(|_| ())
                .expect_err("refused")
                .to_string()
        };
        let web = error("web-", None);
        assert!(
            web.contains("matches 2 tasks") && web.contains("web-1") && web.contains("web-2"),
            "{web}"
        );
        let shared = error("shared", None);
        assert!(shared.contains("--framework"), "{shared}");
        assert_eq!(
            find_task(&t, "shared", Some("f2")).map(|t| t.state).ok(),
            Some(TaskState::TaskLost)
        );
        let typo = error("corral-exectue-1", None);
        assert!(
            typo.contains("did you mean corral-execute-1-3f2a9c1b"),
            "{typo}"
        );
        let nothing = error("zzzzzzzzzzzz", None);
        assert!(nothing.contains("`corral tasks` lists them"), "{nothing}");
    }

    #[test]
    fn a_reused_name_means_the_live_or_newest_task() {
        let mut old = task("job-1-aaaa", "job-1", "f1", TaskState::TaskFinished);
        old.statuses = vec![TaskStatus {
            timestamp: Some(100.0),
            ..Default::default()
        }];
        let mut new = task("job-1-bbbb", "job-1", "f2", TaskState::TaskFinished);
        new.statuses = vec![TaskStatus {
            timestamp: Some(200.0),
            ..Default::default()
        }];
        let ended = GetTasks {
            completed_tasks: vec![old.clone(), new.clone()],
            ..Default::default()
        };
        let found = find_task(&ended, "job-1", None).map(|t| t.task_id.value.clone());
        assert_eq!(found.ok().as_deref(), Some("job-1-bbbb"));
        let live = task("job-1-cccc", "job-1", "f3", TaskState::TaskRunning);
        let mixed = GetTasks {
            tasks: vec![live],
            completed_tasks: vec![old, new],
            ..Default::default()
        };
        let found = find_task(&mixed, "job-1", None).map(|t| t.task_id.value.clone());
        assert_eq!(found.ok().as_deref(), Some("job-1-cccc"));
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
