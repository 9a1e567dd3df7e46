//! # chancery-api-types — the JSON shapes of Chancery's HTTP API
//!
//! Every request and response body of the node's `/v1` API, shared by the server
//! (`chancery-api`, which renders them) and every Rust client (`chancery-client` and, through
//! it, the `chancery` CLI, `chancery-testnet` and the end-to-end tests), so that both sides
//! agree by construction. Serde only: no IO, no kernel types. The OpenAPI schemas are derived
//! behind the `openapi` feature, which only the server enables.
//!
//! `serde_json::Value` appears where an answer carries free-form JSON: kernel values in their
//! own serde form (headers, certificates, records, transactions, state proofs), error
//! details, and supplier lists. Hashes and keys are lower-case hex. A restricted record field
//! appears as `{"sealed": HEX}` (its salted commitment) unless its submitter disclosed it
//! (`{"open": VALUE}`): the node never holds sealed content.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every error answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `not_found`, `bad_cursor`, `rate_limited`.
    pub code: String,
    /// What was wrong and what was expected.
    pub message: String,
    /// Structured details (limits, found values), or null.
    #[cfg_attr(feature = "openapi", schema(value_type = Object, nullable))]
    pub details: Value,
}

/// One page of results.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; null at the end.
    pub next: Option<String>,
}

/// A transaction as listed in histories and record pages.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TxSummary {
    /// Transaction hash.
    pub hash: String,
    /// Log index.
    pub index: u64,
    /// Height of its block.
    pub height: u64,
    /// Block time, ms since 1970.
    pub time_ms: u64,
    /// Record kind, e.g. `register_asset`.
    pub kind: String,
    /// Subject id (asset id, `ocid/award_id`, grant id, ...).
    pub subject: String,
    /// Signer key.
    pub signer: String,
    /// Signer's sequence number.
    pub seq: u64,
    /// `applied` or `rejected`.
    pub outcome: String,
    /// Rejection reason code, if rejected.
    pub reason: Option<String>,
    /// The record (kernel JSON form; restricted fields as commitments).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub record: Value,
}

/// A block summary.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockSummary {
    /// Height.
    pub height: u64,
    /// Header hash.
    pub hash: String,
    /// Block time, ms since 1970.
    pub time_ms: u64,
    /// Transactions in it.
    pub tx_count: u32,
    /// Log size after it.
    pub log_size: u64,
    /// Log root after it.
    pub log_root: String,
    /// State root after it.
    pub state_root: String,
    /// Proposer's validator index.
    pub proposer: u16,
}

/// A page of block summaries (`next` is the next height to ask for).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockPage {
    /// Blocks, ascending.
    pub items: Vec<BlockSummary>,
    /// Next `from` height, or null past the last block.
    pub next: Option<u64>,
}

/// A block in its canonical encoding, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RawBlock {
    /// Height.
    pub height: u64,
    /// Hex of the canonical `Block` encoding (header and transactions).
    pub block: String,
    /// Hex of the canonical finalization `Certificate` stored with it (its own, or a
    /// descendant's for a block finalized together with that descendant).
    pub certificate: String,
    /// For an epoch's boundary block finalized through the old epoch's suffix blocks
    /// (docs/governance.md): hex of each canonical suffix `BlockHeader`, from its child up
    /// to the block the certificate signs. Absent (empty) for every other block.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suffix: Vec<String>,
}

/// A page of raw blocks.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RawBlockPage {
    /// Blocks, ascending.
    pub items: Vec<RawBlock>,
    /// Next `from` height, or null past the last block.
    pub next: Option<u64>,
}

/// A block with its transactions and certificate.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockDetail {
    /// Header hash.
    pub hash: String,
    /// The header (kernel JSON form).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub header: Value,
    /// Its transactions, in block order.
    pub transactions: Vec<BlockTx>,
    /// The finalization certificate stored with it (kernel JSON form).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub certificate: Value,
}

