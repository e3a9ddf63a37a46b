//! Partial updates (`PATCH`, and `PUT` with `partialUpdate=true`, its default): each field the
//! update names replaces the app's field; the rest stay. The merged body is then parsed and
//! validated as a whole app, so an update can never leave an invalid app behind.

use serde_json::{Map, Value};

use crate::model::App;

/// Fields of which an update that names one drops the other (Marathon keeps only one).
const EXCLUSIVE: [(&str, &str); 3] = [
    ("cmd", "args"),
    ("uris", "fetch"),
    ("ports", "portDefinitions"),
];

/// `existing` as a request body with `update`'s fields laid over it; `null` in the update
/// resets a field to its default.
pub fn merge_update(existing: &App, update: &Map<String, Value>) -> Value {
    let mut base = existing.to_json();
    base.remove("version");
    base.remove("versionInfo");
    for (a, b) in EXCLUSIVE {
        for (named, other) in [(a, b), (b, a)] {
            if update.get(named).is_some_and(|v| !v.is_null()) && !update.contains_key(other) {
                base.remove(other);
            }
        }
    }
    // The deprecated `uris` and `ports` never appear in the stored form; their replacements do.
    if update.contains_key("uris") {
        base.remove("fetch");
    }
    if update.contains_key("ports") {
        base.remove("portDefinitions");
    }
    for (key, value) in update {
        if key == "id" || key == "version" {
            continue;
        }
        if value.is_null() {
            base.remove(key);
        } else {
            base.insert(key.clone(), value.clone());
        }
    }
    base.insert("id".into(), Value::String(existing.id.clone()));
    Value::Object(base)
}

/// Whether an update body only names a version (and maybe the id): a rollback to that version.
pub fn rollback_version(update: &Map<String, Value>) -> Option<Result<&str, ()>> {
    let version = update.get("version").filter(|v| !v.is_null())?;
    let only_version = update
        .iter()
        .all(|(k, v)| k == "version" || k == "id" || v.is_null());
    if !only_version {
        return Some(Err(()));
    }
    Some(version.as_str().ok_or(()))
}

pub const VERSION_ONLY_WITH_ID: &str =
    "The 'version' field may only be combined with the 'id' field.";
