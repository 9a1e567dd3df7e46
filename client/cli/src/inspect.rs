//! `chancery inspect tx ...`: a transaction's signer, the exact bytes it signed and its
//! signature, all hex, so that an auditor can check the signature with a tool of their own
//! (OpenSSL, for example: docs/crypto.md). The transaction comes from a node (as its
//! receipt, whose entry holds the transaction's canonical bytes) or from a file.
//!
//! The signature is also checked here, with the kernel; inclusion in the ledger is not
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
    /// canonical bytes decode (a signer key is 32 or 65 bytes).
    #[arg(long, default_value = "ed25519-blake3")]
    crypto: Suite,
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
    /// The signature scheme.
    pub scheme: &'static str,
    /// The signer's public key (raw, hex).
    pub signer: String,
    /// The signer's key as a DER `SubjectPublicKeyInfo` (hex), for PEM tools.
    pub signer_spki_der: String,
    /// The domain tag the signed bytes start with.
    pub tag: &'static str,
    /// Exactly the bytes the signature covers: `tag || 0x00 || canonical body` (hex).
    pub signed_bytes: String,
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
    /// How to check it with OpenSSL, given the three values written to files.
    pub openssl: &'static str,
}

/// Run `inspect`.
pub fn run(cmd: Command) -> Result<Outcome> {
    match cmd {
        Command::Tx(a) => tx(a),
    }
}

fn tx(a: TxArgs) -> Result<Outcome> {
    let tx = match (&a.file, &a.hash) {
        (Some(path), _) => from_file(a.crypto, path)?,
        (None, Some(hash)) => {
            let want: TxHash = hash.parse().map_err(|e| anyhow!("transaction hash: {e}"))?;
            let client = Client::new(&a.node);
            let dto = client.receipt(hash)?;
            let r: Receipt = serde_json::from_value(serde_json::to_value(&dto)?)
                .map_err(|e| anyhow!("the node's answer is not a kernel receipt: {e}"))?;
            let tx = from_receipt(a.crypto, &r)?;
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
    let out = inspect(&tx);
    if a.json {
        return Ok(Outcome::Ok(serde_json::to_string_pretty(&out)?));
    }
    let v = serde_json::to_value(&out)?;
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

/// The inspection of `tx`.
pub fn inspect(tx: &Transaction) -> TxInspection {
    let signer = tx.body.signer;
    let body = codec::encode(&tx.body);
    let (scheme, spki, signature_der, dist_id, openssl) = match signer {
        PublicKey::Ed25519(k) => {
            let mut spki = ED25519_SPKI_PREFIX.to_vec();
            spki.extend_from_slice(&k);
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
            sm::spki_der(&k),
            // A signature whose r or s is out of range has no DER form worth showing.
            sm::Sm2Signature::from_bytes(tx.signature.0)
                .ok()
                .map(|s| hex::encode(s.to_der())),
            Some(sm::DEFAULT_DIST_ID),
            "openssl pkeyutl -verify -pubin -inkey signer.pem -rawin -digest sm3 -in signed_bytes.bin -sigfile signature.der -pkeyopt distid:1234567812345678",
        ),
    };
    TxInspection {
        tx_hash: tx.hash().to_hex(),
        chain_id: tx.body.chain_id.to_hex(),
        scheme,
        signer: signer.to_hex(),
        signer_spki_der: hex::encode(spki),
        tag: domain::TX_SIGN.0,
        signed_bytes: hex::encode(tx.signed_message()),
        signature: tx.signature.to_hex(),
        signature_der,
        dist_id,
        signature_valid: crypto::verify(&signer, domain::TX_SIGN, &body, &tx.signature).is_ok(),
        openssl,
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
