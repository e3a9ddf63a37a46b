//! `POST /api/corral/v1/plugins`: Corral's plugin lifecycle calls, JSON in the style of the v1
//! operator API (`{"type": "LIST"}`, `{"type": "INSTALL", "install": {...}}`): INSTALL, LIST,
//! ACTIVATE, DEACTIVATE, REMOVE and SWAP_ALLOCATOR. `GET /api/corral/v1/plugins/{sha256}`
//! answers an installed plugin's bytes (checked against the hash).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;

use corral_builtin_plugins::{BUILTIN_ALLOCATORS, BUILTIN_AUTHORIZERS, BUILTIN_EXECUTORS, builtin};
use corral_http::error::{ApiError, parse_json};
use corral_plugin_host::engine::{PluginEngine, PluginLimits};
use corral_plugin_host::manifest::Manifest;
use corral_plugin_host::signature;
use corral_plugin_host::stats::{StatsSnapshot, snapshot_all};
use corral_plugin_host::store::{
    ActiveAllocator, MAX_PLUGIN_BYTES, PluginMeta, PluginStoreError, Signed, sha256_hex,
};

use super::allocator_status::{SharedStatus, SwapReport};
use super::authorizer_plugin;
use super::plugin_fanout::{connected_agents, send_active_set};
use super::plugin_platform::PluginPlatform;
use super::plugin_reports::AgentsView;
use super::probation::DEFAULT_PROBATION_CYCLES;
use super::shell::{Shared, now_ms};
use corral_authz::Action;
use corral_http::auth::Caller;

/// The largest plugin's base64 (a third larger than its bytes), with 1 MiB for the manifest,
/// the signature and the JSON around them: a larger body is refused (413) before it is read.
pub const BODY_LIMIT: usize = MAX_PLUGIN_BYTES.div_ceil(3) * 4 + (1 << 20);
/// How long a swap answer waits for the probation cycles beyond their own time.
const PROBATION_SLACK: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize)]
struct PluginCall {
    #[serde(rename = "type")]
    kind: String,
    install: Option<Install>,
    activate: Option<Target>,
    deactivate: Option<Target>,
    remove: Option<Target>,
    swap_allocator: Option<SwapAllocator>,
}

#[derive(Debug, Deserialize)]
struct Install {
    /// The component, sent as base64 and decoded as it is read: the body's text is not
    /// copied into a string first (memory: `plugin_uploads.rs`).
    #[serde(deserialize_with = "base64_wasm")]
    wasm: Vec<u8>,
    /// Manifest TOML; else the component's custom section.
    manifest: Option<String>,
    #[serde(default)]
    accept_capabilities: bool,
    /// The publisher's signature (the content of `FILE.wasm.sig`).
    signature: Option<String>,
}

/// `install.wasm`: base64 decoded straight from the request body's text (borrowed when it
/// has no escapes, as base64 never needs).
fn base64_wasm<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    struct Base64Wasm;
    impl serde::de::Visitor<'_> for Base64Wasm {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("the component's bytes as a base64 string")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Vec<u8>, E> {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| E::custom(format!("'install.wasm' is not base64: {e}")))
        }
    }
    deserializer.deserialize_str(Base64Wasm)
}

#[derive(Debug, Deserialize)]
struct Target {
    plugin: String,
    /// ACTIVATE: the config the plugin's `init` gets on agents.
    #[serde(default)]
    config: String,
}

#[derive(Debug, Deserialize)]
struct SwapAllocator {
    /// A built-in name, or an installed plugin's sha256 (or prefix) or name.
    plugin: String,
    #[serde(default)]
    config: String,
    probation_cycles: Option<u32>,
}

/// One plugin as LIST shows it.
#[derive(Debug, Serialize)]
pub(super) struct PluginView {
    name: String,
    kind: String,
    version: String,
    sha256: String,
    size: u64,
    builtin: bool,
    /// "allocator" (the master's policy), "authorizer" (the master's authorizer plugin),
    /// "agents" (activated for agents).
    active: Vec<String>,
    /// For a plugin activated for agents: how many connected agents run it, and which
    /// refused it and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    agents: Option<AgentsView>,
    /// The config agents give its `init`.
    #[serde(skip_serializing_if = "String::is_empty")]
    config: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    installed_at_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest: Option<String>,
    stats: StatsSnapshot,
}

