//! [`FaultyStore`]: a wrapper that injects faults chosen by the test, deterministically.
//!
//! Writes are numbered from 1 in the order [`Store::write`] and [`Store::write_behind`]
//! are called on the wrapper
//! (refused and failed writes count too). A [`FaultPlan`] says which write fails, which
//! write is torn (only a prefix of its puts applied, then an error: a non-atomic engine, or
//! a crash in the middle of a write), which columns fail to read, and which bit of which
//! values is flipped when read. The plan can be changed at any time. It also counts point
//! reads ([`FaultyStore::point_reads`]), so a test can bound how many reads an operation
//! costs. With no fault planned it passes the shared suite like the store it wraps.

use crate::{Column, Entries, IntegrityReport, Limits, Store, StoreError, WriteBatch};
use std::sync::{Mutex, MutexGuard};

/// Flip one bit of every value read from a column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BitFlip {
    /// The column whose values are damaged.
    pub column: Column,
    /// Only this key, or every key of the column if `None`.
    pub key: Option<Vec<u8>>,
    /// Which bit, counted from the first byte's least significant bit, modulo the value's
    /// length in bits (empty values are returned unchanged).
    pub bit: usize,
}

/// What to break. The default breaks nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// Fail write number N: nothing is applied, an error is returned.
    pub fail_write: Option<u64>,
    /// Tear write number N: apply only the first `keep` puts (as one inner write), then
    /// return an error.
    pub tear_write: Option<(u64, usize)>,
    /// After a failed or torn write, fail every later write too (a crashed process).
    pub crash_on_fault: bool,
    /// Reads (get, scan, multi_get) of these columns fail.
    pub fail_reads: Vec<Column>,
    /// Damage values as they are read.
    pub flip: Option<BitFlip>,
}

#[derive(Debug, Default)]
struct State {
    plan: FaultPlan,
    writes: u64,
    crashed: bool,
    faults: u64,
    point_reads: u64,
}

/// A [`Store`] wrapper that injects the faults of its [`FaultPlan`].
#[derive(Debug)]
pub struct FaultyStore<S: Store> {
    inner: S,
    state: Mutex<State>,
}

impl<S: Store> FaultyStore<S> {
    /// Wrap `inner`, injecting nothing until a plan is set.
    pub fn new(inner: S) -> Self {
        Self::with_plan(inner, FaultPlan::default())
    }

    /// Wrap `inner` with `plan`.
    pub fn with_plan(inner: S, plan: FaultPlan) -> Self {
        FaultyStore {
            inner,
            state: Mutex::new(State {
                plan,
                ..State::default()
            }),
        }
    }

    /// Replace the plan (the write counter keeps counting; a crash is cleared).
    pub fn set_plan(&self, plan: FaultPlan) {
        let mut st = self.state();
        st.plan = plan;
        st.crashed = false;
    }

    /// The current plan.
    pub fn plan(&self) -> FaultPlan {
        self.state().plan.clone()
    }

    /// Writes attempted so far (the number the next write will have, minus one).
    pub fn writes_attempted(&self) -> u64 {
        self.state().writes
    }

    /// Faults injected so far.
    pub fn faults_injected(&self) -> u64 {
        self.state().faults
    }

    /// Point reads served so far: one per [`Store::get`], one per key of
    /// [`Store::multi_get`] (failed reads included; scans not counted).
    pub fn point_reads(&self) -> u64 {
        self.state().point_reads
    }

    /// The wrapped store (reads through it see the undamaged data).
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Unwrap.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// A write (`behind`: [`Store::write_behind`]) under the plan: numbered, failed or
    /// torn as planned.
    fn write_faulty(&self, batch: WriteBatch, behind: bool) -> Result<(), StoreError> {
        // Decide under the lock, write without it (the inner store serialises writes).
        let (n, keep) = {
            let mut st = self.state();
            st.writes += 1;
            let n = st.writes;
            if st.crashed {
                st.faults += 1;
                return Err(StoreError::Injected(format!(
                    "write #{n} refused: the store crashed earlier"
                )));
            }
            if st.plan.fail_write == Some(n) {
                st.faults += 1;
                st.crashed = st.plan.crash_on_fault;
                return Err(StoreError::Injected(format!(
                    "write #{n} failed, nothing applied"
                )));
            }
            let keep = match st.plan.tear_write {
                Some((at, keep)) if at == n => {
                    st.faults += 1;
                    st.crashed = st.plan.crash_on_fault;
                    Some(keep)
                }
                _ => None,
            };
            (n, keep)
        };
        match keep {
            None if behind => self.inner.write_behind(batch),
            None => self.inner.write(batch),
            Some(keep) => {
                let total = batch.len();
                let kept = keep.min(total);
                let prefix = WriteBatch {
                    puts: batch.puts.into_iter().take(kept).collect(),
                };
                if behind {
                    self.inner.write_behind(prefix)?;
                } else {
                    self.inner.write(prefix)?;
                }
                Err(StoreError::Injected(format!(
                    "write #{n} torn: applied {kept} of {total} puts"
                )))
            }
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_read(&self, col: Column, point_reads: usize) -> Result<(), StoreError> {
        let mut st = self.state();
        st.point_reads = st.point_reads.saturating_add(point_reads as u64);
        if st.plan.fail_reads.contains(&col) {
            st.faults += 1;
            return Err(StoreError::Injected(format!(
                "read of column {col:?} failed"
            )));
        }
        Ok(())
    }

    fn damage(&self, col: Column, key: &[u8], value: &mut [u8]) {
        let mut st = self.state();
        let Some(flip) = &st.plan.flip else { return };
        if flip.column != col || flip.key.as_deref().is_some_and(|k| k != key) || value.is_empty() {
            return;
        }
        let bit = flip.bit % (value.len() * 8);
        value[bit / 8] ^= 1 << (bit % 8);
        st.faults += 1;
    }
}

impl<S: Store> Store for FaultyStore<S> {
    fn limits(&self) -> Limits {
        self.inner.limits()
    }

    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.check_read(col, 1)?;
        let mut value = self.inner.get(col, key)?;
        if let Some(v) = value.as_mut() {
            self.damage(col, key, v);
        }
        Ok(value)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.write_faulty(batch, false)
    }

    fn write_behind(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.write_faulty(batch, true)
    }

    fn scan(
        &self,
        col: Column,
        start: &[u8],
        end: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        self.check_read(col, 0)?;
        let mut entries = self.inner.scan(col, start, end, reverse, limit)?;
        for (k, v) in &mut entries {
            self.damage(col, k, v);
        }
        Ok(entries)
    }

    fn multi_get(&self, col: Column, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.check_read(col, keys.len())?;
        let mut values = self.inner.multi_get(col, keys)?;
        for (k, v) in keys.iter().zip(&mut values) {
            if let Some(v) = v.as_mut() {
                self.damage(col, k, v);
            }
        }
        Ok(values)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush()
    }

    fn checkpoint(&self, target: &std::path::Path) -> Result<(), StoreError> {
        self.inner.checkpoint(target)
    }

    fn delete_range(&self, col: Column, start: &[u8], end: &[u8]) -> Result<(), StoreError> {
        self.inner.delete_range(col, start, end)
    }

    fn verify_all(&self) -> Result<IntegrityReport, StoreError> {
        self.inner.verify_all()
    }

    fn stats(&self) -> crate::StoreStats {
        self.inner.stats()
    }
}