/// A transaction as a block lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockTx {
    /// Transaction hash, hex.
    pub hash: String,
    /// Signer key, hex.
    pub signer: String,
    /// Signer's sequence number.
    pub seq: u64,
    /// Record kind, e.g. `register_asset`.
    pub record_kind: String,
    /// Subject id (asset id, `ocid/award_id`, grant id, ...).
    pub subject: String,
}

/// An asset's current state.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetDto {
    /// Asset id.
    pub id: String,
    /// Custodian agency.
    pub custodian: String,
    /// `held` or `disposed`.
    pub status: String,
    /// Height of the block that registered it.
    pub registered_at: u64,
    /// The last transaction that changed it.
    pub last_tx: String,
    /// Height of the state read.
    pub as_of_height: u64,
}

/// An award's current state.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AwardDto {
    /// OCDS process id.
    pub ocid: String,
    /// Award id.
    pub award_id: String,
    /// Purchasing agency.
    pub purchaser: String,
    /// `pending`, `active`, `unsuccessful` or `cancelled`.
    pub status: String,
    /// Current value in minor units.
    pub amount_minor: u64,
    /// ISO 4217 currency.
    pub currency: String,
    /// Award date, YYYY-MM-DD.
    pub award_date: String,
    /// Current suppliers: name and credit_code.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub suppliers: Vec<Value>,
    /// The last transaction that changed it.
    pub last_tx: String,
}

/// An award with its history.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AwardDetail {
    /// Current state.
    pub award: AwardDto,
    /// Award, amendments, cancellation and documents, oldest first.
    pub history: Page<TxSummary>,
}

/// A limit-standard assessment (issue 22): of the tender, an award or a contract.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComplianceDto {
    /// `tender`, `award` or `contract`.
    pub subject: String,
    /// The award or contract id (empty for the tender).
    pub id: String,
    /// The procurement method assessed (`open`, `selective`, `limited`, `direct`).
    pub method: String,
    /// Flags: `rule` (`open_tender_required`, a breach; `below_record_limit`, a note),
    /// `standard`, `limit` and `value` (minor units and currency). Empty: compliant.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub flags: Vec<Value>,
}

/// A contract's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContractDto {
    /// OCDS process id.
    pub ocid: String,
    /// Contract id.
    pub contract_id: String,
    /// The award it implements.
    pub award_id: String,
    /// Purchasing agency.
    pub purchaser: String,
    /// `active`, `complete` (final payment made) or `terminated`.
    pub status: String,
    /// Current value in minor units.
    pub amount_minor: u64,
    /// Paid so far, minor units (never above the value).
    pub paid_minor: u64,
    /// ISO 4217 currency.
    pub currency: String,
    /// Signature date, YYYY-MM-DD.
    pub signed_date: String,
    /// Last day of the period, YYYY-MM-DD.
    pub period_end: String,
    /// The last transaction that changed it.
    pub last_tx: String,
}

/// A contracting process: its tender, awards, contracts, assessments and every record.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProcessDetail {
    /// OCDS process id.
    pub ocid: String,
    /// The tender's state (purchaser, method, budget, dates, status, bids), if published.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub tender: Option<Value>,
    /// Its awards, in the order they were made.
    pub awards: Vec<AwardDto>,
    /// Its contracts, in the order they were signed.
    pub contracts: Vec<ContractDto>,
    /// The limit-standard assessments the ledger made.
    pub compliance: Vec<ComplianceDto>,
    /// Every record of the process, oldest first.
    pub history: Page<TxSummary>,
}

/// A contract with its history.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContractDetail {
    /// Current state.
    pub contract: ContractDto,
    /// Its assessment, if one was made.
    pub compliance: Option<ComplianceDto>,
    /// Signature, amendments, milestones, payments and termination, oldest first.
    pub history: Page<TxSummary>,
}

