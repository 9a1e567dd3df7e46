//! Network namespaces: each node of a `--netns` testnet runs in its own Linux network
//! namespace, joined to one bridge in the root namespace by a veth pair, so that the traffic
//! between two nodes can really be cut (`partition`) and restored (`heal`).
//!
//! Layout, for a testnet whose first node listens on port `P` (its base port):
//!
//! ```text
//! root namespace                         namespace chancery-P-<node>
//!   bridge chbrP  10.(P>>8).(P&255).1/24
//!     ├─ chvPn0  ── veth ──  eth0  10.(P>>8).(P&255).10   node 0 (p2p and API listen here)
//!     ├─ chvPn1  ── veth ──  eth0  ….11                   node 1
//!     …
//! ```
//!
//! The subnet is derived from the base port, so two testnets with different base ports never
//! share names or addresses. Tests and scripts in the root namespace reach every node's API
//! through the bridge. A partition puts an HTB root qdisc on the host side of each node's
//! veth (the direction *into* the node): `u32` filters send packets whose source is a node
//! of another group to a class whose only queue is a `pfifo` of limit 0, which drops every
//! packet it is given; everything else passes unshaped (HTB's direct queue). `heal` deletes
//! those qdiscs. Only `ip` and `tc` (iproute2) are used, and they need root.

use crate::manifest::{Manifest, NetnsNetwork, NodeNetns};
use anyhow::{anyhow, bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;

/// Most nodes in one namespaced testnet: addresses `.10` to `.137` of its /24.
pub const NODES_MAX: usize = 128;
/// Host part of the first node's address.
const NODE_HOST_FIRST: u8 = 10;
/// Prefix length of the testnet's subnet.
const PREFIX_LEN: u8 = 24;
/// Name of the node-side veth inside each namespace.
const NODE_IFACE: &str = "eth0";
/// Name of each node's namespaced config, next to its `node.toml`.
pub const CONFIG_FILE: &str = "node-netns.toml";

/// Fail clearly unless we run as root: namespaces, bridges, veth pairs and qdiscs need it.
pub fn require_root(what: &str) -> Result<()> {
    if !nix::unistd::geteuid().is_root() {
        bail!(
            "{what} needs root: it creates Linux network namespaces, a bridge and veth pairs \
             with `ip` and cuts links with `tc` (CAP_NET_ADMIN and CAP_SYS_ADMIN); \
             run it as root (e.g. with sudo)"
        );
    }
    for tool in ["ip", "tc"] {
        let ok = Command::new(tool)
            .arg("-V")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            bail!("{what} needs the `{tool}` command from iproute2 (apt-get install iproute2)");
        }
    }
    Ok(())
}

