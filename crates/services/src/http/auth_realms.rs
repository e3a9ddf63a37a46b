//! How the services API sorts its routes into authentication realms: `/ping` (a load
//! balancer's probe) is open; reads are read-only and every change read-write, as Marathon's
//! authorizer splits view from create, update and delete.

use axum::http::Method;

use corral_http::auth::Realm;

pub fn classify(method: &Method, path: &str) -> Realm {
    if path == "/ping" {
        return Realm::Public;
    }
    Realm::by_method(method)
}