/// A data-sharing grant's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantDto {
    /// Grant id.
    pub id: String,
    /// Dataset id.
    pub dataset_id: String,
    /// Granting agency.
    pub grantor: String,
    /// Agency allowed to use the dataset.
    pub grantee: String,
    /// First day of validity.
    pub valid_from: String,
    /// Last day of validity.
    pub valid_until: String,
    /// Revoked by the grantor.
    pub revoked: bool,
    /// `active`, `pending` (not yet valid), `expired` or `revoked` at `status_at_ms`.
    pub status: String,
    /// Block time the status is computed at (the tip's), ms since 1970.
    pub status_at_ms: u64,
    /// The last transaction that changed it.
    pub last_tx: String,
}

/// A grant with its history.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantDetail {
    /// Current state and status.
    pub grant: GrantDto,
    /// Grant and revocation records, oldest first.
    pub history: Page<TxSummary>,
}

/// An agency: one of the genesis, or added by a passed proposal; removed ones included.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgencyDto {
    /// Agency id.
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The admin keys listed for it now (the genesis', or as `add_agency` and
    /// `set_admin_keys` set them).
    pub admin_keys: Vec<String>,
    /// Member keys (revoked included), counted up to `member_count_max`.
    pub member_count: usize,
    /// True if there are more members than counted.
    pub member_count_capped: bool,
    /// Validators run by this agency in the set in force for the next block.
    pub validators: Vec<String>,
    /// In the genesis document (else added by a proposal).
    #[serde(default)]
    pub genesis: bool,
    /// Removed by a proposal: it no longer votes, its member keys count as revoked.
    #[serde(default)]
    pub removed: bool,
    /// The proposal that added it (absent for a genesis agency, and for an addition not
    /// indexed yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_by: Option<AgencyChangeDto>,
    /// The proposal that removed it (once the removal is indexed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_by: Option<AgencyChangeDto>,
}

/// A passed proposal that added or removed an agency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgencyChangeDto {
    /// The proposal id (`GET /v1/governance/proposals/{id}`).
    pub proposal: String,
    /// The block that passed it, where the change took effect.
    pub height: u64,
}

/// A member key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberDto {
    /// Public key.
    pub key: String,
    /// Agency.
    pub agency: String,
    /// Display name.
    pub name: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Revoked.
    pub revoked: bool,
    /// The sequence number its next transaction must carry.
    pub next_seq: u64,
}

/// A validator.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidatorDto {
    /// Index in the validator set (its id in certificates).
    pub index: u16,
    /// Name.
    pub name: String,
    /// Agency running it.
    pub agency: String,
    /// Consensus key.
    pub consensus_key: String,
    /// Network key.
    pub network_key: String,
    /// Voting power.
    pub power: u64,
    /// Signed the certificate of the latest finalized block.
    pub signed_latest: bool,
}

/// The validator set with liveness.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidatorsDto {
    /// Epoch.
    pub epoch: u64,
    /// Validators in index order.
    pub validators: Vec<ValidatorDto>,
    /// Validators this node sees live (itself included if a validator); 0 on a read-only server.
    pub live: usize,
    /// Validators needed for a quorum.
    pub quorum: usize,
    /// Validators that signed the latest block's certificate.
    pub signed_latest: usize,
    /// Height of that block.
    pub latest_height: u64,
}

/// A checkpoint: a finalized header with its certificate.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckpointDto {
    /// Height of the checkpoint's header (for a block finalized by a descendant, the
    /// descendant's height, which can exceed the height asked for).
    pub height: u64,
    /// Log size.
    pub size: u64,
    /// Log root, hex.
    pub root: String,
    /// State root, hex.
    pub state_root: String,
    /// Hex of the canonical `Checkpoint` encoding.
    pub checkpoint: String,
    /// The signed-note text form.
    pub text: String,
}

/// An inclusion proof.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InclusionDto {
    /// Log index.
    pub index: u64,
    /// Log size the proof is for.
    pub size: u64,
    /// Hashes, bottom-up, hex.
    pub proof: Vec<String>,
    /// Hex of the entry's canonical bytes (the leaf data).
    pub leaf: String,
}

