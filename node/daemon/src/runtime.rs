//! What the consensus host asks of the world: the time, timers, and somewhere to run
//! tasks and blocking jobs. The driver reads time and spawns only through a [`Runtime`],
//! so the same driver runs in production on Tokio ([`TokioRuntime`]) and in the
//! simulator on virtual time ([`Deterministic`], issue 20).
//!
//! Modelled on the split of commonware's runtime (a clock, a spawner, a deterministic
//! executor for tests), kept to the few calls the driver makes. The monotonic clock is a
//! `std::time::Instant` so that the types the driver shares with other modules
//! (`sync::PeerHeights`) stay as they are: a virtual clock is a fixed base instant plus
//! virtual elapsed time, and only differences between instants ever matter.

pub use crate::verifypool::Job;
use crate::verifypool::VerifyPool;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A task the runtime runs to completion alongside its caller.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A future that resolves when a timer fires.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Time, timers, tasks and blocking jobs, as the driver uses them.
pub trait Runtime: Send + Sync + 'static {
    /// The monotonic clock: never goes back; only differences between its readings mean
    /// anything.
    fn now(&self) -> Instant;

    /// The wall clock, in milliseconds since the Unix epoch (block-time candidates and
    /// the mempool's admission times; never used in execution).
    fn system_time_ms(&self) -> u64;

    /// A future that resolves once [`Runtime::now`] has reached `at` (at once when it has).
    fn sleep_until(&self, at: Instant) -> Sleep;

    /// Run `task` concurrently with the caller; its result is delivered by the task
    /// itself (a channel), so nothing is returned.
    fn spawn(&self, task: Task);

    /// A pool for CPU-bound jobs (signature checks) off the driver's task, whose queue
    /// holds at most `queue_max` jobs.
    fn job_pool(&self, queue_max: usize) -> std::io::Result<Arc<dyn JobPool>>;
}

/// Where the driver hands CPU-bound jobs (see [`VerifyPool`]).
pub trait JobPool: Send + Sync {
    /// How many jobs run at once.
    fn threads(&self) -> usize;
    /// Whether a job handed over now would start at once.
    fn has_idle_thread(&self) -> bool;
    /// Queue `job`; gives it back when the queue is full.
    fn try_run(&self, job: Job) -> Result<(), Job>;
}

impl JobPool for VerifyPool {
    fn threads(&self) -> usize {
        VerifyPool::threads(self)
    }
    fn has_idle_thread(&self) -> bool {
        VerifyPool::has_idle_thread(self)
    }
    fn try_run(&self, job: Job) -> Result<(), Job> {
        VerifyPool::try_run(self, job)
    }
}

/// The production runtime: the OS clocks, Tokio's timers and tasks (of the runtime the
/// caller runs on), and a [`VerifyPool`] of named threads, one per core.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioRuntime;

impl TokioRuntime {
    /// The production runtime, shared.
    pub fn shared() -> Arc<dyn Runtime> {
        Arc::new(TokioRuntime)
    }
}

impl Runtime for TokioRuntime {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn system_time_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn sleep_until(&self, at: Instant) -> Sleep {
        Box::pin(tokio::time::sleep_until(at.into()))
    }

    fn spawn(&self, task: Task) {
        tokio::spawn(task);
    }

    fn job_pool(&self, queue_max: usize) -> std::io::Result<Arc<dyn JobPool>> {
        Ok(Arc::new(VerifyPool::per_core(queue_max)?))
    }
}

/// A deterministic runtime for the simulator: virtual time that moves only when the
/// simulator advances it ([`Deterministic::run_until`]), timers fired in (time, sequence)
/// order, and a single-threaded executor that polls ready tasks in an order drawn from a
/// seed. Nothing sleeps; jobs of its [`JobPool`] run as tasks of the same executor. The
/// same seed and the same inputs give the same trace of polls and timers.
///
/// The driver's futures are polled only by [`Deterministic::run_until_stalled`]; their
/// channels (Tokio's mpsc, watch, oneshot) need no Tokio runtime, only wakers.
#[derive(Clone)]
pub struct Deterministic {
    inner: Arc<DetInner>,
}

struct DetInner {
    /// The instant virtual time 0 stands for.
    base: Instant,
    /// The wall clock at virtual time 0, in milliseconds since the Unix epoch.
    wall_base_ms: u64,
    state: std::sync::Mutex<DetState>,
}

