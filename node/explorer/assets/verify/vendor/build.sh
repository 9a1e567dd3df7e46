#!/usr/bin/env bash
# Rebuild noble.js, the one classic script the in-page verifier loads, from the pinned
# npm packages in package-lock.json (integrity hashes checked by `npm ci`). The bundle is
# committed; neither the build nor the tests run this. Run it only to upgrade: change the
# versions in package.json, `npm install --package-lock-only`, then this script, and
# review the diff of noble.js.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp package.json package-lock.json entry.mjs "$work/"
(cd "$work" && npm ci --no-audit --no-fund >/dev/null && ./node_modules/.bin/esbuild entry.mjs \
  --bundle --format=iife --target=es2020 --legal-comments=inline --outfile=noble.js)
cp "$work/noble.js" noble.js
sha256sum noble.js