/// A consistency proof.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsistencyDto {
    /// Old size.
    pub first: u64,
    /// New size.
    pub second: u64,
    /// Hashes, hex.
    pub proof: Vec<String>,
}

/// A state proof with the checkpoint it is proven against. Verify: check `checkpoint`
/// against the genesis, then `verify_state_proof(checkpoint.header.state_root, proof)`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateProofDto {
    /// Height of the checkpoint (and of the state proven).
    pub height: u64,
    /// State root the proof leads to.
    pub state_root: String,
    /// The kernel `StateProof` (key, value or null, siblings, end).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub proof: Value,
    /// Hex of the canonical `StateProof` encoding.
    pub proof_hex: String,
    /// Hex of the canonical `Checkpoint` encoding.
    pub checkpoint: String,
    /// For a checkpoint of epoch `e > 0`: hex of the canonical `EpochLink` of each epoch
    /// `0..e` (exactly `e`), which prove the checkpoint's validator set from the genesis;
    /// empty (and absent) for epoch 0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub epochs: Vec<String>,
}

/// A receipt: exactly the kernel's `chancery_core::receipt::Receipt`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptDto {
    /// `chancery-receipt/v1` (checkpoint of epoch 0), or `chancery-receipt/v2` (of a later
    /// epoch, with `epochs`).
    pub format: String,
    /// Hex of the log entry's canonical bytes.
    pub entry: String,
    /// Log index.
    pub index: u64,
    /// Inclusion proof, bottom-up, hex.
    pub proof: Vec<String>,
    /// Hex of the canonical checkpoint.
    pub checkpoint: String,
    /// v2 only: hex of the canonical `EpochLink` of each epoch from 0 to the checkpoint's
    /// epoch (excluded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<Vec<String>>,
}

/// One link of the epoch chain (`GET /v1/epochs`): the boundary header that ends an epoch,
/// its finalization certificate by that epoch's set, and the next epoch's set. `link` is
/// what the kernel verifies (`chancery_core::epoch::verify_epoch_chain`); the rest is a
/// view of it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EpochLinkDto {
    /// The epoch this link ends.
    pub epoch: u64,
    /// Its first height.
    pub start_height: u64,
    /// Its last height: the boundary header's.
    pub end_height: u64,
    /// Hash of the epoch's validator set (the header's `validator_set`).
    pub validator_set: String,
    /// Hash of the next epoch's set (the header's `next_validator_set`).
    pub next_validator_set: String,
    /// Names of the next epoch's validators, in index order.
    pub next_validators: Vec<String>,
    /// The boundary header (the kernel's JSON form).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub header: Value,
    /// Its finalization certificate (the kernel's JSON form).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub certificate: Value,
    /// The next epoch's validator set (the kernel's JSON form).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub next: Value,
    /// When the boundary was finalized through the old epoch's empty suffix blocks
    /// (docs/governance.md): their headers (the kernel's JSON form), from the boundary's
    /// child up to the one the certificate signs. Absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub suffix: Vec<Value>,
    /// Hex of the canonical `EpochLink` encoding.
    pub link: String,
}

/// A page of the epoch chain (`GET /v1/epochs?from=&limit=`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EpochsDto {
    /// The epoch in force for the next block: the chain has that many links in all.
    pub current_epoch: u64,
    /// Its first height.
    pub current_start_height: u64,
    /// The links from `from`, in order.
    pub items: Vec<EpochLinkDto>,
    /// Pass as `?from=` for the next page; null when the page reaches the current epoch.
    pub next: Option<u64>,
}

/// The next epoch, scheduled by a passed proposal and not started yet.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingEpochDto {
    /// The epoch.
    pub epoch: u64,
    /// Its first height.
    pub start_height: u64,
    /// Height of the block that passed the last proposal merged into it.
    pub passed_at: u64,
    /// Its parameters (`ChainParams`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: Value,
    /// Hash of its validator set.
    pub validator_set: String,
    /// Its validators' names, in index order.
    pub validators: Vec<String>,
}

