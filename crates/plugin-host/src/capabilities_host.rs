//! The WIT `capabilities` import, answered from the instance's [`CapabilityGrants`] (see
//! `capabilities.rs`); a plugin without grants (not an isolator) gets an error, not a trap.

use std::sync::Arc;

use super::capabilities::CapabilityGrants;
use super::sandbox::PluginState;
use corral_wit::isolator::corral::plugin::capabilities::Host;

impl Host for PluginState {
    fn devices(&mut self, pattern: String) -> Result<Vec<String>, String> {
        self.grants()?.devices(&pattern)
    }

    fn read_file(&mut self, path: String) -> Result<Vec<u8>, String> {
        self.grants()?.read_file(&path)
    }

    fn list_dir(&mut self, path: String) -> Result<Vec<String>, String> {
        self.grants()?.list_dir(&path)
    }
}

impl PluginState {
    fn grants(&self) -> Result<Arc<CapabilityGrants>, String> {
        self.capabilities
            .clone()
            .ok_or_else(|| "this plugin has no capability grants (not an isolator)".to_string())
    }
}
