#!/usr/bin/env node
// The in-browser verifier (verify.js) from the command line, for tests and for readers who
// want to run the page's code outside a browser.
//
//   node verify-cli.js RECEIPT.json GENESIS.json [--chain HEX] [--tx HEX]
//       One receipt: prints the verdict as JSON; exit 0 valid, 1 invalid,
//       2 unsupported (an sm2-sm3 chain) or a usage error.
//   node verify-cli.js BUNDLE.json GENESIS.json [--chain HEX]
//       A state-proof bundle (GET /v1/proofs/state/{asset|grant}/{id}; told from a receipt
//       by its fields, as `chancery verify` tells them: a receipt has `entry` and `index`,
//       a bundle `proof` or `state_proof` and `checkpoint`): verifyStateProof's verdict.
//   node verify-cli.js --batch
//       Reads JSON lines {"receipt": {...}, "genesis": "<genesis.json text>",
//       "chain"?: HEX, "tx"?: HEX} on stdin and writes one JSON line per input line: the
//       object verifyReceipt returns (a line that is not JSON gets an "invalid" verdict at
//       the format step). Exit 0 when every line was answered.
//       A line {"kind": "state", "bundle": {...}, "genesis": ..., "chain"?: HEX} is a
//       state-proof bundle: the object verifyStateProof returns.
//       For tests, a line may instead carry "genesis_ref": N, the genesis of input line N
//       (0-based), so that thousands of receipts of one chain need not repeat its file;
//       and two more kinds of line are answered:
//         {"chain_id_of": "<genesis.json text>"} -> {"chain_id": HEX} or {"error": "..."}
//         {"ed25519": {"key": HEX, "message": HEX, "signature": HEX}} -> {"ok": true|false}
//       (the kernel's Ed25519 acceptance rule, as verify.js applies it);
//         {"blake3": {"input_len": N, "key"?: HEX, "context"?: STRING, "out_len"?: N}}
//           -> {"hex": HEX}, the vendored BLAKE3 of the official test vectors' input
//           (bytes 0, 1, ..., 250, 0, 1, ...) in hash, keyed or derive-key mode.
//       and, for tests/vectors/ (hex in and out; every answer has "ok", and "error" when
//       not ok):
//         {"merkle_inclusion": {index, size, leaf_hash, proof, root}} -> {ok, error}
//         {"merkle_consistency": {size1, size2, proof, root1, root2}} -> {ok, error}
//           (merkle.rs verify_inclusion / verify_consistency; error is the kernel's message)
//         {"merkle_tree": {"leaves": [HEX]}} -> {ok, leaf_hashes, root, leaf_tag, node_tag}
//         {"tag_hash": {"tag": TAG, "hex": HEX}} -> {ok, hex}   (Tag::hash)
//         {"signing_bytes": {"tag": TAG, "body": HEX}} -> {ok, hex}   (tag || 0x00 || body)
//         {"vote_signing_bytes": {"chain_id": HEX, "certificate": HEX}} -> {ok, hex}
//         {"decode": {"type": NAME, "hex": HEX}} -> {ok, value, hashes}
//           (a transaction, log entry, block header, certificate, checkpoint, epoch link
//           or validator set: decoded and validated, all bytes consumed; value is a JSON
//           view of the fields; hashes {name: {tag, hex}} computed from the bytes)
//         {"genesis_encoding": "<genesis.json text>"} -> {ok, hex, value, hashes}
//           (the genesis's canonical encoding, chain_id and validator_set_hash)
//
// It loads vendor/noble.js and verify.js from its own directory.
'use strict';

const fs = require('fs');
const path = require('path');

require(path.join(__dirname, 'vendor', 'noble.js'));
require(path.join(__dirname, 'verify.js'));
const verify = globalThis.chanceryVerify;

function usage(msg) {
  if (msg) process.stderr.write('verify-cli: ' + msg + '\n');
  process.stderr.write('usage: node verify-cli.js RECEIPT.json GENESIS.json [--chain HEX] [--tx HEX]\n' +
    '       node verify-cli.js STATE-BUNDLE.json GENESIS.json [--chain HEX]\n' +
    '       node verify-cli.js --batch   (JSON lines on stdin)\n');
  process.exit(2);
}

function options(o) {
  const out = {};
  if (o.chain !== undefined) out.chain = o.chain;
  if (o.tx !== undefined) out.tx = o.tx;
  return out;
}

