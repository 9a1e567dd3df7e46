#!/usr/bin/env node
// How long verify.js takes to verify one receipt, in Node (a browser's JavaScript engine
// is of the same kind: Chromium's is V8, as Node's).
//
// The input files are written by an ignored test of the kernel's side:
//
//   source tests/env.sh
//   DIR=$(mktemp -d)   # any empty folder
//   CHANCERY_VERIFY_BENCH_DIR=$DIR \
//     cargo test -p chancery-explorer --test verify_js write_bench_receipts -- --ignored
//   node node/explorer/assets/verify/bench.js $DIR [ITERATIONS]
//
// For 4 and 31 validators of equal power (3 and 21 signatures in the certificate) and a
// v2 receipt of the 31 with 2 epoch links (63 signatures), it prints the median, the
// fastest and the slowest time of ITERATIONS verifications (default 30), each from cold
// caches (genesis, key points and signature verdicts forgotten: a first visit to the
// page), then the median of a second verification with warm caches (the page checking
// another receipt of the same chain after a first one).
'use strict';

const fs = require('fs');
const path = require('path');

require(path.join(__dirname, 'vendor', 'noble.js'));
require(path.join(__dirname, 'verify.js'));
const verify = globalThis.chanceryVerify;

const dir = process.argv[2];
const iterations = Number(process.argv[3] || 30);
if (!dir || !Number.isInteger(iterations) || iterations < 1) {
  process.stderr.write('usage: node bench.js DIR [ITERATIONS]   (see the header for DIR)\n');
  process.exit(2);
}

const runs = [
  ['4 validators, v1', 'receipt-4.json', 'genesis-4.json'],
  ['31 validators, v1', 'receipt-31.json', 'genesis-31.json'],
  ['31 validators, v2 (2 epoch links)', 'receipt-31-v2.json', 'genesis-31.json'],
];
require(path.join(__dirname, 'bench-core.js'));
const inputs = runs.map(([what, receiptFile, genesisFile]) => ({
  what,
  receipt: JSON.parse(fs.readFileSync(path.join(dir, receiptFile), 'utf8')),
  genesis: fs.readFileSync(path.join(dir, genesisFile), 'utf8'),
}));
const now = () => Number(process.hrtime.bigint()) / 1e6;
try {
  for (const line of globalThis.chanceryBench.measure(verify, inputs, iterations, now)) console.log(line);
} catch (e) {
  process.stderr.write(e.message + '\n');
  process.exit(1);
}