/// A task of the deterministic executor: taken out while it is polled.
type Slot = Option<Task>;

struct DetState {
    /// Virtual time since `base`.
    elapsed: std::time::Duration,
    /// Pending timers by (deadline, sequence): the waker of the future waiting on each.
    timers: std::collections::BTreeMap<(Instant, u64), Option<std::task::Waker>>,
    timer_seq: u64,
    tasks: std::collections::BTreeMap<u64, Slot>,
    next_task: u64,
    /// Woken tasks, each once (`queued`), in the order woken; the next one polled is drawn
    /// from them with `rng`.
    ready: Vec<u64>,
    queued: std::collections::BTreeSet<u64>,
    rng: u64,
    /// Polls done so far (the trace's length; a livelock shows as polls without time).
    polls: u64,
}

/// splitmix64: a small, good enough generator for scheduling choices (no dependency).
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl DetInner {
    fn lock(&self) -> std::sync::MutexGuard<'_, DetState> {
        // A panic in a task is the simulator's failure; the state is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wake_task(&self, id: u64) {
        let mut st = self.lock();
        if st.tasks.contains_key(&id) && st.queued.insert(id) {
            st.ready.push(id);
        }
    }
}

/// Wakes one task of a [`Deterministic`] executor (weak: a waker kept by a channel does not
/// keep the executor alive).
struct TaskWaker {
    id: u64,
    inner: std::sync::Weak<DetInner>,
}

impl std::task::Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(inner) = self.inner.upgrade() {
            inner.wake_task(self.id);
        }
    }
}

/// A timer of a [`Deterministic`] runtime: registered when first polled before its
/// deadline, removed when it fires or is dropped.
struct DetSleep {
    inner: Arc<DetInner>,
    at: Instant,
    key: Option<(Instant, u64)>,
}

impl Future for DetSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let this = &mut *self;
        let mut st = this.inner.lock();
        if this.inner.base + st.elapsed >= this.at {
            if let Some(k) = this.key.take() {
                st.timers.remove(&k);
            }
            return std::task::Poll::Ready(());
        }
        let key = match this.key {
            Some(k) => k,
            None => {
                st.timer_seq += 1;
                let k = (this.at, st.timer_seq);
                this.key = Some(k);
                k
            }
        };
        st.timers.insert(key, Some(cx.waker().clone()));
        std::task::Poll::Pending
    }
}

impl Drop for DetSleep {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            self.inner.lock().timers.remove(&k);
        }
    }
}

impl Deterministic {
    /// A runtime at virtual time 0, whose wall clock reads `wall_base_ms` then, and whose
    /// scheduling choices are drawn from `seed`.
    pub fn new(seed: u64, wall_base_ms: u64) -> Deterministic {
        Deterministic {
            inner: Arc::new(DetInner {
                base: Instant::now(),
                wall_base_ms,
                state: std::sync::Mutex::new(DetState {
                    elapsed: std::time::Duration::ZERO,
                    timers: std::collections::BTreeMap::new(),
                    timer_seq: 0,
                    tasks: std::collections::BTreeMap::new(),
                    next_task: 0,
                    ready: Vec::new(),
                    queued: std::collections::BTreeSet::new(),
                    rng: seed,
                    polls: 0,
                }),
            }),
        }
    }

    /// Virtual time elapsed since the start.
    pub fn elapsed(&self) -> std::time::Duration {
        self.inner.lock().elapsed
    }

    /// Polls done so far.
    pub fn polls(&self) -> u64 {
        self.inner.lock().polls
    }

    /// Tasks not finished yet.
    pub fn tasks(&self) -> usize {
        self.inner.lock().tasks.len()
    }

    /// Spawn `task`; returns its id (for [`Deterministic::abort`]). It is polled first at
    /// the next [`Deterministic::run_until_stalled`].
    pub fn spawn_task(&self, task: Task) -> u64 {
        let mut st = self.inner.lock();
        let id = st.next_task;
        st.next_task += 1;
        st.tasks.insert(id, Some(task));
        st.queued.insert(id);
        st.ready.push(id);
        id
    }

    /// Drop task `id` where it stands (a crash: it never runs again). Whether it existed.
    pub fn abort(&self, id: u64) -> bool {
        let task = {
            let mut st = self.inner.lock();
            st.queued.remove(&id);
            st.ready.retain(|r| *r != id);
            st.tasks.remove(&id)
        };
        // Dropped outside the lock: its drop may touch timers.
        task.is_some()
    }