/// Plan the namespaced network of the testnet in `m` (built from the generated configs,
/// which listen on 127.0.0.1): names and addresses derived from the lowest p2p port, one
/// `node-netns.toml` per node with every address rewritten, and the manifest entries
/// (`config`, `api`, `p2p`, `netns`) pointing at them.
pub fn plan(m: &mut Manifest) -> Result<()> {
    if m.nodes.len() > NODES_MAX {
        bail!(
            "--netns supports at most {NODES_MAX} nodes, found {}",
            m.nodes.len()
        );
    }
    let mut ports = Vec::new();
    for n in &m.nodes {
        ports.push(port_of(&n.p2p).with_context(|| format!("node {}: p2p address", n.name))?);
    }
    let base = *ports.iter().min().ok_or_else(|| anyhow!("no nodes"))?;
    let [hi, lo] = base.to_be_bytes();
    let host_ip = Ipv4Addr::new(10, hi, lo, 1);
    let network = NetnsNetwork {
        bridge: format!("chbr{base}"),
        host_ip,
        prefix_len: PREFIX_LEN,
        partition: Vec::new(),
    };
    // p2p port -> the node's address, to rewrite every peer address.
    let mut by_port = BTreeMap::new();
    for (i, (n, port)) in m.nodes.iter_mut().zip(&ports).enumerate() {
        let ip = Ipv4Addr::new(10, hi, lo, NODE_HOST_FIRST + i as u8);
        by_port.insert(*port, ip);
        n.netns = Some(NodeNetns {
            namespace: format!("chancery-{base}-{}", n.name),
            veth: format!("chv{base}n{i}"),
            ip,
        });
    }
    for n in &mut m.nodes {
        let ns = n.netns.as_ref().ok_or_else(|| anyhow!("planned above"))?;
        let dir = n
            .config
            .parent()
            .ok_or_else(|| anyhow!("{} has no parent directory", n.config.display()))?
            .to_path_buf();
        let original = dir.join("node.toml");
        let text = std::fs::read_to_string(&original)
            .with_context(|| format!("reading {}", original.display()))?;
        let mut v: toml::Table =
            toml::from_str(&text).with_context(|| format!("parsing {}", original.display()))?;
        let p2p = rewrite(&v, "p2p_listen", ns.ip)?;
        let api = rewrite(&v, "api_listen", ns.ip)?;
        v.insert("p2p_listen".into(), p2p.to_string().into());
        v.insert("api_listen".into(), api.to_string().into());
        if let Some(peers) = v.get_mut("peers").and_then(|p| p.as_array_mut()) {
            for p in peers {
                let t = p
                    .as_table_mut()
                    .ok_or_else(|| anyhow!("{}: a [[peers]] entry", original.display()))?;
                let addr: SocketAddr = t
                    .get("address")
                    .and_then(|a| a.as_str())
                    .ok_or_else(|| anyhow!("{}: a peer without address", original.display()))?
                    .parse()
                    .with_context(|| format!("{}: a peer address", original.display()))?;
                let ip = by_port.get(&addr.port()).ok_or_else(|| {
                    anyhow!(
                        "{}: peer address {addr} is not the p2p address of a node of this testnet",
                        original.display()
                    )
                })?;
                t.insert(
                    "address".into(),
                    SocketAddr::new((*ip).into(), addr.port())
                        .to_string()
                        .into(),
                );
            }
        }
        let out = dir.join(CONFIG_FILE);
        std::fs::write(&out, toml::to_string(&v)?)
            .with_context(|| format!("writing {}", out.display()))?;
        n.config = out;
        n.api = format!("http://{api}");
        n.p2p = p2p.to_string();
    }
    m.network = Some(network);
    Ok(())
}

/// The socket address in `key` of a node config, moved to `ip`.
fn rewrite(v: &toml::Table, key: &str, ip: Ipv4Addr) -> Result<SocketAddr> {
    let s = v
        .get(key)
        .and_then(|x| x.as_str())
        .ok_or_else(|| anyhow!("node config lacks `{key}`"))?;
    let a: SocketAddr = s
        .parse()
        .with_context(|| format!("`{key}` = {s:?} is not a socket address"))?;
    Ok(SocketAddr::new(ip.into(), a.port()))
}

/// The port of an `IP:PORT` or `/ip4/IP/tcp/PORT` address.
fn port_of(addr: &str) -> Result<u16> {
    let tail = addr.rsplit([':', '/']).next().unwrap_or("");
    tail.parse()
        .with_context(|| format!("expected an address ending in a port, found {addr:?}"))
}

