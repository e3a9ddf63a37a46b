//! The master's active authorizer plugin (a built-in name or an installed plugin's sha256,
//! and the policy its `init` gets), kept under [`ACTIVE_AUTHORIZER_KEY`] so that a restarted
//! or newly elected master enforces the same policy. Authorizers run in the master only: they
//! are never in the agents' active set.

use serde::{Deserialize, Serialize};

use super::{PluginStore, PluginStoreError, corrupt};
use corral_state::WriteOp;

pub const ACTIVE_AUTHORIZER_KEY: &str = "authorizer/active";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveAuthorizer {
    pub plugin: String,
    #[serde(default)]
    pub config: String,
}

impl PluginStore {
    pub async fn active_authorizer(&self) -> Result<Option<ActiveAuthorizer>, PluginStoreError> {
        match self.store.get(ACTIVE_AUTHORIZER_KEY).await? {
            Some(value) => Ok(Some(
                serde_json::from_slice(&value).map_err(|e| corrupt(ACTIVE_AUTHORIZER_KEY, e))?,
            )),
            None => Ok(None),
        }
    }

    /// Records the active authorizer; `None`: there is none.
    pub async fn set_active_authorizer(
        &self,
        active: Option<&ActiveAuthorizer>,
    ) -> Result<(), PluginStoreError> {
        let op = match active {
            Some(active) => WriteOp::Put {
                key: ACTIVE_AUTHORIZER_KEY.to_string(),
                // Serializing this plain struct cannot fail.
                value: serde_json::to_vec(active).unwrap_or_default(),
            },
            None => WriteOp::Delete {
                key: ACTIVE_AUTHORIZER_KEY.to_string(),
            },
        };
        self.store.apply(vec![op]).await?;
        Ok(())
    }
}
