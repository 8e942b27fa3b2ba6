//! The DynamoDB state store and lease as a library, against the emulator's DynamoDB: the
//! store's conditional writes under racing writers, the lease's fence, and takeovers. The
//! replicas of the real binary are in `ha.rs`.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use cognito_cert_rotator::clock::{SharedClock, SystemClock, TokioClock};
use cognito_cert_rotator::lease::{Acquire, FenceSlot, Lease};
use cognito_cert_rotator::state::{DynamoStore, StateError};
use support::{dynamo_world, state_table, DOMAIN, STATE_TABLE};

#[tokio::test]
async fn racing_writers_never_lose_each_others_change() {
    let (w, _config) = dynamo_world(&[]).await;
    let a = DynamoStore::new(state_table(&w.emu), None);
    let b = DynamoStore::new(state_table(&w.emu), None);
    // Both read the same state; then each changes the same record.
    a.snapshot().await.unwrap();
    b.snapshot().await.unwrap();
    b.update(|s| s.domains.entry(DOMAIN.into()).or_default().failures = 3)
        .await
        .unwrap();
    let mut applied = 0;
    a.update(|s| {
        applied += 1;
        s.domains.entry(DOMAIN.into()).or_default().last_error = Some("from a".into());
    })
    .await
    .unwrap();
    assert_eq!(applied, 2, "a's stale write conflicted and was re-applied");
    let record = w.emu.table_record(STATE_TABLE, DOMAIN).await;
    assert_eq!(record["failures"], 3, "{record}");
    assert_eq!(record["last_error"], "from a", "{record}");

    // Many concurrent writers on distinct and shared records: every change lands.
    let store = Arc::new(DynamoStore::new(state_table(&w.emu), None));
    let mut tasks = Vec::new();
    for i in 0..8u32 {
        let s = Arc::new(DynamoStore::new(state_table(&w.emu), None));
        tasks.push(tokio::spawn(async move {
            s.update(|st| {
                st.domains
                    .entry(format!("d{i}.example.com"))
                    .or_default()
                    .failures = i + 1;
                let shared = st.domains.entry("shared.example.com".into()).or_default();
                shared.skip_passes += 1;
            })
            .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let state = store.snapshot().await.unwrap();
    assert_eq!(state.domains["shared.example.com"].skip_passes, 8);
    for i in 0..8u32 {
        assert_eq!(state.domains[&format!("d{i}.example.com")].failures, i + 1);
    }
}

#[tokio::test]
async fn a_stale_leader_can_write_nothing_once_another_took_the_lease() {
    let (w, _config) = dynamo_world(&[]).await;
    let clock: SharedClock = Arc::new(SystemClock);
    let slot = Arc::new(FenceSlot::default());
    let old = Lease::new(
        state_table(&w.emu),
        Duration::from_secs(30),
        slot.clone(),
        clock,
    );
    assert!(matches!(
        old.try_acquire().await.unwrap(),
        Acquire::Acquired { epoch: 1, .. }
    ));
    let store = DynamoStore::new(state_table(&w.emu), Some(slot));
    store
        .update(|s| s.domains.entry(DOMAIN.into()).or_default().failures = 1)
        .await
        .unwrap();
    // Another replica whose clock is an hour on sees the lease as run out and takes it.
    let later: SharedClock = Arc::new(TokioClock::starting_at(
        chrono::Utc::now() + chrono::Duration::hours(1),
    ));
    let new = Lease::new(
        state_table(&w.emu),
        Duration::from_secs(30),
        Arc::new(FenceSlot::default()),
        later,
    );
    assert!(matches!(
        new.try_acquire().await.unwrap(),
        Acquire::Acquired { epoch: 2, .. }
    ));
    // The old leader still trusts its lease locally, but the fence stops its write.
    assert!(old.leading());
    let err = store
        .update(|s| s.domains.entry(DOMAIN.into()).or_default().failures = 99)
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::NotLeader), "{err}");
    assert_eq!(w.emu.table_record(STATE_TABLE, DOMAIN).await["failures"], 1);
}

#[tokio::test]
async fn a_takeover_never_overwrites_a_lease_renewed_after_it_was_read() {
    use cognito_cert_rotator::aws::lease_table::{Fence, LeaseCondition, LeaseItem};
    let (w, _config) = dynamo_world(&[]).await;
    let leases = state_table(&w.emu).leases(Duration::from_secs(5));
    let now = chrono::Utc::now().timestamp_millis();
    let item = |holder: &str, expires_ms: i64, epoch: u64| LeaseItem {
        holder: holder.to_string(),
        host: "h".to_string(),
        expires_ms,
        epoch,
    };
    let a = Fence {
        holder: "a".to_string(),
        epoch: 1,
    };
    // A's lease ran out; B reads it and is about to take it over.
    assert!(leases
        .put_lease(&item("a", now - 1_000, 1), &LeaseCondition::Absent)
        .await
        .unwrap());
    // Meanwhile A renews it (same holder and epoch, a later expiry).
    assert!(leases
        .put_lease(&item("a", now + 30_000, 1), &LeaseCondition::Is(a.clone()))
        .await
        .unwrap());
    // B's takeover, conditioned on what it read and on the lease being expired, is refused.
    let took = leases
        .put_lease(
            &item("b", now + 30_000, 2),
            &LeaseCondition::Expired {
                fence: a.clone(),
                now_ms: now,
            },
        )
        .await
        .unwrap();
    assert!(!took, "a renewed lease was overwritten");
    assert_eq!(leases.lease().await.unwrap().unwrap().holder, "a");
    // Once it has really run out, the takeover goes through.
    assert!(leases
        .put_lease(
            &item("b", now + 60_000, 2),
            &LeaseCondition::Expired {
                fence: a,
                now_ms: now + 31_000,
            },
        )
        .await
        .unwrap());
    assert_eq!(leases.lease().await.unwrap().unwrap().holder, "b");
}

#[tokio::test]
async fn a_lease_retaken_after_its_trust_ran_out_moves_to_the_next_epoch() {
    let (w, _config) = dynamo_world(&[]).await;
    let slot = Arc::new(FenceSlot::default());
    let clock: SharedClock = Arc::new(SystemClock);
    let lease = Lease::new(state_table(&w.emu), Duration::from_secs(2), slot, clock);
    let epoch = |a: Acquire| match a {
        Acquire::Acquired { epoch, .. } => epoch,
        Acquire::Held(item) => panic!("held by {item:?}"),
    };
    assert_eq!(epoch(lease.try_acquire().await.unwrap()), 1);
    // Taken again while still trusted: the same epoch (work in flight goes on).
    assert_eq!(epoch(lease.try_acquire().await.unwrap()), 1);
    // Paused past its trust (three quarters of the lease), though the item is still its own:
    // re-taken at the next epoch, so work begun before the pause sends nothing more.
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    assert_eq!(lease.epoch(), None);
    assert_eq!(epoch(lease.try_acquire().await.unwrap()), 2);
    assert_eq!(lease.epoch(), Some(2));
}
