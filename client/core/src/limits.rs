//! Every size limit of the kernel, in one place. Names put the thing first and the unit last.
//!
//! The `BYTES_MAX` of each [`crate::codec::Canonical`] type is one of the `*_ENCODING_BYTES_MAX`
//! or `*_BYTES_MAX` constants here; the relations between them that the code relies on are
//! checked by this module's tests.

// ------------------------------------------------------------------------ fields and lists

/// Largest canonical encoding of one transaction, in bytes.
pub const TX_BYTES_MAX: usize = 64 * 1024;
/// Largest canonical encoding of any kernel value (blocks, receipts, genesis), in bytes.
pub const ENCODING_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Longest identifier (agency id, asset id, grant id, ocid, ...), in bytes.
pub const ID_BYTES_MAX: usize = 64;
/// Longest short text (names, titles, units, codes), in bytes.
pub const NAME_BYTES_MAX: usize = 256;
/// Longest free text (descriptions, purposes, reasons), in bytes.
pub const TEXT_BYTES_MAX: usize = 4096;
/// Longest URL, in bytes.
pub const URL_BYTES_MAX: usize = 1024;
/// Longest asset category, in bytes: GB/T 14885 codes are at most 16 letters and digits.
pub const CATEGORY_BYTES_MAX: usize = 16;
/// Most documents attached to one record.
pub const DOCUMENTS_MAX: usize = 32;
/// Most suppliers on one award.
pub const SUPPLIERS_MAX: usize = 64;
/// Most items on one award.
pub const ITEMS_MAX: usize = 256;
/// Most actions in one data-sharing grant.
pub const ACTIONS_MAX: usize = 8;
/// Most constraints in one data-sharing grant.
pub const CONSTRAINTS_MAX: usize = 16;
/// Most roles held by one member key.
pub const ROLES_MAX: usize = 16;
/// Most validators in one epoch's validator set.
pub const VALIDATORS_MAX: usize = 256;
/// Most transactions in one block.
pub const BLOCK_TXS_MAX: usize = 20_000;
/// Largest total transaction bytes in one block.
pub const BLOCK_BYTES_MAX: usize = 16 * 1024 * 1024;

// ------------------------------------------------------------------------------ genesis

/// Most agencies in a consortium.
pub const AGENCIES_MAX: usize = 1024;
/// Most members listed in genesis.
pub const GENESIS_MEMBERS_MAX: usize = 16 * 1024;
/// Most admin keys per agency.
pub const ADMIN_KEYS_MAX: usize = 16;
/// Largest canonical genesis, in bytes: room for every member at its largest (about 400
/// bytes each) and the validator set.
pub const GENESIS_ENCODING_BYTES_MAX: usize = 16 * 1024 * 1024;

// --------------------------------------------------------------------------- governance

/// Most rules in the procurement limit standards.
pub const LIMIT_RULES_MAX: usize = 64;
/// Most changes in one governance proposal.
pub const CHANGES_MAX: usize = 16;
/// Largest denominator of the governance threshold fraction.
pub const THRESHOLD_DENOMINATOR_MAX: usize = 1_000_000;
/// Longest epoch delay a chain may set, in blocks.
pub const EPOCH_DELAY_BLOCKS_MAX: u64 = 10_000;
/// Largest Δ a chain may set, in milliseconds.
pub const DELTA_MS_MAX: u64 = 60_000;
/// Longest heartbeat a chain may set, in milliseconds (one hour).
pub const HEARTBEAT_MS_MAX: u64 = 3_600_000;
/// Most links in one epoch chain (epochs crossed from the genesis).
pub const EPOCH_LINKS_MAX: usize = 65_536;
/// Most suffix blocks past an epoch's boundary (docs/governance.md): empty blocks of the
/// old epoch that finalize a boundary block its own view could not. Each needs a view
/// that notarizes a block and then fails to finalize it; honest nodes build and vote for
/// no suffix block past this many, so the chain would wait after that many such views in
/// a row (the bound keeps every epoch link, and so every receipt, small).
pub const EPOCH_SUFFIX_MAX: usize = 64;

