//! [`PluginAuthorizer`]: an authorizer plugin (wit/authorizer.wit) as the
//! [`corral_authz::Authorizer`] every enforcement point asks. One instance answers, behind a
//! lock (a decision takes microseconds, and callers cache them); an instance that trapped,
//! overran its deadline or ran out of memory is replaced on the next request. Whatever goes
//! wrong is a refusal (fail-closed) naming the plugin, logged and counted in its stats, and
//! never reaches the caller as anything but a 403.

use std::sync::{Arc, Mutex};

use corral_authz::{Authorizer, Denied, Request};

use super::error::PluginError;
use super::loaded::{LoadedPlugin, StoreMaker};
use super::plugin_kind::PluginLimits;
use super::sandbox::{PluginState, Sandbox};
use corral_wit::authorizer::exports::corral::plugin::authorizer as wit;
use corral_wit::authorizer::{AuthorizerPlugin, AuthorizerPluginPre};

/// Longest denial reason kept, in bytes; a longer one is cut.
const MAX_REASON: usize = 1024;

/// Makes initialized instances of one loaded authorizer component.
struct AuthorizerMaker {
    stores: StoreMaker,
    name: Arc<str>,
    pre: AuthorizerPluginPre<PluginState>,
    config: String,
    limits: PluginLimits,
}

impl AuthorizerMaker {
    fn instantiate(&self) -> Result<Sandbox<AuthorizerPlugin>, PluginError> {
        let store = self.stores.store(&self.name, self.limits);
        Sandbox::instantiated(store, self.limits, |s| self.pre.instantiate(s))?
            .initialized(|b, s| b.corral_plugin_authorizer().call_init(s, &self.config))
    }
}

/// An authorizer plugin, ready to answer.
pub struct PluginAuthorizer {
    maker: AuthorizerMaker,
    instance: Mutex<Option<Sandbox<AuthorizerPlugin>>>,
}

impl std::fmt::Debug for PluginAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginAuthorizer")
            .field("plugin", &self.maker.name)
            .finish_non_exhaustive()
    }
}

impl PluginAuthorizer {
    /// Checks `loaded` against the authorizer interface and makes the first instance, so a
    /// component or a configuration the plugin rejects is refused now, not on a request.
    pub(crate) fn new(
        loaded: LoadedPlugin,
        config: String,
        limits: PluginLimits,
    ) -> Result<Self, PluginError> {
        let pre = AuthorizerPluginPre::new(loaded.pre).map_err(|e| PluginError::Invalid {
            plugin: loaded.name.to_string(),
            reason: format!("its exports do not match the authorizer interface: {e:#}"),
        })?;
        let maker = AuthorizerMaker {
            stores: loaded.stores,
            name: loaded.name,
            pre,
            config,
            limits,
        };
        let first = maker.instantiate()?;
        Ok(PluginAuthorizer {
            maker,
            instance: Mutex::new(Some(first)),
        })
    }

    pub fn plugin_name(&self) -> &str {
        &self.maker.name
    }

    /// The plugin's decision, or why it could not give one.
    fn decide(&self, request: &Request<'_>) -> Result<wit::Decision, PluginError> {
        let mut slot = self
            .instance
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.as_ref().is_none_or(Sandbox::is_poisoned) {
            *slot = Some(self.maker.instantiate()?);
        }
        let Some(sandbox) = slot.as_mut() else {
            return Err(PluginError::Poisoned {
                plugin: self.maker.name.to_string(),
            });
        };
        let asked = wit::Request {
            subject: request.subject.map(str::to_string),
            action: request.action.name().to_string(),
            object: request.object.map(str::to_string),
        };
        let answer = sandbox.call("authorize", |b, s| {
            b.corral_plugin_authorizer().call_authorize(s, &asked)
        })?;
        answer.map_err(|message| sandbox.failed("authorize", message))
    }
}

impl Authorizer for PluginAuthorizer {
    fn authorize(&self, request: &Request<'_>) -> Result<(), Denied> {
        match off_the_async_workers(|| self.decide(request)) {
            Ok(wit::Decision::Allow) => Ok(()),
            Ok(wit::Decision::Deny(mut reason)) => {
                if reason.len() > MAX_REASON {
                    let cut = reason.floor_char_boundary(MAX_REASON);
                    reason.truncate(cut);
                }
                Err(Denied::new(request, Some(reason)))
            }
            Err(error) => {
                tracing::warn!(plugin = %self.maker.name, action = request.action.name(),
                    %error, "the authorizer plugin failed; the request is refused");
                Err(Denied::failed(
                    request,
                    format!("the authorizer plugin failed to decide: {error}"),
                ))
            }
        }
    }
}

/// Runs a bounded wasm call (deadline: milliseconds) so that a tokio worker thread that
/// happens to ask hands its other tasks to the rest of the runtime meanwhile. On a blocking
/// thread, a current-thread runtime or outside tokio it is an ordinary call.
fn off_the_async_workers<T>(call: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(call)
    } else {
        call()
    }
}
