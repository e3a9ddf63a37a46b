//! Which offers launch which tasks: each app that needs tasks (from the [`Plan`]) takes them
//! from the offers it fits — resources of its accepted roles, its ports, its constraints
//! against where its tasks already are and where this round put others. Offers that launch
//! nothing are declined. Pure: the caller brings the clock and the task uuids.

use corral_api::v1::{Offer, OfferId, TaskInfo, TaskState};

use super::constraints::{Place, meets_all};
use super::offer_json::offer_json;
use super::offer_stats::{Matched, UNFULFILLED_CONSTRAINT};
use super::plan::Plan;
use super::resources::OfferPool;
use super::task_info;
use crate::model::App;
use crate::path_id::PathId;
use crate::tasks::TaskRecord;
use crate::time::Timestamp;
use crate::world::World;

/// What placing needs besides the world and the offers.
pub struct PlaceContext<'a> {
    /// The services framework's role: with `*`, what an app accepts unless it says otherwise.
    pub framework_role: &'a str,
    pub now_ms: u64,
}

/// The tasks one offer launches.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferLaunch {
    pub offer_id: OfferId,
    pub tasks: Vec<TaskInfo>,
    pub records: Vec<TaskRecord>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placement {
    pub launches: Vec<OfferLaunch>,
    /// Offers that launch nothing.
    pub unused: Vec<OfferId>,
    /// Each offer an app needing tasks was matched against: used, or why not.
    pub matched: Vec<Matched>,
}

pub fn place(
    world: &World,
    plan: &Plan,
    offers: &[Offer],
    ctx: &PlaceContext,
    new_uuid: &mut dyn FnMut() -> String,
) -> Placement {
    let mut placement = Placement::default();
    let mut remaining: Vec<(&App, u32)> = plan
        .launches
        .iter()
        .filter_map(|l| world.apps.get(&l.app_id).map(|app| (app, l.count)))
        .collect();
    // Tasks placed in this round, by app, for constraints across offers.
    let mut placed_now: Vec<TaskRecord> = Vec::new();
    for offer in offers {
        let mut pool = OfferPool::new(offer);
        let mut launch = OfferLaunch {
            offer_id: offer.id.clone(),
            tasks: Vec::new(),
            records: Vec::new(),
        };
        for (app, left) in remaining.iter_mut() {
            if *left == 0 {
                continue;
            }
            let accepted = accepted_roles(app, ctx.framework_role);
            let before = *left;
            let mut refused = None;
            while *left > 0 {
                // Without constraints there is nothing to check against the app's other tasks
                // (listing them for each new task made a round of thousands quadratic).
                if !app.constraints.is_empty() {
                    let placed: Vec<&TaskRecord> = world
                        .tasks_of(&app.id)
                        .filter(|t| !t.kill_requested())
                        .chain(placed_now.iter().filter(|t| t.app_id == app.id))
                        .collect();
                    let places: Vec<Place> = placed
                        .iter()
                        .map(|t| Place {
                            hostname: &t.host,
                            attributes: &t.attributes,
                        })
                        .collect();
                    let here = Place {
                        hostname: &offer.hostname,
                        attributes: &offer.attributes,
                    };
                    if !meets_all(&app.constraints, here, &places) {
                        refused = Some(UNFULFILLED_CONSTRAINT);
                        break;
                    }
                }
                let Some(taken) = pool.take(app, &accepted) else {
                    refused = Some(pool.refusal(app, &accepted));
                    break;
                };
                let task_id = TaskRecord::new_id(&PathId::parse(&app.id), &new_uuid());
                let record = TaskRecord {
                    id: task_id.clone(),
                    app_id: app.id.clone(),
                    version: app.version,
                    config_version: app.config_version(),
                    agent_id: offer.agent_id.value.clone(),
                    host: offer.hostname.clone(),
                    attributes: offer.attributes.clone(),
                    ports: taken.host_ports.clone(),
                    state: TaskState::TaskStaging,
                    staged_at: Timestamp(ctx.now_ms),
                    started_at: None,
                    ip_addresses: Vec::new(),
                    kill_requested_at: None,
                    unreachable_since: None,
                    healthy: None,
                };
                launch
                    .tasks
                    .push(task_info::build(app, &task_id, offer, &taken));
                placed_now.push(record.clone());
                launch.records.push(record);
                *left -= 1;
            }
            let refused = if *left < before { None } else { refused };
            placement.matched.push(Matched {
                app_id: app.id.clone(),
                agent_id: offer.agent_id.value.clone(),
                offer: refused.map_or(serde_json::Value::Null, |_| offer_json(offer)),
                refused,
            });
        }
        if launch.tasks.is_empty() {
            placement.unused.push(offer.id.clone());
        } else {
            placement.launches.push(launch);
        }
    }
    placement
}

/// The roles whose resources `app` may use: its `acceptedResourceRoles`, else unreserved
/// resources and the framework's role.
pub fn accepted_roles(app: &App, framework_role: &str) -> Vec<String> {
    if !app.accepted_resource_roles.is_empty() {
        return app.accepted_resource_roles.clone();
    }
    let mut roles = vec!["*".to_string()];
    if framework_role != "*" {
        roles.push(framework_role.to_string());
    }
    roles
}

#[cfg(test)]
#[path = "place_tests.rs"]
mod tests;
