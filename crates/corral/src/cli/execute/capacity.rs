//! Before subscribing: is there an agent that could ever hold one task? If agents are
//! registered and none is big enough, waiting for offers would wait forever, so `corral
//! execute` says so at once and stops.

use anyhow::bail;

use super::packing::TaskShape;
use corral_api::operator::OperatorCallType;
use corral_api::resources::Resources;
use corral_client::master_address::MasterAddress;
use corral_client::operator_client::OperatorClient;

pub async fn check(master: &MasterAddress, shape: &TaskShape) -> anyhow::Result<()> {
    let client = OperatorClient::new(master.clone())?;
    let (answer, _) = client.call(OperatorCallType::GetAgents).await?;
    let agents = answer.get_agents.map(|a| a.agents).unwrap_or_default();
    if agents.is_empty() {
        eprintln!("note: no agent is registered with {master} yet; waiting for one");
        return Ok(());
    }
    let total = |a: &corral_api::operator::AgentEntry| {
        if a.total_resources.is_empty() {
            a.agent_info.resources.clone()
        } else {
            a.total_resources.clone()
        }
    };
    if agents.iter().any(|a| shape.fits_in(&total(a))) {
        return Ok(());
    }
    let largest: Vec<String> = agents
        .iter()
        .map(|a| {
            format!(
                "{} ({})",
                a.agent_info.hostname,
                Resources::from_list(&total(a)).summary()
            )
        })
        .collect();
    bail!(
        "no agent could ever hold a task of {}: the agents have {}; ask for less with \
         --cpus/--mem/--gpus, or add an agent with more (`corral agent --resources ...`)",
        shape.describe(),
        largest.join(", ")
    )
}