/// Run one `ip`/`tc` command; its stderr goes into the error.
fn run(tool: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(tool)
        .args(args)
        .output()
        .with_context(|| format!("running {tool} (iproute2 installed?)"))?;
    if !out.status.success() {
        bail!(
            "`{tool} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn namespace_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

fn link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", "dev", name])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Create the bridge, the namespaces and the veth pairs planned in `m` (removing leftovers
/// of an earlier run with the same names first). On failure, removes what it made.
pub fn setup(m: &Manifest) -> Result<()> {
    let net = network(m)?;
    teardown(m)?;
    let made = (|| -> Result<()> {
        let cidr = format!("{}/{}", net.host_ip, net.prefix_len);
        let subnet = subnet_of(net);
        let out = Command::new("ip")
            .args(["-4", "-o", "addr", "show", "to", &subnet])
            .output()
            .context("running ip")?;
        let clash = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !clash.is_empty() {
            bail!(
                "the subnet {subnet} chosen for this testnet (from its base port) is already \
                 in use on this machine: {clash}; pick another --base-port"
            );
        }
        run("ip", &["link", "add", &net.bridge, "type", "bridge"])?;
        run("ip", &["addr", "add", &cidr, "dev", &net.bridge])?;
        run("ip", &["link", "set", &net.bridge, "up"])?;
        for n in &m.nodes {
            let ns = node_ns(n)?;
            let addr = format!("{}/{}", ns.ip, net.prefix_len);
            run("ip", &["netns", "add", &ns.namespace])?;
            run(
                "ip",
                &[
                    "link",
                    "add",
                    &ns.veth,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    NODE_IFACE,
                    "netns",
                    &ns.namespace,
                ],
            )?;
            run("ip", &["link", "set", &ns.veth, "master", &net.bridge])?;
            run("ip", &["link", "set", &ns.veth, "up"])?;
            let nsname = ns.namespace.as_str();
            run(
                "ip",
                &["-n", nsname, "addr", "add", &addr, "dev", NODE_IFACE],
            )?;
            run("ip", &["-n", nsname, "link", "set", NODE_IFACE, "up"])?;
            run("ip", &["-n", nsname, "link", "set", "lo", "up"])?;
        }
        Ok(())
    })();
    if let Err(e) = made {
        let _ = teardown(m);
        return Err(e);
    }
    Ok(())
}

/// Delete every namespace (and with it its veth pair) and the bridge of the testnet in `m`;
/// whatever does not exist is skipped. Stop the nodes first.
pub fn teardown(m: &Manifest) -> Result<()> {
    let net = network(m)?;
    let mut failed = Vec::new();
    for n in &m.nodes {
        let ns = node_ns(n)?;
        if namespace_exists(&ns.namespace) {
            if let Err(e) = run("ip", &["netns", "del", &ns.namespace]) {
                failed.push(e.to_string());
            }
        }
        // Normally gone with the namespace; a half-made pair may be left in the root.
        if link_exists(&ns.veth) {
            if let Err(e) = run("ip", &["link", "del", &ns.veth]) {
                failed.push(e.to_string());
            }
        }
    }
    if link_exists(&net.bridge) {
        if let Err(e) = run("ip", &["link", "del", &net.bridge]) {
            failed.push(e.to_string());
        }
    }
    if !failed.is_empty() {
        bail!("removing the testnet's network: {}", failed.join("; "));
    }
    Ok(())
}

/// Cut traffic between the groups (node names); a node named in no group is alone in its
/// own. Replaces any earlier partition. Returns the groups as applied, the singletons last.
pub fn partition(m: &mut Manifest, groups: &[String]) -> Result<Vec<Vec<String>>> {
    network(m)?;
    let names: BTreeSet<&str> = m.nodes.iter().map(|n| n.name.as_str()).collect();
    let mut seen = BTreeSet::new();
    let mut applied: Vec<Vec<String>> = Vec::new();
    for g in groups {
        let members: Vec<String> = g
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if members.is_empty() {
            bail!("empty group {g:?}: expected comma-separated node names");
        }
        for name in &members {
            if !names.contains(name.as_str()) {
                bail!(
                    "no node named {name:?}; expected one of {}",
                    names.iter().copied().collect::<Vec<_>>().join(", ")
                );
            }
            if !seen.insert(name.clone()) {
                bail!("node {name} is named in two groups");
            }
        }
        applied.push(members);
    }
    for n in &m.nodes {
        if !seen.contains(&n.name) {
            applied.push(vec![n.name.clone()]);
        }
    }
    heal(m)?;
    let group_of: BTreeMap<&str, usize> = applied
        .iter()
        .enumerate()
        .flat_map(|(i, g)| g.iter().map(move |n| (n.as_str(), i)))
        .collect();
    for n in &m.nodes {
        let mine = group_of[n.name.as_str()];
        let foreign: Vec<Ipv4Addr> = m
            .nodes
            .iter()
            .filter(|o| group_of[o.name.as_str()] != mine)
            .map(|o| node_ns(o).map(|ns| ns.ip))
            .collect::<Result<_>>()?;
        if !foreign.is_empty() {
            cut(&node_ns(n)?.veth, &foreign)?;
        }
    }
    if let Some(net) = m.network.as_mut() {
        net.partition = applied.clone();
    }
    Ok(applied)
}

/// Drop every IPv4 packet from `sources` on its way into the node behind `veth`.
pub fn cut(veth: &str, sources: &[Ipv4Addr]) -> Result<()> {
    // HTB with no default class: unclassified packets take the direct queue, unshaped.
    run(
        "tc",
        &["qdisc", "add", "dev", veth, "root", "handle", "1:", "htb"],
    )?;
    run(
        "tc",
        &[
            "class", "add", "dev", veth, "parent", "1:", "classid", "1:2", "htb", "rate", "8bit",
            "quantum", "1500",
        ],
    )?;
    // A FIFO that holds no packet drops every packet it is given.
    run(
        "tc",
        &[
            "qdisc", "add", "dev", veth, "parent", "1:2", "handle", "2:", "pfifo", "limit", "0",
        ],
    )?;
    for ip in sources {
        let m = format!("{ip}/32");
        run(
            "tc",
            &[
                "filter", "add", "dev", veth, "parent", "1:", "protocol", "ip", "prio", "1", "u32",
                "match", "ip", "src", &m, "flowid", "1:2",
            ],
        )?;
    }
    Ok(())
}

/// Remove every cut made by `partition`: all nodes reach each other again.
pub fn heal(m: &mut Manifest) -> Result<()> {
    network(m)?;
    for n in &m.nodes {
        let veth = &node_ns(n)?.veth;
        let out = Command::new("tc")
            .args(["qdisc", "show", "dev", veth, "root"])
            .output()
            .context("running tc")?;
        if !out.status.success() {
            bail!(
                "`tc qdisc show dev {veth}` failed: {} (is the testnet up?)",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        if String::from_utf8_lossy(&out.stdout).contains("htb 1:") {
            run("tc", &["qdisc", "del", "dev", veth, "root"])?;
        }
    }
    if let Some(net) = m.network.as_mut() {
        net.partition.clear();
    }
    Ok(())
}

/// The command that runs `program` in node `n`'s namespace (or directly without one).
pub fn command(n: &crate::manifest::NodeEntry, program: &Path) -> Command {
    match &n.netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            // `ip netns exec` execs the program in place: the pid we get is the node's.
            c.args(["netns", "exec", &ns.namespace]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

fn network(m: &Manifest) -> Result<&NetnsNetwork> {
    m.network.as_ref().ok_or_else(|| {
        anyhow!(
            "this testnet was not started with --netns: partitions need each node in its own \
             network namespace (`chancery-testnet up --netns`, as root)"
        )
    })
}

fn node_ns(n: &crate::manifest::NodeEntry) -> Result<&NodeNetns> {
    n.netns
        .as_ref()
        .ok_or_else(|| anyhow!("node {} has no network namespace in the manifest", n.name))
}

fn subnet_of(net: &NetnsNetwork) -> String {
    let o = net.host_ip.octets();
    format!("{}.{}.{}.0/{}", o[0], o[1], o[2], net.prefix_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_of_both_address_forms() {
        assert_eq!(port_of("127.0.0.1:26600").unwrap(), 26600);
        assert_eq!(port_of("/ip4/127.0.0.1/tcp/26602").unwrap(), 26602);
        assert!(port_of("127.0.0.1").is_err());
    }
}
