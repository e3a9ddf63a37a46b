//! How the master sorts its routes into authentication realms (Mesos' split): the scheduler
//! API is the frameworks' realm, the internal agent protocol the agents', liveness and the
//! leader redirect are open, and everything else is read-only (GET) or read-write. The same
//! routes under `/mesos` (DC/OS' prefix) sort the same way.

use axum::http::Method;

use corral_api::agent_protocol::INTERNAL_PREFIX;
use corral_http::auth::Realm;

pub fn classify(method: &Method, path: &str) -> Realm {
    let path = path
        .strip_prefix("/mesos")
        .filter(|rest| rest.starts_with('/'))
        .unwrap_or(path);
    match path {
        "/health" | "/version" | "/master/redirect" | "/redirect" => Realm::Public,
        "/api/v1/scheduler" => Realm::Framework,
        _ if path.starts_with(INTERNAL_PREFIX) => Realm::Agent,
        _ => Realm::by_method(method),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_sort_into_mesos_realms() {
        let post = Method::POST;
        let get = Method::GET;
        assert_eq!(classify(&post, "/api/v1/scheduler"), Realm::Framework);
        assert_eq!(classify(&post, "/mesos/api/v1/scheduler"), Realm::Framework);
        assert_eq!(classify(&post, "/internal/v1/agent/update"), Realm::Agent);
        assert_eq!(classify(&post, "/api/v1"), Realm::ReadWrite);
        assert_eq!(classify(&get, "/master/state"), Realm::ReadOnly);
        assert_eq!(classify(&get, "/mesos_dns/v1/version"), Realm::ReadOnly);
        assert_eq!(classify(&get, "/health"), Realm::Public);
        assert_eq!(classify(&get, "/mesos/master/redirect"), Realm::Public);
        assert_eq!(
            classify(&post, "/service/marathon/v2/apps"),
            Realm::ReadWrite
        );
    }
}
