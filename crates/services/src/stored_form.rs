//! An app's stored form: its service ports assigned (Marathon's `--local_port_min/max`
//! range), its id checked against the other apps' (an app cannot be another's group), and its
//! version info set.

use crate::model::App;
use crate::model::strategy::VersionInfo;
use crate::op_error::OpError;
use crate::path_id::PathId;
use crate::validation::Violations;
use crate::world::World;

/// Service ports are assigned from `[10000, 20000)`.
pub const SERVICE_PORT_MIN: u32 = 10_000;
pub const SERVICE_PORT_MAX: u32 = 20_000;

/// `app` as stored: service ports assigned, version info set (both times its version; a
/// scale change keeps the configuration time, see `app_ops::prepare`).
pub fn stored_form(world: &World, mut app: App, existing: Option<&App>) -> Result<App, OpError> {
    check_group_conflicts(world, &app.id)?;
    assign_service_ports(world, &mut app, existing)?;
    app.version_info = Some(VersionInfo {
        last_scaling_at: app.version,
        last_config_change_at: app.version,
    });
    Ok(app)
}

/// An app id may not be a group of another app, nor lie under one.
fn check_group_conflicts(world: &World, id: &str) -> Result<(), OpError> {
    let path = PathId::parse(id);
    let clash = path
        .ancestors()
        .iter()
        .map(ToString::to_string)
        .find(|a| world.apps.contains_key(a))
        .or_else(|| {
            world
                .apps
                .keys()
                .find(|other| *other != id && PathId::parse(other).is_within(&path))
                .cloned()
        });
    match clash {
        None => Ok(()),
        Some(other) => {
            let mut v = Violations::new();
            v.add(
                "/id",
                format!(
                    "Groups and Applications may not have the same identifier: {id} and {other}"
                ),
            );
            Err(OpError::Invalid(v))
        }
    }
}

/// Gives each port definition asking for port 0 a service port: the one it had (same index)
/// when the app is updated, else the lowest in the range no other app uses.
fn assign_service_ports(
    world: &World,
    app: &mut App,
    existing: Option<&App>,
) -> Result<(), OpError> {
    let mut used: Vec<u32> = world
        .apps
        .values()
        .filter(|other| other.id != app.id)
        .flat_map(App::service_ports)
        .chain(app.service_ports())
        .filter(|p| *p != 0)
        .collect();
    let previous: Vec<u32> = existing.map(App::service_ports).unwrap_or_default();
    for (index, definition) in app.port_definitions.iter_mut().enumerate() {
        if definition.port != 0 {
            continue;
        }
        if let Some(&old) = previous.get(index)
            && old != 0
            && !used.contains(&old)
        {
            definition.port = old;
            used.push(old);
            continue;
        }
        let free = (SERVICE_PORT_MIN..SERVICE_PORT_MAX).find(|p| !used.contains(p));
        let Some(port) = free else {
            return Err(OpError::Conflict(format!(
                "All ports in the range [{SERVICE_PORT_MIN}-{SERVICE_PORT_MAX}) are already in use"
            )));
        };
        definition.port = port;
        used.push(port);
    }
    Ok(())
}
