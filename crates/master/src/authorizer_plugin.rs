//! Authorizer plugins through the plugins API. ACTIVATE loads one (the built-in `policy`, or
//! an installed plugin of kind `authorizer`) with its configuration, the policy document;
//! a component or a policy the plugin rejects is refused and the one in force stays. Once
//! loaded it is recorded in the store and put in force: from then on every enforced action
//! must pass the ACLs and it, its answers cached for `--authorizer-cache-ttl`. Activating
//! another swaps it in; DEACTIVATE takes it out. A master that starts (or is elected) loads
//! the recorded one again before it serves, and refuses to start if it cannot: serving
//! without the policy the operator put in force would open what it closes.

use std::sync::Arc;
use std::time::Duration;

use corral_authz::DecisionCache;
use corral_builtin_plugins::BUILTIN_AUTHORIZERS;
use corral_http::error::ApiError;
use corral_plugin_host::PluginError;
use corral_plugin_host::engine::PluginLimits;
use corral_plugin_host::stats::snapshot_all;
use corral_plugin_host::store::ActiveAuthorizer;

use super::authorizers::PluginSlot;
use super::plugin_platform::PluginPlatform;
use super::plugins_api::{PluginView, builtin_view, installed_view, store_error};
use super::shell::Shared;

/// Whether `what` names a built-in authorizer or an installed plugin of kind authorizer.
pub(super) async fn is_authorizer(platform: &PluginPlatform, what: &str) -> bool {
    BUILTIN_AUTHORIZERS.contains(&what)
        || platform
            .store
            .find(what)
            .await
            .is_ok_and(|meta| meta.kind == "authorizer")
}

/// Loads `what` with `config` and puts it in force in place of the current one, if any.
pub(super) async fn activate(
    shared: &Shared,
    platform: &PluginPlatform,
    what: &str,
    config: &str,
) -> Result<PluginView, ApiError> {
    let resolved = platform.store.resolve(what).await.map_err(store_error)?;
    let active = ActiveAuthorizer {
        plugin: resolved.id.clone(),
        config: config.to_string(),
    };
    let slot = load(platform, active.clone()).await.map_err(|e| {
        ApiError::bad_request(format!("authorizer refused, the one in force stays: {e}"))
    })?;
    platform
        .store
        .set_active_authorizer(Some(&active))
        .await
        .map_err(store_error)?;
    let replaced = shared.authorizers.set_plugin(Some(slot));
    tracing::info!(target: "corral::audit", plugin = %resolved.name, id = %resolved.id,
        replaced = replaced.as_ref().map(|r| r.name.as_str()).unwrap_or(""),
        "authorizer plugin in force");
    view(platform, &resolved.id, Some(&active)).await
}

/// Takes `what` out of force; refused if it is not the authorizer in force.
pub(super) async fn deactivate(
    shared: &Shared,
    platform: &PluginPlatform,
    what: &str,
) -> Result<PluginView, ApiError> {
    let resolved = platform.store.resolve(what).await.map_err(store_error)?;
    let in_force = shared.authorizers.plugin();
    if in_force
        .as_ref()
        .is_none_or(|p| p.active.plugin != resolved.id)
    {
        return Err(ApiError::bad_request(format!(
            "'{what}' is not the authorizer in force (LIST shows it as active \"authorizer\")"
        )));
    }
    platform
        .store
        .set_active_authorizer(None)
        .await
        .map_err(store_error)?;
    shared.authorizers.set_plugin(None);
    tracing::info!(target: "corral::audit", plugin = %resolved.name, id = %resolved.id,
        "authorizer plugin out of force");
    view(platform, &resolved.id, None).await
}

/// At start: the recorded authorizer, loaded and put in force; an error if it cannot be.
pub(super) async fn restore(shared: &Shared, platform: &PluginPlatform) -> Result<(), String> {
    let recorded = platform
        .store
        .active_authorizer()
        .await
        .map_err(|e| format!("cannot read the recorded authorizer plugin: {e}"))?;
    let Some(active) = recorded else {
        return Ok(());
    };
    let slot = load(platform, active.clone()).await.map_err(|e| {
        format!(
            "cannot load the authorizer plugin in force ({}): {e}; the master does not serve \
             without it",
            active.plugin
        )
    })?;
    tracing::info!(plugin = %slot.name, "authorizer plugin restored");
    shared.authorizers.set_plugin(Some(slot));
    Ok(())
}

/// Compiles, instantiates and `init`s the authorizer off the async threads.
async fn load(platform: &PluginPlatform, active: ActiveAuthorizer) -> Result<PluginSlot, String> {
    let resolved = platform
        .store
        .resolve(&active.plugin)
        .await
        .map_err(|e| e.to_string())?;
    let limits = resolved
        .manifest
        .as_ref()
        .map_or(PluginLimits::AUTHORIZER, |m| {
            m.limits(PluginLimits::AUTHORIZER)
        });
    let engine = platform.engine.clone();
    let ttl: Duration = platform.authorizer_cache_ttl;
    let config = active.config.clone();
    let name = resolved.name.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        engine.authorizer_from_bytes(&resolved.name, &resolved.bytes, &config, limits)
    })
    .await
    .map_err(|e| format!("the loading task failed: {e}"))?;
    let plugin = loaded.map_err(|e: PluginError| e.to_string())?;
    Ok(PluginSlot {
        active,
        name,
        authorizer: Arc::new(DecisionCache::new(Arc::new(plugin), ttl)),
    })
}

async fn view(
    platform: &PluginPlatform,
    id: &str,
    active: Option<&ActiveAuthorizer>,
) -> Result<PluginView, ApiError> {
    let marks = || {
        active
            .map(|_| vec!["authorizer".to_string()])
            .unwrap_or_default()
    };
    let config = active.map(|a| a.config.clone()).unwrap_or_default();
    if let Some(view) = builtin_view(id, "authorizer", marks(), config, &snapshot_all()) {
        return Ok(view);
    }
    let meta = platform.store.find(id).await.map_err(store_error)?;
    let status = &platform.status;
    Ok(installed_view(
        meta,
        status,
        &snapshot_all(),
        None,
        active.map(|a| a.plugin.as_str()),
    ))
}
