//! Groups (Marathon's `/v2/groups`): apps are grouped by their ids' paths (`/shop/web` is in
//! `/shop`); a group can also be created on its own (empty, or with `dependencies`), which
//! is stored as a [`GroupRecord`]. The tree is built from the apps and these records when
//! shown (`json`); group bodies are read into a change of apps (`update`).

pub mod json;
pub mod update;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// A group created or changed through `/v2/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRecord {
    pub id: String,
    #[serde(default)]
    pub dependencies: Vec<String>,
    pub version: Timestamp,
}
