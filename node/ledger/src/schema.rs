//! What the ledger stores where: keys and values of every column.
//!
//! | column | key | value |
//! | --- | --- | --- |
//! | Meta | `last_applied` | height (8 bytes BE) |
//! | Meta | `genesis` | canonical genesis document |
//! | Meta | `suffix` ‖ height (8 BE) | [`StoredSuffix`]: the suffix headers that finalized the boundary block at that height (docs/governance.md), only for a boundary finalized through them |
//! | Blocks | height (8 BE) | [`StoredBlock`]: header and first log index |
//! | Certs | height (8 BE) | canonical finalization certificate |
//! | Log | log index (8 BE) | canonical `LogEntry` |
//! | TxIndex | tx hash (32) ‖ log index (8 BE) | [`TxLoc`]: log index, height, outcome |
//! | LogTree | tile level (1) ‖ tile index (8 BE) | log tile: 1 to 256 hashes of tree level 8·L (32 each; the right-edge tile grows) |
//! | State | key hash (32) ‖ height (8 BE) | [`StateEntry`]: key and value from that height on |
//! | StateTree | path (first `depth` bits, ⌈depth/8⌉ bytes) ‖ depth (2 BE) ‖ node hash (32) | node (65 bytes) |
//! | Index | prefix (1) ‖ fields ‖ log index (8 BE) | empty |
//!
//! Strings inside index keys end with a NUL byte (text fields cannot contain control
//! characters), so a field value is never a prefix of another. Every index key ends with
//! the log index of the transaction that wrote it, so keys are unique and never
//! overwritten; entries for genesis members end with `u64::MAX`.

use bincode::{Decode, Encode};
use chancery_core::block::{BlockHeader, LogEntry, Outcome};
use chancery_core::codec::{Canonical, ValidationError};
use chancery_core::state::{StateKey, StateValue};
use chancery_core::{Digest, Height};

/// Meta key of the last applied height.
pub const META_LAST_APPLIED: &[u8] = b"last_applied";
/// Meta key of the genesis document.
pub const META_GENESIS: &[u8] = b"genesis";

/// Meta key prefix of a boundary block's suffix headers ([`suffix_key`]).
pub const META_SUFFIX: &[u8] = b"suffix";

/// `Column::Meta` key of the suffix headers of the boundary block at `height`.
pub fn suffix_key(height: Height) -> Vec<u8> {
    let mut k = META_SUFFIX.to_vec();
    k.extend_from_slice(&be(height.0));
    k
}

/// The headers of the old epoch's empty blocks past a boundary block, from its child up to
/// the block its stored certificate signs (never applied themselves: the ledger keeps them
/// for the epoch link). Checked with `chancery_core::epoch::check_suffix` before storing.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
#[bincode(decode_context = "chancery_core::suite::Suite")]
pub struct StoredSuffix(pub Vec<BlockHeader>);

impl Canonical for StoredSuffix {
    const NAME: &'static str = "stored suffix";
    const BYTES_MAX: usize = chancery_core::limits::EPOCH_SUFFIX_MAX
        * chancery_core::limits::BLOCK_HEADER_ENCODING_BYTES_MAX
        + 16;
    fn validate(&self) -> Result<(), ValidationError> {
        chancery_core::codec::check::list(
            "suffix",
            &self.0,
            chancery_core::limits::EPOCH_SUFFIX_MAX,
        )?;
        for (i, h) in self.0.iter().enumerate() {
            h.validate()
                .map_err(|e| e.within(&format!("suffix[{i}]")))?;
        }
        Ok(())
    }
}

/// Log index used in index keys written at genesis.
pub const GENESIS_INDEX: u64 = u64::MAX;

/// A block as stored: the header, and where its transactions start in the log.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
#[bincode(decode_context = "chancery_core::suite::Suite")]
pub struct StoredBlock {
    /// Header.
    pub header: BlockHeader,
    /// Log index of its first transaction.
    pub first_index: u64,
}

impl Canonical for StoredBlock {
    const NAME: &'static str = "stored block";
    const BYTES_MAX: usize = 1024;
    fn validate(&self) -> Result<(), ValidationError> {
        self.header.validate()
    }
}

/// Where a transaction is (one entry per occurrence in the log).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
#[bincode(decode_context = "chancery_core::suite::Suite")]
pub struct TxLoc {
    /// Log index.
    pub index: u64,
    /// Block height.
    pub height: Height,
    /// What execution did with it there.
    pub outcome: Outcome,
}

/// `Column::TxIndex` key.
pub fn tx_key(hash: &Digest, index: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(40);
    k.extend_from_slice(hash.as_bytes());
    k.extend_from_slice(&be(index));
    k
}

/// A log entry read back from the store. The entry was validated when its block was
/// executed, except a transaction rejected as `Malformed`, which is logged as it came:
/// so read-back does not re-run format validation (hashes are re-checked instead).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
#[bincode(decode_context = "chancery_core::suite::Suite")]
pub struct RawLogEntry(pub LogEntry);