    /// Poll ready tasks, one at a time in an order drawn from the seed, until none is
    /// ready or `polls_max` polls were done. Returns the polls done; time does not move.
    pub fn run_until_stalled(&self, polls_max: u64) -> u64 {
        let mut done = 0;
        while done < polls_max {
            let (id, task) = {
                let mut st = self.inner.lock();
                if st.ready.is_empty() {
                    break;
                }
                let i = (splitmix(&mut st.rng) % st.ready.len() as u64) as usize;
                let id = st.ready.remove(i);
                st.queued.remove(&id);
                st.polls += 1;
                match st.tasks.get_mut(&id).and_then(Option::take) {
                    Some(t) => (id, t),
                    None => continue, // being polled further up, or finished
                }
            };
            done += 1;
            let mut task = task;
            let waker = std::task::Waker::from(Arc::new(TaskWaker {
                id,
                inner: Arc::downgrade(&self.inner),
            }));
            let mut cx = std::task::Context::from_waker(&waker);
            let finished = task.as_mut().poll(&mut cx).is_ready();
            let mut st = self.inner.lock();
            if finished {
                st.tasks.remove(&id);
            } else if let Some(slot) = st.tasks.get_mut(&id) {
                *slot = Some(task);
            }
            // else: aborted while it ran; `task` is dropped below, outside the lock.
            drop(st);
        }
        done
    }

    /// Move virtual time to the earliest pending timer if it is at or before `until` and
    /// wake every timer due then, in (time, sequence) order; otherwise move it to `until`.
    /// Returns whether a timer fired. Time never goes back.
    pub fn advance(&self, until: std::time::Duration) -> bool {
        let mut st = self.inner.lock();
        let until_at = self.inner.base + until;
        let next = st.timers.keys().next().map(|k| k.0);
        match next {
            Some(at) if at <= until_at => {
                let now = self.inner.base + st.elapsed;
                st.elapsed = at.max(now) - self.inner.base;
                let now = self.inner.base + st.elapsed;
                let due: Vec<_> = st
                    .timers
                    .range(..=(now, u64::MAX))
                    .map(|(k, _)| *k)
                    .collect();
                let mut wakers = Vec::new();
                for k in due {
                    if let Some(Some(w)) = st.timers.get_mut(&k).map(Option::take) {
                        wakers.push(w);
                    }
                }
                drop(st);
                for w in wakers {
                    w.wake();
                }
                true
            }
            _ => {
                st.elapsed = st.elapsed.max(until);
                false
            }
        }
    }

    /// Run the tasks until virtual time `until`: poll until stalled, fire the next timer,
    /// and again, until no timer is due by then. Returns the polls done. Stops early,
    /// returning `Err(polls)`, when a stretch without a timer takes over `polls_max` polls
    /// (a livelock).
    pub fn run_until(&self, until: std::time::Duration, polls_max: u64) -> Result<u64, u64> {
        let mut total = 0;
        loop {
            let n = self.run_until_stalled(polls_max);
            total += n;
            if n >= polls_max {
                return Err(total);
            }
            if !self.advance(until) {
                total += self.run_until_stalled(polls_max);
                return Ok(total);
            }
        }
    }

    /// Drop every task and timer (ends the cycles between tasks and the runtime they hold).
    pub fn shutdown(&self) {
        let (tasks, timers) = {
            let mut st = self.inner.lock();
            st.ready.clear();
            st.queued.clear();
            (
                std::mem::take(&mut st.tasks),
                std::mem::take(&mut st.timers),
            )
        };
        drop(tasks);
        drop(timers);
    }
}

impl Runtime for Deterministic {
    fn now(&self) -> Instant {
        self.inner.base + self.inner.lock().elapsed
    }

    fn system_time_ms(&self) -> u64 {
        self.inner.wall_base_ms + self.inner.lock().elapsed.as_millis() as u64
    }

    fn sleep_until(&self, at: Instant) -> Sleep {
        Box::pin(DetSleep {
            inner: self.inner.clone(),
            at,
            key: None,
        })
    }

    fn spawn(&self, task: Task) {
        self.spawn_task(task);
    }

    fn job_pool(&self, _queue_max: usize) -> std::io::Result<Arc<dyn JobPool>> {
        Ok(Arc::new(DetPool(self.clone())))
    }
}

/// The job pool of a [`Deterministic`] runtime: each job is a task of its executor, so
/// jobs finish in an order drawn from the seed, interleaved with everything else.
struct DetPool(Deterministic);