pub async fn plugins(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let platform = platform(&shared)?;
    let call: PluginCall = parse_json(&body)?;
    // An INSTALL's wasm is decoded in `call`: its base64 need not stay while it compiles.
    drop(body);
    authorize(&shared, platform, caller.name(), &call).await?;
    let missing = |field: &str| {
        ApiError::bad_request(format!(
            "Expecting '{field}' to be present for a {} call",
            call.kind
        ))
    };
    match call.kind.as_str() {
        "LIST" => list(&shared, platform).await,
        "INSTALL" => {
            let install = call.install.as_ref().ok_or_else(|| missing("install"))?;
            self::install(platform, install, caller.name()).await
        }
        "ACTIVATE" => {
            let target = call.activate.as_ref().ok_or_else(|| missing("activate"))?;
            if authorizer_plugin::is_authorizer(platform, &target.plugin).await {
                let view =
                    authorizer_plugin::activate(&shared, platform, &target.plugin, &target.config)
                        .await?;
                return Ok(answer("ACTIVATE", "activate", json!({ "plugin": view })));
            }
            activate(&shared, platform, target, true).await
        }
        "DEACTIVATE" => {
            let target = call
                .deactivate
                .as_ref()
                .ok_or_else(|| missing("deactivate"))?;
            if authorizer_plugin::is_authorizer(platform, &target.plugin).await {
                let view = authorizer_plugin::deactivate(&shared, platform, &target.plugin).await?;
                return Ok(answer(
                    "DEACTIVATE",
                    "deactivate",
                    json!({ "plugin": view }),
                ));
            }
            activate(&shared, platform, target, false).await
        }
        "REMOVE" => {
            let target = call.remove.as_ref().ok_or_else(|| missing("remove"))?;
            remove(platform, &target.plugin).await
        }
        "SWAP_ALLOCATOR" => {
            let swap = call
                .swap_allocator
                .as_ref()
                .ok_or_else(|| missing("swap_allocator"))?;
            swap_allocator(&shared, platform, swap).await
        }
        other => Err(ApiError::bad_request(format!(
            "Unknown plugins call type '{other}' (expected LIST, INSTALL, ACTIVATE, DEACTIVATE, \
             REMOVE or SWAP_ALLOCATOR)"
        ))),
    }
}

/// INSTALL and REMOVE need `install_plugins`, (DE)ACTIVATE `activate_plugins` on the plugin,
/// SWAP_ALLOCATOR `swap_allocator` on the allocator named; LIST only reads. Who may
/// (de)activate an authorizer is the ACLs' decision alone (see `Authorizers::acls`).
async fn authorize(
    shared: &Shared,
    platform: &PluginPlatform,
    subject: Option<&str>,
    call: &PluginCall,
) -> Result<(), ApiError> {
    let target = |t: &Option<Target>| t.as_ref().map(|t| t.plugin.clone());
    let (action, object) = match call.kind.as_str() {
        "INSTALL" => (Action::InstallPlugins, None),
        "REMOVE" => (Action::InstallPlugins, target(&call.remove)),
        "ACTIVATE" => (Action::ActivatePlugins, target(&call.activate)),
        "DEACTIVATE" => (Action::ActivatePlugins, target(&call.deactivate)),
        "SWAP_ALLOCATOR" => (
            Action::SwapAllocator,
            call.swap_allocator.as_ref().map(|s| s.plugin.clone()),
        ),
        _ => return Ok(()),
    };
    let object = object.as_deref();
    let authorizer_swap = action == Action::ActivatePlugins
        && match object {
            Some(what) => authorizer_plugin::is_authorizer(platform, what).await,
            None => false,
        };
    if authorizer_swap {
        let request = corral_authz::Request {
            subject,
            action,
            object,
        };
        return shared
            .authorizers
            .acls()
            .authorize(&request)
            .map_err(super::authorization::refused);
    }
    shared.authorize(subject, action, object)
}

fn platform(shared: &Shared) -> Result<&PluginPlatform, ApiError> {
    shared
        .plugins
        .get()
        .ok_or_else(|| ApiError::unavailable("the plugin store is not set up on this master"))
}