// ----------------------------------------------------------------- encodings of one value

/// Largest canonical block header, in bytes: fixed-size fields only (about 250 bytes), so
/// twice that leaves room for a new field without a limit change.
pub const BLOCK_HEADER_ENCODING_BYTES_MAX: usize = 512;
/// Room in a block's encoding beyond its transaction bytes, in bytes: the version byte, the
/// header and the list's length prefix.
pub const BLOCK_FRAME_BYTES_MAX: usize = 4096;
/// Largest canonical block, in bytes: the transaction bytes and the frame around them.
pub const BLOCK_ENCODING_BYTES_MAX: usize = BLOCK_BYTES_MAX + BLOCK_FRAME_BYTES_MAX;
/// Largest canonical log entry, in bytes: a transaction and its outcome (a few bytes).
pub const LOG_ENTRY_ENCODING_BYTES_MAX: usize = TX_BYTES_MAX + 64;
/// Room per signature in a certificate's encoding, in bytes: a 2-byte index and a 64-byte
/// signature, rounded up.
pub const CERTIFICATE_SIGNATURE_BYTES_MAX: usize = 80;
/// Room in a certificate's encoding beyond its signatures, in bytes: version byte, kind,
/// epoch, view, block and the list's length (about 60 bytes).
pub const CERTIFICATE_FRAME_BYTES_MAX: usize = 64;
/// Largest canonical certificate, in bytes: the frame and one signature per validator.
pub const CERTIFICATE_ENCODING_BYTES_MAX: usize =
    CERTIFICATE_FRAME_BYTES_MAX + VALIDATORS_MAX * CERTIFICATE_SIGNATURE_BYTES_MAX;
/// Largest canonical checkpoint (a block header and its certificate), in bytes.
pub const CHECKPOINT_ENCODING_BYTES_MAX: usize =
    BLOCK_HEADER_ENCODING_BYTES_MAX + CERTIFICATE_ENCODING_BYTES_MAX;
/// Largest canonical validator set, in bytes: each validator takes at most about 400 bytes,
/// so 256 of them fit in a tenth of this.
pub const VALIDATOR_SET_ENCODING_BYTES_MAX: usize = 1024 * 1024;

// --------------------------------------------------------------------- proofs and trees

/// Most hashes in any log proof (a tree of 2^63 leaves needs at most 63 for inclusion and
/// 64 for consistency).
pub const PROOF_HASHES_MAX: usize = 64;
/// Largest tree size accepted by verifiers and by the log: 2^63 leaves.
pub const TREE_SIZE_MAX: u64 = 1 << 63;
/// Most sibling hashes in a state proof: one per bit of the 256-bit key hash.
pub const PROOF_SIBLINGS_MAX: usize = 256;
/// Largest canonical state value, in bytes: an epoch's validator set is the biggest (a
/// proposal with every agency's vote, or an award with its largest supplier list, is well
/// under it); the frame is the value's tag.
pub const STATE_VALUE_ENCODING_BYTES_MAX: usize = VALIDATOR_SET_ENCODING_BYTES_MAX + 64;
/// Largest canonical state proof, in bytes: a key and a value (within 256 bytes more than
/// the value), and the sibling hashes.
pub const STATE_PROOF_ENCODING_BYTES_MAX: usize =
    STATE_VALUE_ENCODING_BYTES_MAX + PROOF_SIBLINGS_MAX * 32 + 256;

// ------------------------------------------------------------- checkpoints and receipts