/// The consortium's governance (`GET /v1/governance`): the epoch in force, its parameters
/// and validators, the electorate, the pending epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GovernanceDto {
    /// The last applied height; the rest is as of it, for the next block.
    pub height: u64,
    /// The epoch in force.
    pub epoch: u64,
    /// Its first height.
    pub epoch_start_height: u64,
    /// Hash of its validator set.
    pub validator_set: String,
    /// Its validators (index, name, agency, keys, power).
    pub validators: Vec<ValidatorDto>,
    /// The parameters in force (`ChainParams`, with the governance threshold and the epoch
    /// delay).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: Value,
    /// The electorate: agencies not removed.
    pub agencies: Vec<String>,
    /// Approvals a proposal needs to pass now.
    pub approvals_needed: u64,
    /// The next epoch, if one is scheduled and has not started.
    pub pending: Option<PendingEpochDto>,
}

/// One agency's vote on a proposal (the latest by any of its admins).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VoteDto {
    /// The agency.
    pub agency: String,
    /// Approve (true) or reject.
    pub approve: bool,
    /// The admin key that cast it.
    pub signer: String,
    /// Height of its block.
    pub height: u64,
}

/// A governance proposal.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalDto {
    /// Proposal id.
    pub id: String,
    /// `open`, `passed`, `failed` or `expired` (open at or after its deadline), at the
    /// time of the block it is read at.
    pub status: String,
    /// The proposing agency.
    pub agency: String,
    /// The admin key that proposed it.
    pub proposer: String,
    /// The changes, in order (the kernel's `Change` JSON, tagged by `change`).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub changes: Vec<Value>,
    /// Voting deadline, block time in ms since 1970.
    pub deadline_ms: u64,
    /// Hash of the reason document, hex.
    pub reason: String,
    /// Height of the block that carried it.
    pub proposed_at: u64,
    /// One vote per agency, by agency.
    pub votes: Vec<VoteDto>,
    /// Approvals by agencies of the electorate.
    pub approvals: u64,
    /// Rejections by agencies of the electorate.
    pub rejections: u64,
    /// Approvals needed to pass, with the electorate and threshold of the block it is read
    /// at.
    pub approvals_needed: u64,
    /// Height of the block that passed or failed it.
    pub decided_at: Option<u64>,
    /// If passed with validator or parameter changes: the epoch they start.
    pub epoch: Option<u64>,
    /// And that epoch's first height, as scheduled when it passed.
    pub effective_height: Option<u64>,
    /// The last transaction that changed it.
    pub last_tx: String,
}

/// A proposal with the proof of its state (`GET /v1/governance/proposals/{id}`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalDetail {
    /// The proposal, as the proof shows it (its status at the checkpoint's block time).
    pub proposal: ProposalDto,
    /// Proof of `Proposal(id)` against the state root of the latest checkpoint, with the
    /// epoch links that prove the checkpoint from the genesis: `chancery verify` checks it.
    pub proof: StateProofDto,
}

/// Evidence that a validator signed two conflicting messages (`GET /v1/evidence`), as this
/// node stored it, with the result of checking it against the validator set of its epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceDto {
    /// Id: hex of the stored key after `consensus/evidence/` (for `/v1/evidence/{id}`).
    pub id: String,
    /// `votes` (two conflicting votes of one view); `proposals` when proposals are kept too.
    pub kind: String,
    /// Epoch of the validator set.
    pub epoch: u64,
    /// View of the two messages.
    pub view: u64,
    /// The culprit's index in the validator set.
    pub culprit: u16,
    /// The culprit's name in the genesis, if the index is in the set.
    pub culprit_name: Option<String>,
    /// The first signed message, canonical encoding in hex.
    pub first: String,
    /// The second signed message, canonical encoding in hex.
    pub second: String,
    /// The whole evidence, canonical encoding in hex: what `chancery verify` checks.
    pub evidence: String,
    /// Whether both signatures verify under the culprit's key and the messages conflict.
    pub verified: bool,
    /// Why it does not verify (or does not decode), when `verified` is false.
    pub error: Option<String>,
    /// `GET /v1/evidence/{id}` only, for evidence of epoch `e > 0`: hex of the canonical
    /// `EpochLink` of each epoch `0..e` (exactly `e`), which prove the set of epoch `e` from
    /// the genesis, so `chancery verify` checks the evidence with the genesis file alone.
    /// Empty (and absent) for epoch 0 and in the list, whose pages stay small.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub epochs: Vec<String>,
}

