#!/usr/bin/env node
// How long verify.js takes to verify one receipt, in Node (a browser's JavaScript engine
// is of the same kind: Chromium's is V8, as Node's).
//
// The input files are written by an ignored test of the kernel's side:
//
//   source tests/env.sh
//   CHANCERY_VERIFY_BENCH_DIR=/tmp/verify-bench \
//     cargo test -p chancery-explorer --test verify_js write_bench_receipts -- --ignored
//   node node/explorer/assets/verify/bench.js /tmp/verify-bench [ITERATIONS]
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

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const runs = [
  ['4 validators, v1', 'receipt-4.json', 'genesis-4.json'],
  ['31 validators, v1', 'receipt-31.json', 'genesis-31.json'],
  ['31 validators, v2 (2 epoch links)', 'receipt-31-v2.json', 'genesis-31.json'],
];
for (const [what, receiptFile, genesisFile] of runs) {
  const receipt = JSON.parse(fs.readFileSync(path.join(dir, receiptFile), 'utf8'));
  const genesis = fs.readFileSync(path.join(dir, genesisFile), 'utf8');
  const cold = [];
  const warm = [];
  for (let i = 0; i < iterations; i++) {
    verify.clearCaches();
    let t = process.hrtime.bigint();
    const r = verify.verifyReceipt(receipt, genesis, {});
    cold.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.status !== 'valid') {
      process.stderr.write(what + ': not valid: ' + JSON.stringify(r.steps[r.steps.length - 1]) + '\n');
      process.exit(1);
    }
    t = process.hrtime.bigint();
    verify.verifyReceipt(receipt, genesis, {});
    warm.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  console.log(
    what.padEnd(36) +
      ' cold: median ' + median(cold).toFixed(1) + ' ms (min ' + Math.min(...cold).toFixed(1) +
      ', max ' + Math.max(...cold).toFixed(1) + ')' +
      '   warm: median ' + median(warm).toFixed(2) + ' ms   (' + iterations + ' runs)'
  );
}
