//! The state on DynamoDB: one item per domain record and per rollout, so a steady pass reads
//! the whole state with one `Query` and writes only what changed. Every write is conditional
//! on the version it was read at; a conflict re-reads and re-applies the change, so no two
//! writers lose each other's change. While a lease is in use, writes are fenced on it.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::error::StateError;
use super::records::{DomainRecord, RolloutRecord, State};
use crate::aws::dynamodb::{StateTable, StoredItem, Write, WriteError};
use crate::lease::FenceSlot;

const DOMAIN: &str = "domain#";
const ROLLOUT: &str = "rollout#";
/// How long an idle record (nothing in flight, nothing denylisted, no backoff) is kept after
/// its last change before DynamoDB's TTL may remove it.
const IDLE_KEEP_SECS: i64 = 400 * 86_400;
/// Records one write may change: DynamoDB's 100 items per transaction, less the lease fence.
/// Changes to many records are made in batches ([`super::StateStore::update_in_batches`]).
const MAX_WRITES: usize = 99;
/// Re-reads after conflicting writes before giving up.
const ATTEMPTS: u32 = 8;

/// The state as last read or written, with each record's version.
#[derive(Debug, Default, Clone)]
struct Cached {
    state: State,
    versions: BTreeMap<String, u64>,
}

/// The DynamoDB state store.
#[derive(Debug)]
pub struct DynamoStore {
    table: StateTable,
    fence: Option<Arc<FenceSlot>>,
    cache: Mutex<Option<Cached>>,
}

impl DynamoStore {
    /// A store on `table`; with `fence`, every write requires this process to hold the lease.
    pub fn new(table: StateTable, fence: Option<Arc<FenceSlot>>) -> DynamoStore {
        DynamoStore {
            table,
            fence,
            cache: Mutex::new(None),
        }
    }

    /// The adapter of the table the records live in.
    pub fn table(&self) -> &StateTable {
        &self.table
    }

    /// The current state (one strongly consistent read of the state partition).
    pub async fn snapshot(&self) -> Result<State, StateError> {
        let mut cache = self.cache.lock().await;
        let fresh = self.load().await?;
        let state = fresh.state.clone();
        *cache = Some(fresh);
        Ok(state)
    }

    async fn load(&self) -> Result<Cached, StateError> {
        let items = self.table.load().await?;
        parse(&items)
    }

    /// Apply `change` and write the records it changed, conditionally. On a conflict the
    /// state is read again and `change` applied again (it may run more than once).
    pub async fn update<F>(&self, mut change: F) -> Result<(), StateError>
    where
        F: FnMut(&mut State),
    {
        let mut cache = self.cache.lock().await;
        let mut base = match cache.take() {
            Some(c) => c,
            None => self.load().await?,
        };
        for _ in 0..ATTEMPTS {
            let mut next = base.state.clone();
            change(&mut next);
            let writes = diff(&base, &next)?;
            if writes.is_empty() {
                *cache = Some(base);
                return Ok(());
            }
            if writes.len() > MAX_WRITES {
                *cache = Some(base);
                return Err(StateError::TooManyRecords(writes.len()));
            }
            let fence = match &self.fence {
                None => None,
                Some(slot) => Some(slot.current().ok_or(StateError::NotLeader)?),
            };
            match self.table.write(&writes, fence.as_ref()).await {
                Ok(()) => {
                    let mut versions = base.versions;
                    for w in &writes {
                        match w {
                            Write::Put { key, expect, .. } => {
                                versions.insert(key.clone(), expect.map_or(1, |v| v + 1));
                            }
                            Write::Delete { key, .. } => {
                                versions.remove(key);
                            }
                        }
                    }
                    *cache = Some(Cached {
                        state: next,
                        versions,
                    });
                    return Ok(());
                }
                Err(WriteError::Conflict) => base = self.load().await?,
                Err(WriteError::Fenced) => {
                    *cache = None;
                    return Err(StateError::NotLeader);
                }
                Err(WriteError::Aws(e)) => {
                    *cache = None;
                    return Err(e.into());
                }
            }
        }
        *cache = None;
        Err(StateError::Contended(ATTEMPTS))
    }
}

impl DynamoStore {
    /// `state check`: every record of the table, and those that do not parse.
    pub async fn check(&self) -> Result<super::decode::Checked, StateError> {
        let items = self.table.load().await?;
        let mut checked = super::decode::Checked::default();
        for item in &items {
            checked.records += 1;
            if let Err(StateError::Corrupt { key, why }) = parse(std::slice::from_ref(item)) {
                checked.damage.push(super::decode::Damage {
                    record: key,
                    line: None,
                    why,
                });
            }
        }
        Ok(checked)
    }
}

