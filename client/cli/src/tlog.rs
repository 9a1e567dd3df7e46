//! `chancery tlog ...`: Merkle log proofs, SHA-256 (RFC 6962), SM3 (RFC 6962's construction
//! with SM3) or BLAKE3 (the ledger's).

use crate::files::read_limited;
use crate::Outcome;
use anyhow::{bail, Context, Result};
use chancery_core::limits::PROOF_HASHES_MAX;
use chancery_core::merkle::{
    consistency_proof_with, inclusion_proof_with, root_with, verify_consistency_bytes,
    verify_inclusion_bytes, Blake3Hasher, MerkleHasher, Sha256Hasher, Sm3Hasher,
};
use chancery_core::Digest;
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Largest leaves file, in bytes.
pub const LEAVES_FILE_BYTES_MAX: usize = 512 * 1024 * 1024;
/// Most leaves in a leaves file.
pub const LEAVES_MAX: usize = 16 * 1024 * 1024;

/// Which tree hash.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum HashKind {
    /// RFC 6962: SHA-256 with 0x00 / 0x01 prefixes.
    Sha256,
    /// RFC 6962's construction with SM3 (GB/T 32905) in place of SHA-256.
    Sm3,
    /// The Chancery ledger: BLAKE3 keyed with the log-leaf / log-node domain keys.
    Blake3,
}

/// `tlog` subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check an inclusion proof; prints `valid` or says why not (exit 1).
    VerifyInclusion(VerifyInclusion),
    /// Check a consistency proof; prints `valid` or says why not (exit 1).
    VerifyConsistency(VerifyConsistency),
    /// Print the root over the leaves in a file (one hex-encoded leaf per line).
    Root(RootArgs),
    /// Print the inclusion proof of a leaf, comma-separated hex.
    ProveInclusion(ProveInclusion),
    /// Print the consistency proof from an earlier size, comma-separated hex.
    ProveConsistency(ProveConsistency),
}

/// Arguments of `verify-inclusion`.
#[derive(Args, Debug)]
pub struct VerifyInclusion {
    /// Tree hash.
    #[arg(long, value_enum)]
    hash: HashKind,
    /// Tree size.
    #[arg(long)]
    size: u64,
    /// Leaf index (0-based).
    #[arg(long)]
    index: u64,
    /// Leaf hash, hex.
    #[arg(long)]
    leaf_hash: String,
    /// Root, hex.
    #[arg(long)]
    root: String,
    /// Proof hashes, comma-separated hex, bottom-up ('' for none).
    #[arg(long)]
    proof: String,
}

/// Arguments of `verify-consistency`.
#[derive(Args, Debug)]
pub struct VerifyConsistency {
    /// Tree hash.
    #[arg(long, value_enum)]
    hash: HashKind,
    /// Old size.
    #[arg(long)]
    size1: u64,
    /// New size.
    #[arg(long)]
    size2: u64,
    /// Old root, hex.
    #[arg(long)]
    root1: String,
    /// New root, hex.
    #[arg(long)]
    root2: String,
    /// Proof hashes, comma-separated hex ('' for none).
    #[arg(long)]
    proof: String,
}

/// Arguments of `root`.
#[derive(Args, Debug)]
pub struct RootArgs {
    /// Tree hash.
    #[arg(long, value_enum)]
    hash: HashKind,
    /// File with one hex-encoded leaf per line (an empty line is an empty leaf).
    #[arg(long)]
    leaves: PathBuf,
}

/// Arguments of `prove-inclusion`.
#[derive(Args, Debug)]
pub struct ProveInclusion {
    /// Tree hash.
    #[arg(long, value_enum)]
    hash: HashKind,
    /// File with one hex-encoded leaf per line.
    #[arg(long)]
    leaves: PathBuf,
    /// Leaf index (0-based).
    #[arg(long)]
    index: u64,
}

/// Arguments of `prove-consistency`.
#[derive(Args, Debug)]
pub struct ProveConsistency {
    /// Tree hash.
    #[arg(long, value_enum)]
    hash: HashKind,
    /// File with one hex-encoded leaf per line; the new tree is all of them.
    #[arg(long)]
    leaves: PathBuf,
    /// Old size.
    #[arg(long)]
    size1: u64,
}

