//! The steps of a deployment, in Marathon's order (`DeploymentPlan.apply`): first one step
//! stopping every deleted app, then one step starting every new app (at 0 instances), then the
//! scale and restart actions in layers of the dependency graph: an app comes in the layer of
//! the longest dependency path from it, so whatever an app depends on is done in an earlier
//! step (`runSpecsGroupedByLongestPath`). Apps of one layer change together.

use std::collections::BTreeMap;

use super::{Action, Change, RESTART, SCALE, START, STOP};

/// The steps for `changes`; `dependencies` maps each app of the target state to the app ids
/// it depends on. Empty steps are left out.
pub fn plan(
    changes: &[(String, Change)],
    dependencies: &BTreeMap<String, Vec<String>>,
) -> Vec<Vec<Action>> {
    let action = |name: &str, app: &str| Action {
        action: name.to_string(),
        app: app.to_string(),
    };
    let mut stops = Vec::new();
    let mut starts = Vec::new();
    let mut layers: BTreeMap<usize, Vec<Action>> = BTreeMap::new();
    let mut lengths = BTreeMap::new();
    for (app, change) in changes {
        let name = match change {
            Change::Delete => {
                stops.push(action(STOP, app));
                continue;
            }
            Change::Create => {
                starts.push(action(START, app));
                SCALE
            }
            Change::Scale => SCALE,
            Change::Restart => RESTART,
        };
        let length = longest_path(app, dependencies, &mut lengths, &mut Vec::new());
        layers.entry(length).or_default().push(action(name, app));
    }
    [stops, starts]
        .into_iter()
        .chain(layers.into_values())
        .filter(|step| !step.is_empty())
        .collect()
}

/// The number of apps on the longest dependency path starting at `app` (1: it depends on
/// nothing). A cycle (refused by validation) is cut where it closes.
fn longest_path(
    app: &str,
    dependencies: &BTreeMap<String, Vec<String>>,
    known: &mut BTreeMap<String, usize>,
    visiting: &mut Vec<String>,
) -> usize {
    if let Some(&length) = known.get(app) {
        return length;
    }
    if visiting.iter().any(|a| a == app) {
        return 0;
    }
    visiting.push(app.to_string());
    let deepest = dependencies
        .get(app)
        .into_iter()
        .flatten()
        .map(|dep| longest_path(dep, dependencies, known, visiting))
        .max()
        .unwrap_or(0);
    visiting.pop();
    known.insert(app.to_string(), deepest + 1);
    deepest + 1
}

/// A dependency cycle among `dependencies`, as the ids along it, if there is one.
pub fn find_cycle(dependencies: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    fn visit(
        app: &str,
        dependencies: &BTreeMap<String, Vec<String>>,
        done: &mut Vec<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|a| a == app) {
            let mut cycle = path[start..].to_vec();
            cycle.push(app.to_string());
            return Some(cycle);
        }
        if done.iter().any(|a| a == app) {
            return None;
        }
        path.push(app.to_string());
        for dep in dependencies.get(app).into_iter().flatten() {
            if let Some(cycle) = visit(dep, dependencies, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.push(app.to_string());
        None
    }
    let mut done = Vec::new();
    dependencies
        .keys()
        .find_map(|app| visit(app, dependencies, &mut done, &mut Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(app, on)| (app.to_string(), on.iter().map(|d| d.to_string()).collect()))
            .collect()
    }

    fn names(steps: &[Vec<Action>]) -> Vec<Vec<String>> {
        steps
            .iter()
            .map(|s| {
                s.iter()
                    .map(|a| format!("{} {}", a.action, a.app))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn stops_then_starts_then_dependency_layers() {
        // /app depends on /db; /cache on nothing; /old goes.
        let graph = deps(&[("/app", &["/db"]), ("/db", &[]), ("/cache", &[])]);
        let steps = plan(
            &[
                ("/app".into(), Change::Create),
                ("/db".into(), Change::Create),
                ("/cache".into(), Change::Restart),
                ("/old".into(), Change::Delete),
            ],
            &graph,
        );
        assert_eq!(
            names(&steps),
            vec![
                vec!["StopApplication /old"],
                vec!["StartApplication /app", "StartApplication /db"],
                vec!["ScaleApplication /db", "RestartApplication /cache"],
                vec!["ScaleApplication /app"],
            ]
        );
    }

    #[test]
    fn a_dependency_outside_the_change_still_orders_the_layers() {
        // /c -> /b -> /a, only /a and /c change: /a first, /c two layers later (one step).
        let graph = deps(&[("/c", &["/b"]), ("/b", &["/a"]), ("/a", &[])]);
        let steps = plan(
            &[("/c".into(), Change::Scale), ("/a".into(), Change::Scale)],
            &graph,
        );
        assert_eq!(
            names(&steps),
            vec![vec!["ScaleApplication /a"], vec!["ScaleApplication /c"]]
        );
    }

    #[test]
    fn cycles_are_found_and_do_not_loop() {
        let graph = deps(&[("/a", &["/b"]), ("/b", &["/a"])]);
        assert_eq!(
            find_cycle(&graph),
            Some(vec!["/a".to_string(), "/b".to_string(), "/a".to_string()])
        );
        assert_eq!(plan(&[("/a".into(), Change::Scale)], &graph).len(), 1);
        assert_eq!(find_cycle(&deps(&[("/a", &["/b"]), ("/b", &[])])), None);
    }
}
