//! `chancery inspect tx ...`: a transaction's signer, the exact bytes it signed and its
//! signature, all hex, so that an auditor can check the signature with a tool of their own
//! (OpenSSL, for example: docs/crypto.md). The transaction comes from a node (as its
//! receipt, whose entry holds the transaction's canonical bytes) or from a file.
//! `chancery inspect cert HEIGHT ...` does the same for the validators' votes in the
//! finalization certificate of a block: each signer's key (from the validator set of the
//! certificate's epoch, proven from the genesis by the node's epoch links), the exact
//! signed vote bytes and each signature.
//!
//! The signatures are also checked here, with the kernel; inclusion in the ledger is not
//! (that is `chancery verify RECEIPT`).

use crate::files::read_limited;
use crate::Outcome;
use anyhow::{anyhow, bail, Context, Result};
use chancery_client::{Client, NODE_DEFAULT};
use chancery_core::block::LogEntry;
use chancery_core::codec;
use chancery_core::receipt::Receipt;
use chancery_core::suite::Suite;
use chancery_core::tx::Transaction;
use chancery_core::{crypto, domain, sm, PublicKey, TxHash};
use clap::Subcommand;
use serde::Serialize;
use std::path::PathBuf;

/// Largest file `inspect tx --file` reads, in bytes (a receipt or a hex transaction).
pub const INSPECT_FILE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// DER prefix of an Ed25519 `SubjectPublicKeyInfo` (RFC 8410): the key's 32 bytes follow.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// `inspect` subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// A transaction's signer, signed bytes and signature, in hex.
    Tx(TxArgs),
    /// The votes of a block's finalization certificate: each validator's key, the signed
    /// vote bytes and its signature, in hex.
    Cert(CertArgs),
}

