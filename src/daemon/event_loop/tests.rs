//! The event loop's tests, on paused time: ticks and controls from channels, passes that
//! only sleep and record.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::time::Instant;

fn ticker(every: Duration) -> mpsc::Receiver<Tick> {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut i = tokio::time::interval(every);
        loop {
            i.tick().await;
            // As the real scheduler does: a full channel drops the tick.
            if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(Tick::Schedule) {
                return;
            }
        }
    });
    rx
}

/// Run the loop until a control message ends it, with passes of `each` that must never
/// overlap: each pass's start and tick, in order.
async fn recorded_passes(
    ticks: &mut mpsc::Receiver<Tick>,
    ctl: &mut mpsc::Receiver<Control>,
    each: Duration,
) -> (LoopExit, Vec<(Instant, Tick)>) {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let running = Arc::new(AtomicUsize::new(0));
    let (l, r) = (log.clone(), running.clone());
    let exit = event_loop(ticks, ctl, Duration::from_secs(1), |tick| {
        let (l, r) = (l.clone(), r.clone());
        async move {
            assert_eq!(r.fetch_add(1, Ordering::SeqCst), 0, "never overlapped");
            let at = Instant::now();
            tokio::time::sleep(each).await;
            l.lock().unwrap().push((at, tick));
            r.fetch_sub(1, Ordering::SeqCst);
        }
    })
    .await;
    let log = log.lock().unwrap().clone();
    (exit, log)
}

#[tokio::test(start_paused = true)]
async fn ticks_run_passes_on_schedule() {
    let mut ticks = ticker(Duration::from_secs(900));
    let (ctl_tx, mut ctl) = mpsc::channel(1);
    let passes = Arc::new(AtomicUsize::new(0));
    let counter = passes.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3 * 900 + 10)).await;
        let _ = ctl_tx.send(Control::Shutdown).await;
    });
    let exit = event_loop(&mut ticks, &mut ctl, Duration::from_secs(5), |_| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    })
    .await;
    assert_eq!(exit, LoopExit::Shutdown);
    // t = 0, 900, 1800, 2700.
    assert_eq!(passes.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn a_long_pass_is_never_overlapped_and_late_ticks_are_skipped() {
    let mut ticks = ticker(Duration::from_secs(60));
    let (ctl_tx, mut ctl) = mpsc::channel(1);
    let running = Arc::new(AtomicUsize::new(0));
    let max_running = Arc::new(AtomicUsize::new(0));
    let passes = Arc::new(AtomicUsize::new(0));
    let (r, m, p) = (running.clone(), max_running.clone(), passes.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(600)).await;
        let _ = ctl_tx.send(Control::Shutdown).await;
    });
    event_loop(&mut ticks, &mut ctl, Duration::from_secs(1), |_| {
        let (r, m, p) = (r.clone(), m.clone(), p.clone());
        async move {
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            // Each pass takes 150 s: two and a half schedule periods.
            tokio::time::sleep(Duration::from_secs(150)).await;
            r.fetch_sub(1, Ordering::SeqCst);
            p.fetch_add(1, Ordering::SeqCst);
        }
    })
    .await;
    assert_eq!(max_running.load(Ordering::SeqCst), 1);
    // Passes start at 0, 180, 360 (ticks at 60/120, 240/300... were dropped); the one
    // started at 540 is cut at the shutdown's grace.
    assert_eq!(passes.load(Ordering::SeqCst), 3);
}

/// How the loop ended when `control` arrived 1 s into its only pass, one of `pass`.
struct Interrupted {
    exit: LoopExit,
    started: usize,
    finished: usize,
    elapsed: Duration,
}