/// What a node reports about itself (`node` in `GET /v1/status`, the explorer's home page).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeStatus {
    /// Current view of the consensus core.
    pub view: u64,
    /// Last applied height.
    pub height: u64,
    /// The peers' height, at least ours: the highest height that f + 1 validators claimed
    /// in the last 10 s (so one lying peer cannot set it, and it goes down when claims stop).
    pub peer_height: u64,
    /// Validators we are connected to (ourselves included if a validator).
    pub validators_live: usize,
    /// Validators needed for a quorum.
    pub quorum: usize,
    /// Number of validators.
    pub validators: usize,
    /// Pending transactions in the mempool.
    pub mempool_txs: usize,
    /// Evidence of misbehaviour seen.
    pub evidence: usize,
    /// Whether this node votes.
    pub validator: bool,
    /// Whether the driver has started.
    pub started: bool,
    /// Finalized blocks from peers that did not decode or apply (fetched again by sync).
    pub finalized_refused: u64,
    /// Finalized blocks refused because too many waited for their certificate (fetched
    /// again by sync).
    pub finalized_waiting_overflow: u64,
    /// Consensus signatures from peers verified off the consensus driver, on the verify
    /// threads, before the core saw them.
    #[serde(default)]
    pub consensus_sigs_prechecked: u64,
    /// Consensus signatures the core found already verified (by a pre-check or earlier).
    #[serde(default)]
    pub consensus_sig_cache_hits: u64,
    /// Consensus signatures the core verified itself, on the driver.
    #[serde(default)]
    pub consensus_sig_cache_misses: u64,
    /// Batches of consensus messages handed to the core without a pre-check (no idle
    /// verify thread, or too many pre-checks in flight).
    #[serde(default)]
    pub consensus_prechecks_bypassed: u64,
    /// Our proposals built on a parent not yet committed here (pipelining, R15).
    #[serde(default)]
    pub proposals_pipelined: u64,
    /// Certified parents this node executed from its consensus core's copy because it
    /// had not checked them itself (R15, the held-parent rule).
    #[serde(default)]
    pub parents_filled: u64,
    /// Speculative results kept for blocks not yet committed (R15).
    #[serde(default)]
    pub speculative_results: usize,
    /// Block executions since start (proposals built, proposals checked, and finalized
    /// blocks that had no kept result): with pipelining, a finalized block this node built
    /// or checked is not executed again, so this stays near the number of blocks.
    #[serde(default)]
    pub executions: u64,
    /// Bytes of the pending transactions in the mempool (their canonical encodings).
    #[serde(default)]
    pub mempool_bytes: usize,
    /// Peers this node is connected to (validators and observers, not itself).
    #[serde(default)]
    pub peers: usize,
    /// Epoch of the validator set the consensus core runs.
    #[serde(default)]
    pub epoch: u64,
    /// Our proposals sent with their transactions by hash (issue 17).
    #[serde(default)]
    pub proposals_compact_sent: u64,
    /// Proposals received with their transactions by hash.
    #[serde(default)]
    pub proposals_compact_received: u64,
    /// Of those, proposals rebuilt at once from this node's pool.
    #[serde(default)]
    pub proposals_rebuilt_from_pool: u64,
    /// Proposals rebuilt after waiting for gossip to bring the transactions they lacked,
    /// with nothing fetched.
    #[serde(default)]
    pub proposals_rebuilt_after_wait: u64,
    /// Proposals rebuilt with transactions fetched from their proposer.
    #[serde(default)]
    pub proposals_rebuilt_with_fetch: u64,
    /// Requests of the consensus core for a block this node was already rebuilding from
    /// its hashes, not sent (the whole block would only have come a second time).
    #[serde(default)]
    pub block_requests_held: u64,
    /// Our own vote records below this view (of the current epoch) and of earlier epochs
    /// were pruned: restart safety never needs them (0: nothing pruned yet).
    #[serde(default)]
    pub own_votes_pruned_below: u64,
    /// Transactions fetched from proposers because this node lacked them.
    #[serde(default)]
    pub proposal_txs_fetched: u64,
    /// Proposals received by hash and never rebuilt (a fetch failed, or more were waiting
    /// than the limit allows).
    #[serde(default)]
    pub proposals_compact_failed: u64,
    /// Local transactions gossiped again because they were still pending two seconds
    /// after admission (a peer may have been cut off when they first went out).
    #[serde(default)]
    pub txs_regossiped: u64,
    /// Gossiped transactions not checked again because they were already pending here.
    #[serde(default)]
    pub gossip_txs_known: u64,
    /// Bytes sent to peers on the consensus channel since start (framing included).
    #[serde(default)]
    pub p2p_consensus_bytes_sent: u64,
    /// Bytes sent to peers on the transaction (gossip) channel since start.
    #[serde(default)]
    pub p2p_transactions_bytes_sent: u64,
    /// Whether `peer_height` is vouched for: f + 1 validators claimed a height lately (or
    /// this node is the chain's only validator). A node that has heard nobody does not
    /// know how far behind it is, so it is not ready. Absent from older nodes: true.
    #[serde(default = "vouched_by_default")]
    pub peer_height_vouched: bool,
}

