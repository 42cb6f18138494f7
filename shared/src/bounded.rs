//! Bounded concurrency for reads: at most `limit` futures in flight, results in input order
//! (so what is merged from them, and the plan made from that, is what a sequential run
//! gives). Writes never go through here: public-API writes stay sequential and ordered.

use std::future::Future;

use futures::stream::{self, StreamExt, TryStreamExt};

/// Runs `work` on every item, at most `limit` at once, starting another only while `go_on()`
/// says so (the first always starts, so a run always progresses). Returns the outputs of
/// the started items, in order, and the items never started, in order.
pub async fn map_while<T, F, Fut>(
    items: Vec<T>,
    limit: usize,
    go_on: impl Fn() -> bool,
    work: F,
) -> (Vec<Fut::Output>, Vec<T>)
where
    T: Clone,
    F: FnMut(T) -> Fut,
    Fut: Future,
{
    let started = std::cell::Cell::new(0usize);
    let outputs = stream::iter(items.iter().cloned())
        .take_while(|_| {
            let go = started.get() == 0 || go_on();
            if go {
                started.set(started.get() + 1);
            }
            std::future::ready(go)
        })
        .map(work)
        .buffered(limit.max(1))
        .collect()
        .await;
    let rest = items.into_iter().skip(started.get()).collect();
    (outputs, rest)
}

/// Runs fallible `work` on every item, at most `limit` at once: the first error (in input
/// order) once all in flight have finished, else every output in order.
pub async fn try_map<I, F, Fut, T, E>(items: I, limit: usize, work: F) -> Result<Vec<T>, E>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    stream::iter(items)
        .map(work)
        .buffered(limit.max(1))
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    /// Runs 20 tasks that each hold a slot for a moment and reports the most in flight.
    async fn most_in_flight(limit: usize) -> (usize, Vec<usize>) {
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (out, unstarted) = map_while(
            (0..20usize).collect(),
            limit,
            || true,
            |i| {
                let (now, most) = (Arc::clone(&now), Arc::clone(&most));
                async move {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    // Later items finish first: order must come from the input, not completion.
                    tokio::time::sleep(Duration::from_millis(20 - i as u64)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    i
                }
            },
        )
        .await;
        assert!(unstarted.is_empty(), "{unstarted:?}");
        (most.load(Ordering::SeqCst), out)
    }

    #[tokio::test]
    async fn never_more_than_the_bound_in_flight_and_results_in_input_order() {
        for limit in [1, 2, 8] {
            let (most, out) = most_in_flight(limit).await;
            assert_eq!(most, limit, "limit {limit}");
            assert_eq!(out, (0..20).collect::<Vec<_>>());
        }
    }

    #[tokio::test]
    async fn map_while_stops_starting_when_told_and_returns_the_rest_in_order() {
        let budget = std::cell::Cell::new(3);
        let (done, rest) = map_while(
            (0..10).collect(),
            2,
            || {
                budget.set(budget.get() - 1);
                budget.get() > 0
            },
            |i| async move { i * 10 },
        )
        .await;
        // The first always starts; then two more while the budget lasts.
        assert_eq!(done, vec![0, 10, 20]);
        assert_eq!(rest, (3..10).collect::<Vec<_>>());
        let (done, rest) = map_while(vec![1], 4, || false, |i| async move { i }).await;
        assert_eq!((done, rest), (vec![1], vec![]));
    }

    #[tokio::test]
    async fn try_map_gives_the_first_error_in_input_order() {
        let r: Result<Vec<u32>, String> = try_map([1u32, 2, 3, 4], 4, |i| async move {
            if i % 2 == 0 {
                Err(format!("bad {i}"))
            } else {
                Ok(i)
            }
        })
        .await;
        assert_eq!(r, Err("bad 2".to_string()));
    }
}
