//! The JSON shapes of the API's answers, with their OpenAPI schemas. Kernel values inside
//! them (headers, certificates, records, state) use the kernel's own serde form; hashes and
//! keys are lower-case hex. A restricted record field appears as `{"sealed": HEX}` (its
//! salted commitment) unless its submitter disclosed it (`{"open": VALUE}`): the node never
//! holds sealed content.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Every error answer.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `not_found`, `bad_cursor`, `rate_limited`.
    pub code: String,
    /// What was wrong and what was expected.
    pub message: String,
    /// Structured details (limits, found values), or null.
    #[schema(value_type = Object, nullable)]
    pub details: Value,
}

/// One page of results.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; null at the end.
    pub next: Option<String>,
}

/// A transaction as listed in histories and record pages.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
    #[schema(value_type = Object)]
    pub record: Value,
}

/// A block summary.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockPage {
    /// Blocks, ascending.
    pub items: Vec<BlockSummary>,
    /// Next `from` height, or null past the last block.
    pub next: Option<u64>,
}

/// A block in its canonical encoding, as stored.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RawBlock {
    /// Height.
    pub height: u64,
    /// Hex of the canonical `Block` encoding (header and transactions).
    pub block: String,
    /// Hex of the canonical finalization `Certificate` stored with it (its own, or a
    /// descendant's for a block finalized together with that descendant).
    pub certificate: String,
}

/// A page of raw blocks.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RawBlockPage {
    /// Blocks, ascending.
    pub items: Vec<RawBlock>,
    /// Next `from` height, or null past the last block.
    pub next: Option<u64>,
}

/// A block with its transactions and certificate.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockDetail {
    /// Header hash.
    pub hash: String,
    /// The header (kernel JSON form).
    #[schema(value_type = Object)]
    pub header: Value,
    /// Transactions: hash, signer, seq, record_kind, subject.
    #[schema(value_type = Vec<Object>)]
    pub transactions: Vec<Value>,
    /// The finalization certificate stored with it (kernel JSON form).
    #[schema(value_type = Object)]
    pub certificate: Value,
}

/// An asset's current state.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
    #[schema(value_type = Vec<Object>)]
    pub suppliers: Vec<Value>,
    /// The last transaction that changed it.
    pub last_tx: String,
}

/// An award with its history.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AwardDetail {
    /// Current state.
    pub award: AwardDto,
    /// Award, amendments, cancellation and documents, oldest first.
    pub history: Page<TxSummary>,
}

/// A data-sharing grant's state.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct GrantDetail {
    /// Current state and status.
    pub grant: GrantDto,
    /// Grant and revocation records, oldest first.
    pub history: Page<TxSummary>,
}

/// An agency.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AgencyDto {
    /// Agency id.
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Genesis admin keys.
    pub admin_keys: Vec<String>,
    /// Member keys (revoked included), counted up to `member_count_max`.
    pub member_count: usize,
    /// True if there are more members than counted.
    pub member_count_capped: bool,
    /// Validators run by this agency.
    pub validators: Vec<String>,
}

/// A member key.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StateProofDto {
    /// Height of the checkpoint (and of the state proven).
    pub height: u64,
    /// State root the proof leads to.
    pub state_root: String,
    /// The kernel `StateProof` (key, value or null, siblings, end).
    #[schema(value_type = Object)]
    pub proof: Value,
    /// Hex of the canonical `StateProof` encoding.
    pub proof_hex: String,
    /// Hex of the canonical `Checkpoint` encoding.
    pub checkpoint: String,
}

/// A receipt: exactly the kernel's `chancery_core::receipt::Receipt`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ReceiptDto {
    /// `chancery-receipt/v1`.
    pub format: String,
    /// Hex of the log entry's canonical bytes.
    pub entry: String,
    /// Log index.
    pub index: u64,
    /// Inclusion proof, bottom-up, hex.
    pub proof: Vec<String>,
    /// Hex of the canonical checkpoint.
    pub checkpoint: String,
}

/// Evidence that a validator signed two conflicting messages (`GET /v1/evidence`), as this
/// node stored it, with the result of checking it against the genesis validator set.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
}