/// `GET /api/corral/v1/plugins/{sha256}`: the installed plugin's bytes.
pub async fn fetch(
    State(shared): State<Arc<Shared>>,
    Path(sha): Path<String>,
) -> Result<Response, ApiError> {
    let platform = platform(&shared)?;
    let found = match platform.store.meta(&sha).await {
        Ok(Some(meta)) => platform.store.bytes(&meta).await,
        Ok(None) => Err(PluginStoreError::NotFound(sha)),
        Err(error) => Err(error),
    };
    let mut response = found.map_err(store_error)?.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/wasm"),
    );
    Ok(response)
}

pub(super) fn store_error(error: PluginStoreError) -> ApiError {
    let message = error.to_string();
    match error {
        PluginStoreError::NotFound(_) => ApiError::not_found(message),
        PluginStoreError::Active(_) => ApiError::conflict(message),
        PluginStoreError::State(_) | PluginStoreError::Damaged { .. } => {
            ApiError::internal(message)
        }
        _ => ApiError::bad_request(message),
    }
}

/// The master's bound on what plugins may be given, then, for a plugin that asks for
/// capabilities and is accepted, an audit line naming who accepted what. A manifest that does
/// not parse is left to the store, which refuses it with its reason.
fn consent(
    platform: &PluginPlatform,
    wasm: &[u8],
    install: &Install,
    principal: Option<&str>,
) -> Result<(), ApiError> {
    let manifest = match install.manifest.as_deref() {
        Some(text) => Manifest::parse(text).ok(),
        None => Manifest::from_custom_section(wasm).ok().flatten(),
    };
    let Some(manifest) = manifest else {
        return Ok(());
    };
    platform.capabilities.check(&manifest)?;
    let asked = super::plugin_consent::asked(&manifest.capabilities);
    if install.accept_capabilities && !asked.is_empty() {
        tracing::info!(target: "corral::audit", principal = principal.unwrap_or("<anonymous>"),
            plugin = %manifest.name, capabilities = %asked.join(","),
            "plugin capabilities accepted");
    }
    Ok(())
}

fn answer(kind: &str, field: &str, value: serde_json::Value) -> Response {
    let mut body = serde_json::Map::new();
    body.insert("type".into(), kind.into());
    body.insert(field.into(), value);
    axum::Json(serde_json::Value::Object(body)).into_response()
}

async fn install(
    platform: &PluginPlatform,
    install: &Install,
    principal: Option<&str>,
) -> Result<Response, ApiError> {
    let wasm = &install.wasm;
    consent(platform, wasm, install, principal)?;
    check_signature(&platform.engine, wasm, install).map_err(|reason| {
        ApiError::bad_request(format!("plugin refused, nothing stored: {reason}"))
    })?;
    let installed = platform
        .store
        .install(
            &platform.engine,
            wasm,
            install.manifest.as_deref(),
            install.accept_capabilities,
            now_ms(),
        )
        .await;
    let installed = match (installed, &install.signature) {
        (Ok(meta), Some(signature)) if meta.signature.is_none() => {
            let signed = Signed {
                signature: signature.clone(),
                manifest: install.manifest.clone(),
            };
            platform.store.set_signature(meta, signed).await
        }
        (other, _) => other,
    };
    let meta = installed.map_err(store_error)?;
    tracing::info!(plugin = %meta.name, sha256 = %meta.sha256, "plugin installed");
    let view = installed_view(meta, &platform.status, &snapshot_all(), None, None);
    Ok(answer("INSTALL", "install", json!({ "plugin": view })))
}

/// Under the master's signature policy (`--trusted-keys`, `--require-signed`): a given
/// signature must verify over the wasm and the manifest text; none is refused only when
/// signatures are required.
fn check_signature(engine: &PluginEngine, wasm: &[u8], install: &Install) -> Result<(), String> {
    let Some(policy) = engine.trust_policy() else {
        return Ok(());
    };
    match &install.signature {
        Some(sig) => {
            let manifest = install.manifest.as_deref().map(str::as_bytes);
            let key = signature::verify(wasm, manifest, sig.as_bytes(), &policy.trusted)
                .map_err(|e| format!("its signature is refused: {e}"))?;
            tracing::info!(%key, "plugin signature verified at install");
            Ok(())
        }
        None if policy.require_signed => Err(
            "it is unsigned and this master requires signed plugins (--require-signed); \
             give its signature (FILE.wasm.sig beside it)"
                .to_string(),
        ),
        None => Ok(()),
    }
}

