//! Signature checking behind a small trait, so a host may add a cache (the simulator
//! shares one between its cores); the default calls the kernel.

use chancery_core::cert::{CertError, Certificate};
use chancery_core::codec::Canonical;
use chancery_core::crypto::{self, BatchItem, SignatureError};
use chancery_core::ids::ChainId;
use chancery_core::validator::ValidatorSet;

/// Batch signature verification. Must name the first bad item on failure, as
/// [`crypto::verify_batch`] does (it bisects a failed batch): every item before the named
/// index is then known to be good.
pub trait Verifier: Send {
    /// Verify all items (messages already carry their domain tag).
    fn verify_batch(&mut self, items: &[BatchItem<'_>]) -> Result<(), SignatureError>;
}

/// The kernel's batch verification, with no cache.
#[derive(Debug, Default, Clone, Copy)]
pub struct KernelVerifier;

impl Verifier for KernelVerifier {
    fn verify_batch(&mut self, items: &[BatchItem<'_>]) -> Result<(), SignatureError> {
        crypto::verify_batch(items)
    }
}

/// Verify `items`, returning the indices of the bad ones in increasing order (empty when
/// all are good). One batch when all are good; after a failure the verifier names the first
/// bad item and the rest is split in halves, each checked as a batch: at most about
/// `2·k·log2(n/k)` batch items for `k` bad among `n`, never the `n²` of re-checking the
/// whole rest after each bad item.
pub fn bad_items(verifier: &mut dyn Verifier, items: &[BatchItem<'_>]) -> Vec<usize> {
    let mut bad = Vec::new();
    // Ranges still to check; the last one is next.
    let mut todo = vec![(0usize, items.len())];
    while let Some((lo, hi)) = todo.pop() {
        if lo >= hi {
            continue;
        }
        let split = match verifier.verify_batch(&items[lo..hi]) {
            Ok(()) => None,
            Err(SignatureError::BatchItem { index, .. }) if lo + index < hi => {
                // Everything before the named item is good.
                bad.push(lo + index);
                Some(lo + index + 1)
            }
            Err(_) if hi - lo == 1 => {
                bad.push(lo);
                None
            }
            // Not located: check both halves.
            Err(_) => Some(lo),
        };
        if let Some(rest) = split {
            let mid = rest + (hi - rest) / 2;
            todo.push((mid, hi));
            todo.push((rest, mid));
        }
    }
    bad.sort_unstable();
    bad
}

/// [`Certificate::verify`] through a [`Verifier`]: format, epoch, known signers, quorum of
/// power, every signature.
pub fn verify_certificate(
    cert: &Certificate,
    chain_id: ChainId,
    set: &ValidatorSet,
    verifier: &mut dyn Verifier,
) -> Result<(), CertError> {
    cert.validate()?;
    if cert.epoch != set.epoch {
        return Err(CertError::WrongEpoch {
            expected: set.epoch,
            found: cert.epoch,
        });
    }
    let mut power: u64 = 0;
    let mut items = Vec::with_capacity(cert.signatures.len());
    let msg = cert.body(chain_id).signed_message();
    for s in &cert.signatures {
        let v = set.get(s.index).ok_or(CertError::UnknownSigner {
            index: s.index,
            len: set.len(),
        })?;
        power = power.saturating_add(v.power);
        items.push(BatchItem {
            key: v.consensus_key,
            message: &msg,
            signature: s.signature,
        });
    }
    if power < set.quorum_power() {
        return Err(CertError::NoQuorum {
            expected: set.quorum_power(),
            found: power,
        });
    }
    match verifier.verify_batch(&items) {
        Ok(()) => Ok(()),
        Err(e) => {
            let index = match e {
                SignatureError::BatchItem { index, .. } => cert
                    .signatures
                    .get(index)
                    .map(|s| s.index)
                    .unwrap_or(u16::MAX),
                _ => u16::MAX,
            };
            Err(CertError::BadSignature {
                index,
                name: set.get(index).map(|v| v.name.clone()).unwrap_or_default(),
            })
        }
    }
}