/// Run a `tlog` subcommand.
pub fn run(cmd: Command) -> Result<Outcome> {
    let hash = match &cmd {
        Command::VerifyInclusion(a) => a.hash,
        Command::VerifyConsistency(a) => a.hash,
        Command::Root(a) => a.hash,
        Command::ProveInclusion(a) => a.hash,
        Command::ProveConsistency(a) => a.hash,
    };
    match hash {
        HashKind::Sha256 => run_with(&Sha256Hasher, cmd),
        HashKind::Sm3 => run_with(&Sm3Hasher, cmd),
        HashKind::Blake3 => run_with(&Blake3Hasher, cmd),
    }
}

fn run_with<H: MerkleHasher>(h: &H, cmd: Command) -> Result<Outcome> {
    Ok(match cmd {
        Command::VerifyInclusion(a) => {
            let leaf = parse_hex("--leaf-hash", &a.leaf_hash)?;
            let root = parse_hex("--root", &a.root)?;
            let proof = parse_proof(&a.proof)?;
            match verify_inclusion_bytes(h, a.index, a.size, &leaf, &proof, &root) {
                Ok(()) => Outcome::Ok("valid".into()),
                Err(e) => Outcome::Invalid(e.to_string()),
            }
        }
        Command::VerifyConsistency(a) => {
            let r1 = parse_hex("--root1", &a.root1)?;
            let r2 = parse_hex("--root2", &a.root2)?;
            let proof = parse_proof(&a.proof)?;
            match verify_consistency_bytes(h, a.size1, a.size2, &proof, &r1, &r2) {
                Ok(()) => Outcome::Ok("valid".into()),
                Err(e) => Outcome::Invalid(e.to_string()),
            }
        }
        Command::Root(a) => {
            let leaves = read_leaves(h, &a.leaves)?;
            Outcome::Ok(root_with(h, &leaves).to_hex())
        }
        Command::ProveInclusion(a) => {
            let leaves = read_leaves(h, &a.leaves)?;
            let p = inclusion_proof_with(h, &leaves, a.index)?;
            Outcome::Ok(join(&p))
        }
        Command::ProveConsistency(a) => {
            let leaves = read_leaves(h, &a.leaves)?;
            let p = consistency_proof_with(h, &leaves, a.size1)?;
            Outcome::Ok(join(&p))
        }
    })
}

fn join(p: &[Digest]) -> String {
    p.iter().map(Digest::to_hex).collect::<Vec<_>>().join(",")
}

fn parse_hex(what: &str, s: &str) -> Result<Vec<u8>> {
    hex::decode(s).with_context(|| format!("{what}: {s:?} is not hex"))
}

fn parse_proof(s: &str) -> Result<Vec<Vec<u8>>> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = s.split(',').collect();
    if parts.len() > PROOF_HASHES_MAX {
        bail!(
            "--proof has {} hashes, more than the limit of {}",
            parts.len(),
            PROOF_HASHES_MAX
        );
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| parse_hex(&format!("--proof element {i}"), p))
        .collect()
}

/// Leaf hashes of a leaves file: one hex leaf per line, `\n`-terminated (the last
/// terminator is optional); an empty line is an empty leaf; an empty file has no leaves.
fn read_leaves<H: MerkleHasher>(h: &H, path: &std::path::Path) -> Result<Vec<Digest>> {
    let bytes = read_limited(path, LEAVES_FILE_BYTES_MAX)?;
    let text = std::str::from_utf8(&bytes)
        .with_context(|| format!("{} is not UTF-8 text", path.display()))?;
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut out = Vec::new();
    for (i, line) in body.split('\n').enumerate() {
        if i >= LEAVES_MAX {
            bail!("{} has more than {} leaves", path.display(), LEAVES_MAX);
        }
        let data = hex::decode(line)
            .with_context(|| format!("{} line {}: not hex", path.display(), i + 1))?;
        out.push(h.hash_leaf(&data));
    }
    Ok(out)
}
