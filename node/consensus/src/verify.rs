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

/// Verify `items`, returning the indices of the bad ones (empty when all are good).
/// Uses one batch when all are good; otherwise repeats after each named bad item.
pub fn bad_items(verifier: &mut dyn Verifier, items: &[BatchItem<'_>]) -> Vec<usize> {
    let mut bad = Vec::new();
    let mut start = 0;
    while start < items.len() {
        match verifier.verify_batch(&items[start..]) {
            Ok(()) => break,
            Err(SignatureError::BatchItem { index, .. }) => {
                bad.push(start + index);
                start += index + 1;
            }
            Err(_) => {
                // Not located: treat the whole remainder as bad (fail closed).
                bad.extend(start..items.len());
                break;
            }
        }
    }
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