/// Number of lines before the blank line of a text checkpoint (a format constant that the
/// text limits below are counted from).
pub const CHECKPOINT_BODY_LINES: usize = 14;
/// Largest text checkpoint, in bytes: the body (under 1 KiB) and one signature line per
/// validator (at most about 360 bytes each).
pub const CHECKPOINT_TEXT_BYTES_MAX: usize = 128 * 1024;
/// Largest receipt file (or state-proof bundle), in bytes: a hex log entry and a hex
/// checkpoint (under 200 KiB together), the proof, and for a checkpoint of a later epoch
/// the hex epoch links that prove its set: about 6 KiB of hex per link for 16 validators
/// (so thousands of epochs), at least 7 links of the largest possible set.
pub const RECEIPT_BYTES_MAX: usize = 16 * 1024 * 1024;

// ----------------------------------------------------------------------------- snapshots

/// Largest canonical state-snapshot chunk (`snapshot::SnapshotChunk`: the state leaves
/// under one key-hash prefix and the sibling subtrees above it), in bytes. Twice the size a
/// producer aims at, so that the largest state value with its key always fits in a chunk of
/// its own.
pub const SNAPSHOT_CHUNK_BYTES_MAX: usize = 2 * 1024 * 1024;
/// Size a snapshot producer aims every chunk at, in bytes: it takes the shortest prefix
/// length whose largest chunk is under it (else under `SNAPSHOT_CHUNK_BYTES_MAX`).
pub const SNAPSHOT_CHUNK_TARGET_BYTES: usize = 1024 * 1024;
/// Longest key-hash prefix a snapshot splits the state by, in bits.
pub const SNAPSHOT_PREFIX_BITS_MAX: usize = 16;
/// Most chunks in one snapshot: one per key-hash prefix of `SNAPSHOT_PREFIX_BITS_MAX` bits.
pub const SNAPSHOT_CHUNKS_MAX: usize = 1 << 16;
/// Most state leaves in one snapshot chunk (a leaf encodes in more than 32 bytes, so a
/// chunk of `SNAPSHOT_CHUNK_BYTES_MAX` holds fewer).
pub const SNAPSHOT_CHUNK_LEAVES_MAX: usize = 65_536;
/// Log entries in one snapshot log piece: every piece but the last holds exactly this many
/// (one level-0 log tile; a piece is a complete subtree of the log, level 8).
pub const SNAPSHOT_LOG_PIECE_ENTRIES_MAX: usize = 256;
/// Largest canonical snapshot log piece, in bytes: its entries at their largest, the
/// inclusion proof of its subtree and a frame.
pub const SNAPSHOT_LOG_PIECE_BYTES_MAX: usize =
    SNAPSHOT_LOG_PIECE_ENTRIES_MAX * LOG_ENTRY_ENCODING_BYTES_MAX + PROOF_HASHES_MAX * 32 + 64;
/// Largest canonical snapshot manifest, in bytes (fixed-size fields only).
pub const SNAPSHOT_MANIFEST_BYTES_MAX: usize = 256;

// ------------------------------------------------------------------------------ decoding

/// Inputs up to this size, in bytes, decode with the smallest reservation bound.
pub const DECODE_SMALL_BYTES_MAX: usize = 4 * 1024;
/// Inputs up to this size, in bytes, decode with the middle reservation bound.
pub const DECODE_MEDIUM_BYTES_MAX: usize = 64 * 1024;
/// How many bytes bincode may reserve per byte of an input's size class: decoded values
/// take at most a few times their encoded size in memory.
pub const DECODE_RESERVE_PER_BYTE_MAX: usize = 64;
/// Most bytes bincode may reserve while decoding any input above
/// `DECODE_MEDIUM_BYTES_MAX`.
pub const DECODE_RESERVE_BYTES_MAX: usize = 4 * ENCODING_BYTES_MAX;

#[cfg(test)]
mod tests {
    //! The relations between limits that the code relies on; a careless edit of one value
    //! fails here.

    use super::*;
    use crate::block::BlockHeader;
    use crate::cert::{Certificate, IndexedSignature, VoteKind};
    use crate::codec::{self, Canonical};
    use crate::genesis::ChainParams;
    use crate::ids::{Digest, Epoch, Height, Signature, TimestampMs, View};

