//! How the agent sorts its routes into authentication realms: the v1 executor API is the
//! executors' (each executor presents the token it was launched with), liveness is open, the
//! rest read-only (GET) or read-write (as Mesos' agent).

use axum::http::Method;

use corral_http::auth::Realm;

pub fn classify(method: &Method, path: &str) -> Realm {
    match path {
        "/health" | "/version" => Realm::Public,
        "/api/v1/executor" => Realm::Executor,
        _ => Realm::by_method(method),
    }
}
