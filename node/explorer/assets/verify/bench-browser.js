#!/usr/bin/env node
// How long verify.js takes to verify one receipt in a real browser: the loop of
// bench-core.js inside a page that headless Chromium (Debian's `chromium`) loads from
// file://, with the libraries, the verifier and the receipts inline as on the /verify page.
//
//   source tests/env.sh
//   DIR=$(mktemp -d)   # any empty folder
//   CHANCERY_VERIFY_BENCH_DIR=$DIR \
//     cargo test -p chancery-explorer --test verify_js write_bench_receipts -- --ignored
//   node node/explorer/assets/verify/bench-browser.js $DIR [ITERATIONS]
//
// Same receipts and output as bench.js (4 and 31 validators, and a v2 receipt of the 31
// with 2 epoch links); the page is written to DIR/bench.html.
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const dir = process.argv[2];
const iterations = Number(process.argv[3] || 30);
if (!dir || !Number.isInteger(iterations) || iterations < 1) {
  process.stderr.write('usage: node bench-browser.js DIR [ITERATIONS]   (see the header for DIR)\n');
  process.exit(2);
}
const runs = [
  ['4 validators, v1', 'receipt-4.json', 'genesis-4.json'],
  ['31 validators, v1', 'receipt-31.json', 'genesis-31.json'],
  ['31 validators, v2 (2 epoch links)', 'receipt-31-v2.json', 'genesis-31.json'],
].map(([what, r, g]) => ({
  what,
  receipt: JSON.parse(fs.readFileSync(path.join(dir, r), 'utf8')),
  genesis: fs.readFileSync(path.join(dir, g), 'utf8'),
}));
// Inline scripts: "</" must not appear in them as written.
const inline = (text) => '<script>' + text.replace(/<\//g, '<\\/') + '</script>\n';
const src = (f) => fs.readFileSync(path.join(__dirname, f), 'utf8');
const html =
  '<!DOCTYPE html><html><head><meta charset="utf-8"><title>verify bench</title></head><body>\n' +
  '<pre id="bench">running</pre>\n' +
  inline(src('vendor/noble.js')) +
  inline(src('verify.js')) +
  inline(src('bench-core.js')) +
  inline(
    'var out = document.getElementById("bench");\n' +
      'try {\n' +
      '  out.textContent = "OK\\n" + globalThis.chanceryBench.measure(globalThis.chanceryVerify, ' +
      JSON.stringify(runs) + ', ' + iterations + ', function () { return performance.now(); }).join("\\n");\n' +
      '} catch (e) { out.textContent = "ERROR " + e.message; }\n'
  ) +
  '</body></html>\n';
const page = path.resolve(dir, 'bench.html');
fs.writeFileSync(page, html);
const exe = ['chromium', 'chromium-browser', 'google-chrome'].find((n) => {
  try {
    execFileSync('which', [n], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return false;
  }
});
if (!exe) {
  process.stderr.write('no chromium on PATH (apt-get install chromium)\n');
  process.exit(2);
}
const profile = fs.mkdtempSync(path.join(require('os').tmpdir(), 'verify-bench-'));
const dom = execFileSync(
  exe,
  ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
    '--user-data-dir=' + profile, '--timeout=600000', '--dump-dom', 'file://' + page],
  { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] }
);
fs.rmSync(profile, { recursive: true, force: true });
const m = /<pre id="bench">([\s\S]*?)<\/pre>/.exec(dom);
const text = m ? m[1].replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>') : 'no result in the page';
if (!text.startsWith('OK\n')) {
  process.stderr.write(text + '\n');
  process.exit(1);
}
const version = execFileSync(exe, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
console.log('in ' + version + ' (headless):');
console.log(text.slice(3));
