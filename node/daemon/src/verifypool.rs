//! A small pool of named threads for signature checks of gossiped transactions, off the
//! consensus driver (issue 14, finding 5) and off the async runtime, sized to the cores
//! (issue 17), so that a validator with a machine to itself verifies on all of it. Named
//! `verify-N`, so that a profile (`chancery bench --profile`) shows their CPU apart. The
//! consensus messages' signatures are pre-checked here too (`sigcache.rs`), but only when
//! a thread is free at once ([`VerifyPool::has_idle_thread`]), so that consensus never
//! waits behind transaction batches.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

/// One unit of work.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// Most threads in the pool, whatever the machine has.
pub const VERIFY_THREADS_MAX: usize = 16;

/// A fixed pool of threads taking jobs from one bounded queue.
pub struct VerifyPool {
    tx: SyncSender<Job>,
    threads: usize,
    /// Jobs handed to the pool and not yet finished (queued or running).
    busy: Arc<AtomicUsize>,
}

/// Counts one job as busy from its creation until it is dropped (run, refused or lost).
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn new(busy: Arc<AtomicUsize>) -> Busy {
        busy.fetch_add(1, Ordering::Relaxed);
        Busy(busy)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl VerifyPool {
    /// A pool of `threads` (at least 1, at most [`VERIFY_THREADS_MAX`]) threads whose
    /// queue holds at most `queue_max` jobs (at least 1).
    pub fn new(threads: usize, queue_max: usize) -> std::io::Result<VerifyPool> {
        let threads = threads.clamp(1, VERIFY_THREADS_MAX);
        let (tx, rx) = sync_channel::<Job>(queue_max.max(1));
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("verify-{i}"))
                .spawn(move || work(&rx))?;
        }
        Ok(VerifyPool {
            tx,
            threads,
            busy: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// A pool with one thread per core.
    pub fn per_core(queue_max: usize) -> std::io::Result<VerifyPool> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        VerifyPool::new(cores, queue_max)
    }

    /// How many threads it has.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// How many jobs are queued or running.
    pub fn busy(&self) -> usize {
        self.busy.load(Ordering::Relaxed)
    }

    /// Whether a job handed over now would start at once: fewer jobs are queued or running
    /// than there are threads.
    pub fn has_idle_thread(&self) -> bool {
        self.busy() < self.threads
    }

    /// Queue `job`; gives it back when the queue is full (or the pool has stopped). The job
    /// counts as busy until it has run or the job given back is dropped.
    pub fn try_run(&self, job: Job) -> Result<(), Job> {
        let busy = Busy::new(self.busy.clone());
        let job: Job = Box::new(move || {
            let _busy = busy;
            job()
        });
        self.tx.try_send(job).map_err(|e| match e {
            TrySendError::Full(j) | TrySendError::Disconnected(j) => j,
        })
    }
}

/// A worker: take jobs until the pool (its sender) is dropped.
fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, not while running it.
        let job = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return, // another worker panicked while waiting: stop too
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn jobs_run_on_named_threads_and_a_full_queue_gives_the_job_back() {
        let pool = VerifyPool::new(2, 1).expect("threads start");
        assert_eq!(pool.threads(), 2);
        let (done_tx, done_rx) = channel();
        // Block both workers (each job runs before the next is queued, so the one queue
        // slot is free again), then fill the slot.
        let (release_tx, release_rx) = channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let mut names = Vec::new();
        for _ in 0..2 {
            let done = done_tx.clone();
            let release = release_rx.clone();
            pool.try_run(Box::new(move || {
                let name = std::thread::current().name().map(str::to_owned);
                done.send(name).expect("test alive");
                let _ = release.lock().map(|r| r.recv());
            }))
            .map_err(|_| ())
            .expect("the queue has room");
            names.push(done_rx.recv().expect("ran"));
        }
        for n in &names {
            assert!(
                n.as_deref().is_some_and(|n| n.starts_with("verify-")),
                "{n:?}"
            );
        }
        assert_eq!(pool.busy(), 2);
        assert!(!pool.has_idle_thread(), "both threads run a job");
        pool.try_run(Box::new(|| {}))
            .map_err(|_| ())
            .expect("one slot in the queue");
        assert_eq!(pool.busy(), 3);
        let refused = pool.try_run(Box::new(|| {}));
        assert!(refused.is_err(), "a full queue refuses the job");
        drop(refused);
        assert_eq!(pool.busy(), 3, "a refused job, dropped, is not busy");
        for _ in 0..2 {
            release_tx.send(()).expect("workers alive");
        }
    }
}