    /// `big >= small`, or a failure naming the relation and both values.
    fn at_least(relation: &str, big: usize, small: usize) {
        assert!(big >= small, "{relation}: {big} < {small}");
    }

    #[test]
    fn transactions_fit_in_blocks_and_blocks_in_encodings() {
        at_least("block bytes >= one tx", BLOCK_BYTES_MAX, TX_BYTES_MAX);
        at_least(
            "block frame >= version + header + list length",
            BLOCK_FRAME_BYTES_MAX,
            1 + BLOCK_HEADER_ENCODING_BYTES_MAX + 8,
        );
        at_least(
            "any encoding >= block",
            ENCODING_BYTES_MAX,
            BLOCK_ENCODING_BYTES_MAX,
        );
        at_least(
            "any encoding >= genesis",
            ENCODING_BYTES_MAX,
            GENESIS_ENCODING_BYTES_MAX,
        );
        at_least(
            "genesis >= its validator set",
            GENESIS_ENCODING_BYTES_MAX,
            VALIDATOR_SET_ENCODING_BYTES_MAX,
        );
        // A log entry adds a version byte, height, time and an outcome (tag and reason).
        at_least(
            "log entry >= tx + version, height, time, outcome",
            LOG_ENTRY_ENCODING_BYTES_MAX,
            TX_BYTES_MAX + 1 + 8 + 8 + 4 + 4,
        );
        at_least(
            "medium decode class > small",
            DECODE_MEDIUM_BYTES_MAX,
            DECODE_SMALL_BYTES_MAX + 1,
        );
        at_least(
            "decode reservation >= any encoding",
            DECODE_RESERVE_BYTES_MAX,
            ENCODING_BYTES_MAX,
        );
    }

    #[test]
    fn default_chain_params_are_within_the_kernel_limits() {
        let p = ChainParams::default();
        at_least(
            "kernel block txs >= default",
            BLOCK_TXS_MAX,
            p.block_txs_max as usize,
        );
        at_least(
            "kernel block bytes >= default",
            BLOCK_BYTES_MAX,
            p.block_bytes_max as usize,
        );
        assert_eq!(p.validate(), Ok(()), "defaults are settable by governance");
    }

    /// In both suites: an SM2 key takes 65 bytes where an Ed25519 key takes 32.
    #[test]
    fn governance_records_and_state_fit_their_bounds() {
        for suite in crate::suite::Suite::ALL {
            governance_bounds(crate::ids::PublicKey::filled(suite, 0xff));
        }
    }

