//! A Mesos-side health check (`COMMAND`, `MESOS_HTTP`, `MESOS_TCP`) as the `health_check` of
//! the task's `TaskInfo`, as Marathon's `MesosHealthCheck.toMesos` builds it: the agent's
//! executor runs it (on 127.0.0.1 for HTTP and TCP) and kills the task after
//! `maxConsecutiveFailures` failures in a row.

use corral_api::v1::{self, CommandInfo, Environment, HttpCheckInfo, TcpCheckInfo};

use crate::model::App;
use crate::model::checks::HealthCheck;

/// The port a check reaches: its `port`, else the task's host port at `portIndex`.
pub fn check_port(check: &HealthCheck, host_ports: &[u32]) -> Option<u32> {
    check.port.or_else(|| {
        check
            .port_index
            .and_then(|i| host_ports.get(usize::try_from(i).ok()?).copied())
    })
}

/// The app's Mesos-side check for a task with `host_ports` and the task's `environment`
/// (a COMMAND check runs with it, so `$PORT0` and the like work).
pub fn task_health_check(
    app: &App,
    host_ports: &[u32],
    environment: Option<&Environment>,
) -> Option<v1::HealthCheck> {
    let check = app.health_checks.iter().find(|c| c.is_mesos_check())?;
    let mut mesos = v1::HealthCheck {
        delay_seconds: Some(f64::from(check.delay_seconds)),
        interval_seconds: Some(f64::from(check.interval_seconds)),
        timeout_seconds: Some(f64::from(check.timeout_seconds)),
        consecutive_failures: Some(check.max_consecutive_failures),
        grace_period_seconds: Some(f64::from(check.grace_period_seconds)),
        ..v1::HealthCheck::default()
    };
    match check.protocol.as_str() {
        "COMMAND" => {
            mesos.kind = Some("COMMAND".into());
            mesos.command = Some(CommandInfo {
                value: check.command.as_ref().map(|c| c.value.clone()),
                shell: Some(true),
                environment: environment.cloned(),
                ..CommandInfo::default()
            });
        }
        "MESOS_HTTP" => {
            mesos.kind = Some("HTTP".into());
            mesos.http = Some(HttpCheckInfo {
                scheme: Some("http".into()),
                port: check_port(check, host_ports)?,
                path: Some(check.path.clone().unwrap_or_else(|| "/".into())),
            });
        }
        "MESOS_TCP" => {
            mesos.kind = Some("TCP".into());
            mesos.tcp = Some(TcpCheckInfo {
                port: check_port(check, host_ports)?,
            });
        }
        _ => return None,
    }
    Some(mesos)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scheduler::plan::tests::app;

    #[test]
    fn mesos_checks_become_the_task_infos_health_check() {
        let web = app(
            json!({"id": "/web", "cmd": "x y", "portDefinitions": [{"port": 0}, {"port": 0}],
                   "healthChecks": [{"protocol": "MESOS_HTTP", "portIndex": 1, "path": "/ok",
                                     "intervalSeconds": 2, "maxConsecutiveFailures": 4,
                                     "gracePeriodSeconds": 7, "timeoutSeconds": 1}]}),
            1_000,
        );
        let check = task_health_check(&web, &[31000, 31001], None).expect("a check");
        assert_eq!(check.kind.as_deref(), Some("HTTP"));
        let http = check.http.expect("http");
        assert_eq!((http.port, http.path.as_deref()), (31001, Some("/ok")));
        assert_eq!(check.interval_seconds, Some(2.0));
        assert_eq!(check.consecutive_failures, Some(4));
        assert_eq!(check.grace_period_seconds, Some(7.0));

        let tcp = app(
            json!({"id": "/t", "cmd": "x y", "healthChecks": [{"protocol": "MESOS_TCP", "port": 8080}]}),
            1_000,
        );
        let check = task_health_check(&tcp, &[31000], None).expect("a check");
        assert_eq!(
            check.tcp.map(|t| t.port),
            Some(8080),
            "port wins over the index"
        );

        let command = app(
            json!({"id": "/c", "cmd": "x y", "healthChecks": [{"protocol": "COMMAND", "command": {"value": "test -f ok"}}]}),
            1_000,
        );
        let check = task_health_check(&command, &[], None).expect("a check");
        assert_eq!(check.kind.as_deref(), Some("COMMAND"));
        assert_eq!(
            check.command.and_then(|c| c.value).as_deref(),
            Some("test -f ok")
        );

        let marathon = app(
            json!({"id": "/m", "cmd": "x y", "healthChecks": [{"protocol": "HTTP"}]}),
            1_000,
        );
        assert_eq!(task_health_check(&marathon, &[31000], None), None);
    }
}
