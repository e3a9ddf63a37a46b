//! A task's health check with Mesos' defaults filled in and its kind told apart: what an
//! executor plugin's `check` action asks the agent to run, and what the agent checks a
//! recovered task with. Times in seconds, as Mesos' `HealthCheck` gives them.

use corral_api::v1;

/// Mesos defaults for `HealthCheck` fields a task leaves out.
const DEFAULT_DELAY_S: f64 = 15.0;
const DEFAULT_INTERVAL_S: f64 = 10.0;
const DEFAULT_TIMEOUT_S: f64 = 20.0;
const DEFAULT_FAILURES: u32 = 3;
const DEFAULT_GRACE_S: f64 = 10.0;

#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    pub kind: CheckKind,
    pub delay_seconds: f64,
    pub interval_seconds: f64,
    pub timeout_seconds: f64,
    pub consecutive_failures: u32,
    pub grace_period_seconds: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CheckKind {
    /// Runs in the task's sandbox and cgroups; exit 0 is healthy.
    Command(v1::CommandInfo),
    Http(HttpCheck),
    /// Connects to 127.0.0.1 at this port.
    Tcp(u16),
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpCheck {
    pub port: u16,
    pub path: String,
    /// "http" or "https".
    pub scheme: String,
}

impl HealthCheck {
    /// `None` when the check's type cannot be told or its port does not fit a port number
    /// (the master refuses such tasks before they get here).
    pub fn from_mesos(check: &v1::HealthCheck) -> Option<HealthCheck> {
        let kind = match check.kind.as_deref() {
            Some("COMMAND") => CheckKind::Command(check.command.clone()?),
            Some("HTTP") => http_check(check.http.as_ref()?)?,
            Some("TCP") => CheckKind::Tcp(u16::try_from(check.tcp.as_ref()?.port).ok()?),
            // No type: older clients set just one of the fields.
            None | Some("UNKNOWN") => {
                if let Some(command) = &check.command {
                    CheckKind::Command(command.clone())
                } else if let Some(http) = &check.http {
                    http_check(http)?
                } else {
                    CheckKind::Tcp(u16::try_from(check.tcp.as_ref()?.port).ok()?)
                }
            }
            Some(_) => return None,
        };
        Some(HealthCheck {
            kind,
            delay_seconds: check.delay_seconds.unwrap_or(DEFAULT_DELAY_S),
            interval_seconds: check.interval_seconds.unwrap_or(DEFAULT_INTERVAL_S),
            timeout_seconds: check.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_S),
            consecutive_failures: check.consecutive_failures.unwrap_or(DEFAULT_FAILURES),
            grace_period_seconds: check.grace_period_seconds.unwrap_or(DEFAULT_GRACE_S),
        })
    }
}

fn http_check(http: &v1::HttpCheckInfo) -> Option<CheckKind> {
    Some(CheckKind::Http(HttpCheck {
        port: u16::try_from(http.port).ok()?,
        path: http.path.clone().unwrap_or_else(|| "/".to_string()),
        scheme: http.scheme.clone().unwrap_or_else(|| "http".to_string()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_checks_get_mesos_defaults_and_their_kind() {
        let http = v1::HealthCheck {
            kind: Some("HTTP".into()),
            http: Some(v1::HttpCheckInfo {
                port: 8080,
                ..Default::default()
            }),
            interval_seconds: Some(2.0),
            ..Default::default()
        };
        let check = HealthCheck::from_mesos(&http).expect("mapped");
        assert_eq!(
            check.kind,
            CheckKind::Http(HttpCheck {
                port: 8080,
                path: "/".into(),
                scheme: "http".into()
            })
        );
        assert_eq!(check.interval_seconds, 2.0);
        assert_eq!(check.delay_seconds, 15.0);
        assert_eq!(check.timeout_seconds, 20.0);
        assert_eq!(check.consecutive_failures, 3);
        assert_eq!(check.grace_period_seconds, 10.0);

        let untyped_tcp = v1::HealthCheck {
            tcp: Some(v1::TcpCheckInfo { port: 22 }),
            ..Default::default()
        };
        assert_eq!(
            HealthCheck::from_mesos(&untyped_tcp).map(|h| h.kind),
            Some(CheckKind::Tcp(22))
        );
        let bad_port = v1::HealthCheck {
            kind: Some("TCP".into()),
            tcp: Some(v1::TcpCheckInfo { port: 70000 }),
            ..Default::default()
        };
        assert_eq!(HealthCheck::from_mesos(&bad_port), None);
    }
}