/// One schedule tick, a pass of `pass`, and `control` 1 s into it (so the pass has surely
/// started), with `grace` for a shutdown.
async fn control_during_a_pass(control: Control, grace: Duration, pass: Duration) -> Interrupted {
    let (tick_tx, mut ticks) = mpsc::channel(1);
    let (ctl_tx, mut ctl) = mpsc::channel(1);
    tick_tx.send(Tick::Schedule).await.unwrap();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let _ = ctl_tx.send(control).await;
    });
    let started = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let (s, f) = (started.clone(), finished.clone());
    let at = Instant::now();
    let exit = event_loop(&mut ticks, &mut ctl, grace, |_| {
        let (s, f) = (s.clone(), f.clone());
        async move {
            s.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(pass).await;
            f.fetch_add(1, Ordering::SeqCst);
        }
    })
    .await;
    Interrupted {
        exit,
        started: started.load(Ordering::SeqCst),
        finished: finished.load(Ordering::SeqCst),
        elapsed: at.elapsed(),
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_mid_pass_waits_for_the_pass_within_grace() {
    let run = control_during_a_pass(
        Control::Shutdown,
        Duration::from_secs(30),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(run.exit, LoopExit::Shutdown);
    assert_eq!(run.finished, 1, "the in-flight pass finished");
    assert_eq!(run.elapsed, Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_pass_stuck_past_grace_is_cut() {
    let run = control_during_a_pass(
        Control::Shutdown,
        Duration::from_secs(30),
        Duration::from_secs(3600),
    )
    .await;
    assert_eq!(run.exit, LoopExit::Shutdown);
    assert_eq!(run.started, 1, "the pass ran");
    assert_eq!(run.finished, 0, "and was cut");
    // Cut exactly at the grace period after the shutdown request.
    assert_eq!(run.elapsed, Duration::from_secs(31));
}

#[tokio::test(start_paused = true)]
async fn reload_mid_pass_lets_the_pass_finish_first() {
    let run = control_during_a_pass(
        Control::Reload,
        Duration::from_secs(1),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(run.exit, LoopExit::Reload);
    assert_eq!(run.finished, 1);
}

fn event(id: &str) -> Tick {
    Tick::Events(vec![AcmEvent {
        id: id.into(),
        detail_type: "ACM Certificate Available",
        action: Some("IMPORT".into()),
        resources: vec![],
    }])
}

#[tokio::test(start_paused = true)]
async fn events_during_a_pass_get_exactly_one_more_pass_and_schedule_ticks_do_not() {
    let (tick_tx, mut ticks) = mpsc::channel(8);
    let (ctl_tx, mut ctl) = mpsc::channel(1);
    tick_tx.send(Tick::Schedule).await.unwrap();
    tokio::spawn(async move {
        // During the first pass (0..10 s): a schedule tick and a burst of three events.
        tokio::time::sleep(Duration::from_secs(2)).await;
        tick_tx.send(Tick::Schedule).await.unwrap();
        for id in ["a", "b", "c"] {
            tick_tx.send(event(id)).await.unwrap();
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
        let _ = ctl_tx.send(Control::Shutdown).await;
    });
    let (_, log) = recorded_passes(&mut ticks, &mut ctl, Duration::from_secs(10)).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].1, Tick::Schedule);
    let Tick::Events(events) = &log[1].1 else {
        panic!("{log:?}")
    };
    let ids: Vec<_> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    // Right after the first pass, not at the next tick.
    assert_eq!(log[1].0 - log[0].0, Duration::from_secs(10));
}

/// Winning the lease during a standby's report (or a change window opening during a
/// pass) owes a pass: it runs right after the one in flight, where a late schedule tick is
/// dropped. Dropped, the new leader's first pass (which resumes the last leader's work)
/// would wait for the next scheduled tick.
#[tokio::test(start_paused = true)]
async fn a_pass_owed_during_a_pass_runs_right_after_it_and_a_late_schedule_tick_does_not() {
    let (tick_tx, mut ticks) = mpsc::channel(2);
    let (ctl_tx, mut ctl) = mpsc::channel(1);
    tick_tx.send(Tick::Schedule).await.unwrap();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        tick_tx.send(Tick::Schedule).await.unwrap();
        Tick::owe(&tick_tx);
        tokio::time::sleep(Duration::from_secs(60)).await;
        let _ = ctl_tx.send(Control::Shutdown).await;
    });
    let (_, log) = recorded_passes(&mut ticks, &mut ctl, Duration::from_secs(10)).await;
    let ticks: Vec<_> = log.iter().map(|(_, t)| t.clone()).collect();
    assert_eq!(ticks, [Tick::Schedule, Tick::Due]);
    assert_eq!(log[1].0 - log[0].0, Duration::from_secs(10));
}

/// An owed pass is not lost to a channel full of schedule ticks: it waits for room.
#[tokio::test]
async fn a_pass_owed_waits_for_room_in_a_full_channel() {
    let (tick_tx, mut ticks) = mpsc::channel(1);
    tick_tx.send(Tick::Schedule).await.unwrap();
    Tick::owe(&tick_tx);
    assert_eq!(ticks.recv().await, Some(Tick::Schedule));
    let owed = tokio::time::timeout(Duration::from_secs(5), ticks.recv()).await;
    assert_eq!(owed, Ok(Some(Tick::Due)));
}

#[tokio::test(start_paused = true)]
async fn ticks_waiting_together_make_one_pass_that_names_the_events() {
    let (tick_tx, mut ticks) = mpsc::channel(8);
    let (ctl_tx, mut ctl) = mpsc::channel(1);
    tick_tx.send(event("a")).await.unwrap();
    tick_tx.send(Tick::Schedule).await.unwrap();
    tick_tx.send(event("b")).await.unwrap();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        let _ = ctl_tx.send(Control::Shutdown).await;
    });
    let (_, log) = recorded_passes(&mut ticks, &mut ctl, Duration::ZERO).await;
    assert!(
        matches!(&log[..], [(_, Tick::Events(e))] if e.len() == 2),
        "{log:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_reload_during_a_pass_still_answers_the_events_that_came_with_it() {
    let (tick_tx, mut ticks) = mpsc::channel(8);
    let (ctl_tx, mut ctl) = mpsc::channel(1);
    tick_tx.send(Tick::Schedule).await.unwrap();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        tick_tx.send(event("a")).await.unwrap();
        let _ = ctl_tx.send(Control::Reload).await;
        // Keep the channel open.
        tokio::time::sleep(Duration::from_secs(3600)).await;
    });
    let (exit, passes) = recorded_passes(&mut ticks, &mut ctl, Duration::from_secs(5)).await;
    assert_eq!(exit, LoopExit::Reload);
    assert_eq!(passes.len(), 2);
}