fn vouched_by_default() -> bool {
    true
}

impl NodeStatus {
    /// How far behind its peers a node may be and still be ready, in blocks.
    pub const LAG_BLOCKS_MAX: u64 = 2;

    /// Caught up (by heights that f + 1 validators vouch for) and, for a validator,
    /// seeing a quorum.
    pub fn ready(&self) -> bool {
        self.started
            && self.peer_height_vouched
            && self.height + Self::LAG_BLOCKS_MAX >= self.peer_height
            && (!self.validator || self.validators_live >= self.quorum)
    }
}

/// The finalized tip, as `GET /v1/status` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TipDto {
    /// Height of the last finalized block (0 before the first).
    pub height: u64,
    /// Its header hash, hex.
    pub hash: String,
    /// Its block time, ms since 1970.
    pub time: u64,
    /// Log size after it.
    pub log_size: u64,
    /// Log root after it, hex.
    pub log_root: String,
    /// State root after it, hex.
    pub state_root: String,
}

/// `GET /v1/status`: chain, node status and tip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusDto {
    /// Chain id, hex.
    pub chain_id: String,
    /// Chain name from the genesis.
    pub chain_name: String,
    /// The chain's crypto suite from the genesis: `ed25519-blake3` or `sm2-sm3` (absent
    /// from nodes before suites existed, which are all `ed25519-blake3`).
    #[serde(default = "default_crypto")]
    pub crypto: String,
    /// The node's own status.
    pub node: NodeStatus,
    /// The finalized tip.
    pub tip: TipDto,
    /// Last height whose secondary-index entries are written: index queries (histories,
    /// lists by agency, kind, supplier, ...) answer as of this height, which trails
    /// `tip.height` while the indexer catches up. Null before even the genesis members are
    /// indexed.
    #[serde(default)]
    pub indexed_height: Option<u64>,
    /// The state tree's write-behind: what is flushed, which heights state proofs cover,
    /// and failed flushes (a node whose flushes keep failing holds ever more tree nodes in
    /// memory: an operator should look). Absent from nodes before storage v2.
    #[serde(default)]
    pub state_tree: Option<StateTreeDto>,
}