function batch() {
  const out = [];
  let pending = '';
  const genesisOf = [];
  function hexBytes(h) {
    return Uint8Array.from(Buffer.from(String(h), 'hex'));
  }
  function line(l) {
    if (l.trim() === '') return;
    let result;
    let input;
    try {
      input = JSON.parse(l);
    } catch (e) {
      input = undefined;
    }
    const genesis = input && input.genesis_ref !== undefined ? genesisOf[input.genesis_ref] : input && input.genesis;
    genesisOf.push(genesis);
    try {
      if (input === undefined) throw new Error('the input line is not JSON');
      if (input.chain_id_of !== undefined) {
        try {
          const p = verify.parseGenesis(input.chain_id_of);
          result = p.chain_id ? { chain_id: p.chain_id } : { unsupported: p.suite };
        } catch (e) {
          result = { error: e.message };
        }
      } else if (input.merkle_inclusion !== undefined) {
        const m = input.merkle_inclusion;
        result = verify.verifyInclusion(m.index, m.size, m.leaf_hash, m.proof, m.root);
      } else if (input.merkle_consistency !== undefined) {
        const m = input.merkle_consistency;
        result = verify.verifyConsistency(m.size1, m.size2, m.proof, m.root1, m.root2);
      } else if (input.merkle_tree !== undefined) {
        const leaves = input.merkle_tree.leaves.map((d) => verify.merkleLeafHash(d));
        const bad = leaves.find((l) => !l.ok);
        if (bad) {
          result = { ok: false, error: bad.error };
        } else {
          const hashes = leaves.map((l) => l.hex);
          const root = verify.merkleRoot(hashes);
          result = root.ok
            ? { ok: true, leaf_hashes: hashes, root: root.hex, leaf_tag: verify.TAG.LOG_LEAF, node_tag: verify.TAG.LOG_NODE }
            : root;
        }
      } else if (input.tag_hash !== undefined) {
        result = verify.tagHash(input.tag_hash.tag, input.tag_hash.hex);
      } else if (input.signing_bytes !== undefined) {
        result = verify.signingBytes(input.signing_bytes.tag, input.signing_bytes.body);
      } else if (input.vote_signing_bytes !== undefined) {
        result = verify.voteSigningBytes(input.vote_signing_bytes.chain_id, input.vote_signing_bytes.certificate);
      } else if (input.decode !== undefined) {
        result = verify.decode(input.decode.type, input.decode.hex);
      } else if (input.genesis_encoding !== undefined) {
        result = verify.genesis(input.genesis_encoding);
      } else if (input.blake3 !== undefined) {
        const b = input.blake3;
        const data = new Uint8Array(b.input_len);
        for (let i = 0; i < data.length; i++) data[i] = i % 251;
        const opts = { dkLen: b.out_len || 32 };
        if (b.key !== undefined) opts.key = hexBytes(b.key);
        if (b.context !== undefined) opts.context = new TextEncoder().encode(b.context);
        result = { hex: Buffer.from(globalThis.chanceryNoble.blake3(data, opts)).toString('hex') };
      } else if (input.ed25519 !== undefined) {
        const v = input.ed25519;
        result = { ok: verify.ed25519Verify(hexBytes(v.key), hexBytes(v.message), hexBytes(v.signature)) };
      } else if (input.kind === 'state') {
        result = verify.verifyStateProof(input.bundle, genesis, options(input));
      } else {
        result = verify.verifyReceipt(input.receipt, genesis, options(input));
      }
    } catch (e) {
      result = { status: 'invalid', failed: 'format', steps: [{ id: 'format', ok: false, detail: e.message }], summary: null };
    }
    out.push(JSON.stringify(result));
    if (out.length >= 256) flush();
  }
  function flush() {
    if (out.length) process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  }
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      line(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  process.stdin.on('end', () => {
    line(pending);
    flush();
  });
}

function single(args) {
  const files = [];
  const opts = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--chain' || args[i] === '--tx') {
      if (i + 1 >= args.length) usage(args[i] + ' needs a value');
      opts[args[i].slice(2)] = args[++i];
    } else if (args[i].startsWith('--')) {
      usage('unknown option ' + args[i]);
    } else {
      files.push(args[i]);
    }
  }
  if (files.length !== 2) usage('expected a receipt file and a genesis file');
  let receipt, genesis;
  try {
    genesis = fs.readFileSync(files[1], 'utf8');
    receipt = fs.readFileSync(files[0], 'utf8');
  } catch (e) {
    usage(e.message);
  }
  let parsed;
  try {
    parsed = JSON.parse(receipt);
  } catch (e) {
    parsed = undefined;
  }
  // client/cli/src/verify.rs `detect`: a receipt has entry and index; a state-proof
  // bundle has proof (or state_proof) and checkpoint.
  const isObject = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
  const isState = isObject && !(parsed.entry !== undefined && parsed.index !== undefined) &&
    (parsed.state_proof !== undefined || parsed.proof !== undefined) && parsed.checkpoint !== undefined;
  if (isState && opts.tx !== undefined) usage('--tx applies to a receipt, not to a state-proof bundle');
  const dup = parsed === undefined ? null : verify.duplicateKey(receipt);
  const result = parsed === undefined
    ? { status: 'invalid', failed: 'format', steps: [{ id: 'format', ok: false, detail: files[0] + ' is not JSON' }], summary: null }
    : dup !== null
      ? { status: 'invalid', failed: 'format', steps: [{ id: 'format', ok: false, detail: files[0] + ' has the key ' + JSON.stringify(dup) + ' twice: expected each key once' }], summary: null }
      : isState ? verify.verifyStateProof(parsed, genesis, opts) : verify.verifyReceipt(parsed, genesis, opts);
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  process.exit(result.status === 'valid' ? 0 : result.status === 'invalid' ? 1 : 2);
}

const args = process.argv.slice(2);
if (args.length === 1 && args[0] === '--batch') batch();
else if (args.length === 0 || args.includes('--help') || args.includes('-h')) usage();
else single(args);