pub(super) fn installed_view(
    meta: PluginMeta,
    status: &SharedStatus,
    stats: &std::collections::BTreeMap<String, StatsSnapshot>,
    agents: Option<AgentsView>,
    authorizer: Option<&str>,
) -> PluginView {
    let mut active = Vec::new();
    if status.get().active.plugin == meta.sha256 {
        active.push("allocator".to_string());
    }
    if authorizer == Some(meta.sha256.as_str()) {
        active.push("authorizer".to_string());
    }
    if meta.active {
        active.push("agents".to_string());
    }
    PluginView {
        // Also after a deactivation, while agents still report it loaded.
        agents: agents.filter(|a| meta.active || a.loaded > 0),
        config: meta.config,
        stats: stats.get(&meta.name).copied().unwrap_or_default(),
        name: meta.name,
        kind: meta.kind,
        version: meta.version,
        sha256: meta.sha256,
        size: meta.size,
        builtin: false,
        active,
        installed_at_ms: Some(meta.installed_at_ms),
        manifest: Some(meta.manifest),
    }
}

async fn list(shared: &Arc<Shared>, platform: &PluginPlatform) -> Result<Response, ApiError> {
    let installed = platform.store.list().await.map_err(store_error)?;
    let stats = platform.agents.stats_with(snapshot_all());
    let connected = connected_agents(shared);
    let status = platform.status.get();
    let mut views = Vec::new();
    let authorizer = shared.authorizers.plugin().map(|p| p.active);
    let authorizer_id = authorizer.as_ref().map(|a| a.plugin.as_str());
    let builtins = BUILTIN_ALLOCATORS
        .iter()
        .map(|n| (n, "allocator"))
        .chain(BUILTIN_EXECUTORS.iter().map(|n| (n, "executor")))
        .chain(BUILTIN_AUTHORIZERS.iter().map(|n| (n, "authorizer")));
    for (name, kind) in builtins {
        let active = if kind == "allocator" && status.active.plugin == *name {
            vec!["allocator".to_string()]
        } else if kind == "executor" {
            vec!["agents".to_string()]
        } else if kind == "authorizer" && authorizer_id == Some(*name) {
            vec!["authorizer".to_string()]
        } else {
            Vec::new()
        };
        let config = match &authorizer {
            Some(a) if a.plugin == *name => a.config.clone(),
            _ => String::new(),
        };
        views.extend(builtin_view(name, kind, active, config, &stats));
    }
    for meta in installed {
        let agents = platform.agents.placement(&meta.sha256, &connected);
        views.push(installed_view(
            meta,
            &platform.status,
            &stats,
            Some(agents),
            authorizer_id,
        ));
    }
    Ok(answer(
        "LIST",
        "list",
        json!({ "plugins": views, "allocator": status }),
    ))
}

/// A built-in plugin as LIST shows it; `None` for a name that is not built in.
pub(super) fn builtin_view(
    name: &str,
    kind: &str,
    active: Vec<String>,
    config: String,
    stats: &std::collections::BTreeMap<String, StatsSnapshot>,
) -> Option<PluginView> {
    let bytes = builtin(name)?;
    Some(PluginView {
        agents: None,
        config,
        name: name.to_string(),
        kind: kind.to_string(),
        version: corral_api::VERSION.to_string(),
        sha256: sha256_hex(bytes),
        size: bytes.len() as u64,
        builtin: true,
        active,
        installed_at_ms: None,
        manifest: None,
        stats: stats.get(name).copied().unwrap_or_default(),
    })
}