fn default_crypto() -> String {
    "ed25519-blake3".into()
}

/// The state tree's write-behind, in [`StatusDto::state_tree`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateTreeDto {
    /// Height of the last tree written to the store.
    pub flushed_height: u64,
    /// State proofs answer for every height from here on, and at every flushed height.
    pub proofs_from_height: u64,
    /// Tree nodes held in memory (not yet flushed, or kept for the proof window).
    pub nodes_in_memory: u64,
    /// Flushes that failed since the node started (each is retried; the node's log has
    /// the store's message, which is not served: it may name the node's files).
    pub flush_failures: u64,
}

/// `GET /readyz` when ready (and `details` of its 503 answer when not).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadyDto {
    /// Caught up and, for a validator, seeing a quorum.
    pub ready: bool,
    /// Last applied height.
    pub height: u64,
    /// The peers' height.
    pub peer_height: u64,
    /// Validators this node sees live.
    pub validators_live: usize,
    /// Validators needed for a quorum.
    pub quorum: usize,
    /// Number of validators.
    pub validators: usize,
}

/// `POST /v1/transactions` (202): the admitted transaction's hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmitDto {
    /// Transaction hash, hex.
    pub hash: String,
}

/// `POST /v1/transactions/batch` request body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The transactions' canonical bytes, hex.
    pub txs: Vec<String>,
}

/// The result for one transaction of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum BatchItem {
    /// Admitted to the mempool.
    Admitted {
        /// Transaction hash, hex.
        hash: String,
    },
    /// Refused.
    Refused {
        /// The admission error's code, e.g. `bad_seq`, `duplicate`, `pool_full`.
        code: String,
        /// What was wrong.
        message: String,
        /// For a refusal a wait can cure (`pool_full`): seconds after which this
        /// transaction may be admitted (the pool's own estimate past its backlog bound).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_s: Option<u64>,
    },
}

/// `POST /v1/transactions/batch` (202): one result per transaction, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchDto {
    /// The results.
    pub results: Vec<BatchItem>,
}

/// `GET /v1/transactions/{hash}`: pending, or finalized/rejected with where and what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TxStatusDto {
    /// Transaction hash, hex.
    pub hash: String,
    /// `pending`, `finalized` (applied) or `rejected` (kept in the log, not applied).
    pub status: String,
    /// Rejection reason code, if rejected; null otherwise.
    #[serde(default)]
    pub reason: Option<String>,
    /// Height of its block, once committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// Log index, once committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Block time, ms since 1970, once committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
    /// Record kind, once committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_kind: Option<String>,
    /// Subject id, once committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The signed transaction (kernel JSON form), once committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub transaction: Option<Value>,
}

impl TxStatusDto {
    /// Finalized or rejected: no longer pending.
    pub fn is_committed(&self) -> bool {
        self.status == "finalized" || self.status == "rejected"
    }
}

/// The data of a `block` event of `GET /v1/events`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockEvent {
    /// Height.
    pub height: u64,
    /// Header hash, hex.
    pub hash: String,
    /// Transactions in it.
    pub tx_count: u32,
    /// Log size after it.
    pub log_size: u64,
}

/// A page of `GET /ocds/releases`: an OCDS 1.1 release package. Only the fields a client
/// pages with are typed; the releases and the other package fields (`uri`, `version`,
/// `publisher`, `publishedDate`, ...) are free-form OCDS JSON, kept as they are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OcdsReleasePackage {
    /// The releases of this page (OCDS 1.1 releases, free-form).
    pub releases: Vec<Value>,
    /// `next`: the URL of the next page, absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<OcdsLinks>,
    /// Every other package field, unchanged.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, Value>,
}

/// The `links` of an OCDS package page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OcdsLinks {
    /// The next page's URL, if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}
