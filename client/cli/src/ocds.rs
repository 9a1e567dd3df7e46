//! `chancery export ocds --node URL --out FILE [--from YYYY-MM-DD] [--to ...] [--purchaser ID]`:
//! every page of the node's `GET /ocds/releases`, written as one OCDS 1.1 release
//! package (the package fields of the first page, the releases of all pages).

use crate::Outcome;
use anyhow::{bail, Context, Result};
use chancery_client::types::OcdsReleasePackage;
use chancery_client::{enc, Client, NODE_DEFAULT};
use serde_json::Value;
use std::path::PathBuf;

/// Releases asked for per page.
pub const PAGE_RELEASES: usize = 1000;
/// Most pages followed (a guard against a node that never ends the chain of pages).
pub const PAGES_MAX: usize = 100_000;

/// Arguments of `export ocds`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The node's base URL.
    #[arg(long, env = "CHANCERY_NODE", default_value = NODE_DEFAULT)]
    node: String,
    /// The file to write.
    #[arg(long)]
    out: PathBuf,
    /// Only releases on or after this day (block time, UTC), YYYY-MM-DD.
    #[arg(long)]
    from: Option<String>,
    /// Only releases on or before this day, YYYY-MM-DD.
    #[arg(long)]
    to: Option<String>,
    /// Only awards of this purchasing agency.
    #[arg(long)]
    purchaser: Option<String>,
}

/// Fetch every page and write one release package.
pub fn run(a: Args) -> Result<Outcome> {
    let client = Client::new(&a.node);
    let node = client.base().to_string();
    let mut q = vec![format!("limit={PAGE_RELEASES}")];
    for (k, v) in [
        ("from", &a.from),
        ("to", &a.to),
        ("purchaser", &a.purchaser),
    ] {
        if let Some(v) = v {
            q.push(format!("{k}={}", enc(v)));
        }
    }
    let mut path = format!("/ocds/releases?{}", q.join("&"));
    let mut package: Option<OcdsReleasePackage> = None;
    let mut releases: Vec<Value> = Vec::new();
    for _ in 0..PAGES_MAX {
        let mut page = client.ocds_releases(&path)?;
        releases.append(&mut page.releases);
        let next = page.links.take().and_then(|l| l.next);
        if package.is_none() {
            package = Some(page);
        }
        match next {
            // Follow the node's own link, but only on the node we were pointed at.
            Some(n) => {
                path = n
                    .find("/ocds/releases")
                    .map(|i| n[i..].to_string())
                    .with_context(|| format!("GET {}: bad next link {n:?}", client.url(&path)))?;
            }
            None => {
                let Some(mut p) = package else {
                    bail!("GET {}: no release package", client.url(&path));
                };
                let count = releases.len();
                p.releases = releases;
                p.rest
                    .insert("uri".into(), Value::String(format!("{node}/ocds/releases")));
                let text = serde_json::to_string_pretty(&p)?;
                std::fs::write(&a.out, text)
                    .with_context(|| format!("writing {}", a.out.display()))?;
                return Ok(Outcome::Ok(format!(
                    "wrote {count} releases to {}",
                    a.out.display()
                )));
            }
        }
    }
    bail!("{node}: more than {PAGES_MAX} pages of releases; narrow the export with --from/--to")
}
