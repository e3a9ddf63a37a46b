//! Finding an isolator's manifest: the built-in's own, else the component's custom section,
//! else `FILE.toml` beside `FILE.wasm` (the one file a signature covers, see
//! [`super::signature::manifest_path`]). An isolator without one is refused: what it may
//! touch must be written down.

use std::path::Path;

use super::error::PluginError;
use super::manifest::Manifest;
use corral_builtin_plugins::builtin_manifest;

pub(crate) fn find(spec: &str, plugin: &str) -> Result<Manifest, PluginError> {
    let invalid = |reason: String| PluginError::Invalid {
        plugin: plugin.to_string(),
        reason,
    };
    if let Some(text) = builtin_manifest(spec) {
        return Manifest::parse(text).map_err(|e| invalid(format!("built-in manifest: {e}")));
    }
    let path = Path::new(spec);
    let bytes = std::fs::read(path).map_err(|e| PluginError::Io {
        path: spec.to_string(),
        reason: e.to_string(),
    })?;
    if let Some(manifest) = Manifest::from_custom_section(&bytes)
        .map_err(|e| invalid(format!("embedded manifest: {e}")))?
    {
        return Ok(manifest);
    }
    let beside = super::signature::manifest_path(path);
    match std::fs::read_to_string(&beside) {
        Ok(text) => {
            Manifest::parse(&text).map_err(|e| invalid(format!("{}: {e}", beside.display())))
        }
        Err(_) => Err(invalid(format!(
            "an isolator needs a manifest: none embedded and no {} beside it",
            beside.display()
        ))),
    }
}