impl Canonical for RawLogEntry {
    const NAME: &'static str = "log entry";
    const BYTES_MAX: usize = <LogEntry as Canonical>::BYTES_MAX;
    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

impl Canonical for TxLoc {
    const NAME: &'static str = "tx location";
    const BYTES_MAX: usize = 32;
    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

/// A versioned state value.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
#[bincode(decode_context = "chancery_core::suite::Suite")]
pub struct StateEntry {
    /// Key.
    pub key: StateKey,
    /// Value.
    pub value: StateValue,
}

impl Canonical for StateEntry {
    const NAME: &'static str = "state entry";
    const BYTES_MAX: usize = 64 * 1024;
    fn validate(&self) -> Result<(), ValidationError> {
        self.key.validate()?;
        self.value.validate()?;
        if !self.value.fits(&self.key) {
            return Err(ValidationError::new(
                "value",
                "a value of the key's kind",
                format!("{:?}", self.value),
            ));
        }
        Ok(())
    }
}

/// 8-byte big-endian.
pub fn be(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// Read an 8-byte big-endian number.
pub fn read_be(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(..8)?.try_into().ok()?))
}

/// `Column::State` key.
pub fn state_key(key_hash: &Digest, height: Height) -> Vec<u8> {
    let mut k = Vec::with_capacity(40);
    k.extend_from_slice(key_hash.as_bytes());
    k.extend_from_slice(&be(height.0));
    k
}

/// Index prefixes.
pub mod ix {
    /// History of a subject (asset, award, grant, member): class byte, subject, log index.
    pub const SUBJECT: u8 = 1;
    /// Applied records by the signer's agency.
    pub const AGENCY: u8 = 2;
    /// Applied records by kind and block time.
    pub const KIND_TIME: u8 = 3;
    /// Awards by purchaser.
    pub const AWARD_PURCHASER: u8 = 4;
    /// Awards by supplier credit code.
    pub const AWARD_SUPPLIER_CODE: u8 = 5;
    /// Awards by supplier name.
    pub const AWARD_SUPPLIER_NAME: u8 = 6;
    /// Awards by award date.
    pub const AWARD_DATE: u8 = 7;
    /// Awards by amount (currency, minor units).
    pub const AWARD_AMOUNT: u8 = 8;
    /// Grants by dataset.
    pub const GRANT_DATASET: u8 = 9;
    /// Grants by grantee.
    pub const GRANT_GRANTEE: u8 = 10;
    /// Grants by status (0 issued, 1 revoked).
    pub const GRANT_STATUS: u8 = 11;
    /// Members by agency.
    pub const MEMBER_AGENCY: u8 = 12;
    /// Assets by custodian.
    pub const ASSET_CUSTODIAN: u8 = 13;
    /// Grants by grantor.
    pub const GRANT_GRANTOR: u8 = 14;
    /// Agencies added and removed by passed proposals: agency id, change (0 added,
    /// 1 removed), log index of the vote that passed the proposal.
    pub const AGENCY_CHANGE: u8 = 15;
    /// Awards by purchaser and award date (newest first per purchaser, issue 22).
    pub const AWARD_PURCHASER_DATE: u8 = 16;

    /// Subject classes for [`SUBJECT`].
    pub const CLASS_ASSET: u8 = b'a';
    /// Award subjects (`ocid\0award\0`).
    pub const CLASS_AWARD: u8 = b'w';
    /// Grant subjects.
    pub const CLASS_GRANT: u8 = b'g';
    /// Member subjects (32-byte key).
    pub const CLASS_MEMBER: u8 = b'm';
    /// Contracting process subjects (`ocid\0`): every record of the process.
    pub const CLASS_PROCESS: u8 = b'p';
    /// Contract subjects (`ocid\0contract\0`).
    pub const CLASS_CONTRACT: u8 = b'c';
}

/// Builds an index key.
#[derive(Clone, Debug, Default)]
pub struct KeyBuf(pub Vec<u8>);

impl KeyBuf {
    /// Start with a prefix byte.
    pub fn new(prefix: u8) -> KeyBuf {
        KeyBuf(vec![prefix])
    }
    /// A NUL-terminated string.
    pub fn s(mut self, s: &str) -> KeyBuf {
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        self
    }
    /// Raw bytes.
    pub fn b(mut self, b: &[u8]) -> KeyBuf {
        self.0.extend_from_slice(b);
        self
    }
    /// An 8-byte big-endian number.
    pub fn n(mut self, n: u64) -> KeyBuf {
        self.0.extend_from_slice(&be(n));
        self
    }
    /// Done.
    pub fn done(self) -> Vec<u8> {
        self.0
    }
}

/// The smallest key greater than every key starting with `prefix` (`None`: unbounded).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut p = prefix.to_vec();
    while let Some(last) = p.pop() {
        if last < 0xff {
            p.push(last + 1);
            return Some(p);
        }
    }
    None
}