/// Arguments of `inspect cert`.
#[derive(clap::Args, Debug)]
pub struct CertArgs {
    /// The block's height.
    height: u64,
    /// The node's API base URL.
    #[arg(long, env = "CHANCERY_NODE", default_value = NODE_DEFAULT)]
    node: String,
    /// The genesis file: the chain's suite and the validator set the keys are proven from.
    #[arg(long)]
    genesis: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// What `inspect cert` prints.
#[derive(Debug, Serialize)]
pub struct CertInspection {
    /// The block's height.
    pub height: u64,
    /// The certified block's hash.
    pub block: String,
    /// sm2-sm3 only: the bytes whose SM3 is `block`, `"chancery/v1/hash/block-header" ||
    /// 0x00 || canonical header` (hex), for `openssl dgst -sm3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_hash_preimage: Option<String>,
    /// The votes' kind (`notarize` or `finalize`).
    pub kind: String,
    /// The validator set's epoch.
    pub epoch: u64,
    /// The view.
    pub view: u64,
    /// The domain tag the signed bytes start with.
    pub tag: &'static str,
    /// Exactly the bytes every vote signature covers: `tag || 0x00 || canonical vote body`.
    pub signed_bytes: String,
    /// One entry per signature, in index order.
    pub votes: Vec<VoteInspection>,
}

/// One vote of a certificate.
#[derive(Debug, Serialize)]
pub struct VoteInspection {
    /// The validator's index in its epoch's set.
    pub index: u16,
    /// The validator's name.
    pub validator: String,
    /// The signature scheme, key, signature and their DER forms, as for a transaction.
    #[serde(flatten)]
    pub signature: SignatureInspection,
}

/// A signature with its key, in the forms other tools read.
#[derive(Debug, Serialize)]
pub struct SignatureInspection {
    /// The signature scheme.
    pub scheme: &'static str,
    /// The signer's public key (raw, hex).
    pub signer: String,
    /// The signer's key as a DER `SubjectPublicKeyInfo` (hex), for PEM tools.
    pub signer_spki_der: String,
    /// The signature (raw, hex): Ed25519's `R || S`, SM2's `r || s`.
    pub signature: String,
    /// SM2 only: the signature as a DER `ECDSA-Sig-Value` (hex), the form OpenSSL reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_der: Option<String>,
    /// SM2 only: the signer's distinguishing ID (GM/T 0009 default), which enters the hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dist_id: Option<&'static str>,
    /// Whether the kernel accepts the signature.
    pub signature_valid: bool,
    /// How to check it with OpenSSL, given the values written to files.
    pub openssl: &'static str,
}

/// Arguments of `inspect tx`.
#[derive(clap::Args, Debug)]
pub struct TxArgs {
    /// The transaction's hash (hex): its receipt is fetched from `--node`.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    hash: Option<String>,
    /// The node's API base URL.
    #[arg(long, env = "CHANCERY_NODE", default_value = NODE_DEFAULT)]
    node: String,
    /// Read the transaction from a file instead: a receipt (JSON, as `chancery receipt`
    /// writes) or a transaction's canonical bytes in hex.
    #[arg(long)]
    file: Option<PathBuf>,
    /// The chain's crypto suite (`ed25519-blake3` or `sm2-sm3`): how the transaction's
    /// canonical bytes decode (a signer key is 32 or 65 bytes). Default: the node's (its
    /// `/v1/status`), or `ed25519-blake3` for `--file`.
    #[arg(long)]
    crypto: Option<Suite>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// What `inspect tx` prints.
#[derive(Debug, Serialize)]
pub struct TxInspection {
    /// The transaction's id.
    pub tx_hash: String,
    /// The chain it names.
    pub chain_id: String,
    /// sm2-sm3 only: the bytes whose SM3 is `tx_hash`, `"chancery/v1/hash/tx" || 0x00 ||
    /// canonical transaction` (hex), so `openssl dgst -sm3` checks the id. (An
    /// ed25519-blake3 id is BLAKE3 in its key-derivation mode: docs/crypto.md.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_preimage: Option<String>,
    /// The domain tag the signed bytes start with.
    pub tag: &'static str,
    /// Exactly the bytes the signature covers: `tag || 0x00 || canonical body` (hex).
    pub signed_bytes: String,
    /// The signer, signature and their forms for other tools.
    #[serde(flatten)]
    pub signature: SignatureInspection,
}

/// Run `inspect`.
pub fn run(cmd: Command) -> Result<Outcome> {
    match cmd {
        Command::Tx(a) => tx(a),
        Command::Cert(a) => cert(a),
    }
}

fn tx(a: TxArgs) -> Result<Outcome> {
    let tx = match (&a.file, &a.hash) {
        (Some(path), _) => from_file(a.crypto.unwrap_or_default(), path)?,
        (None, Some(hash)) => {
            let want: TxHash = hash.parse().map_err(|e| anyhow!("transaction hash: {e}"))?;
            let client = Client::new(&a.node);
            let served: Suite = client.status()?.crypto.parse().map_err(|e| {
                anyhow!("{}: the node's crypto suite: {e}", client.url("/v1/status"))
            })?;
            let suite = match a.crypto {
                Some(asked) if asked != served => bail!(
                    "--crypto {asked}, but {} serves a {served} chain",
                    client.base()
                ),
                _ => served,
            };
            let dto = client.receipt(hash)?;
            let r: Receipt = serde_json::from_value(serde_json::to_value(&dto)?)
                .map_err(|e| anyhow!("the node's answer is not a kernel receipt: {e}"))?;
            let tx = from_receipt(suite, &r)?;
            if tx.hash() != want {
                bail!(
                    "the node's receipt is for transaction {}, expected {}",
                    tx.hash(),
                    want
                );
            }
            tx
        }
        (None, None) => bail!("expected a transaction hash or --file FILE"),
    };
    render(&inspect(&tx), a.json)
}

/// JSON, or one `key: value` line per field (nested values as JSON).
fn render(out: &impl Serialize, json: bool) -> Result<Outcome> {
    if json {
        return Ok(Outcome::Ok(serde_json::to_string_pretty(out)?));
    }
    let v = serde_json::to_value(out)?;
    let mut text = String::new();
    if let Some(m) = v.as_object() {
        for (k, v) in m {
            let v = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            text.push_str(&format!("{k}: {v}\n"));
        }
    }
    Ok(Outcome::Ok(text.trim_end().to_string()))
}

fn cert(a: CertArgs) -> Result<Outcome> {
    let genesis = crate::verify::load_genesis(&a.genesis)?;
    let suite = genesis.crypto;
    let client = Client::new(&a.node);
    let (page, _) = crate::blockfile::fetch_raw_page(&client, a.height, 1)?;
    let raw = page
        .into_iter()
        .find(|r| r.height == a.height)
        .ok_or_else(|| anyhow!("{} has no block at height {}", client.base(), a.height))?;
    let block: chancery_core::block::Block = codec::decode_in(suite, &raw.block)
        .map_err(|e| anyhow!("block {}: not a block of a {suite} chain: {e}", a.height))?;
    let cert: chancery_core::cert::Certificate = codec::decode_in(suite, &raw.cert)
        .map_err(|e| anyhow!("certificate of block {}: {e}", a.height))?;
    // The keys come from the set of the certificate's epoch, proven from the genesis.
    let links = if cert.epoch.0 == 0 {
        Vec::new()
    } else {
        crate::epochs::fetch_links(&client, suite, 0, cert.epoch.0).map_err(|e| anyhow!(e))?
    };
    let set = chancery_core::epoch_set::verify_set_of_epoch(&genesis, &links, cert.epoch)
        .map_err(|e| anyhow!("the validator set of epoch {}: {e}", cert.epoch))?;
    let body = cert.body(genesis.chain_id());
    let body_bytes = codec::encode(&body);
    let mut votes = Vec::with_capacity(cert.signatures.len());
    for s in &cert.signatures {
        let v = set
            .set()
            .validators
            .get(usize::from(s.index))
            .ok_or_else(|| {
                anyhow!(
                    "signature index {}: the set of epoch {} has {} validators",
                    s.index,
                    cert.epoch,
                    set.set().validators.len()
                )
            })?;
        votes.push(VoteInspection {
            index: s.index,
            validator: v.name.clone(),
            signature: signature_inspection(
                &v.consensus_key,
                domain::VOTE_SIGN,
                &body_bytes,
                &s.signature,
            ),
        });
    }
    let out = CertInspection {
        height: a.height,
        block: block.header.hash(suite).to_hex(),
        block_hash_preimage: sm3_preimage(suite, domain::BLOCK_HASH, &codec::encode(&block.header)),
        kind: format!("{:?}", cert.kind).to_lowercase(),
        epoch: cert.epoch.0,
        view: cert.view.0,
        tag: domain::VOTE_SIGN.0,
        signed_bytes: hex::encode(body.signed_message()),
        votes,
    };
    render(&out, a.json)
}

/// In an sm2-sm3 chain, what `H(tag, bytes)` hashes with plain SM3: `tag || 0x00 ||
/// bytes` (hex); `None` in ed25519-blake3, whose tagged hash is not a plain hash of a
/// preimage.
fn sm3_preimage(suite: Suite, tag: chancery_core::domain::Tag, bytes: &[u8]) -> Option<String> {
    (suite == Suite::Sm2Sm3).then(|| hex::encode(tag.signing_bytes(bytes)))
}

/// A signature by `signer` over `tag || 0x00 || body`, in the forms other tools read.
pub fn signature_inspection(
    signer: &PublicKey,
    tag: chancery_core::domain::Tag,
    body: &[u8],
    signature: &chancery_core::Signature,
) -> SignatureInspection {
    let (scheme, spki, signature_der, dist_id, openssl) = match signer {
        PublicKey::Ed25519(k) => {
            let mut spki = ED25519_SPKI_PREFIX.to_vec();
            spki.extend_from_slice(k);
            (
                "ed25519",
                spki,
                None,
                None,
                "openssl pkeyutl -verify -pubin -inkey signer.pem -rawin -in signed_bytes.bin -sigfile signature.bin",
            )
        }
        PublicKey::Sm2(k) => (
            "sm2",
            sm::spki_der(k),
            // A signature whose r or s is out of range has no DER form worth showing.
            sm::Sm2Signature::from_bytes(signature.0)
                .ok()
                .map(|s| hex::encode(s.to_der())),
            Some(sm::DEFAULT_DIST_ID),
            "openssl pkeyutl -verify -pubin -inkey signer.pem -rawin -digest sm3 -in signed_bytes.bin -sigfile signature.der -pkeyopt distid:1234567812345678",
        ),
    };
    SignatureInspection {
        scheme,
        signer: signer.to_hex(),
        signer_spki_der: hex::encode(spki),
        signature: signature.to_hex(),
        signature_der,
        dist_id,
        signature_valid: crypto::verify(signer, tag, body, signature).is_ok(),
        openssl,
    }
}

/// The inspection of `tx`.
pub fn inspect(tx: &Transaction) -> TxInspection {
    let body = codec::encode(&tx.body);
    TxInspection {
        tx_hash: tx.hash().to_hex(),
        chain_id: tx.body.chain_id.to_hex(),
        hash_preimage: sm3_preimage(tx.body.signer.suite(), domain::TX_HASH, &tx.to_bytes()),
        tag: domain::TX_SIGN.0,
        signed_bytes: hex::encode(tx.signed_message()),
        signature: signature_inspection(&tx.body.signer, domain::TX_SIGN, &body, &tx.signature),
    }
}

fn from_receipt(suite: Suite, r: &Receipt) -> Result<Transaction> {
    let bytes = hex::decode(&r.entry).context("the receipt's entry is not hex")?;
    let entry: LogEntry = codec::decode_in(suite, &bytes).map_err(|e| {
        anyhow!("the receipt's entry does not decode as a {suite} chain's (see --crypto): {e}")
    })?;
    Ok(entry.tx)
}

fn from_file(suite: Suite, path: &std::path::Path) -> Result<Transaction> {
    let bytes = read_limited(path, INSPECT_FILE_BYTES_MAX)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow!(
            "{}: expected a receipt (JSON) or hex, found binary data",
            path.display()
        )
    })?;
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        let r: Receipt = serde_json::from_str(trimmed)
            .with_context(|| format!("{} is not a receipt", path.display()))?;
        return from_receipt(suite, &r);
    }
    let raw = hex::decode(trimmed).map_err(|e| {
        anyhow!(
            "{}: expected a receipt (JSON) or a transaction's canonical bytes in hex: {e}",
            path.display()
        )
    })?;
    codec::decode_in(suite, &raw).map_err(|e| {
        anyhow!(
            "{}: not a transaction of a {suite} chain (see --crypto): {e}",
            path.display()
        )
    })
}
