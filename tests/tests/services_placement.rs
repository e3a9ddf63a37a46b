//! Placement with real processes: UNIQUE, GROUP_BY and MAX_PER on three agents with a `rack`
//! attribute; an app no offer fits waits in `/v2/queue` with the reason (the resource it is
//! short of, or the constraint); and a task that keeps failing is relaunched after a launch
//! delay that grows by `backoffFactor`.

use std::collections::BTreeMap;

use corral_e2e::{Cluster, eventually};
use reqwest::Method;
use serde_json::{Value, json};

/// Agent id to its `rack` attribute.
async fn racks(master: &str) -> BTreeMap<String, String> {
    let agents = corral_e2e::operator(master, "GET_AGENTS")
        .await
        .expect("GET_AGENTS");
    agents["get_agents"]["agents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let id = a["agent_info"]["id"]["value"].as_str()?.to_string();
            let rack = a["agent_info"]["attributes"]
                .as_array()?
                .iter()
                .find(|attr| attr["name"] == "rack")?["text"]["value"]
                .as_str()?
                .to_string();
            Some((id, rack))
        })
        .collect()
}

/// How many tasks of `tasks` run on each rack.
fn per_rack(tasks: &[Value], racks: &BTreeMap<String, String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for task in tasks {
        let rack = task["slaveId"]
            .as_str()
            .and_then(|id| racks.get(id))
            .cloned()
            .unwrap_or_default();
        *counts.entry(rack).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_group_by_and_max_per_spread_tasks_over_racks() {
    let mut cluster = Cluster::master(&[]).await;
    for (i, rack) in ["r1", "r2", "r3"].iter().enumerate() {
        let ports = format!("ports:[{}-{}]", 33000 + i * 100, 33099 + i * 100);
        cluster
            .add_agent(
                &format!("cpus:2;mem:2048;disk:1024;{ports}"),
                &["--attributes", &format!("rack:{rack}")],
            )
            .await;
    }
    let services = cluster.start_services(&[]).await;
    let racks = racks(&cluster.master_addr).await;
    assert_eq!(racks.len(), 3);
    let app = |id: &str, instances: u32, constraint: Value| {
        json!({"id": id, "cmd": "sleep 1000", "instances": instances, "cpus": 0.05, "mem": 32,
               "constraints": [constraint]})
    };
    for body in [
        app("/unique", 3, json!(["rack", "UNIQUE"])),
        app("/grouped", 6, json!(["rack", "GROUP_BY", "3"])),
        app("/capped", 4, json!(["rack", "MAX_PER", "2"])),
    ] {
        let created = services.call(Method::POST, "/v2/apps", Some(&body)).await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let unique = per_rack(&services.settled("/unique", 3, None).await, &racks);
    assert_eq!(unique.values().copied().collect::<Vec<_>>(), [1, 1, 1]);
    let grouped = per_rack(&services.settled("/grouped", 6, None).await, &racks);
    assert_eq!(grouped.values().copied().collect::<Vec<_>>(), [2, 2, 2]);
    let capped = per_rack(&services.settled("/capped", 4, None).await, &racks);
    assert!(capped.values().all(|n| *n <= 2), "{capped:?}");

    // A fourth unique task has no rack left: it waits, for its constraint.
    let more = services
        .call(
            Method::PUT,
            "/v2/apps/unique",
            Some(&json!({"instances": 4})),
        )
        .await;
    assert_eq!(more.status, 200);
    let waiting = eventually(30, "the unique app to wait for its constraint", || {
        let services = &services;
        async move {
            let queue = services.get("/v2/queue").await.body;
            let item = queue["queue"]
                .as_array()?
                .iter()
                .find(|q| q["app"]["id"] == "/unique")?
                .clone();
            let declined =
                item["processedOffersSummary"]["rejectSummaryLaunchAttempt"][1]["declined"]
                    .as_u64()?;
            (declined > 0).then_some(item)
        }
    })
    .await;
    assert_eq!(waiting["count"], 1);
    assert_eq!(
        waiting["processedOffersSummary"]["rejectSummaryLaunchAttempt"][1]["reason"],
        "UnfulfilledConstraint"
    );
    assert_eq!(services.tasks_of("/unique").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_too_big_waits_with_the_resource_it_lacks() {
    let mut cluster = Cluster::master(&[]).await;
    cluster
        .add_agent("cpus:1;mem:1024;disk:1024;ports:[33400-33499]", &[])
        .await;
    let services = cluster.start_services(&[]).await;
    let big = json!({"id": "/big", "cmd": "sleep 1000", "cpus": 0.5, "mem": 4096});
    assert_eq!(
        services
            .call(Method::POST, "/v2/apps", Some(&big))
            .await
            .status,
        201
    );
    let item = eventually(30, "the big app in the queue with a reason", || {
        let services = &services;
        async move {
            let queue = services.get("/v2/queue?embed=lastUnusedOffers").await.body;
            let item = queue["queue"].as_array()?.first()?.clone();
            (item["processedOffersSummary"]["unusedOffersCount"].as_u64()? > 0).then_some(item)
        }
    })
    .await;
    let steps = item["processedOffersSummary"]["rejectSummaryLastOffers"]
        .as_array()
        .expect("steps");
    let memory = steps
        .iter()
        .find(|s| s["reason"] == "InsufficientMemory")
        .expect("a memory step");
    assert_eq!(memory["declined"], 1, "{item}");
    let cpus = steps
        .iter()
        .find(|s| s["reason"] == "InsufficientCpus")
        .expect("a cpus step");
    assert_eq!(cpus["declined"], 0, "enough cpus");
    assert_eq!(
        item["lastUnusedOffers"][0]["reason"],
        json!(["InsufficientMemory"])
    );
    // The offer it could not use, as Marathon shows it: the memory it is short of is there.
    let offer = &item["lastUnusedOffers"][0]["offer"];
    let mem = offer["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "mem"))
        .expect("the offer's memory");
    assert_eq!(mem["scalar"], 1024.0, "{offer}");
    assert_eq!(mem["role"], "*");
    assert!(offer["agentId"].is_string() && offer["hostname"].is_string());
    assert_eq!(item["count"], 1);
    assert!(item["since"].as_str().is_some_and(|s| s.ends_with('Z')));
    assert_eq!(
        item["delay"],
        json!({"timeLeftSeconds": 0, "overdue": true})
    );
    // Without the embed, no offers are listed.
    let plain = services.get("/v2/queue").await.body;
    assert!(plain["queue"][0].get("lastUnusedOffers").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_task_is_relaunched_after_a_growing_delay() {
    let mut cluster = Cluster::master(&[]).await;
    cluster
        .add_agent("cpus:1;mem:1024;disk:1024;ports:[33500-33599]", &[])
        .await;
    let services = cluster.start_services(&[]).await;
    let events = services.subscribe("?event_type=status_update_event").await;
    let failing = json!({"id": "/failing", "cmd": "sleep 0.2; exit 1", "cpus": 0.1, "mem": 16,
        "backoffSeconds": 1, "backoffFactor": 2, "maxLaunchDelaySeconds": 60});
    assert_eq!(
        services
            .call(Method::POST, "/v2/apps", Some(&failing))
            .await
            .status,
        201
    );
    // Each failure, and how long after it the next task of the app first reported.
    let relaunch_delays = eventually(60, "three relaunches after failures", || {
        let events = &events;
        async move {
            let updates = events.of_type("status_update_event");
            let mut first_seen: Vec<(String, u64)> = Vec::new();
            let mut failed_at: Vec<(String, u64)> = Vec::new();
            for update in &updates {
                let (Some(task), Some(at)) = (
                    update["taskId"].as_str(),
                    update["timestamp"].as_str().map(millis),
                ) else {
                    continue;
                };
                if !first_seen.iter().any(|(seen, _)| seen == task) {
                    first_seen.push((task.to_string(), at));
                }
                if update["taskStatus"] == "TASK_FAILED" {
                    failed_at.push((task.to_string(), at));
                }
            }
            let delays: Vec<u64> = failed_at
                .iter()
                .filter_map(|(task, failed)| {
                    let next = first_seen.iter().position(|(seen, _)| seen == task)? + 1;
                    first_seen
                        .get(next)
                        .map(|(_, started)| started.saturating_sub(*failed))
                })
                .collect();
            (delays.len() >= 3).then_some(delays)
        }
    })
    .await;
    // Launch delays of 1 s, 2 s and 4 s; the relaunch waits for the next offer after the delay
    // (offers come about once a second), so only the lower bounds are exact.
    assert!(relaunch_delays[0] >= 950, "{relaunch_delays:?}");
    assert!(relaunch_delays[1] >= 1950, "{relaunch_delays:?}");
    assert!(relaunch_delays[2] >= 3950, "{relaunch_delays:?}");
    // The delay grows: a fixed long delay would pass the bounds above, not this.
    assert!(
        relaunch_delays[0] + 1000 < relaunch_delays[2],
        "{relaunch_delays:?}"
    );
    let shown = services.get("/v2/apps/failing").await.body;
    assert_eq!(shown["app"]["lastTaskFailure"]["state"], "TASK_FAILED");
}

/// Milliseconds of an ISO 8601 timestamp of the same day (enough for gaps).
fn millis(text: &str) -> u64 {
    let clock = text
        .split('T')
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches('Z');
    let mut parts = clock.split(':');
    let h: f64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0.0);
    let m: f64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0.0);
    let s: f64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0.0);
    ((h * 3600.0 + m * 60.0 + s) * 1000.0) as u64
}