fn parse(items: &[StoredItem]) -> Result<Cached, StateError> {
    let mut out = Cached::default();
    out.state.version = 1;
    for item in items {
        let corrupt = |e: serde_json::Error| StateError::Corrupt {
            key: item.key.clone(),
            why: e.to_string(),
        };
        if let Some(domain) = item.key.strip_prefix(DOMAIN) {
            let record: DomainRecord = serde_json::from_str(&item.body).map_err(corrupt)?;
            out.state.domains.insert(domain.to_string(), record);
        } else if let Some(key) = item.key.strip_prefix(ROLLOUT) {
            let record: RolloutRecord = serde_json::from_str(&item.body).map_err(corrupt)?;
            out.state.rollouts.insert(key.to_string(), record);
        } else {
            // A record kind a newer version wrote: left alone.
            continue;
        }
        out.versions.insert(item.key.clone(), item.version);
    }
    Ok(out)
}

/// Each record as (sort key → JSON, TTL).
fn records(state: &State) -> Result<BTreeMap<String, (String, Option<i64>)>, StateError> {
    let json = |key: &str, v: Result<String, serde_json::Error>| {
        v.map_err(|e| StateError::Corrupt {
            key: key.to_string(),
            why: e.to_string(),
        })
    };
    let mut out = BTreeMap::new();
    for (domain, r) in &state.domains {
        let key = format!("{DOMAIN}{domain}");
        let idle = r.pending.is_none() && r.denylist.is_empty() && r.failures == 0;
        let expires = r
            .last
            .as_ref()
            .filter(|_| idle)
            .map(|l| l.finished_at.timestamp() + IDLE_KEEP_SECS);
        let body = json(&key, serde_json::to_string(r))?;
        out.insert(key, (body, expires));
    }
    for (k, r) in &state.rollouts {
        let key = format!("{ROLLOUT}{k}");
        let body = json(&key, serde_json::to_string(r))?;
        out.insert(key, (body, None));
    }
    Ok(out)
}

/// The writes that turn `base` into `next`.
fn diff(base: &Cached, next: &State) -> Result<Vec<Write>, StateError> {
    let before = records(&base.state)?;
    let after = records(next)?;
    let mut writes = Vec::new();
    for (key, (body, expires_at)) in &after {
        if before.get(key).map(|(b, _)| b) == Some(body) {
            continue;
        }
        writes.push(Write::Put {
            key: key.clone(),
            body: body.clone(),
            expect: base.versions.get(key).copied(),
            expires_at: *expires_at,
        });
    }
    for key in before.keys() {
        if !after.contains_key(key) {
            if let Some(v) = base.versions.get(key) {
                writes.push(Write::Delete {
                    key: key.clone(),
                    expect: *v,
                });
            }
        }
    }
    Ok(writes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(domains: &[(&str, u32)]) -> Cached {
        let mut c = Cached::default();
        for (d, failures) in domains {
            c.state.domains.insert(
                (*d).to_string(),
                DomainRecord {
                    failures: *failures,
                    ..DomainRecord::default()
                },
            );
            c.versions.insert(format!("{DOMAIN}{d}"), 3);
        }
        c
    }

    #[test]
    fn an_unchanged_state_writes_nothing() {
        let base = cached(&[("a.example.com", 1), ("b.example.com", 0)]);
        assert!(diff(&base, &base.state.clone()).unwrap().is_empty());
    }

    #[test]
    fn only_changed_records_are_written_each_on_the_version_it_was_read_at() {
        let base = cached(&[("a.example.com", 1), ("b.example.com", 0)]);
        let mut next = base.state.clone();
        next.domains.get_mut("a.example.com").unwrap().failures = 2;
        next.domains.remove("b.example.com");
        next.domains
            .insert("c.example.com".into(), DomainRecord::default());
        let writes = diff(&base, &next).unwrap();
        assert_eq!(writes.len(), 3, "{writes:?}");
        assert!(writes.contains(&Write::Delete {
            key: "domain#b.example.com".into(),
            expect: 3
        }));
        assert!(writes.iter().any(|w| matches!(w,
            Write::Put { key, expect: Some(3), .. } if key == "domain#a.example.com")));
        assert!(writes.iter().any(|w| matches!(w,
            Write::Put { key, expect: None, .. } if key == "domain#c.example.com")));
    }

    #[test]
    fn a_record_that_does_not_parse_is_an_error_not_an_empty_state() {
        let items = [StoredItem {
            key: "domain#a.example.com".into(),
            body: "{\"pending\": 42}".into(),
            version: 1,
        }];
        let err = parse(&items).unwrap_err().to_string();
        assert!(err.contains("domain#a.example.com"), "{err}");
    }
}
