//! An ACL's subjects or objects (Mesos' `ACL.Entity`): some named values, ANY, or NONE.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entity {
    #[serde(rename = "type", default)]
    pub kind: EntityType,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum EntityType {
    #[default]
    #[serde(rename = "SOME")]
    Some,
    #[serde(rename = "ANY")]
    Any,
    #[serde(rename = "NONE")]
    None,
}

impl Entity {
    /// Whether an ACL with this entity speaks of `value` (`None`: an anonymous subject or an
    /// implicit object). ANY and NONE speak of everything; named values only of themselves.
    pub fn covers(&self, value: Option<&str>) -> bool {
        match self.kind {
            EntityType::Any | EntityType::None => true,
            EntityType::Some => value.is_some_and(|v| self.values.iter().any(|x| x == v)),
        }
    }

    /// As [`Entity::covers`], for objects that are path ids: a named value covers its path
    /// and everything under it (`path_tree.rs`).
    pub fn covers_path(&self, path: Option<&str>) -> bool {
        match self.kind {
            EntityType::Any | EntityType::None => true,
            EntityType::Some => path.is_some_and(|p| {
                self.values
                    .iter()
                    .any(|value| super::path_tree::covers(value, p))
            }),
        }
    }

    /// Whether an ACL whose entity covers a request lets it through: NONE never does.
    pub fn grants(&self) -> bool {
        self.kind != EntityType::None
    }
}