impl JobPool for DetPool {
    fn threads(&self) -> usize {
        1
    }
    fn has_idle_thread(&self) -> bool {
        true
    }
    fn try_run(&self, job: Job) -> Result<(), Job> {
        self.0.spawn_task(Box::pin(async move { job() }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    /// A future that is pending once (waking itself), then ready: a yield point.
    struct YieldOnce(bool);

    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
            if self.0 {
                return std::task::Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }

    #[test]
    fn timers_fire_in_time_then_sequence_order_without_sleeping() {
        let rt = Deterministic::new(1, 1_000);
        let log = Arc::new(Mutex::new(Vec::new()));
        let start = rt.now();
        for (name, after_ms) in [("a", 30u64), ("b", 10), ("c", 10), ("d", 20)] {
            let (rt2, log) = (rt.clone(), log.clone());
            rt.spawn(Box::pin(async move {
                rt2.sleep_until(start + Duration::from_millis(after_ms))
                    .await;
                let at = rt2.now().duration_since(start).as_millis() as u64;
                log.lock()
                    .expect("log")
                    .push((name, at, rt2.system_time_ms()));
            }));
        }
        // The tasks register their timers on their first poll, in an order drawn from the
        // seed; equal deadlines then fire in the order they were registered.
        // Polls: four first ones, then b and c at 10 ms, d at 20 ms.
        assert_eq!(rt.run_until(Duration::from_millis(25), 1_000), Ok(7));
        let got = log.lock().expect("log").clone();
        assert_eq!(got.len(), 3, "a (30 ms) is not due at 25 ms: {got:?}");
        assert_eq!(got[2], ("d", 20, 1_020));
        assert!(got[..2].iter().all(|(_, at, _)| *at == 10), "{got:?}");
        assert_eq!(
            rt.elapsed(),
            Duration::from_millis(25),
            "time stops at the bound"
        );
        rt.run_until(Duration::from_secs(1), 1_000)
            .expect("no livelock");
        assert_eq!(log.lock().expect("log")[3], ("a", 30, 1_030));
        assert_eq!(rt.tasks(), 0, "every task finished");
        assert_eq!(rt.elapsed(), Duration::from_secs(1));
    }

    /// Four tasks yielding in turn: the order of their steps under `seed`.
    fn trace(seed: u64) -> Vec<(u32, u32)> {
        let rt = Deterministic::new(seed, 0);
        let log = Arc::new(Mutex::new(Vec::new()));
        for t in 0..4u32 {
            let log = log.clone();
            rt.spawn(Box::pin(async move {
                for step in 0..5u32 {
                    log.lock().expect("log").push((t, step));
                    YieldOnce(false).await;
                }
            }));
        }
        rt.run_until(Duration::ZERO, 1_000).expect("no livelock");
        let out = log.lock().expect("log").clone();
        out
    }

    #[test]
    fn the_same_seed_gives_the_same_trace_and_seeds_differ() {
        let a = trace(7);
        assert_eq!(a.len(), 20, "every step ran");
        assert_eq!(a, trace(7), "same seed, same trace");
        assert!(
            (0..20).map(trace).any(|t| t != a),
            "the seed decides the order of ready tasks"
        );
    }

    #[test]
    fn a_dropped_sleep_leaves_no_timer_and_abort_stops_a_task() {
        let rt = Deterministic::new(3, 0);
        let far = rt.now() + Duration::from_secs(3_600);
        let (rt2, ran) = (rt.clone(), Arc::new(Mutex::new(false)));
        let ran2 = ran.clone();
        let id = rt.spawn_task(Box::pin(async move {
            rt2.sleep_until(far).await;
            *ran2.lock().expect("flag") = true;
        }));
        rt.run_until_stalled(10);
        assert!(rt.abort(id), "the task existed");
        assert!(!rt.abort(id), "and is gone");
        // Its timer went with it: time runs to the bound without firing anything.
        assert!(!rt.advance(Duration::from_secs(7_200)));
        assert!(!*ran.lock().expect("flag"));
        // A livelock (a task that always wakes itself) is reported, not spun on for ever.
        rt.spawn(Box::pin(async {
            loop {
                YieldOnce(false).await;
            }
        }));
        assert_eq!(rt.run_until(Duration::from_secs(7_201), 100), Err(100));
        rt.shutdown();
        assert_eq!(rt.tasks(), 0);
    }
}
