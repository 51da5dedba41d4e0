//! `livetel::channel`: every path of each channel kind is counted, so `sent = received + dropped + depth` holds
//! at quiet moments (one receiver), the depth is what tokio holds, bounded sends that wait are counted as
//! backpressure, and a channel made under livetel's subscriber is listed in its status.
#![cfg(feature = "profiling")]

mod common;

use common::Fixture;
use livetel::channel::{ChannelCounts, broadcast, mpsc, watch};

fn balanced(c: &ChannelCounts) {
    assert_eq!(c.sent, c.received + c.dropped + c.queue_depth, "{c:?}");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn bounded_mpsc_counts_every_path() {
    runtime().block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>("bounded", 2);
        tx.send(1).await.unwrap();
        tx.try_send(2).unwrap();
        assert!(tx.try_send(3).is_err(), "full");
        let c = tx.counts();
        assert_eq!((c.sent, c.received, c.dropped, c.queue_depth), (3, 0, 1, 2));
        assert_eq!(c.queue_depth as usize, rx.len());
        balanced(&c);

        // A send that waits for room is backpressure.
        let waiting = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(4).await }
        });
        while tx.counts().sent < 4 {
            tokio::task::yield_now().await;
        }
        assert_eq!(rx.recv().await, Some(1));
        waiting.await.unwrap().unwrap();
        assert_eq!(rx.recv().await, Some(2));
        let c = rx.counts();
        assert_eq!(
            (c.sent, c.received, c.queue_depth, c.backpressure_waits),
            (4, 2, 1, 1)
        );
        balanced(&c);

        // The receiver goes with a value queued; later sends are refused.
        drop(rx);
        assert!(tx.send(5).await.is_err());
        let c = tx.counts();
        assert_eq!((c.sent, c.received, c.dropped, c.queue_depth), (5, 2, 3, 0));
        balanced(&c);
    });
}

#[test]
fn unbounded_mpsc_balances_across_threads() {
    let (tx, mut rx) = mpsc::unbounded_channel::<u64>("unbounded");
    let senders: Vec<_> = (0..4)
        .map(|t| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..1000 {
                    tx.send(t * 1000 + i).unwrap();
                }
            })
        })
        .collect();
    let mut got = 0;
    while got < 2500 {
        if rx.blocking_recv().is_some() {
            got += 1;
        }
    }
    for s in senders {
        s.join().unwrap();
    }
    let c = tx.counts();
    assert_eq!((c.sent, c.received, c.queue_depth), (4000, 2500, 1500));
    assert_eq!(rx.len(), 1500);
    balanced(&c);
    drop(rx);
    let c = tx.counts();
    assert_eq!((c.dropped, c.queue_depth), (1500, 0));
    balanced(&c);
}

#[test]
fn broadcast_counts_lag_as_dropped() {
    runtime().block_on(async {
        let (tx, mut rx) = broadcast::channel::<u32>("broadcast", 2);
        for i in 0..5 {
            tx.send(i).unwrap();
        }
        // Capacity 2: the receiver lagged by 3, then gets the last two.
        assert!(rx.recv().await.is_err());
        assert_eq!(rx.recv().await.unwrap(), 3);
        let c = tx.counts();
        assert_eq!((c.sent, c.received, c.dropped, c.queue_depth), (5, 1, 3, 1));
        balanced(&c);
        drop(rx);
        assert!(tx.send(9).is_err(), "no receiver");
        let c = tx.counts();
        assert_eq!((c.sent, c.received, c.dropped, c.queue_depth), (6, 1, 5, 0));
        balanced(&c);
    });
}

#[test]
fn watch_counts_replaced_values_as_dropped() {
    runtime().block_on(async {
        let (tx, mut rx) = watch::channel::<u32>("watch", 0);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        tx.send(3).unwrap();
        balanced(&tx.counts());
        rx.changed().await.unwrap();
        assert_eq!(*rx.borrow(), 3);
        let c = tx.counts();
        assert_eq!((c.sent, c.received, c.dropped, c.queue_depth), (3, 1, 2, 0));
        tx.send(4).unwrap();
        assert_eq!(*rx.borrow_and_update(), 4);
        let c = rx.counts();
        assert_eq!((c.sent, c.received, c.dropped, c.queue_depth), (4, 2, 2, 0));
        drop(rx);
        assert!(tx.send(5).is_err());
        balanced(&tx.counts());
    });
}

#[test]
fn channels_made_under_livetel_are_in_its_status() {
    let f = Fixture::new("watch = false\n[telemetry.profiling]\ncpu_time = true");
    let t = f.start();
    let (tx, mut rx) = tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        mpsc::unbounded_channel::<u8>("work_queue")
    });
    let (_outside, _) = mpsc::unbounded_channel::<u8>("outside");
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(rx.try_recv().unwrap(), 1);
    // Status is published at reloads and state changes: ask for one.
    let _ = t.reload_trigger().reload_blocking();
    let status = t.status().borrow().clone();
    let p = status.profiling.as_ref().expect("profiling on");
    let names: Vec<&str> = p.channels.iter().map(|c| c.name).collect();
    assert_eq!(names, ["work_queue"], "{:?}", p.channels);
    let c = &p.channels[0];
    assert_eq!(
        (c.kind, c.sent, c.received, c.queue_depth),
        ("mpsc_unbounded", 2, 1, 1)
    );
}