    fn governance_bounds(key: crate::ids::PublicKey) {
        use crate::epoch::EPOCH_LINK_ENCODING_BYTES_MAX;
        use crate::governance::{AgencyVote, Change, GovernanceState, ProposalState};
        use crate::governance::{PendingEpoch, ProposalStatus};
        use crate::ids::{AgencyId, NetworkKey, Seq};
        use crate::record::{ProposeChange, Record};
        use crate::state::StateValue;
        use crate::tx::{Transaction, TxBody};
        use crate::validator::{Validator, ValidatorSet};
        let id = |c: char| AgencyId(c.to_string().repeat(ID_BYTES_MAX));
        let network_key = NetworkKey([0xff; 32]);
        let name = "名".repeat(NAME_BYTES_MAX / 3);
        let changes = [
            Change::AddAgency {
                id: id('a'),
                name_zh: name.clone(),
                name_en: name.clone(),
                admin_keys: vec![key; ADMIN_KEYS_MAX],
            },
            Change::AddValidator {
                agency: id('a'),
                name: "v".repeat(ID_BYTES_MAX),
                consensus_key: key,
                network_key,
                power: u64::MAX,
            },
            Change::SetParams {
                params: ChainParams::default(),
            },
        ];
        let largest = changes
            .iter()
            .max_by_key(|c| codec::encode(*c).len())
            .cloned()
            .unwrap();
        let proposal = ProposeChange {
            proposal_id: "p".repeat(ID_BYTES_MAX),
            changes: vec![largest; CHANGES_MAX],
            deadline: TimestampMs(u64::MAX),
            reason: Digest([0xff; 32]),
        };
        let tx = Transaction {
            body: TxBody {
                chain_id: Digest([0xff; 32]),
                signer: key,
                seq: Seq(u64::MAX),
                record: Record::ProposeChange(proposal.clone()),
            },
            signature: Signature([0xff; 64]),
        };
        at_least(
            "tx >= largest proposal",
            TX_BYTES_MAX,
            codec::encode(&tx).len(),
        );
        let state = StateValue::Proposal(ProposalState {
            agency: id('a'),
            proposer: key,
            changes: proposal.changes,
            deadline: TimestampMs(u64::MAX),
            reason: Digest([0xff; 32]),
            proposed_at: Height(u64::MAX),
            votes: (0..AGENCIES_MAX)
                .map(|_| AgencyVote {
                    agency: id('b'),
                    approve: true,
                    signer: key,
                    height: Height(u64::MAX),
                })
                .collect(),
            status: ProposalStatus::Passed {
                at: Height(u64::MAX),
                epoch: Some(Epoch(u64::MAX)),
                effective_height: Some(Height(u64::MAX)),
            },
            last_tx: Digest([0xff; 32]),
        });
        at_least(
            "state value >= proposal with every agency's vote",
            STATE_VALUE_ENCODING_BYTES_MAX,
            codec::encode(&state).len(),
        );
        let governance = StateValue::Governance(GovernanceState {
            agencies: vec![id('c'); AGENCIES_MAX],
            epoch: Epoch(u64::MAX),
            params: ChainParams::default(),
            pending: Some(PendingEpoch {
                epoch: Epoch(u64::MAX),
                start_height: Height(u64::MAX),
                params: ChainParams::default(),
                passed_at: Height(u64::MAX),
            }),
        });
        at_least(
            "state value >= governance of AGENCIES_MAX agencies",
            STATE_VALUE_ENCODING_BYTES_MAX,
            codec::encode(&governance).len(),
        );
        let set = ValidatorSet {
            epoch: Epoch(u64::MAX),
            start_height: Height(u64::MAX),
            validators: vec![
                Validator {
                    name: name.clone(),
                    agency: id('d'),
                    consensus_key: key,
                    network_key,
                    power: u64::MAX,
                };
                VALIDATORS_MAX
            ],
        };
        at_least(
            "validator set bound >= largest set",
            VALIDATOR_SET_ENCODING_BYTES_MAX,
            codec::encode(&set).len(),
        );
        at_least(
            "state value >= largest validator set",
            STATE_VALUE_ENCODING_BYTES_MAX,
            codec::encode(&StateValue::ValidatorSet(set)).len(),
        );
        at_least(
            "any encoding >= epoch link",
            ENCODING_BYTES_MAX,
            EPOCH_LINK_ENCODING_BYTES_MAX,
        );
        at_least(
            "any encoding >= state proof",
            ENCODING_BYTES_MAX,
            STATE_PROOF_ENCODING_BYTES_MAX,
        );
    }

