//! Measure 6: the latency of one page of the caller's work items on DynamoDB Local while the
//! table holds few or many items of other users. A Query on the caller's partition stays flat.

use std::{path::Path, time::Instant};

use auth_core::{
    config::Config,
    dynamodb::{WORK_ITEMS_TABLE, WorkItemTable, create_table_if_absent, delete_table},
    wiring,
    work::{ListWorkItems, PageRequest, WorkItem},
};
use aws_sdk_dynamodb::{
    Client,
    types::{PutRequest, WriteRequest},
};
use serde_json::json;
use tokio::task::JoinSet;

use crate::{Error, write_json};

const ITEMS_OF_CALLER: usize = 50;
const CALLER: &str = "01JBENCHCALLER0000000000000";
/// Other users' items are spread over this many owners.
const OTHER_OWNERS: usize = 1_000;

pub async fn run(out: &Path, others: &[usize], samples: usize) -> Result<(), Error> {
    let client = wiring::aws(&Config::from_process()).dynamodb();
    let name = format!("bench-work-{}", ulid::Ulid::new().to_string().to_lowercase());
    create_table_if_absent(&client, &name, &WORK_ITEMS_TABLE).await?;
    let table = WorkItemTable::new(client.clone(), name.clone());
    let result = measure(&client, &name, &table, others, samples).await;
    delete_table(&client, &name).await?;
    let runs = result?;
    write_json(out, &json!({ "items_of_caller": ITEMS_OF_CALLER, "runs": runs }))
}

async fn measure(
    client: &Client,
    name: &str,
    table: &WorkItemTable,
    others: &[usize],
    samples: usize,
) -> Result<Vec<serde_json::Value>, Error> {
    seed(client, name, (0..ITEMS_OF_CALLER).map(|i| item(CALLER.into(), i))).await?;
    let page = PageRequest { limit: ITEMS_OF_CALLER as u32, cursor: None };
    let mut seeded = 0;
    let mut runs = vec![];
    for &target in others {
        let owner = |i: usize| format!("01JBENCHOTHER{:014}", i % OTHER_OWNERS);
        seed(client, name, (seeded..target).map(|i| item(owner(i), i))).await?;
        seeded = seeded.max(target);
        let mut latency_ms = Vec::with_capacity(samples);
        for _ in 0..samples {
            let started = Instant::now();
            let listed = table.list_work_items(CALLER, &page).await?;
            latency_ms.push(started.elapsed().as_secs_f64() * 1e3);
            assert_eq!(listed.items.len(), ITEMS_OF_CALLER, "the page holds all of the caller's items");
        }
        runs.push(json!({ "others": target, "latency_ms": latency_ms }));
    }
    Ok(runs)
}

fn item(user_id: String, i: usize) -> WorkItem {
    WorkItem {
        user_id,
        item_id: ulid::Ulid::from_parts(1_790_000_000_000 + i as u64, i as u128).to_string(),
        title: format!("work item {i}"),
        created_at: "2026-11-29T00:00:00Z".into(),
    }
}

/// Writes items in batches of 25, several batches in flight.
async fn seed(client: &Client, table: &str, items: impl Iterator<Item = WorkItem>) -> Result<(), Error> {
    let items: Vec<WorkItem> = items.collect();
    let mut in_flight = JoinSet::new();
    for chunk in items.chunks(25) {
        let requests = chunk
            .iter()
            .map(|item| {
                let put = PutRequest::builder().set_item(Some(serde_dynamo::to_item(item)?)).build()?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let (client, table) = (client.clone(), table.to_owned());
        in_flight.spawn(async move {
            let mut pending = requests;
            while !pending.is_empty() {
                let output = client.batch_write_item().request_items(&table, pending).send().await?;
                pending = output.unprocessed_items.and_then(|mut u| u.remove(&table)).unwrap_or_default();
            }
            Ok::<_, Error>(())
        });
        if in_flight.len() >= 8 {
            in_flight.join_next().await.expect("a task is in flight")??;
        }
    }
    while let Some(done) = in_flight.join_next().await {
        done??;
    }
    Ok(())
}
