//! Hooks' decorations on Mesos tasks and status updates: a label or environment variable a
//! hook adds replaces one with the same key. Applied labels and variables always carry a
//! value (an absent one becomes empty, as plugins see it), and an empty list is left out, as
//! Mesos does.

use corral_api::v1;

use super::plugin_task::PluginTask;

/// Variables a hook may never set: they decide which programs and libraries a task runs.
pub const PROTECTED_VARIABLES: [&str; 4] = ["PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT"];

/// Which hook decorates, and whether the operator let it replace the task's own variables
/// (`override_task_environment`: an accepted manifest capability or a `--hooks` entry).
#[derive(Debug, Clone, Copy)]
pub struct EnvGrant<'a> {
    pub hook: &'a str,
    pub overrides_own: bool,
}

/// `added` without the variables a hook may not set: those the task sets itself (`own`),
/// unless the grant lets it, and the protected ones, whatever the grant. What is dropped is
/// logged with the hook's name; the task runs with its own values.
pub fn without_overrides(
    added: Vec<v1::EnvironmentVariable>,
    own: &[String],
    grant: EnvGrant<'_>,
) -> Vec<v1::EnvironmentVariable> {
    added
        .into_iter()
        .filter(|v| {
            let taken = own.contains(&v.name) && !grant.overrides_own;
            let protected = PROTECTED_VARIABLES.contains(&v.name.as_str());
            if taken || protected {
                tracing::warn!(hook = grant.hook, variable = %v.name,
                    "a hook may not set PATH/LD_*, nor a variable the task sets itself unless \
                     the operator let it; dropped");
            }
            !taken && !protected
        })
        .collect()
}

/// The names of the variables a command sets.
pub fn variable_names(command: Option<&v1::CommandInfo>) -> Vec<String> {
    command
        .and_then(|c| c.environment.as_ref())
        .map(|e| e.variables.iter().map(|v| v.name.clone()).collect())
        .unwrap_or_default()
}

pub(crate) fn merge_labels(labels: &mut Vec<v1::Label>, added: Vec<v1::Label>) {
    replace_by_key(labels, added, |l| &l.key);
}

pub(crate) fn merge_env(
    env: &mut Vec<v1::EnvironmentVariable>,
    added: Vec<v1::EnvironmentVariable>,
) {
    replace_by_key(env, added, |v| &v.name);
}

fn replace_by_key<T>(list: &mut Vec<T>, added: Vec<T>, key: impl Fn(&T) -> &str) {
    for item in added {
        list.retain(|x| key(x) != key(&item));
        list.push(item);
    }
}

/// Applies what `on-launch` decided (the decorated task) to the Mesos task: its labels, and
/// its command's environment.
pub fn apply_to_task(info: &mut v1::TaskInfo, decorated: &PluginTask) {
    info.labels = labels_with_values(decorated.info.labels.as_ref());
    if let (Some(command), Some(decorated)) = (info.command.as_mut(), &decorated.info.command) {
        let variables: Vec<_> = decorated
            .environment
            .iter()
            .flat_map(|e| &e.variables)
            .map(|v| v1::EnvironmentVariable {
                name: v.name.clone(),
                value: Some(v.value.clone().unwrap_or_default()),
            })
            .collect();
        command.environment = (!variables.is_empty()).then_some(v1::Environment { variables });
    }
}

/// Adds labels to a status update (a label with the same key is replaced).
pub fn add_status_labels(labels: &mut Option<v1::Labels>, added: Vec<v1::Label>) {
    if added.is_empty() {
        return;
    }
    let mut all = labels_with_values(labels.as_ref())
        .map(|l| l.labels)
        .unwrap_or_default();
    merge_labels(&mut all, added);
    *labels = Some(v1::Labels { labels: all });
}

/// Every label with a value; `None` when there are none.
fn labels_with_values(labels: Option<&v1::Labels>) -> Option<v1::Labels> {
    let labels: Vec<_> = labels
        .into_iter()
        .flat_map(|l| &l.labels)
        .map(|l| v1::Label {
            key: l.key.clone(),
            value: Some(l.value.clone().unwrap_or_default()),
        })
        .collect();
    (!labels.is_empty()).then_some(v1::Labels { labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(key: &str, value: Option<&str>) -> v1::Label {
        v1::Label {
            key: key.into(),
            value: value.map(str::to_string),
        }
    }

    #[test]
    fn an_added_key_replaces_the_old_one_and_goes_last() {
        let mut labels = vec![label("a", Some("1")), label("b", Some("2"))];
        merge_labels(&mut labels, vec![label("a", Some("3"))]);
        assert_eq!(labels, [label("b", Some("2")), label("a", Some("3"))]);
    }

    #[test]
    fn applied_labels_carry_values_and_none_is_left_out() {
        let mut info = v1::TaskInfo::default();
        let mut decorated = PluginTask::default();
        decorated.info.labels = Some(v1::Labels {
            labels: vec![label("k", None)],
        });
        apply_to_task(&mut info, &decorated);
        assert_eq!(info.labels.expect("labels").labels, [label("k", Some(""))]);
        let mut status_labels = Some(v1::Labels::default());
        add_status_labels(&mut status_labels, vec![]);
        assert_eq!(status_labels, Some(v1::Labels::default()), "nothing added");
        decorated.info.labels = Some(v1::Labels::default());
        let mut info = v1::TaskInfo::default();
        apply_to_task(&mut info, &decorated);
        assert_eq!(info.labels, None);
    }
}