    #[test]
    fn snapshot_limits_hold_their_largest_contents() {
        // The largest leaf: a key (an award's two ids at most, with tags and lengths), the
        // largest value, and every sibling (tag and two digests), with the chunk's frame.
        let key_max = 1 + 2 * (8 + ID_BYTES_MAX);
        at_least(
            "chunk >= largest leaf + every sibling + frame",
            SNAPSHOT_CHUNK_BYTES_MAX,
            key_max + STATE_VALUE_ENCODING_BYTES_MAX + SNAPSHOT_PREFIX_BITS_MAX * 65 + 64,
        );
        at_least(
            "chunk max >= target",
            SNAPSHOT_CHUNK_BYTES_MAX,
            SNAPSHOT_CHUNK_TARGET_BYTES,
        );
        assert_eq!(SNAPSHOT_CHUNKS_MAX, 1 << SNAPSHOT_PREFIX_BITS_MAX);
        at_least(
            "chunk leaves x smallest leaf (key tag + 32, value tag + 8) >= chunk bytes",
            SNAPSHOT_CHUNK_LEAVES_MAX * (33 + 9),
            SNAPSHOT_CHUNK_BYTES_MAX,
        );
        assert!(SNAPSHOT_LOG_PIECE_ENTRIES_MAX.is_power_of_two());
        at_least(
            "any encoding >= log piece",
            ENCODING_BYTES_MAX,
            SNAPSHOT_LOG_PIECE_BYTES_MAX,
        );
    }

    #[test]
    fn proof_bounds_cover_the_largest_trees() {
        // A consistency proof in a tree of `n` leaves has at most ceil(log2 n) + 1 hashes.
        let log2 = TREE_SIZE_MAX.ilog2() as usize;
        at_least(
            "proof hashes >= log2(tree size) + 1",
            PROOF_HASHES_MAX,
            log2 + 1,
        );
        assert_eq!(
            PROOF_SIBLINGS_MAX,
            Digest::ZERO.0.len() * 8,
            "one sibling per key bit"
        );
    }

    #[test]
    fn largest_header_and_certificate_fit_their_bounds() {
        let h = Digest([0xff; 32]);
        let header = BlockHeader {
            chain_id: h,
            epoch: Epoch(u64::MAX),
            height: Height(u64::MAX),
            view: View(u64::MAX),
            parent: h,
            proposer: u16::MAX,
            time: TimestampMs(u64::MAX),
            txs_hash: h,
            tx_count: u32::MAX,
            log_size: u64::MAX,
            log_root: h,
            state_root: h,
            validator_set: h,
            next_validator_set: h,
        };
        at_least(
            "header bound",
            BlockHeader::BYTES_MAX,
            codec::encode(&header).len(),
        );
        let cert = Certificate {
            kind: VoteKind::Finalize,
            epoch: Epoch(u64::MAX),
            view: View(u64::MAX),
            block: h,
            signatures: (0..VALIDATORS_MAX as u16)
                .map(|index| IndexedSignature {
                    index,
                    signature: Signature([0xff; 64]),
                })
                .collect(),
        };
        at_least(
            "certificate bound",
            Certificate::BYTES_MAX,
            codec::encode(&cert).len(),
        );
    }

    #[test]
    fn texts_and_files_hold_their_largest_contents() {
        // A signature line: "— " (4 bytes), a name, a space, base64 of 68 bytes, "\n".
        let signature_line_bytes_max = 4 + NAME_BYTES_MAX + 1 + 92 + 1;
        let body_bytes_max = 1024;
        at_least(
            "text checkpoint >= body + a line per validator",
            CHECKPOINT_TEXT_BYTES_MAX,
            body_bytes_max + VALIDATORS_MAX * signature_line_bytes_max,
        );
        // JSON with the entry and checkpoint in hex and every proof hash quoted.
        let receipt_bytes = 2 * (LOG_ENTRY_ENCODING_BYTES_MAX + CHECKPOINT_ENCODING_BYTES_MAX)
            + PROOF_HASHES_MAX * (2 * 32 + 3)
            + 1024;
        at_least(
            "receipt file >= its largest JSON",
            RECEIPT_BYTES_MAX,
            receipt_bytes,
        );
        // A receipt of a later epoch carries links, in hex: several of the largest.
        use crate::epoch::EPOCH_LINK_ENCODING_BYTES_MAX;
        at_least(
            "receipt file >= its JSON with 7 of the largest epoch links",
            RECEIPT_BYTES_MAX,
            receipt_bytes + 7 * (2 * EPOCH_LINK_ENCODING_BYTES_MAX + 3),
        );
    }
}
