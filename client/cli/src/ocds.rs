//! `chancery export ocds --node URL --out FILE [--from YYYY-MM-DD] [--to ...] [--purchaser ID]`:
//! every page of the node's `GET /ocds/releases`, written as one OCDS 1.1 release
//! package (the package fields of the first page, the releases of all pages).

use crate::http::{base, enc, get_json};
use crate::Outcome;
use anyhow::{bail, Context, Result};
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
    #[arg(long, default_value = "http://127.0.0.1:8080")]
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
    let node = base(&a.node);
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
    let mut url = format!("{node}/ocds/releases?{}", q.join("&"));
    let mut package: Option<Value> = None;
    let mut releases: Vec<Value> = Vec::new();
    for _ in 0..PAGES_MAX {
        let page = get_json(&url)?;
        let Some(rels) = page.get("releases").and_then(Value::as_array) else {
            bail!("GET {url}: expected an OCDS release package with `releases`, found {page}");
        };
        releases.extend(rels.iter().cloned());
        let next = page
            .get("links")
            .and_then(|l| l.get("next"))
            .and_then(Value::as_str)
            .map(str::to_string);
        if package.is_none() {
            package = Some(page);
        }
        match next {
            // Follow the node's own link, but only on the node we were pointed at.
            Some(n) => {
                let path = n
                    .find("/ocds/releases")
                    .map(|i| &n[i..])
                    .with_context(|| format!("GET {url}: bad next link {n:?}"))?;
                url = format!("{node}{path}");
            }
            None => {
                let mut p = package.unwrap_or_default();
                let count = releases.len();
                p["releases"] = Value::Array(releases);
                if let Some(o) = p.as_object_mut() {
                    o.remove("links");
                }
                p["uri"] = Value::String(format!("{node}/ocds/releases"));
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