async fn activate(
    shared: &Arc<Shared>,
    platform: &PluginPlatform,
    target: &Target,
    on: bool,
) -> Result<Response, ApiError> {
    let what = target.plugin.as_str();
    let kind = if on { "ACTIVATE" } else { "DEACTIVATE" };
    let meta = platform.store.find(what).await.map_err(store_error)?;
    if meta.kind == "allocator" {
        if !on {
            return Err(ApiError::bad_request(
                "an allocator is deactivated by swapping another in (SWAP_ALLOCATOR)",
            ));
        }
        let swap = SwapAllocator {
            plugin: meta.sha256,
            config: target.config.clone(),
            probation_cycles: None,
        };
        return swap_allocator(shared, platform, &swap).await;
    }
    let changed = if on {
        platform
            .store
            .activate(&meta.sha256, &target.config, now_ms())
            .await
    } else {
        platform.store.set_active(&meta.sha256, false).await
    };
    let meta = changed.map_err(store_error)?;
    tracing::info!(plugin = %meta.name, sha256 = %meta.sha256, active = on, "plugin set for agents");
    // Every connected agent gets the new set; the others get it when they return.
    send_active_set(shared, None).await;
    let view = installed_view(meta, &platform.status, &snapshot_all(), None, None);
    Ok(answer(
        kind,
        &kind.to_lowercase(),
        json!({ "plugin": view }),
    ))
}

async fn remove(platform: &PluginPlatform, what: &str) -> Result<Response, ApiError> {
    let meta = platform.store.remove(what).await.map_err(store_error)?;
    tracing::info!(plugin = %meta.name, sha256 = %meta.sha256, "plugin removed");
    Ok(answer("REMOVE", "remove", json!({ "sha256": meta.sha256 })))
}

async fn swap_allocator(
    shared: &Arc<Shared>,
    platform: &PluginPlatform,
    swap: &SwapAllocator,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let probation = swap.probation_cycles.unwrap_or(DEFAULT_PROBATION_CYCLES);
    let refused = |target: ActiveAllocator, reason: String| {
        platform.status.set_swap(SwapReport {
            target,
            outcome: "refused".into(),
            reason: Some(reason.clone()),
        });
        ApiError::bad_request(format!(
            "allocator swap refused, the old one stays: {reason}"
        ))
    };
    let resolved = match platform.store.resolve(&swap.plugin).await {
        Ok(resolved) => resolved,
        Err(error) => {
            let target = ActiveAllocator {
                plugin: swap.plugin.clone(),
                config: swap.config.clone(),
            };
            return Err(refused(target, error.to_string()));
        }
    };
    let candidate = ActiveAllocator {
        plugin: resolved.id.clone(),
        config: swap.config.clone(),
    };
    let limits = resolved
        .manifest
        .as_ref()
        .map_or(PluginLimits::ALLOCATOR, |m| {
            m.limits(PluginLimits::ALLOCATOR)
        });
    let engine = platform.engine.clone();
    let shared_for_swap = shared.clone();
    let target = candidate.clone();
    let config = swap.config.clone();
    // Compiling, instantiating and replaying may take a while: off the async threads.
    let switched = tokio::task::spawn_blocking(move || {
        let factory = engine.allocator_factory_from_bytes(
            &resolved.name,
            &resolved.bytes,
            &config,
            limits,
        )?;
        shared_for_swap.swap_allocator_blocking(factory, target, probation)
    })
    .await;
    match switched {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(refused(candidate, error.to_string())),
        Err(error) => {
            return Err(refused(candidate, format!("the swap task failed: {error}")));
        }
    }
    let switch_ms = started.elapsed().as_secs_f64() * 1000.0;
    let wait = (shared.allocation_interval + PluginLimits::ALLOCATOR.call_deadline * 2) * probation
        + PROBATION_SLACK;
    let deadline = Instant::now() + wait;
    let report = loop {
        let report = platform.status.get().last_swap;
        let settled = report
            .as_ref()
            .is_none_or(|r| r.target != candidate || r.outcome != "probation");
        if settled || Instant::now() >= deadline {
            break report;
        }
        shared.wake_allocation.notify_one();
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let outcome = report
        .as_ref()
        .map_or("probation".to_string(), |r| r.outcome.clone());
    let reason = report.and_then(|r| r.reason);
    if outcome == "rolled_back" {
        let reason = reason.unwrap_or_default();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "the new allocator failed in its first cycles; the previous one is restored: \
                 {reason}"
            ),
        ));
    }
    let active = platform.status.get().active;
    if outcome == "active"
        && let Err(error) = platform.store.set_active_allocator(&active).await
    {
        // The registry writer persists it too; this write makes the answer mean "stored".
        tracing::warn!(%error, "cannot persist the active allocator yet");
    }
    Ok(answer(
        "SWAP_ALLOCATOR",
        "swap_allocator",
        json!({
            "outcome": outcome,
            "active": active,
            "switch_ms": switch_ms,
        }),
    ))
}
