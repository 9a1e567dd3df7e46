//! A readable summary of a genesis document, as text or JSON.

use crate::spec::format_time;
use chancery_core::genesis::{ChainParams, Genesis};
use serde::Serialize;
use std::fmt::Write;

/// One agency in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct AgencySummary {
    /// Id.
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Admin keys (hex).
    pub admin_keys: Vec<String>,
}

/// One validator in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct ValidatorSummary {
    /// Index in the set.
    pub index: usize,
    /// Name.
    pub name: String,
    /// Agency id.
    pub agency: String,
    /// Consensus key (hex).
    pub consensus_key: String,
    /// Network key (hex).
    pub network_key: String,
    /// Voting power.
    pub power: u64,
}

/// One member in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct MemberSummary {
    /// Agency id.
    pub agency: String,
    /// Name.
    pub name: String,
    /// Key (hex).
    pub key: String,
    /// Role names.
    pub roles: Vec<&'static str>,
}

/// Everything `inspect` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Chain name.
    pub chain_name: String,
    /// Chain id (hex).
    pub chain_id: String,
    /// Genesis time in milliseconds since the Unix epoch.
    pub genesis_time_ms: u64,
    /// Genesis time, RFC 3339 UTC.
    pub genesis_time: String,
    /// Agencies.
    pub agencies: Vec<AgencySummary>,
    /// Validators.
    pub validators: Vec<ValidatorSummary>,
    /// Sum of voting power.
    pub total_power: u64,
    /// Power of a quorum (more than two thirds).
    pub quorum_power: u64,
    /// Most power that may be faulty (f).
    pub fault_power: u64,
    /// Members.
    pub members: Vec<MemberSummary>,
    /// Chain parameters.
    pub params: ChainParams,
}

impl Summary {
    /// Summarise `g`.
    pub fn of(g: &Genesis) -> Summary {
        let v = &g.validators;
        Summary {
            chain_name: g.chain_name.clone(),
            chain_id: g.chain_id().to_hex(),
            genesis_time_ms: g.genesis_time.0,
            genesis_time: format_time(g.genesis_time),
            agencies: g
                .agencies
                .iter()
                .map(|a| AgencySummary {
                    id: a.id.to_string(),
                    name_zh: a.name_zh.clone(),
                    name_en: a.name_en.clone(),
                    admin_keys: a.admin_keys.iter().map(|k| k.to_hex()).collect(),
                })
                .collect(),
            validators: v
                .validators
                .iter()
                .enumerate()
                .map(|(index, x)| ValidatorSummary {
                    index,
                    name: x.name.clone(),
                    agency: x.agency.to_string(),
                    consensus_key: x.consensus_key.to_hex(),
                    network_key: x.network_key.to_hex(),
                    power: x.power,
                })
                .collect(),
            total_power: v.total_power(),
            quorum_power: v.quorum_power(),
            fault_power: v.fault_power(),
            members: g
                .members
                .iter()
                .map(|m| MemberSummary {
                    agency: m.agency.to_string(),
                    name: m.name.clone(),
                    key: m.key.to_hex(),
                    roles: m.roles.iter().map(|r| r.as_str()).collect(),
                })
                .collect(),
            params: g.params.clone(),
        }
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_text(&mut s);
        s
    }

    fn write_text(&self, s: &mut String) -> std::fmt::Result {
        writeln!(s, "chain name    {}", self.chain_name)?;
        writeln!(s, "chain id      {}", self.chain_id)?;
        writeln!(
            s,
            "genesis time  {} ({} ms)",
            self.genesis_time, self.genesis_time_ms
        )?;
        writeln!(s, "\nagencies ({})", self.agencies.len())?;
        for a in &self.agencies {
            writeln!(s, "  {:<10} {} / {}", a.id, a.name_zh, a.name_en)?;
            for k in &a.admin_keys {
                writeln!(s, "             admin {k}")?;
            }
        }
        writeln!(
            s,
            "\nvalidators ({}): total power {}, quorum {}, f = {}",
            self.validators.len(),
            self.total_power,
            self.quorum_power,
            self.fault_power
        )?;
        for v in &self.validators {
            writeln!(
                s,
                "  [{}] {:<12} agency {:<8} power {}\n       consensus {}\n       network   {}",
                v.index, v.name, v.agency, v.power, v.consensus_key, v.network_key
            )?;
        }
        writeln!(s, "\nmembers ({})", self.members.len())?;
        for m in &self.members {
            writeln!(
                s,
                "  {:<8} {} {}\n           roles {}",
                m.agency,
                m.key,
                m.name,
                m.roles.join(", ")
            )?;
        }
        let p = &self.params;
        writeln!(s, "\nparams")?;
        writeln!(s, "  block_txs_max      {}", p.block_txs_max)?;
        writeln!(s, "  block_bytes_max    {}", p.block_bytes_max)?;
        writeln!(s, "  delta_ms           {}", p.delta_ms)?;
        writeln!(s, "  heartbeat_ms       {}", p.heartbeat_ms)?;
        writeln!(
            s,
            "  governance_threshold {}/{} (passes with strictly more approving agencies)",
            p.governance_threshold.numerator, p.governance_threshold.denominator
        )?;
        writeln!(s, "  epoch_delay_blocks {}", p.epoch_delay_blocks)?;
        Ok(())
    }
}
