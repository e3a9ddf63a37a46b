//! `corral roles` (a table of GET_ROLES, or its JSON), `corral roles weight ROLE W`,
//! `corral roles quota ROLE --guarantee .. --limit ..|--clear`, and
//! `corral reserve|unreserve AGENT_ID RESOURCES`: operator API calls any user could make.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use serde_json::{Value, json};

use super::master_arg::MasterArg;
use super::table::Table;
use corral_api::operator::OperatorCallType;
use corral_api::operator_roles::{GetRoles, RoleEntry};
use corral_api::resources::{Resources, parse_resources};
use corral_api::v1::{ReservationType, Resource, Scalar};
use corral_client::operator_client::OperatorClient;

#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RolesArgs {
    #[command(flatten)]
    pub master: MasterArg,
    /// Print the GET_ROLES response as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub action: Option<RolesAction>,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum RolesAction {
    /// Set a role's weight (a positive number; roles weigh 1 by default).
    Weight {
        #[command(flatten)]
        master: MasterArg,
        role: String,
        /// Negative values are passed on, so the master's refusal explains them.
        #[arg(allow_negative_numbers = true)]
        weight: String,
    },
    /// Set a role's quota (scalar resources), or clear it.
    Quota {
        #[command(flatten)]
        master: MasterArg,
        role: String,
        /// What the role is guaranteed, e.g. "cpus:2;mem:1024".
        #[arg(long, default_value = "")]
        guarantee: String,
        /// The most the role may hold, e.g. "cpus:4".
        #[arg(long, default_value = "")]
        limit: String,
        /// Remove the role's quota.
        #[arg(long, conflicts_with_all = ["guarantee", "limit"])]
        clear: bool,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct ReserveArgs {
    #[command(flatten)]
    pub master: MasterArg,
    pub agent_id: String,
    /// Resources with their role, e.g. "cpus(eng):1;mem(eng):256".
    pub resources: String,
    /// The principal recorded on the reservation (an unreserve must name the same one).
    #[arg(long)]
    pub principal: Option<String>,
}

async fn client(master: &MasterArg) -> anyhow::Result<OperatorClient> {
    Ok(OperatorClient::new(master.resolve().await?)?)
}

pub async fn roles(args: RolesArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        None => list(&args.master, args.json).await,
        Some(RolesAction::Weight {
            master,
            role,
            weight,
        }) => {
            // Sent as given: the master checks it and names the role and value if it is bad.
            let weight = weight
                .parse::<f64>()
                .map(|w| json!(w))
                .unwrap_or(json!(weight));
            let payload =
                json!({"update_weights": {"weight_infos": [{"role": role, "weight": weight}]}});
            client(&master)
                .await?
                .call_with(OperatorCallType::UpdateWeights, payload)
                .await?;
            println!("role {role}: weight set");
            Ok(ExitCode::SUCCESS)
        }
        Some(RolesAction::Quota {
            master,
            role,
            guarantee,
            limit,
            clear,
        }) => {
            if !clear && guarantee.trim().is_empty() && limit.trim().is_empty() {
                bail!("give --guarantee and/or --limit, or --clear to remove the quota");
            }
            let config = json!({
                "role": role,
                "guarantees": scalars(&guarantee, "--guarantee")?,
                "limits": scalars(&limit, "--limit")?,
            });
            let payload = json!({"update_quota": {"force": false, "quota_configs": [config]}});
            client(&master)
                .await?
                .call_with(OperatorCallType::UpdateQuota, payload)
                .await?;
            let done = if clear { "cleared" } else { "set" };
            println!("role {role}: quota {done}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn list(master: &MasterArg, as_json: bool) -> anyhow::Result<ExitCode> {
    let (response, raw) = client(master)
        .await?
        .call(OperatorCallType::GetRoles)
        .await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&raw)?);
        return Ok(ExitCode::SUCCESS);
    }
    let roles = response
        .get_roles
        .ok_or_else(|| anyhow!("the master's answer has no 'get_roles' field"))?;
    print!("{}", roles_table(&roles));
    for role in &roles.roles {
        if let Some(warning) = &role.quota_warning {
            println!("note: role {}: {warning}", role.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// "cpus:2;mem:1024" as a QuotaConfig map (`{"cpus": {"value": 2}}`); scalars only.
fn scalars(text: &str, flag: &str) -> anyhow::Result<BTreeMap<String, Scalar>> {
    let mut out = BTreeMap::new();
    for r in parse_resources(text).map_err(|e| anyhow!("{flag}: {e}"))? {
        let Some(scalar) = r
            .scalar
            .clone()
            .filter(|_| r.ranges.is_none() && r.set.is_none())
        else {
            bail!(
                "{flag}: quota takes scalar resources only, not '{}'",
                r.name
            );
        };
        if !r.reservations.is_empty() {
            bail!(
                "{flag}: quota is per role already; write '{}' without a role",
                r.name
            );
        }
        out.insert(r.name, scalar);
    }
    Ok(out)
}

fn map_text(map: &BTreeMap<String, Scalar>) -> String {
    let parts: Vec<String> = map
        .iter()
        .map(|(name, s)| format!("{name}:{}", s.value))
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join("; ")
    }
}

fn resources_text(list: &[Resource]) -> String {
    let summary = Resources::from_list(list).summary();
    if summary.is_empty() {
        "-".into()
    } else {
        summary
    }
}

fn role_row(role: &RoleEntry) -> [String; 7] {
    let (guarantee, limit) = match &role.quota {
        Some(q) => (map_text(&q.guarantees), map_text(&q.limits)),
        None => ("-".into(), "-".into()),
    };
    [
        role.name.clone(),
        role.weight.to_string(),
        guarantee,
        limit,
        resources_text(&role.allocated),
        resources_text(&role.reserved),
        format!("{:.3}", role.dominant_share),
    ]
}

pub fn roles_table(roles: &GetRoles) -> Table {
    let mut table = Table::new([
        "ROLE",
        "WEIGHT",
        "GUARANTEE",
        "LIMIT",
        "ALLOCATED",
        "RESERVED",
        "SHARE",
    ]);
    for role in &roles.roles {
        table.row(role_row(role));
    }
    table
}

/// `corral reserve` (`reserve`) and `corral unreserve`.
pub async fn reservation(args: ReserveArgs, reserve: bool) -> anyhow::Result<ExitCode> {
    let resources = dynamic_resources(&args.resources, args.principal.as_deref())?;
    let (kind, field) = if reserve {
        (OperatorCallType::ReserveResources, "reserve_resources")
    } else {
        (OperatorCallType::UnreserveResources, "unreserve_resources")
    };
    let payload = json!({ field: {"agent_id": {"value": args.agent_id}, "resources": resources} });
    client(&args.master).await?.call_with(kind, payload).await?;
    let done = if reserve { "reserved" } else { "unreserved" };
    println!(
        "{done} {} on agent {}",
        args.resources.trim(),
        args.agent_id
    );
    Ok(ExitCode::SUCCESS)
}

/// "cpus(eng):1" as resources with a DYNAMIC reservation for `eng` by `principal`.
fn dynamic_resources(text: &str, principal: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let parsed = parse_resources(text)?;
    if parsed.is_empty() {
        bail!("no resources given: write them as \"cpus(eng):1;mem(eng):256\"");
    }
    let mut out = Vec::new();
    for mut r in parsed {
        let Some(top) = r.reservations.last_mut() else {
            bail!(
                "'{}' has no role: write NAME(ROLE):VALUE, e.g. {}(eng):1",
                r.name,
                r.name
            );
        };
        top.kind = ReservationType::Dynamic;
        top.principal = principal.map(String::from);
        r.role = None;
        out.push(serde_json::to_value(&r)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_api::operator_roles::RoleQuota;

    #[test]
    fn the_table_shows_weight_quota_allocation_reservation_and_share() {
        let roles = GetRoles {
            roles: vec![RoleEntry {
                name: "eng".into(),
                weight: 3.0,
                allocated: parse_resources("cpus:1;mem:128").expect("parses"),
                reserved: parse_resources("cpus(eng):2").expect("parses"),
                quota: Some(RoleQuota {
                    role: "eng".into(),
                    guarantees: scalars("cpus:1", "g").expect("scalars"),
                    limits: scalars("cpus:4;mem:1024", "l").expect("scalars"),
                    consumed: BTreeMap::new(),
                }),
                dominant_share: 0.25,
                ..Default::default()
            }],
        };
        let text = roles_table(&roles).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ROLE"), "{text}");
        let row = lines[1];
        for cell in [
            "eng",
            "3",
            "cpus:1",
            "cpus:4; mem:1024",
            "cpus:1; mem:128",
            "cpus(eng):2",
            "0.250",
        ] {
            assert!(row.contains(cell), "{cell} in {row}");
        }
    }

    #[test]
    fn reserve_text_becomes_dynamic_reservations_and_needs_a_role() {
        let out = dynamic_resources("cpus(eng):1;mem(eng):256", Some("ops")).expect("parses");
        assert_eq!(out[0]["reservations"][0]["type"], "DYNAMIC");
        assert_eq!(out[0]["reservations"][0]["role"], "eng");
        assert_eq!(out[0]["reservations"][0]["principal"], "ops");
        let error = dynamic_resources("cpus:1", None).expect_err("no role");
        assert!(error.to_string().contains("cpus(eng):1"), "{error}");
        let error = scalars("ports:[1-2]", "--limit").expect_err("not scalar");
        assert!(error.to_string().contains("scalar"), "{error}");
    }
}
