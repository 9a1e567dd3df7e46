//! The transaction envelope: chain id, signer, per-signer sequence, record, signature.
//!
//! Bytes from outside decode into a [`Transaction`], which is *unverified*: only
//! [`Transaction::verify`] (or [`verify_batch`]) turns it into a [`VerifiedTx`].
//!
//! Normative specification: docs/spec/03-structures.md, section 3.3; its hash and signed message: 02-hashing-signing.md, 2.3 and 2.4.

use crate::codec::{self, Canonical, ValidationError};
use crate::crypto::{self, BatchItem, SecretKey, SignatureError};
use crate::domain;
use crate::ids::{ChainId, PublicKey, Seq, Signature, TxHash};
use crate::limits::TX_BYTES_MAX;
use crate::record::Record;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use thiserror::Error;

/// What the signer signs.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct TxBody {
    /// The chain this transaction is for (the genesis hash); stops cross-chain replay.
    pub chain_id: ChainId,
    /// The member key that signs.
    pub signer: PublicKey,
    /// The signer's sequence number: exactly one more than its last committed one.
    pub seq: Seq,
    /// The record.
    pub record: Record,
}

/// A signed transaction, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[bincode(decode_context = "crate::suite::Suite")]
pub struct Transaction {
    /// What was signed.
    pub body: TxBody,
    /// Ed25519 signature of `TX_SIGN || 0 || encode(body)` by `body.signer`.
    pub signature: Signature,
}

impl Canonical for Transaction {
    const NAME: &'static str = "transaction";
    const BYTES_MAX: usize = TX_BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        self.body.record.validate().map_err(|e| e.within("record"))
    }
}

/// Why a transaction was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TxError {
    /// Decoding failed.
    #[error(transparent)]
    Codec(#[from] codec::CodecError),
    /// Wrong chain.
    #[error("transaction is for chain {found}, expected chain {expected}")]
    WrongChain {
        /// Our chain id.
        expected: ChainId,
        /// The transaction's.
        found: ChainId,
    },
    /// Bad signature.
    #[error(transparent)]
    Signature(#[from] SignatureError),
}

impl Transaction {
    /// Sign `body` with `key`. The caller must make `body.signer == key.public()`.
    pub fn sign(body: TxBody, key: &SecretKey) -> Transaction {
        debug_assert_eq!(body.signer, key.public());
        let signature = key.sign(domain::TX_SIGN, &codec::encode(&body));
        Transaction { body, signature }
    }

    /// The exact bytes the signature covers (tag included), for batch verification.
    pub fn signed_message(&self) -> Vec<u8> {
        domain::TX_SIGN.signing_bytes(&codec::encode(&self.body))
    }

    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// The transaction's id: `H(TX_HASH, canonical bytes)`, `H` the hash of its signer's
    /// suite, which is the chain's (a chain decodes and admits only signers of its suite).
    pub fn hash(&self) -> TxHash {
        self.body
            .signer
            .suite()
            .hash(domain::TX_HASH, &self.to_bytes())
    }

    /// Decode canonical bytes of a chain of `suite` (unverified): the signer key must be of
    /// that suite.
    pub fn from_bytes(suite: crate::suite::Suite, bytes: &[u8]) -> Result<Transaction, TxError> {
        Ok(codec::decode_in(suite, bytes)?)
    }

    /// Check chain id and signature.
    pub fn verify(self, chain_id: &ChainId) -> Result<VerifiedTx, TxError> {
        if self.body.chain_id != *chain_id {
            return Err(TxError::WrongChain {
                expected: *chain_id,
                found: self.body.chain_id,
            });
        }
        crypto::verify(
            &self.body.signer,
            domain::TX_SIGN,
            &codec::encode(&self.body),
            &self.signature,
        )?;
        Ok(VerifiedTx::new_unchecked(self))
    }
}

/// A transaction whose chain id and signature have been checked.
///
/// Holds its canonical bytes and hash, computed once. Cheap to clone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTx {
    tx: Arc<Transaction>,
    bytes: Arc<[u8]>,
    hash: TxHash,
}

impl VerifiedTx {
    /// Only verification paths in this module may call this.
    fn new_unchecked(tx: Transaction) -> VerifiedTx {
        let bytes: Arc<[u8]> = tx.to_bytes().into();
        let hash = tx.body.signer.suite().hash(domain::TX_HASH, &bytes);
        VerifiedTx {
            tx: Arc::new(tx),
            bytes,
            hash,
        }
    }

    /// The transaction.
    pub fn tx(&self) -> &Transaction {
        &self.tx
    }
    /// Canonical bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// Its id.
    pub fn hash(&self) -> TxHash {
        self.hash
    }
}

/// Verify many transactions at once (batched Ed25519); returns one result per input, in order.
///
/// Every bad signature is found by [`crypto::bad_items`] in linear work (one batch equation
/// when all are good; at most about 3n batch terms plus n single checks otherwise), so a
/// batch of junk costs little more than checking it one by one. Each verdict is the one
/// [`Transaction::verify`] gives alone.
pub fn verify_batch(chain_id: &ChainId, txs: Vec<Transaction>) -> Vec<Result<VerifiedTx, TxError>> {
    verify_batch_cached(chain_id, txs, &mut crypto::KeyCache::new(0))
}

/// [`verify_batch`], taking signers' checked keys from `keys` (and adding new ones).
pub fn verify_batch_cached(
    chain_id: &ChainId,
    txs: Vec<Transaction>,
    keys: &mut crypto::KeyCache,
) -> Vec<Result<VerifiedTx, TxError>> {
    // Only transactions for this chain are checked; the others are refused as such.
    let pending: Vec<usize> = (0..txs.len())
        .filter(|&i| txs[i].body.chain_id == *chain_id)
        .collect();
    let messages: Vec<Vec<u8>> = pending.iter().map(|&i| txs[i].signed_message()).collect();
    let items: Vec<BatchItem<'_>> = pending
        .iter()
        .zip(&messages)
        .map(|(&i, message)| BatchItem {
            key: txs[i].body.signer,
            message,
            signature: txs[i].signature,
        })
        .collect();
    let mut bad = vec![false; txs.len()];
    for b in crypto::bad_items(&items, keys) {
        bad[pending[b]] = true;
    }
    txs.into_iter()
        .zip(bad)
        .map(|(tx, bad)| {
            if tx.body.chain_id != *chain_id {
                Err(TxError::WrongChain {
                    expected: *chain_id,
                    found: tx.body.chain_id,
                })
            } else if bad {
                Err(TxError::Signature(signature_error(&tx.body.signer)))
            } else {
                Ok(VerifiedTx::new_unchecked(tx))
            }
        })
        .collect()
}

/// The error [`Transaction::verify`] gives for a bad signature by `signer`: a bad key or an
/// invalid signature.
fn signature_error(signer: &PublicKey) -> SignatureError {
    match signer.check() {
        Err(e) => e,
        Ok(()) => SignatureError::Invalid {
            key: *signer,
            tag: domain::TX_SIGN.0,
        },
    }
}
