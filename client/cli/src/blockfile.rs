//! The block export file, and `chancery export blocks --node URL --out FILE`.
//!
//! Format (binary, all integers big-endian):
//!
//! ```text
//! "chancery-blocks/v2\n"            19-byte magic
//! chain id                          32 bytes
//! then, for each height 1, 2, ...:
//!   u32 length ‖ canonical Block bytes       (chancery_core::codec, as stored)
//!   u32 length ‖ canonical Certificate bytes (the block's own or a descendant's)
//!   u32 count, then count × (u32 length ‖ canonical BlockHeader bytes):
//!                                   the suffix headers of a boundary finalized through
//!                                   them (docs/governance.md); count 0 for other blocks
//! ```
//!
//! A `chancery-blocks/v1` file (no suffix parts) is still read. The file ends after the
//! last block. Every length and count is checked against the kernel's limits before
//! anything is read, so a bad file cannot make the reader allocate without bound.

use crate::Outcome;
use anyhow::{anyhow, bail, Context, Result};
use chancery_client::{Client, NODE_DEFAULT};
use chancery_core::block::Block;
use chancery_core::cert::Certificate;
use chancery_core::codec::Canonical;
use chancery_core::ChainId;
use std::io::{Read, Write};
use std::path::PathBuf;

/// The magic line that starts an export file (written).
pub const MAGIC: &[u8] = b"chancery-blocks/v2\n";
/// The magic line of the first format, without suffix parts (still read).
pub const MAGIC_V1: &[u8] = b"chancery-blocks/v1\n";
/// Most blocks asked for in one `GET /v1/blocks/raw` page.
pub const RAW_PAGE_BLOCKS_MAX: u64 = 100;

/// One block as exported: canonical bytes of the block and of its certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawBlock {
    /// Height the source says it is at.
    pub height: u64,
    /// Canonical block bytes.
    pub block: Vec<u8>,
    /// Canonical certificate bytes.
    pub cert: Vec<u8>,
    /// Canonical bytes of each suffix header (a boundary finalized through them; empty
    /// for other blocks).
    pub suffix: Vec<Vec<u8>>,
}

/// Write the file header.
pub fn write_header(w: &mut impl Write, chain_id: &ChainId) -> std::io::Result<()> {
    w.write_all(MAGIC)?;
    w.write_all(chain_id.as_bytes())
}

/// Write one block.
pub fn write_block(w: &mut impl Write, b: &RawBlock) -> std::io::Result<()> {
    for part in [&b.block, &b.cert] {
        w.write_all(&(part.len() as u32).to_be_bytes())?;
        w.write_all(part)?;
    }
    w.write_all(&(b.suffix.len() as u32).to_be_bytes())?;
    for part in &b.suffix {
        w.write_all(&(part.len() as u32).to_be_bytes())?;
        w.write_all(part)?;
    }
    Ok(())
}

/// Reads an export file block by block.
pub struct Reader<R: Read> {
    r: R,
    /// The chain id in the header.
    pub chain_id: ChainId,
    next_height: u64,
    /// Whether blocks carry suffix parts (format v2).
    with_suffix: bool,
}

impl<R: Read> Reader<R> {
    /// Check the magic and read the chain id.
    pub fn new(mut r: R) -> Result<Self> {
        let mut magic = vec![0u8; MAGIC.len()];
        r.read_exact(&mut magic)
            .context("export file: too short for its header")?;
        if magic != MAGIC && magic != MAGIC_V1 {
            bail!(
                "export file: expected the magic {:?} (or {:?}), found {:?}",
                String::from_utf8_lossy(MAGIC),
                String::from_utf8_lossy(MAGIC_V1),
                String::from_utf8_lossy(&magic)
            );
        }
        let mut id = [0u8; 32];
        r.read_exact(&mut id)
            .context("export file: truncated chain id")?;
        Ok(Reader {
            r,
            chain_id: chancery_core::Digest(id),
            next_height: 1,
            with_suffix: magic == MAGIC,
        })
    }

