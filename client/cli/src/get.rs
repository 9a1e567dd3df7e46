//! `chancery get ...`: the node's read API, human-readable by default, `--json` for the
//! node's answer as is.

use crate::Outcome;
use anyhow::{Context, Result};
use chancery_client::{enc, query, Client, NODE_DEFAULT};
use serde_json::Value;

/// Arguments of `get`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to read.
    #[command(subcommand)]
    what: What,
    /// The node's API base URL.
    #[arg(long, global = true, env = "CHANCERY_NODE", default_value = NODE_DEFAULT)]
    node: String,
    /// Print the node's JSON answer unchanged.
    #[arg(long, global = true)]
    json: bool,
}

/// Page arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct PageArgs {
    /// Entries per page (the node caps it).
    #[arg(long)]
    limit: Option<u32>,
    /// Cursor from the previous page's `next`.
    #[arg(long)]
    cursor: Option<String>,
}

impl PageArgs {
    fn pairs(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("limit", self.limit.map(|l| l.to_string())),
            ("cursor", self.cursor.clone()),
        ]
    }
}

/// The reads.
#[derive(clap::Subcommand, Debug)]
pub enum What {
    /// Node and chain status (tip height, log size and roots).
    Status,
    /// A block by height (`latest` for the last one).
    Block {
        /// Height or `latest`.
        height: String,
    },
    /// Blocks from a height, ascending (summaries).
    Blocks {
        /// First height.
        #[arg(long, default_value_t = 1)]
        from: u64,
        #[command(flatten)]
        page: PageArgs,
    },
    /// A transaction by hash: pending, finalized or rejected.
    Tx {
        /// Transaction hash (hex).
        hash: String,
    },
    /// An asset's current state, or with --history the transactions that touched it.
    Asset {
        /// Asset id.
        id: String,
        /// List its history instead.
        #[arg(long)]
        history: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Assets held by an agency.
    Assets {
        /// Custodian agency id.
        #[arg(long)]
        custodian: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// An award's state and history.
    Award {
        /// OCDS process id.
        ocid: String,
        /// Award id.
        award_id: String,
    },
    /// Awards, filtered.
    Awards {
        /// Purchasing agency.
        #[arg(long)]
        purchaser: Option<String>,
        /// Supplier (name or credit code, as the node matches it).
        #[arg(long)]
        supplier: Option<String>,
        /// Award date from (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Award date to (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
        /// Smallest amount (minor units).
        #[arg(long)]
        amount_min: Option<u64>,
        /// Largest amount (minor units).
        #[arg(long)]
        amount_max: Option<u64>,
        /// Status (pending, active, unsuccessful, cancelled).
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// A data-sharing grant and its status at the tip.
    Grant {
        /// Grant id.
        id: String,
    },
    /// Grants, filtered.
    Grants {
        /// Dataset id.
        #[arg(long)]
        dataset: Option<String>,
        /// Grantee agency.
        #[arg(long)]
        grantee: Option<String>,
        /// Grantor agency.
        #[arg(long)]
        grantor: Option<String>,
        /// active, revoked, expired or pending.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Records by kind and/or agency (transaction summaries).
    Records {
        /// Record kind.
        #[arg(long)]
        kind: Option<String>,
        /// Agency.
        #[arg(long)]
        agency: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// One agency.
    Agency {
        /// Agency id.
        id: String,
    },
    /// Every agency.
    Agencies,
    /// Member keys, optionally of one agency; or one member with --key.
    Members {
        /// Agency id.
        #[arg(long)]
        agency: Option<String>,
        /// One member key (hex): its roles and next sequence number.
        #[arg(long)]
        key: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Validators with liveness and the quorum.
    Validators,
    /// The latest checkpoint, or the one at --height.
    Checkpoint {
        /// Finalized height.
        #[arg(long)]
        height: Option<u64>,
    },
}

/// The path (with query) of a read.
pub fn path(w: &What) -> String {
    match w {
        What::Status => "/v1/status".into(),
        What::Block { height } => format!("/v1/blocks/{}", enc(height)),
        What::Blocks { from, page } => {
            let mut p = vec![("from", Some(from.to_string()))];
            p.extend(page.pairs());
            query("/v1/blocks", &p)
        }
        What::Tx { hash } => format!("/v1/transactions/{}", enc(hash)),
        What::Asset { id, history, page } => {
            if *history {
                query(&format!("/v1/assets/{}/history", enc(id)), &page.pairs())
            } else {
                format!("/v1/assets/{}", enc(id))
            }
        }
        What::Assets { custodian, page } => {
            let mut p = vec![("custodian", Some(custodian.clone()))];
            p.extend(page.pairs());
            query("/v1/assets", &p)
        }
        What::Award { ocid, award_id } => {
            format!("/v1/awards/{}/{}", enc(ocid), enc(award_id))
        }
        What::Awards {
            purchaser,
            supplier,
            from,
            to,
            amount_min,
            amount_max,
            status,
            page,
        } => {
            let mut p = vec![
                ("purchaser", purchaser.clone()),
                ("supplier", supplier.clone()),
                ("from", from.clone()),
                ("to", to.clone()),
                ("amount_min", amount_min.map(|a| a.to_string())),
                ("amount_max", amount_max.map(|a| a.to_string())),
                ("status", status.clone()),
            ];
            p.extend(page.pairs());
            query("/v1/awards", &p)
        }
        What::Grant { id } => format!("/v1/grants/{}", enc(id)),
        What::Grants {
            dataset,
            grantee,
            grantor,
            status,
            page,
        } => {
            let mut p = vec![
                ("dataset", dataset.clone()),
                ("grantee", grantee.clone()),
                ("grantor", grantor.clone()),
                ("status", status.clone()),
            ];
            p.extend(page.pairs());
            query("/v1/grants", &p)
        }
        What::Records { kind, agency, page } => {
            let mut p = vec![("kind", kind.clone()), ("agency", agency.clone())];
            p.extend(page.pairs());
            query("/v1/records", &p)
        }
        What::Agency { id } => format!("/v1/agencies/{}", enc(id)),
        What::Agencies => "/v1/agencies".into(),
        What::Members { agency, key, page } => match key {
            Some(k) => format!("/v1/members/{}", enc(k)),
            None => {
                let mut p = vec![("agency", agency.clone())];
                p.extend(page.pairs());
                query("/v1/members", &p)
            }
        },
        What::Validators => "/v1/validators".into(),
        What::Checkpoint { height } => match height {
            Some(h) => format!("/v1/checkpoints/{h}"),
            None => "/v1/checkpoints/latest".into(),
        },
    }
}

/// Longest hex string shown in full by the human form; longer ones are shortened.
const HEX_SHOWN_MAX: usize = 80;

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => {
            if s.len() > HEX_SHOWN_MAX && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                format!("{}... ({} hex digits)", &s[..16], s.len())
            } else {
                s.clone()
            }
        }
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// Render JSON as indented `key: value` lines.
pub fn human(v: &Value, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent);
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match x {
                    Value::Object(o) if !o.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        human(x, indent + 1, out);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        if a.iter().all(|e| !e.is_object() && !e.is_array()) {
                            let items: Vec<String> = a.iter().map(scalar).collect();
                            out.push_str(&format!("{pad}{k}: {}\n", items.join(", ")));
                        } else {
                            out.push_str(&format!("{pad}{k}: ({} entries)\n", a.len()));
                            human(x, indent + 1, out);
                        }
                    }
                    Value::Array(_) => out.push_str(&format!("{pad}{k}: (none)\n")),
                    _ => out.push_str(&format!("{pad}{k}: {}\n", scalar(x))),
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                if x.is_object() || x.is_array() {
                    out.push_str(&format!("{pad}[{i}]\n"));
                    human(x, indent + 1, out);
                } else {
                    out.push_str(&format!("{pad}- {}\n", scalar(x)));
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

/// Run `get`.
pub fn run(a: Args) -> Result<Outcome> {
    let client = Client::new(&a.node);
    let path = path(&a.what);
    // Printed as the node wrote it: the escape hatch for raw bytes, not a typed read.
    let bytes = client.get_bytes(&path)?;
    let v: Value = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "GET {}: expected JSON, found {:?}",
            client.url(&path),
            chancery_client::excerpt(&String::from_utf8_lossy(&bytes))
        )
    })?;
    if a.json {
        return Ok(Outcome::Ok(v.to_string()));
    }
    let mut out = String::new();
    human(&v, 0, &mut out);
    Ok(Outcome::Ok(out.trim_end().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_encode_ids_and_filters() {
        let w = What::Award {
            ocid: "ocds-a/b".into(),
            award_id: "1".into(),
        };
        assert_eq!(path(&w), "/v1/awards/ocds-a%2Fb/1");
        let w = What::Grants {
            dataset: Some("d 1".into()),
            grantee: None,
            grantor: None,
            status: Some("active".into()),
            page: PageArgs {
                limit: Some(5),
                cursor: None,
            },
        };
        assert_eq!(path(&w), "/v1/grants?dataset=d%201&status=active&limit=5");
    }

    #[test]
    fn human_form_lists_nested_fields() {
        let v =
            serde_json::json!({"height": 3, "items": [{"a": 1}], "roles": ["x", "y"], "n": null});
        let mut s = String::new();
        human(&v, 0, &mut s);
        assert!(s.contains("height: 3\n"), "{s}");
        assert!(s.contains("items: (1 entries)\n  [0]\n    a: 1\n"), "{s}");
        assert!(s.contains("roles: x, y\n"), "{s}");
        assert!(s.contains("n: -\n"), "{s}");
    }
}
