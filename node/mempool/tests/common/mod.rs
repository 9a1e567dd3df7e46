//! Test helpers: a ledger view, keys, transactions.
#![allow(dead_code)]

use chancery_core::crypto::SecretKey;
use chancery_core::record::{AnchorDocument, DocumentRef, Record, RecordRef, RevokeMember, Role};
use chancery_core::tx::{Transaction, TxBody};
use chancery_core::{AgencyId, ChainId, Digest, PublicKey, Seq, TimestampMs};
use chancery_mempool::{AdmissionView, MemberInfo, Mempool, MempoolConfig};
use std::collections::BTreeMap;

pub const CHAIN: ChainId = Digest([7u8; 32]);

/// An in-memory ledger view.
#[derive(Clone, Debug, Default)]
pub struct View {
    pub members: BTreeMap<PublicKey, MemberInfo>,
    pub next: BTreeMap<PublicKey, Seq>,
}

impl AdmissionView for View {
    fn member(&self, key: &PublicKey) -> Option<MemberInfo> {
        self.members.get(key).cloned()
    }
    fn next_seq(&self, key: &PublicKey) -> Seq {
        self.next.get(key).copied().unwrap_or_default()
    }
}

impl View {
    /// Register `key` in `agency` with the archivist role (enough for anchors).
    pub fn add(&mut self, key: &SecretKey, agency: &str) {
        self.add_roles(key, agency, vec![Role::Archivist]);
    }
    pub fn add_roles(&mut self, key: &SecretKey, agency: &str, roles: Vec<Role>) {
        self.members.insert(
            key.public(),
            MemberInfo {
                agency: AgencyId(agency.to_string()),
                roles,
                revoked: false,
            },
        );
    }
    /// Apply committed transactions: each signer's next seq moves past them.
    pub fn commit(&mut self, txs: &[Transaction]) {
        for t in txs {
            let n = self.next.entry(t.body.signer).or_default();
            if t.body.seq >= *n {
                *n = t.body.seq.next();
            }
            if let Record::RevokeMember(r) = &t.body.record {
                if let Some(m) = self.members.get_mut(&r.key) {
                    m.revoked = true;
                }
            }
        }
    }
}

/// Key number `i` of agency number `a`.
pub fn key(a: u8, i: u16) -> SecretKey {
    let mut seed = [0u8; 32];
    seed[0] = a;
    seed[1..3].copy_from_slice(&i.to_le_bytes());
    seed[31] = 0x5a;
    SecretKey::from_seed(seed)
}

pub fn agency(a: u8) -> String {
    format!("agency-{a}")
}

/// An anchor record; `variant` changes the document hash, `pad` adds bytes to the URL.
pub fn anchor(variant: u64, pad: usize) -> Record {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&variant.to_le_bytes());
    Record::AnchorDocument(AnchorDocument {
        document: DocumentRef {
            hash: Digest(h),
            kind: "approval".into(),
            title: "minutes".into(),
            url: "x".repeat(pad),
        },
        supports: RecordRef::None,
    })
}

pub fn signed(key: &SecretKey, seq: u64, record: Record, chain: ChainId) -> Transaction {
    Transaction::sign(
        TxBody {
            chain_id: chain,
            signer: key.public(),
            seq: Seq(seq),
            record,
        },
        key,
    )
}

/// A valid anchor transaction by `key` with sequence `seq`.
pub fn tx(key: &SecretKey, seq: u64) -> Transaction {
    signed(key, seq, anchor(seq, 0), CHAIN)
}

/// A different transaction with the same signer and sequence.
pub fn tx_variant(key: &SecretKey, seq: u64, variant: u64) -> Transaction {
    signed(key, seq, anchor(seq ^ (variant << 32), 0), CHAIN)
}

/// A transaction whose signature does not verify.
pub fn tx_bad_sig(key: &SecretKey, seq: u64) -> Transaction {
    let mut t = tx(key, seq);
    t.signature.0[9] ^= 0x40;
    t
}

pub fn revoke(admin: &SecretKey, seq: u64, agency_name: &str, target: PublicKey) -> Transaction {
    signed(
        admin,
        seq,
        Record::RevokeMember(RevokeMember {
            agency: AgencyId(agency_name.to_string()),
            key: target,
            reason: "left".into(),
        }),
        CHAIN,
    )
}

pub fn pool(config: MempoolConfig) -> Mempool {
    Mempool::new(CHAIN, config).expect("valid config")
}

pub fn t(ms: u64) -> TimestampMs {
    TimestampMs(ms)
}

/// Assert the pool's invariants, with the error in the message.
pub fn ok(p: &Mempool) {
    if let Err(e) = p.check_invariants() {
        panic!("invariant broken: {e}");
    }
}