    /// A big-endian `u32` (a length or a count), or `None` at the end of the file when
    /// `first` (the first field of a block).
    fn read_u32(&mut self, what: &str, first: bool) -> Result<Option<u32>> {
        let mut len = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = self
                .r
                .read(&mut len[got..])
                .with_context(|| format!("export file: reading block {}", self.next_height))?;
            if n == 0 {
                if got == 0 && first {
                    return Ok(None);
                }
                bail!(
                    "export file: truncated length of the {what} of block {}",
                    self.next_height
                );
            }
            got += n;
        }
        Ok(Some(u32::from_be_bytes(len)))
    }

    fn part(&mut self, what: &str, max: usize, first: bool) -> Result<Option<Vec<u8>>> {
        let Some(len) = self.read_u32(what, first)? else {
            return Ok(None);
        };
        let len = len as usize;
        if len > max {
            bail!(
                "export file: the {what} of block {} has {len} bytes, more than the limit of {max}",
                self.next_height
            );
        }
        let mut buf = vec![0u8; len];
        self.r.read_exact(&mut buf).with_context(|| {
            format!(
                "export file: truncated {what} of block {} ({len} bytes announced)",
                self.next_height
            )
        })?;
        Ok(Some(buf))
    }

    /// The next block, or `None` at the end of the file.
    pub fn next_block(&mut self) -> Result<Option<RawBlock>> {
        let Some(block) = self.part("block", Block::BYTES_MAX, true)? else {
            return Ok(None);
        };
        let cert = self
            .part("certificate", Certificate::BYTES_MAX, false)?
            .ok_or_else(|| anyhow!("export file: missing certificate"))?;
        let mut suffix = Vec::new();
        if self.with_suffix {
            let count = self
                .read_u32("suffix count", false)?
                .ok_or_else(|| anyhow!("export file: missing suffix count"))?
                as usize;
            let max = chancery_core::limits::EPOCH_SUFFIX_MAX;
            if count > max {
                bail!(
                    "export file: block {} has {count} suffix headers, more than the limit of {max}",
                    self.next_height
                );
            }
            for _ in 0..count {
                let h = self
                    .part(
                        "suffix header",
                        chancery_core::limits::BLOCK_HEADER_ENCODING_BYTES_MAX,
                        false,
                    )?
                    .ok_or_else(|| anyhow!("export file: missing suffix header"))?;
                suffix.push(h);
            }
        }
        let height = self.next_height;
        self.next_height += 1;
        Ok(Some(RawBlock {
            height,
            block,
            cert,
            suffix,
        }))
    }
}

/// One page of `GET /v1/blocks/raw?from=H&limit=N`: the blocks and the next height.
pub fn fetch_raw_page(
    client: &Client,
    from: u64,
    limit: u64,
) -> Result<(Vec<RawBlock>, Option<u64>)> {
    let page = client.blocks_raw(from, limit)?;
    let url = || client.url(&format!("/v1/blocks/raw?from={from}&limit={limit}"));
    if page.items.len() as u64 > limit {
        bail!(
            "{}: {} items, more than the {limit} asked for",
            url(),
            page.items.len()
        );
    }
    let mut out = Vec::with_capacity(page.items.len());
    for it in page.items {
        let hex = |field: &str, s: &str| {
            hex::decode(s).map_err(|e| {
                anyhow!(
                    "{}: item at height {} `{field}` is not hex: {e}",
                    url(),
                    it.height
                )
            })
        };
        if it.suffix.len() > chancery_core::limits::EPOCH_SUFFIX_MAX {
            bail!(
                "{}: item at height {} has {} suffix headers, at most {}",
                url(),
                it.height,
                it.suffix.len(),
                chancery_core::limits::EPOCH_SUFFIX_MAX
            );
        }
        let suffix = it
            .suffix
            .iter()
            .map(|s| hex("suffix", s))
            .collect::<Result<Vec<_>>>()?;
        out.push(RawBlock {
            height: it.height,
            block: hex("block", &it.block)?,
            cert: hex("certificate", &it.certificate)?,
            suffix,
        });
    }
    if let Some(n) = page.next {
        if n <= from {
            bail!("{}: `next` {n} does not advance past {from}", url());
        }
    }
    Ok((out, page.next))
}

/// Export commands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Download every block with its certificate into an export file (see docs/client.md).
    Blocks {
        /// The node's API base URL.
        #[arg(long, env = "CHANCERY_NODE", default_value = NODE_DEFAULT)]
        node: String,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Download every procurement award release as one OCDS 1.1 release package.
    Ocds(crate::ocds::Args),
}

/// Run an export command.
pub fn run(c: Command) -> Result<Outcome> {
    let (node, out) = match c {
        Command::Blocks { node, out } => (node, out),
        Command::Ocds(a) => return crate::ocds::run(a),
    };
    let client = Client::new(&node);
    let chain = crate::submit::chain_id(&client)?;
    let f = std::fs::File::create(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut w = std::io::BufWriter::new(f);
    write_header(&mut w, &chain)?;
    let mut from = 1;
    let mut blocks = 0u64;
    loop {
        let (page, next) = fetch_raw_page(&client, from, RAW_PAGE_BLOCKS_MAX)?;
        for b in &page {
            if b.height != blocks + 1 {
                bail!(
                    "the node sent height {} where {} was expected",
                    b.height,
                    blocks + 1
                );
            }
            write_block(&mut w, b)?;
            blocks += 1;
        }
        match next {
            Some(n) if !page.is_empty() => from = n,
            _ => break,
        }
    }
    w.flush()
        .with_context(|| format!("writing {}", out.display()))?;
    w.get_ref()
        .sync_all()
        .with_context(|| format!("syncing {}", out.display()))?;
    Ok(Outcome::Ok(format!(
        "exported {blocks} blocks of chain {chain} to {}",
        out.display()
    )))
}
