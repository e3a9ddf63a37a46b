//! Dynamic reservations as data: one agent's reservations by (role, principal), what one
//! RESERVE or UNRESERVE turns into what, and the checks on it. Pure functions, so an ACCEPT
//! can plan its operations before changing anything (`accept_plan.rs`).

use std::collections::BTreeMap;

use corral_api::resources::{Resources, normalize};
use corral_api::v1::{AgentId, ReservationType, Resource};

use super::role_rules::validate_role;

/// One agent's dynamic reservations, by (role, principal); the principal is "" when none.
pub type DynamicReservations = BTreeMap<(String, String), Resources>;

/// What one (un)reservation turns into what: `from` leaves the agent's total, `to` joins it.
#[derive(Debug, Clone)]
pub struct ReservationPlan {
    pub from: Resources,
    pub to: Resources,
    /// The reserved resources by (role, principal).
    pub reserved: Vec<((String, String), Resource)>,
}

/// The dynamic reservation on top of `r`'s stack: (role, principal).
pub fn top_dynamic(r: &Resource) -> Result<(String, String), String> {
    let Some(top) = r.reservations.last() else {
        return Err(format!(
            "Resource '{}' has no 'reservations': say which role it is (to be) reserved for",
            r.name
        ));
    };
    if top.kind != ReservationType::Dynamic {
        return Err(format!(
            "Resource '{}' must carry a DYNAMIC reservation on top of its 'reservations'",
            r.name
        ));
    }
    validate_role(&top.role)?;
    if top.role == "*" {
        return Err("Resources cannot be reserved for role '*'".into());
    }
    Ok((top.role.clone(), top.principal.clone().unwrap_or_default()))
}

/// Plans RESERVE (`reserve`) or UNRESERVE of `resources`.
pub fn plan(resources: &[Resource], reserve: bool) -> Result<ReservationPlan, String> {
    if resources.is_empty() {
        return Err("No resources given".into());
    }
    let mut out = ReservationPlan {
        from: Resources::new(),
        to: Resources::new(),
        reserved: Vec::new(),
    };
    for r in resources {
        let key = top_dynamic(r)?;
        let mut reserved = r.clone();
        reserved.allocation_info = None;
        reserved.role = None;
        let mut unreserved = reserved.clone();
        unreserved.reservations.pop();
        let (reserved, unreserved) = (normalize(reserved), normalize(unreserved));
        if reserve {
            out.from.add(&unreserved);
            out.to.add(&reserved);
        } else {
            out.from.add(&reserved);
            out.to.add(&unreserved);
        }
        out.reserved.push((key, reserved));
    }
    if out.from.is_empty() {
        return Err("The resources are empty".into());
    }
    Ok(out)
}

/// Unreserving needs a matching reservation of the same role and principal in `held` (the
/// agent's reservations).
pub fn check_held(
    agent_id: &AgentId,
    held: Option<&DynamicReservations>,
    plan: &ReservationPlan,
) -> Result<(), String> {
    let mut wanted: DynamicReservations = BTreeMap::new();
    for (key, r) in &plan.reserved {
        wanted.entry(key.clone()).or_default().add(r);
    }
    for ((role, principal), want) in &wanted {
        let have = held.and_then(|h| h.get(&(role.clone(), principal.clone())));
        if have.is_some_and(|have| have.contains(want)) {
            continue;
        }
        let others: Vec<String> = held
            .map(|h| {
                h.keys()
                    .filter(|(r, p)| r == role && p != principal)
                    .map(|(_, p)| format!("'{p}'"))
                    .collect()
            })
            .unwrap_or_default();
        let mut message = format!(
            "Agent {agent_id} has no dynamic reservation of {} for role '{role}' by \
             principal '{principal}' (it holds {})",
            want.summary(),
            have.map_or("none".to_string(), |h| h.summary())
        );
        if !others.is_empty() {
            message.push_str(&format!(
                "; role '{role}' has reservations by other principals: {}",
                others.join(", ")
            ));
        }
        return Err(message);
    }
    Ok(())
}

/// Records a carried-out plan in an agent's reservations (empty entries are dropped).
pub fn apply_to_held(held: &mut DynamicReservations, plan: &ReservationPlan, reserve: bool) {
    for (key, r) in &plan.reserved {
        let bag = held.entry(key.clone()).or_default();
        if reserve {
            bag.add(r);
        } else {
            bag.subtract(r);
        }
    }
    held.retain(|_, bag| !bag.is_empty());
}
