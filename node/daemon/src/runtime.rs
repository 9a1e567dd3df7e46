//! What the consensus host asks of the world: the time, timers, and somewhere to run
//! tasks and blocking jobs. The driver reads time and spawns only through a [`Runtime`],
//! so the same driver runs in production on Tokio ([`TokioRuntime`]) and in the
//! simulator on virtual time (`Deterministic`, issue 20).
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
