// Chancery receipt and state-proof verifier, in the browser (and in Node).
//
// A plain classic script: no modules, no framework, no build step. It reads the vendored
// crypto from globalThis.chanceryNoble (vendor/noble.js: BLAKE3, SHA-512 and the Ed25519
// curve from @noble/hashes and @noble/curves) and defines globalThis.chanceryVerify.
//
// It is a second implementation of the Rust kernel's `receipt::verify`
// (client/core/src/receipt.rs) and of `chancery verify`'s state-proof bundle check
// (client/cli/src/verify.rs `verify_state_bundle`, client/core/src/state.rs
// `verify_state_proof`), and must reach the same verdict on every input: the tests in
// node/explorer/tests/verify_js.rs and tests/e2e/tests/verify_js.rs compare them on every
// single-byte tampering of real receipts and bundles. Where this file mirrors a Rust
// function, the comment names it. See README.md in this directory for what is and is not
// checked.
//
// verifyReceipt(receipt, genesisText, options) and verifyStateProof(bundle, genesisText,
// options) never throw: every failure becomes an "invalid" verdict at the step where it
// happened.
(function () {
  'use strict';

  var noble = globalThis.chanceryNoble;

  // ------------------------------------------------------------------ kernel limits
  // Same names and values as client/core/src/limits.rs.
  var LIMITS = {
    TX_BYTES_MAX: 64 * 1024,
    ID_BYTES_MAX: 64,
    NAME_BYTES_MAX: 256,
    TEXT_BYTES_MAX: 4096,
    URL_BYTES_MAX: 1024,
    CATEGORY_BYTES_MAX: 16,
    DOCUMENTS_MAX: 32,
    SUPPLIERS_MAX: 64,
    ITEMS_MAX: 256,
    ACTIONS_MAX: 8,
    CONSTRAINTS_MAX: 16,
    ROLES_MAX: 16,
    VALIDATORS_MAX: 256,
    BLOCK_TXS_MAX: 20000,
    BLOCK_BYTES_MAX: 16 * 1024 * 1024,
    AGENCIES_MAX: 1024,
    GENESIS_MEMBERS_MAX: 16 * 1024,
    ADMIN_KEYS_MAX: 16,
    GENESIS_ENCODING_BYTES_MAX: 16 * 1024 * 1024,
    LIMIT_RULES_MAX: 64,
    CHANGES_MAX: 16,
    THRESHOLD_DENOMINATOR_MAX: 1000000,
    EPOCH_DELAY_BLOCKS_MAX: 10000,
    DELTA_MS_MAX: 60000,
    HEARTBEAT_MS_MAX: 3600000,
    EPOCH_LINKS_MAX: 65536,
    EPOCH_SUFFIX_MAX: 64,
    BLOCK_HEADER_ENCODING_BYTES_MAX: 512,
    TX_BYTES_MAX: 64 * 1024, // limits.rs TX_BYTES_MAX, a transaction's encoding limit
    LOG_ENTRY_ENCODING_BYTES_MAX: 64 * 1024 + 64,
    CERTIFICATE_SIGNATURE_BYTES_MAX: 80,
    CERTIFICATE_FRAME_BYTES_MAX: 64,
    VALIDATOR_SET_ENCODING_BYTES_MAX: 1024 * 1024,
    PROOF_HASHES_MAX: 64,
    PROOF_SIBLINGS_MAX: 256,
    RECEIPT_BYTES_MAX: 16 * 1024 * 1024
  };
  LIMITS.CERTIFICATE_ENCODING_BYTES_MAX =
    LIMITS.CERTIFICATE_FRAME_BYTES_MAX + LIMITS.VALIDATORS_MAX * LIMITS.CERTIFICATE_SIGNATURE_BYTES_MAX;
  LIMITS.CHECKPOINT_ENCODING_BYTES_MAX =
    LIMITS.BLOCK_HEADER_ENCODING_BYTES_MAX + LIMITS.CERTIFICATE_ENCODING_BYTES_MAX;
  // client/core/src/epoch.rs
  LIMITS.EPOCH_LINK_ENCODING_BYTES_MAX = LIMITS.BLOCK_HEADER_ENCODING_BYTES_MAX +
    LIMITS.CERTIFICATE_ENCODING_BYTES_MAX + LIMITS.VALIDATOR_SET_ENCODING_BYTES_MAX +
    LIMITS.EPOCH_SUFFIX_MAX * LIMITS.BLOCK_HEADER_ENCODING_BYTES_MAX + 16;
  LIMITS.STATE_VALUE_ENCODING_BYTES_MAX = LIMITS.VALIDATOR_SET_ENCODING_BYTES_MAX + 64;
  LIMITS.STATE_PROOF_ENCODING_BYTES_MAX = LIMITS.STATE_VALUE_ENCODING_BYTES_MAX + LIMITS.PROOF_SIBLINGS_MAX * 32 + 256;
  // 2^63 leaves (merkle.rs TREE_SIZE_MAX), as a BigInt.
  var TREE_SIZE_MAX = 1n << 63n;
  var U64_MAX = (1n << 64n) - 1n;

  var RECEIPT_FORMAT = 'chancery-receipt/v1';
  var RECEIPT_FORMAT_V2 = 'chancery-receipt/v2';
  var CODEC_VERSION = 1; // codec.rs VERSION

  // Domain-separation tags (domain.rs).
  var TAG = {
    TX_HASH: 'chancery/v1/hash/tx',
    TX_SIGN: 'chancery/v1/sign/tx',
    BLOCK_HASH: 'chancery/v1/hash/block-header',
    BLOCK_TXS_HASH: 'chancery/v1/hash/block-txs',
    VALIDATOR_SET_HASH: 'chancery/v1/hash/validator-set',
    GENESIS_HASH: 'chancery/v1/hash/genesis',
    VOTE_SIGN: 'chancery/v1/sign/vote',
    LOG_LEAF: 'chancery/v1/hash/log-leaf',
    LOG_NODE: 'chancery/v1/hash/log-node',
    STATE_LEAF: 'chancery/v1/hash/state-leaf',
    STATE_NODE: 'chancery/v1/hash/state-node',
    STATE_KEY: 'chancery/v1/hash/state-key'
  };

  // ------------------------------------------------------------------ small helpers

  var utf8enc = new TextEncoder();
  // fatal: invalid UTF-8 is an error, as Rust's String decoding; ignoreBOM: a leading
  // U+FEFF is kept as a character, not dropped.
  var utf8dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  /** A failure: the message is the detail shown for the step. */
  function Fail(message) { this.message = message; }
  function fail(message) { throw new Fail(message); }

  function utf8(s) { return utf8enc.encode(s); }
  function blen(s) { return utf8enc.encode(s).length; }

  var HEX_DIGITS = [];
  for (var hd = 0; hd < 256; hd++) HEX_DIGITS.push((hd < 16 ? '0' : '') + hd.toString(16));
  function toHex(b) {
    var out = '';
    for (var i = 0; i < b.length; i++) out += HEX_DIGITS[b[i]];
    return out;
  }
  // The value of each lower-case hex digit by its character code, -1 for any other.
  var HEX_VALUE = new Int8Array(128).fill(-1);
  for (var hv = 0; hv < 16; hv++) HEX_VALUE['0123456789abcdef'.charCodeAt(hv)] = hv;

  /** receipt.rs `hex_lower`: only 0-9 a-f, an even number of them (`what` names the document's fields in messages). */
  function hexLower(field, s, what) {
    what = what || 'receipt field';
    if (typeof s !== 'string') fail(what + ' ' + field + ': expected a string');
    if (!/^[0-9a-f]*$/.test(s)) {
      var at = s.search(/[^0-9a-f]/);
      fail(what + ' ' + field + ': expected lower-case hex, found a non-hex character at offset ' + utf8(s.slice(0, at)).length);
    }
    if (s.length % 2 !== 0) fail(what + ' ' + field + ': expected lower-case hex, found an odd number of digits');
    var out = new Uint8Array(s.length / 2);
    for (var j = 0; j < out.length; j++) out[j] = (HEX_VALUE[s.charCodeAt(2 * j)] << 4) | HEX_VALUE[s.charCodeAt(2 * j + 1)];
    return out;
  }

  function bytesEqual(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** Byte-wise order, as Rust orders `String`s and byte arrays. */
  function compareBytes(a, b) {
    var n = Math.min(a.length, b.length);
    for (var i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  }

  function concat(parts) {
    var n = 0, i;
    for (i = 0; i < parts.length; i++) n += parts[i].length;
    var out = new Uint8Array(n), at = 0;
    for (i = 0; i < parts.length; i++) { out.set(parts[i], at); at += parts[i].length; }
    return out;
  }

  /** A message as a sentence: a capital first letter and a final period. */
  function sentence(m) {
    m = String(m);
    if (m.length === 0) return m;
    return m.charAt(0).toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? '' : '.');
  }

  /** A u64 for display: a Number when exact, else a decimal string. */
  function num(v) {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  }

  // ------------------------------------------------------------------ hashes (suite.rs)

  var derivedKeys = {};
  /** `Tag::derived_key`: BLAKE3 derive_key(tag, ""). */
  function derivedKey(tag) {
    if (!derivedKeys[tag]) derivedKeys[tag] = noble.blake3(new Uint8Array(0), { context: utf8(tag) });
    return derivedKeys[tag];
  }
  /** `Tag::hash`: BLAKE3 in key-derivation mode, the tag as context. */
  function tagHash(tag, bytes) { return noble.blake3(bytes, { context: utf8(tag) }); }
  /** merkle.rs `Blake3Hasher::hash_leaf`: keyed BLAKE3 under derive_key(LOG_LEAF, ""). */
  function leafHash(bytes) { return noble.blake3(bytes, { key: derivedKey(TAG.LOG_LEAF) }); }
  function nodeHash(left, right) { return noble.blake3(concat([left, right]), { key: derivedKey(TAG.LOG_NODE) }); }

  // ------------------------------------------------------------------ canonical decoding
  // codec.rs: a version byte, then bincode 2 with little-endian fixed-width integers:
  // u64 lengths for strings and lists, u32 enum discriminants, u8 option tags, bools 0/1.
  // Decoding is strict (every tag and bool has one valid value), so what decodes is the
  // canonical encoding of what it decodes to, as codec.rs's re-encode check requires.

  function Reader(bytes, start, end) {
    this.b = bytes; this.pos = start; this.end = end;
  }
  Reader.prototype.take = function (n) {
    if (n > this.end - this.pos) fail('unexpected end of input: ' + n + ' more bytes needed at offset ' + this.pos);
    var s = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  };
  Reader.prototype.u8 = function () { return this.take(1)[0]; };
  Reader.prototype.u16 = function () { var s = this.take(2); return s[0] | (s[1] << 8); };
  Reader.prototype.u32 = function () { var s = this.take(4); return (s[0] | (s[1] << 8) | (s[2] << 16)) + s[3] * 16777216; };
  Reader.prototype.u64 = function () {
    var s = this.take(8), v = 0n;
    for (var i = 7; i >= 0; i--) v = (v << 8n) | BigInt(s[i]);
    return v;
  };
  /** A list or string length: more than the bytes left cannot be honest. */
  Reader.prototype.len = function () {
    var n = this.u64();
    if (n > BigInt(this.end - this.pos)) fail('length ' + n + ' at offset ' + (this.pos - 8) + ' exceeds the ' + (this.end - this.pos) + ' bytes left');
    return Number(n);
  };
  Reader.prototype.bool = function () {
    var v = this.u8();
    if (v > 1) fail('invalid bool value ' + v + ' at offset ' + (this.pos - 1));
    return v === 1;
  };
  Reader.prototype.str = function () {
    var n = this.len(), at = this.pos, raw = this.take(n);
    try { return utf8dec.decode(raw); } catch (e) { fail('invalid UTF-8 in a string at offset ' + at); }
  };
  Reader.prototype.bytes = function (n) { return this.take(n).slice(); };
  Reader.prototype.option = function (f) {
    var t = this.u8();
    if (t === 0) return null;
    if (t === 1) return f(this);
    fail('invalid option tag ' + t + ' at offset ' + (this.pos - 1));
  };
  Reader.prototype.vec = function (f) {
    var n = this.len(), out = [];
    for (var i = 0; i < n; i++) out.push(f(this));
    return out;
  };
  /** An enum's discriminant: a u32 below `count`. */
  Reader.prototype.tag = function (count, what) {
    var at = this.pos, t = this.u32();
    if (t >= count) fail('unknown ' + what + ' variant ' + t + ' at offset ' + at);
    return t;
  };

  /** codec.rs `decode_in`, up to (not including) the type's validation. */
  function decodeCanonical(name, maxBytes, bytes, body) {
    if (bytes.length === 0) fail('empty input: expected a version byte');
    if (bytes.length > maxBytes) fail('input of ' + bytes.length + ' bytes exceeds the limit of ' + maxBytes + ' bytes for ' + name);
    if (bytes[0] !== CODEC_VERSION) fail('unknown encoding version ' + bytes[0] + ': expected ' + CODEC_VERSION);
    var r = new Reader(bytes, 1, bytes.length);
    var value;
    try {
      value = body(r);
    } catch (e) {
      if (e instanceof Fail) fail('malformed ' + name + ': ' + e.message);
      throw e;
    }
    if (r.pos !== bytes.length) fail((bytes.length - r.pos) + ' trailing bytes after ' + name + ': expected none');
    return value;
  }

  // ------------------------------------------------------------------ field checks
  // codec.rs `check`; each returns nothing or throws a Fail naming the field.

  function invalid(field, expected, found) {
    fail('field `' + field + '`: expected ' + expected + ', found ' + found);
  }
  /** Rust `char::is_control`: general category Cc. */
  function isControl(cp) { return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f); }
  function checkText(field, s, max) {
    if (blen(s) > max) invalid(field, 'at most ' + max + ' bytes', blen(s) + ' bytes');
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (isControl(c) && c !== 10) invalid(field, 'no control characters', 'U+' + c.toString(16));
    }
  }
  function checkNonempty(field, s, max) {
    if (s.length === 0) invalid(field, 'a non-empty string', '""');
    checkText(field, s, max);
  }
  function checkId(field, s, max) {
    checkNonempty(field, s, max);
    if (!/^[A-Za-z0-9\-_.:/]*$/.test(s)) invalid(field, 'an identifier of ASCII letters, digits and - _ . : /', JSON.stringify(s));
  }
  function checkList(field, v, max) {
    if (v.length > max) invalid(field, 'at most ' + max + ' entries', v.length + ' entries');
  }
  /** Strictly increasing under `cmp` (sorted, no duplicates). */
  function checkSorted(field, v, cmp) {
    for (var i = 1; i < v.length; i++) {
      if (cmp(v[i - 1], v[i]) >= 0) invalid(field, 'entries sorted in increasing order without duplicates', 'entry ' + i + ' out of order');
    }
  }
  function cmpNum(a, b) { return a < b ? -1 : a > b ? 1 : 0; }
  function cmpStr(a, b) { return compareBytes(utf8(a), utf8(b)); }
  function cmpKey(a, b) { return compareBytes(a, b); }

  // ------------------------------------------------------------------ ids.rs

  function dateOf(r) { return { year: r.u16(), month: r.u8(), day: r.u8() }; }
  function dateValid(d) {
    var leap = (d.year % 4 === 0 && d.year % 100 !== 0) || d.year % 400 === 0;
    var days;
    if ([1, 3, 5, 7, 8, 10, 12].indexOf(d.month) >= 0) days = 31;
    else if ([4, 6, 9, 11].indexOf(d.month) >= 0) days = 30;
    else if (d.month === 2) days = leap ? 29 : 28;
    else return false;
    return d.year >= 1900 && d.year <= 9999 && d.day >= 1 && d.day <= days;
  }
  function checkDate(field, d) {
    if (!dateValid(d)) invalid(field, 'a valid date between 1900-01-01 and 9999-12-31', d.year + '-' + d.month + '-' + d.day);
  }
  function cmpDate(a, b) { return (a.year - b.year) || (a.month - b.month) || (a.day - b.day); }
  function amountOf(r) { return { minor: r.u64(), currency: r.bytes(3) }; }
  function checkAmount(field, a) {
    for (var i = 0; i < 3; i++) {
      if (a.currency[i] < 65 || a.currency[i] > 90) invalid(field + '.currency', 'an ISO 4217 code of three upper-case letters', toHex(a.currency));
    }
  }
  /** A public key of the ed25519-blake3 suite: 32 bytes (the decoding context). */
  function keyOf(r) { return r.bytes(32); }
  function digestOf(r) { return r.bytes(32); }

  // ------------------------------------------------------------------ records (record.rs, procurement.rs, governance.rs)

  var ROLE_COUNT = 5;
  var ACTION_COUNT = 5;

  function restricted(r, f) {
    var t = r.tag(2, 'restricted field');
    return t === 0 ? { open: f(r) } : { sealed: digestOf(r) };
  }
  function documentRef(r) { return { hash: digestOf(r), kind: r.str(), title: r.str(), url: r.str() }; }
  function checkDocuments(f, docs) {
    checkList(f, docs, LIMITS.DOCUMENTS_MAX);
    docs.forEach(function (d, i) {
      var g = f + '[' + i + ']';
      checkId(g + '.kind', d.kind, LIMITS.ID_BYTES_MAX);
      checkNonempty(g + '.title', d.title, LIMITS.NAME_BYTES_MAX);
      checkText(g + '.url', d.url, LIMITS.URL_BYTES_MAX);
    });
  }
  function supplier(r) { return { name: r.str(), credit_code: r.str() }; }
  function checkSuppliers(f, v) {
    checkList(f, v, LIMITS.SUPPLIERS_MAX);
    v.forEach(function (s, i) {
      var g = f + '[' + i + ']';
      checkNonempty(g + '.name', s.name, LIMITS.NAME_BYTES_MAX);
      if (!/^[0-9A-Z]{18}$/.test(s.credit_code)) invalid(g + '.credit_code', 'an 18-character unified social credit code (digits and upper-case letters)', JSON.stringify(s.credit_code));
    });
  }
  function item(r) {
    return {
      id: r.str(), description: r.str(), classification_scheme: r.str(), classification_id: r.str(),
      quantity: r.u64(), unit: r.str(), unit_value: r.option(amountOf)
    };
  }
  function checkItems(f, v) {
    checkList(f, v, LIMITS.ITEMS_MAX);
    v.forEach(function (it, i) {
      var g = f + '[' + i + ']';
      checkId(g + '.id', it.id, LIMITS.ID_BYTES_MAX);
      checkNonempty(g + '.description', it.description, LIMITS.TEXT_BYTES_MAX);
      checkText(g + '.classification_scheme', it.classification_scheme, LIMITS.ID_BYTES_MAX);
      checkText(g + '.classification_id', it.classification_id, LIMITS.ID_BYTES_MAX);
      checkText(g + '.unit', it.unit, LIMITS.NAME_BYTES_MAX);
      if (it.unit_value) checkAmount(g + '.unit_value', it.unit_value);
    });
    var ids = v.map(function (it) { return it.id; }).sort(cmpStr);
    for (var i = 1; i < ids.length; i++) {
      if (ids[i - 1] === ids[i]) invalid(f + '.id', 'item ids unique within the award', JSON.stringify(ids[i]) + ' twice');
    }
  }
  function notCancelled(status) {
    if (status === 3) invalid('status', 'pending, active or unsuccessful (cancel with cancel_award)', 'cancelled');
  }

  // governance.rs
  function chainParams(r) {
    return {
      block_txs_max: r.u32(), block_bytes_max: r.u32(), delta_ms: r.u64(), heartbeat_ms: r.u64(),
      governance_threshold: { numerator: r.u32(), denominator: r.u32() }, epoch_delay_blocks: r.u64()
    };
  }
  function checkThreshold(f, t) {
    if (t.denominator === 0 || t.denominator > LIMITS.THRESHOLD_DENOMINATOR_MAX) invalid(f + '.denominator', '1..=' + LIMITS.THRESHOLD_DENOMINATOR_MAX, String(t.denominator));
    if (t.numerator >= t.denominator) invalid(f + '.numerator', 'below the denominator', String(t.numerator));
  }
  function checkParamsGovernance(p) {
    checkThreshold('governance_threshold', p.governance_threshold);
    if (p.epoch_delay_blocks === 0n || p.epoch_delay_blocks > BigInt(LIMITS.EPOCH_DELAY_BLOCKS_MAX)) invalid('epoch_delay_blocks', '1..=' + LIMITS.EPOCH_DELAY_BLOCKS_MAX, String(p.epoch_delay_blocks));
  }
  function checkParams(p) {
    function range(f, v, min, max) { if (v < BigInt(min) || v > BigInt(max)) invalid(f, min + '..=' + max, String(v)); }
    range('block_txs_max', BigInt(p.block_txs_max), 1, LIMITS.BLOCK_TXS_MAX);
    range('block_bytes_max', BigInt(p.block_bytes_max), 1, LIMITS.BLOCK_BYTES_MAX);
    range('delta_ms', p.delta_ms, 1, LIMITS.DELTA_MS_MAX);
    range('heartbeat_ms', p.heartbeat_ms, 0, LIMITS.HEARTBEAT_MS_MAX);
    checkParamsGovernance(p);
  }
  function limitRule(r) {
    return { name: r.str(), agencies: r.vec(function (r) { return r.str(); }), open_tender_from: amountOf(r), record_from: amountOf(r) };
  }
  /** procurement.rs `ProcurementLimits::validate`. */
  function checkLimits(limits) {
    checkList('rules', limits.rules, LIMITS.LIMIT_RULES_MAX);
    var names = {}, agencies = {}, defaults = 0;
    limits.rules.forEach(function (rule, i) {
      var f = 'rules[' + i + ']';
      checkId(f + '.name', rule.name, LIMITS.ID_BYTES_MAX);
      if (Object.prototype.hasOwnProperty.call(names, rule.name)) invalid(f + '.name', 'a name no other rule has', JSON.stringify(rule.name) + ' again');
      names[rule.name] = true;
      checkList(f + '.agencies', rule.agencies, LIMITS.AGENCIES_MAX);
      checkSorted(f + '.agencies', rule.agencies, cmpStr);
      rule.agencies.forEach(function (a) {
        checkId(f + '.agencies', a, LIMITS.ID_BYTES_MAX);
        if (Object.prototype.hasOwnProperty.call(agencies, a)) invalid(f + '.agencies', 'each agency in at most one rule', a + ' again');
        agencies[a] = true;
      });
      if (rule.agencies.length === 0) {
        defaults += 1;
        if (defaults > 1) invalid(f + '.agencies', 'at most one rule for all agencies (no agencies listed)', 'a second one');
      }
      checkAmount(f + '.open_tender_from', rule.open_tender_from);
      checkAmount(f + '.record_from', rule.record_from);
      if (!bytesEqual(rule.record_from.currency, rule.open_tender_from.currency)) invalid(f + '.record_from.currency', 'the currency of open_tender_from', toHex(rule.record_from.currency));
      if (rule.record_from.minor > rule.open_tender_from.minor) invalid(f + '.record_from', 'at most open_tender_from', String(rule.record_from.minor));
    });
  }
  function checkAdminKeys(keys) {
    if (keys.length === 0) invalid('admin_keys', 'at least one admin key', 'none');
    checkList('admin_keys', keys, LIMITS.ADMIN_KEYS_MAX);
    checkSorted('admin_keys', keys, cmpKey);
  }
  /** governance.rs `Change` (decode) and `Change::validate`. */
  function change(r) {
    var t = r.tag(8, 'change');
    switch (t) {
      case 0: return { t: t, id: r.str(), name_zh: r.str(), name_en: r.str(), admin_keys: r.vec(keyOf) };
      case 1: return { t: t, id: r.str() };
      case 2: return { t: t, agency: r.str(), name: r.str(), consensus_key: keyOf(r), network_key: r.bytes(32), power: r.u64() };
      case 3: return { t: t, name: r.str() };
      case 4: return { t: t, name: r.str(), consensus_key: r.option(keyOf), network_key: r.option(function (r) { return r.bytes(32); }) };
      case 5: return { t: t, agency: r.str(), admin_keys: r.vec(keyOf) };
      case 6: return { t: t, params: chainParams(r) };
      default: return { t: t, limits: { rules: r.vec(limitRule) } };
    }
  }
  function checkChange(c) {
    var I = LIMITS.ID_BYTES_MAX;
    switch (c.t) {
      case 0:
        checkId('id', c.id, I);
        checkNonempty('name_zh', c.name_zh, LIMITS.NAME_BYTES_MAX);
        checkNonempty('name_en', c.name_en, LIMITS.NAME_BYTES_MAX);
        return checkAdminKeys(c.admin_keys);
      case 1: return checkId('id', c.id, I);
      case 2:
        checkId('agency', c.agency, I);
        checkId('name', c.name, I);
        if (bytesEqual(c.consensus_key, c.network_key)) invalid('network_key', 'a key other than the consensus key', toHex(c.network_key));
        if (c.power === 0n) invalid('power', 'at least 1', '0');
        return;
      case 3: return checkId('name', c.name, I);
      case 4:
        checkId('name', c.name, I);
        if (c.consensus_key === null && c.network_key === null) invalid('consensus_key', 'a new consensus key, a new network key, or both', 'neither');
        if (c.consensus_key !== null && c.network_key !== null && bytesEqual(c.consensus_key, c.network_key)) invalid('network_key', 'a key other than the new consensus key', toHex(c.network_key));
        return;
      case 5:
        checkId('agency', c.agency, I);
        return checkAdminKeys(c.admin_keys);
      case 6: return checkParams(c.params);
      default: return checkLimits(c.limits);
    }
  }

  // Record kinds in encoding order, spelled as RecordKind::as_str.
  var RECORD_KINDS = [
    'register_asset', 'transfer_asset', 'dispose_asset', 'award_procurement', 'amend_award',
    'cancel_award', 'grant_data_access', 'revoke_grant', 'anchor_document', 'register_member',
    'revoke_member', 'propose_change', 'vote', 'publish_tender', 'close_tender', 'sign_contract',
    'amend_contract', 'record_implementation', 'terminate_contract'
  ];

  /** record.rs `Record`: decode one record; returns {kind, subject, check}. */
  function record(r) {
    var k = r.tag(RECORD_KINDS.length, 'record kind');
    var I = LIMITS.ID_BYTES_MAX, N = LIMITS.NAME_BYTES_MAX, T = LIMITS.TEXT_BYTES_MAX;
    var x, subject, check;
    function str() { return r.str(); }
    switch (k) {
      case 0: // register_asset
        x = {
          asset_id: str(), category: str(), name: str(), spec_model: str(), quantity: r.u64(), unit: str(),
          acquisition_method: r.tag(6, 'acquisition method'), acquisition_date: dateOf(r), original_value: amountOf(r),
          funding_source: r.tag(5, 'funding source'), custodian: str(), location: restricted(r, function (r) { return r.str(); }),
          documents: r.vec(documentRef)
        };
        subject = x.asset_id;
        check = function () {
          checkId('asset_id', x.asset_id, I);
          if (x.category.length === 0 || blen(x.category) > LIMITS.CATEGORY_BYTES_MAX || !/^[A-Za-z0-9]*$/.test(x.category)) invalid('category', 'a GB/T 14885 code', JSON.stringify(x.category));
          checkNonempty('name', x.name, N);
          checkText('spec_model', x.spec_model, N);
          if (x.quantity === 0n) invalid('quantity', 'at least 1', '0');
          checkNonempty('unit', x.unit, N);
          checkDate('acquisition_date', x.acquisition_date);
          checkAmount('original_value', x.original_value);
          checkId('custodian', x.custodian, I);
          if (x.location.open !== undefined) checkText('location', x.location.open, T);
          checkDocuments('documents', x.documents);
        };
        break;
      case 1: // transfer_asset
        x = { asset_id: str(), from: str(), to: str(), kind: r.tag(3, 'transfer kind'), approval_document: digestOf(r), effective_date: dateOf(r) };
        subject = x.asset_id;
        check = function () {
          checkId('asset_id', x.asset_id, I);
          checkId('from', x.from, I);
          checkId('to', x.to, I);
          if (x.from === x.to) invalid('to', 'an agency other than `from`', x.to);
          checkDate('effective_date', x.effective_date);
        };
        break;
      case 2: // dispose_asset
        x = {
          asset_id: str(), method: r.tag(6, 'disposal method'), approval_document: digestOf(r), date: dateOf(r),
          proceeds: r.option(amountOf), counterparty: r.option(function (r) { return restricted(r, function (r) { return r.str(); }); })
        };
        subject = x.asset_id;
        check = function () {
          checkId('asset_id', x.asset_id, I);
          checkDate('date', x.date);
          if (x.proceeds) checkAmount('proceeds', x.proceeds);
          if (x.counterparty && x.counterparty.open !== undefined) checkNonempty('counterparty', x.counterparty.open, N);
        };
        break;
      case 3: // award_procurement
        x = {
          ocid: str(), award_id: str(), project_number: str(), title: str(), description: str(), purchaser: str(),
          method: r.tag(4, 'procurement method'), method_details: str(), suppliers: r.vec(supplier), value: amountOf(r),
          award_date: dateOf(r), status: r.tag(4, 'award status'), items: r.vec(item), documents: r.vec(documentRef)
        };
        subject = x.ocid + '/' + x.award_id;
        check = function () {
          checkId('ocid', x.ocid, I);
          checkId('award_id', x.award_id, I);
          checkNonempty('project_number', x.project_number, I);
          checkNonempty('title', x.title, N);
          checkText('description', x.description, T);
          checkId('purchaser', x.purchaser, I);
          checkText('method_details', x.method_details, N);
          if (x.suppliers.length === 0 && x.status === 1) invalid('suppliers', 'at least one supplier on an active award', 'none');
          notCancelled(x.status);
          checkSuppliers('suppliers', x.suppliers);
          checkAmount('value', x.value);
          checkDate('award_date', x.award_date);
          checkItems('items', x.items);
          checkDocuments('documents', x.documents);
        };
        break;
      case 4: // amend_award
        x = {
          ocid: str(), award_id: str(), rationale: str(), date: dateOf(r), value: r.option(amountOf),
          suppliers: r.option(function (r) { return r.vec(supplier); }), items: r.option(function (r) { return r.vec(item); }),
          status: r.option(function (r) { return r.tag(4, 'award status'); }), documents: r.vec(documentRef)
        };
        subject = x.ocid + '/' + x.award_id;
        check = function () {
          checkId('ocid', x.ocid, I);
          checkId('award_id', x.award_id, I);
          checkNonempty('rationale', x.rationale, T);
          checkDate('date', x.date);
          if (x.value) checkAmount('value', x.value);
          if (x.suppliers) checkSuppliers('suppliers', x.suppliers);
          if (x.items) checkItems('items', x.items);
          notCancelled(x.status);
          checkDocuments('documents', x.documents);
        };
        break;
      case 5: // cancel_award
        x = { ocid: str(), award_id: str(), reason: str(), date: dateOf(r) };
        subject = x.ocid + '/' + x.award_id;
        check = function () {
          checkId('ocid', x.ocid, I);
          checkId('award_id', x.award_id, I);
          checkNonempty('reason', x.reason, T);
          checkDate('date', x.date);
        };
        break;
      case 6: // grant_data_access
        x = {
          grant_id: str(), dataset_id: str(), grantor: str(), grantee: str(),
          actions: r.vec(function (r) { return r.tag(ACTION_COUNT, 'action'); }), purpose: str(),
          condition: r.tag(2, 'sharing condition'), valid_from: dateOf(r), valid_until: dateOf(r),
          constraints: restricted(r, function (r) {
            return r.vec(function (r) { return { left_operand: r.str(), operator: r.tag(8, 'operator'), right_operand: r.str() }; });
          })
        };
        subject = x.grant_id;
        check = function () {
          checkId('grant_id', x.grant_id, I);
          checkId('dataset_id', x.dataset_id, I);
          checkId('grantor', x.grantor, I);
          checkId('grantee', x.grantee, I);
          if (x.grantor === x.grantee) invalid('grantee', 'an agency other than the grantor', x.grantee);
          if (x.actions.length === 0) invalid('actions', 'at least one action', 'none');
          checkList('actions', x.actions, LIMITS.ACTIONS_MAX);
          checkSorted('actions', x.actions, cmpNum);
          checkNonempty('purpose', x.purpose, T);
          checkDate('valid_from', x.valid_from);
          checkDate('valid_until', x.valid_until);
          if (cmpDate(x.valid_until, x.valid_from) < 0) invalid('valid_until', 'on or after valid_from', 'an earlier date');
          if (x.constraints.open !== undefined) {
            var cs = x.constraints.open;
            checkList('constraints', cs, LIMITS.CONSTRAINTS_MAX);
            cs.forEach(function (c, i) {
              checkId('constraints[' + i + '].left_operand', c.left_operand, I);
              checkNonempty('constraints[' + i + '].right_operand', c.right_operand, N);
            });
          }
        };
        break;
      case 7: // revoke_grant
        x = { grant_id: str(), reason: str() };
        subject = x.grant_id;
        check = function () {
          checkId('grant_id', x.grant_id, I);
          checkNonempty('reason', x.reason, T);
        };
        break;
      case 8: { // anchor_document
        var doc = documentRef(r);
        var st = r.tag(5, 'record reference');
        var sup = { t: st };
        if (st === 1) sup.a = r.str();
        else if (st === 2) { sup.a = r.str(); sup.b = r.str(); }
        else if (st === 3) sup.a = r.str();
        else if (st === 4) sup.tx = digestOf(r);
        x = { document: doc, supports: sup };
        subject = toHex(doc.hash);
        check = function () {
          checkDocuments('document', [doc]);
          if (st === 1) checkId('supports.asset', sup.a, I);
          else if (st === 2) { checkId('supports.ocid', sup.a, I); checkId('supports.award_id', sup.b, I); }
          else if (st === 3) checkId('supports.grant', sup.a, I);
        };
        break;
      }
      case 9: // register_member
        x = { agency: str(), key: keyOf(r), name: str(), roles: r.vec(function (r) { return r.tag(ROLE_COUNT, 'role'); }) };
        subject = toHex(x.key);
        check = function () {
          checkId('agency', x.agency, I);
          checkNonempty('name', x.name, N);
          if (x.roles.length === 0) invalid('roles', 'at least one role', 'none');
          checkList('roles', x.roles, LIMITS.ROLES_MAX);
          checkSorted('roles', x.roles, cmpNum);
        };
        break;
      case 10: // revoke_member
        x = { agency: str(), key: keyOf(r), reason: str() };
        subject = toHex(x.key);
        check = function () {
          checkId('agency', x.agency, I);
          checkNonempty('reason', x.reason, T);
        };
        break;
      case 11: // propose_change
        x = { proposal_id: str(), changes: r.vec(change), deadline: r.u64(), reason: digestOf(r) };
        subject = x.proposal_id;
        check = function () {
          checkId('proposal_id', x.proposal_id, I);
          if (x.deadline === 0n) invalid('deadline', 'a block time after 0', '0');
          if (x.changes.length === 0) invalid('changes', 'at least one change', 'none');
          checkList('changes', x.changes, LIMITS.CHANGES_MAX);
          var params = 0;
          x.changes.forEach(function (c) {
            checkChange(c);
            if (c.t === 6) {
              params += 1;
              if (params > 1) invalid('changes', 'at most one set_params change per proposal', 'a second one');
            }
          });
        };
        break;
      case 12: // vote
        x = { proposal_id: str(), approve: r.bool() };
        subject = x.proposal_id;
        check = function () { checkId('proposal_id', x.proposal_id, I); };
        break;
      case 13: // publish_tender
        x = {
          ocid: str(), title: str(), description: str(), purchaser: str(), method: r.tag(4, 'procurement method'),
          method_details: str(), budget: amountOf(r), items: r.vec(item), publish_date: dateOf(r),
          submission_deadline: dateOf(r), documents: r.vec(documentRef)
        };
        subject = x.ocid;
        check = function () {
          checkId('ocid', x.ocid, I);
          checkNonempty('title', x.title, N);
          checkText('description', x.description, T);
          checkId('purchaser', x.purchaser, I);
          checkText('method_details', x.method_details, N);
          checkAmount('budget', x.budget);
          checkItems('items', x.items);
          checkDate('publish_date', x.publish_date);
          checkDate('submission_deadline', x.submission_deadline);
          if (cmpDate(x.submission_deadline, x.publish_date) < 0) invalid('submission_deadline', 'on or after publish_date', 'an earlier date');
          checkDocuments('documents', x.documents);
        };
        break;
      case 14: // close_tender
        x = { ocid: str(), date: dateOf(r), bids_received: r.u32(), bidders: restricted(r, function (r) { return r.vec(supplier); }) };
        subject = x.ocid;
        check = function () {
          checkId('ocid', x.ocid, I);
          checkDate('date', x.date);
          if (x.bidders.open !== undefined) {
            checkSuppliers('bidders', x.bidders.open);
            if (x.bidders.open.length > x.bids_received) invalid('bidders', 'at most bids_received bidders', String(x.bidders.open.length));
          }
        };
        break;
      case 15: // sign_contract
        x = {
          ocid: str(), contract_id: str(), award_id: str(), title: str(), value: amountOf(r), signed_date: dateOf(r),
          period_start: dateOf(r), period_end: dateOf(r), documents: r.vec(documentRef)
        };
        subject = x.ocid + '/' + x.contract_id;
        check = function () {
          checkId('ocid', x.ocid, I);
          checkId('contract_id', x.contract_id, I);
          checkId('award_id', x.award_id, I);
          checkNonempty('title', x.title, N);
          checkAmount('value', x.value);
          checkDate('signed_date', x.signed_date);
          checkDate('period_start', x.period_start);
          checkDate('period_end', x.period_end);
          if (cmpDate(x.period_start, x.signed_date) < 0) invalid('period_start', 'on or after signed_date', 'an earlier date');
          if (cmpDate(x.period_end, x.period_start) < 0) invalid('period_end', 'on or after period_start', 'an earlier date');
          checkDocuments('documents', x.documents);
        };
        break;
      case 16: // amend_contract
        x = {
          ocid: str(), contract_id: str(), rationale: str(), date: dateOf(r), value: r.option(amountOf),
          period_end: r.option(dateOf), documents: r.vec(documentRef)
        };
        subject = x.ocid + '/' + x.contract_id;
        check = function () {
          checkId('ocid', x.ocid, I);
          checkId('contract_id', x.contract_id, I);
          checkNonempty('rationale', x.rationale, T);
          checkDate('date', x.date);
          if (x.value) checkAmount('value', x.value);
          if (x.period_end) checkDate('period_end', x.period_end);
          if (!x.value && !x.period_end) invalid('value', 'a new value, a new period_end, or both', 'neither');
          checkDocuments('documents', x.documents);
        };
        break;
      case 17: // record_implementation
        x = {
          ocid: str(), contract_id: str(), kind: r.tag(3, 'implementation kind'), title: str(), date: dateOf(r),
          value: r.option(amountOf), documents: r.vec(documentRef)
        };
        subject = x.ocid + '/' + x.contract_id;
        check = function () {
          checkId('ocid', x.ocid, I);
          checkId('contract_id', x.contract_id, I);
          checkNonempty('title', x.title, N);
          checkDate('date', x.date);
          if (!x.value && x.kind !== 0) invalid('value', 'the amount paid (a payment needs a value)', 'none');
          if (x.value) checkAmount('value', x.value);
          checkDocuments('documents', x.documents);
        };
        break;
      default: // 18, terminate_contract
        x = { ocid: str(), contract_id: str(), date: dateOf(r), reason: str() };
        subject = x.ocid + '/' + x.contract_id;
        check = function () {
          checkId('ocid', x.ocid, I);
          checkId('contract_id', x.contract_id, I);
          checkDate('date', x.date);
          checkNonempty('reason', x.reason, T);
        };
    }
    return { kind: RECORD_KINDS[k], subject: subject, fields: x, check: check };
  }

  // ReasonCode (block.rs) in encoding order, spelled as ReasonCode::as_str.
  var REASON_CODES = [
    'wrong_chain', 'bad_signature', 'malformed', 'unknown_signer', 'signer_revoked', 'missing_role',
    'bad_sequence', 'wrong_agency', 'unknown_agency', 'asset_exists', 'asset_unknown', 'asset_disposed',
    'not_custodian', 'award_exists', 'award_unknown', 'award_cancelled', 'not_purchaser', 'grant_exists',
    'grant_unknown', 'grant_revoked', 'not_grantor', 'dataset_not_owned', 'member_exists', 'member_unknown',
    'not_admin', 'duplicate_tx', 'proposal_exists', 'proposal_unknown', 'proposal_closed', 'proposal_expired',
    'agency_exists', 'agency_has_validator', 'validator_exists', 'validator_unknown', 'key_reused',
    'validator_set_too_small', 'limit_exceeded', 'tender_exists', 'tender_unknown', 'tender_closed',
    'tender_open', 'dates_out_of_order', 'award_not_active', 'contract_exists', 'contract_unknown',
    'contract_closed', 'currency_mismatch', 'payment_exceeds_contract'
  ];

  /**
   * block.rs `LogEntry`: height, time, transaction (tx.rs: body {chain id, signer, seq,
   * record}, signature), outcome. Validation: the record's (`Transaction::validate`).
   * The transaction's bytes are kept: its hash is over them.
   */
  function decodeLogEntry(bytes) {
    var e = decodeCanonical('log entry', LIMITS.LOG_ENTRY_ENCODING_BYTES_MAX, bytes, function (r) {
      var height = r.u64(), time = r.u64();
      var txStart = r.pos;
      var chainId = digestOf(r), signer = keyOf(r), seq = r.u64();
      var rec = record(r);
      var bodyEnd = r.pos;
      var signature = r.bytes(64);
      var txEnd = r.pos;
      var outcome = r.tag(2, 'outcome');
      var reason = outcome === 1 ? r.tag(REASON_CODES.length, 'reason code') : null;
      return {
        height: height, time: time, chainId: chainId, signer: signer, seq: seq, record: rec, signature: signature,
        txBytes: concat([Uint8Array.of(CODEC_VERSION), bytes.subarray(txStart, txEnd)]),
        // The canonical bytes of the body alone: what the member signed (tx.rs `sign`).
        bodyBytes: concat([Uint8Array.of(CODEC_VERSION), bytes.subarray(txStart, bodyEnd)]),
        outcome: outcome === 0 ? 'applied' : 'rejected', reason: reason === null ? null : REASON_CODES[reason]
      };
    });
    try {
      e.record.check();
    } catch (err) {
      if (err instanceof Fail) fail('invalid log entry: ' + err.message + ' (in tx.record.' + e.record.kind + ')');
      throw err;
    }
    return e;
  }

  // ------------------------------------------------------------------ headers, certificates, sets

  function header(r) {
    return {
      chain_id: digestOf(r), epoch: r.u64(), height: r.u64(), view: r.u64(), parent: digestOf(r), proposer: r.u16(),
      time: r.u64(), txs_hash: digestOf(r), tx_count: r.u32(), log_size: r.u64(), log_root: digestOf(r),
      state_root: digestOf(r), validator_set: digestOf(r), next_validator_set: digestOf(r)
    };
  }
  var VOTE_KINDS = ['notarize', 'nullify', 'finalize'];
  function certificate(r) {
    return {
      kind: r.tag(3, 'vote kind'), epoch: r.u64(), view: r.u64(), block: digestOf(r),
      signatures: r.vec(function (r) { return { index: r.u16(), signature: r.bytes(64) }; })
    };
  }
  function validatorSet(r) {
    return {
      epoch: r.u64(), start_height: r.u64(),
      validators: r.vec(function (r) { return { name: r.str(), agency: r.str(), consensus_key: keyOf(r), network_key: r.bytes(32), power: r.u64() }; })
    };
  }

  /** Writer for the canonical encodings the verifier hashes. */
  function Writer() { this.parts = [Uint8Array.of(CODEC_VERSION)]; }
  Writer.prototype.raw = function (b) { this.parts.push(b); return this; };
  Writer.prototype.u8 = function (v) { return this.raw(Uint8Array.of(v)); };
  Writer.prototype.u16 = function (v) { return this.raw(Uint8Array.of(v & 255, v >> 8)); };
  Writer.prototype.u32 = function (v) { return this.raw(Uint8Array.of(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255)); };
  Writer.prototype.u64 = function (v) {
    var b = new Uint8Array(8), x = BigInt(v);
    for (var i = 0; i < 8; i++) { b[i] = Number(x & 255n); x >>= 8n; }
    return this.raw(b);
  };
  Writer.prototype.str = function (s) { var b = utf8(s); this.u64(b.length); return this.raw(b); };
  Writer.prototype.done = function () { return concat(this.parts); };

  function encodeHeader(h) {
    return new Writer().raw(h.chain_id).u64(h.epoch).u64(h.height).u64(h.view).raw(h.parent).u16(h.proposer)
      .u64(h.time).raw(h.txs_hash).u32(h.tx_count).u64(h.log_size).raw(h.log_root).raw(h.state_root)
      .raw(h.validator_set).raw(h.next_validator_set).done();
  }
  function writeValidatorSet(w, s) {
    w.u64(s.epoch).u64(s.start_height).u64(s.validators.length);
    s.validators.forEach(function (v) { w.str(v.name).str(v.agency).raw(v.consensus_key).raw(v.network_key).u64(v.power); });
    return w;
  }
  function headerHash(h) { return tagHash(TAG.BLOCK_HASH, encodeHeader(h)); }
  function setHash(s) { return tagHash(TAG.VALIDATOR_SET_HASH, writeValidatorSet(new Writer(), s).done()); }

  var ZERO32 = new Uint8Array(32);
  function checkHeader(h) { if (h.height === 0n) invalid('header.height', 'at least 1', '0'); }
  /** cert.rs `Certificate::validate`. */
  function checkCertificate(c) {
    checkList('certificate.signatures', c.signatures, LIMITS.VALIDATORS_MAX);
    checkSorted('certificate.signatures.index', c.signatures.map(function (s) { return s.index; }), cmpNum);
    if ((c.kind === 1) !== bytesEqual(c.block, ZERO32)) invalid('certificate.block', 'the zero digest exactly for nullify certificates', toHex(c.block));
  }
  /** validator.rs `ValidatorSet::validate` (ed25519-blake3 keys). */
  function checkValidatorSet(s) {
    if (s.validators.length === 0) invalid('validators', 'at least one validator', 'none');
    checkList('validators', s.validators, LIMITS.VALIDATORS_MAX);
    var total = 0n;
    s.validators.forEach(function (v, i) {
      var f = 'validators[' + i + ']';
      checkNonempty(f + '.name', v.name, LIMITS.NAME_BYTES_MAX);
      checkId(f + '.agency', v.agency, LIMITS.ID_BYTES_MAX);
      if (v.power === 0n) invalid(f + '.power', 'at least 1', '0');
      total += v.power;
      if (total > U64_MAX) invalid(f + '.power', 'total power below 2^64', 'overflow');
      for (var j = 0; j < i; j++) {
        var w = s.validators[j];
        if (bytesEqual(w.consensus_key, v.consensus_key) || bytesEqual(w.network_key, v.network_key)) invalid(f, 'keys unique across validators', 'same key as validators[' + j + ']');
        if (w.name === v.name) invalid(f + '.name', 'names unique across validators', 'same name as validators[' + j + ']');
      }
    });
  }

  function decodeCheckpoint(bytes) {
    var cp = decodeCanonical('checkpoint', LIMITS.CHECKPOINT_ENCODING_BYTES_MAX, bytes, function (r) {
      return { header: header(r), certificate: certificate(r) };
    });
    try {
      checkHeader(cp.header);
      checkCertificate(cp.certificate);
    } catch (err) {
      if (err instanceof Fail) fail('invalid checkpoint: ' + err.message);
      throw err;
    }
    return cp;
  }

  function decodeEpochLink(bytes) {
    var l = decodeCanonical('epoch link', LIMITS.EPOCH_LINK_ENCODING_BYTES_MAX, bytes, function (r) {
      return { header: header(r), certificate: certificate(r), next: validatorSet(r), suffix: r.vec(header) };
    });
    try {
      checkHeader(l.header);
      checkCertificate(l.certificate);
      checkList('suffix', l.suffix, LIMITS.EPOCH_SUFFIX_MAX);
      l.suffix.forEach(checkHeader);
      checkValidatorSet(l.next);
    } catch (err) {
      if (err instanceof Fail) fail('invalid epoch link: ' + err.message);
      throw err;
    }
    return l;
  }

  // ------------------------------------------------------------------ Ed25519 (crypto.rs)
  //
  // The kernel's rule: ZIP-215 as ed25519-zebra implements it, plus its key rule.
  // - A (the key) decodes as a point with ZIP-215 decoding (a non-canonical y is
  //   accepted) and is not of small order (curve25519-dalek's `is_weak`);
  // - R decodes the same way; S is canonical (S < L);
  // - [8](S·B − R − k·A) is the identity, with k = SHA-512(R || A || M) mod L over R's and
  //   A's bytes AS GIVEN.
  // noble's own ed25519.verify is not used: it hashes R and A re-encoded, which differs
  // from the bytes given when they are non-canonical, so its verdicts would differ.

  var L = (1n << 252n) + 27742317777372353535851937790883648493n;
  function leToBig(b) {
    var v = 0n;
    for (var i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    return v;
  }
  var pointCache = {};
  /** A key's point, or null if it is not a valid key under the kernel's rule. */
  function keyPoint(keyBytes) {
    var h = toHex(keyBytes);
    if (Object.prototype.hasOwnProperty.call(pointCache, h)) return pointCache[h];
    var P = null;
    try {
      P = noble.ed25519.Point.fromBytes(keyBytes, true);
      if (P.isSmallOrder()) P = null;
    } catch (e) { P = null; }
    if (Object.keys(pointCache).length >= 4096) pointCache = {};
    pointCache[h] = P;
    return P;
  }
  // Verdicts already reached, by (key, signature, message): a page that checks several
  // receipts of one chain, or the tests that check thousands of tamperings of one receipt,
  // verify each signature once. A verdict depends on nothing else, so this changes none.
  var verdicts = new Map();
  var VERDICTS_MAX = 4096;
  function ed25519Verify(keyBytes, message, sig) {
    // Keyed by a hash of the message: a transaction's message can be 64 KiB.
    var memo = toHex(keyBytes) + toHex(sig) + toHex(noble.blake3(message));
    var known = verdicts.get(memo);
    if (known !== undefined) return known;
    var ok = ed25519VerifyUncached(keyBytes, message, sig);
    if (verdicts.size >= VERDICTS_MAX) verdicts.clear();
    verdicts.set(memo, ok);
    return ok;
  }
  function ed25519VerifyUncached(keyBytes, message, sig) {
    var A = keyPoint(keyBytes);
    if (A === null) return false;
    if (!(sig instanceof Uint8Array) || sig.length !== 64) return false;
    var Rb = sig.subarray(0, 32), S = leToBig(sig.subarray(32, 64));
    if (S >= L) return false;
    var R;
    try { R = noble.ed25519.Point.fromBytes(Rb, true); } catch (e) { return false; }
    var k = leToBig(noble.sha512(concat([Rb, keyBytes, message]))) % L;
    var Point = noble.ed25519.Point;
    var check = Point.BASE.multiplyUnsafe(S).subtract(R).subtract(A.multiplyUnsafe(k));
    return check.clearCofactor().is0();
  }

  // ------------------------------------------------------------------ checkpoint verification

  /** `Tag::signing_bytes`: the tag, a zero byte, the body (domain.rs). */
  function signingBytes(tag, body) { return concat([utf8(tag), Uint8Array.of(0), body]); }
  /** What each validator's vote signs: the vote body (cert.rs VoteBody: chain id, epoch, view, kind, block) under the vote tag. */
  function voteSigningBytes(chainId, c) {
    return signingBytes(TAG.VOTE_SIGN, new Writer().raw(chainId).u64(c.epoch).u64(c.view).u32(c.kind).raw(c.block).done());
  }

  /** checkpoint.rs `Checkpoint::verify_with` with cert.rs `Certificate::verify`. */
  function verifyCheckpointWith(cp, chainId, set) {
    var h = cp.header, c = cp.certificate;
    if (!bytesEqual(h.chain_id, chainId)) fail('checkpoint is for chain ' + toHex(h.chain_id) + ', expected chain ' + toHex(chainId));
    if (h.epoch !== set.epoch) fail('checkpoint is for epoch ' + h.epoch + ', the validator set given is of epoch ' + set.epoch);
    var sh = setHash(set);
    if (!bytesEqual(h.validator_set, sh)) fail('checkpoint header names validator set ' + toHex(h.validator_set) + ', expected ' + toHex(sh));
    var block = headerHash(h);
    if (!bytesEqual(c.block, block)) fail('certificate block is ' + toHex(c.block) + ', the header needs ' + toHex(block));
    if (c.epoch !== h.epoch) fail('certificate epoch is ' + c.epoch + ', the header needs ' + h.epoch);
    if (c.view !== h.view) fail('certificate view is ' + c.view + ', the header needs ' + h.view);
    if (c.kind !== 2) fail('expected a finalize certificate, found ' + VOTE_KINDS[c.kind]);
    checkCertificate(c);
    if (c.epoch !== set.epoch) fail('certificate is for epoch ' + c.epoch + ', validator set is for epoch ' + set.epoch);
    var power = 0n, total = 0n;
    c.signatures.forEach(function (s) {
      var v = set.validators[s.index];
      if (!v) fail('signer index ' + s.index + ' is not in the validator set of ' + set.validators.length + ' validators');
      power += v.power;
    });
    if (power > U64_MAX) power = U64_MAX; // saturating, as the kernel adds
    set.validators.forEach(function (v) { total += v.power; });
    var quorum = (total * 2n) / 3n + 1n;
    if (power < quorum) fail('quorum not reached: ' + power + ' of ' + quorum + ' voting power required');
    // The vote body (cert.rs VoteBody): chain id, epoch, view, kind, block.
    var msg = voteSigningBytes(chainId, c);
    for (var i = 0; i < c.signatures.length; i++) {
      var s = c.signatures[i], v = set.validators[s.index];
      if (!ed25519Verify(v.consensus_key, msg, s.signature)) fail('signature of validator ' + s.index + ' (' + v.name + ') is invalid');
    }
    return { header: h, power: power, quorum: quorum, signers: c.signatures.length };
  }

  /** epoch.rs `check_suffix`: returns nothing, fails naming the field. */
  function checkSuffix(boundary, suffix) {
    if (suffix.length > LIMITS.EPOCH_SUFFIX_MAX) fail(suffix.length + ' suffix headers, at most ' + LIMITS.EPOCH_SUFFIX_MAX);
    var isBoundary = !bytesEqual(boundary.next_validator_set, ZERO32);
    if (!isBoundary && suffix.length > 0) fail('header at height ' + boundary.height + ' commits no next validator set: it has no suffix');
    var emptyTxs = tagHash(TAG.BLOCK_TXS_HASH, new Uint8Array(0));
    var prev = boundary, link = headerHash(boundary);
    suffix.forEach(function (s, index) {
      function bad(field) { fail('suffix header ' + index + ': `' + field + '` does not continue the boundary'); }
      if (!bytesEqual(s.chain_id, boundary.chain_id)) bad('chain_id');
      if (s.epoch !== boundary.epoch) bad('epoch');
      if (s.height !== prev.height + 1n) bad('height'); // Height::next saturates; u64::MAX + 1 cannot match a u64 anyway
      if (!bytesEqual(s.parent, link)) bad('parent');
      if (s.view <= prev.view) bad('view');
      if (s.time <= prev.time) bad('time');
      if (s.tx_count !== 0) bad('tx_count');
      if (!bytesEqual(s.txs_hash, emptyTxs)) bad('txs_hash');
      if (s.log_size !== boundary.log_size) bad('log_size');
      if (!bytesEqual(s.log_root, boundary.log_root)) bad('log_root');
      if (!bytesEqual(s.state_root, boundary.state_root)) bad('state_root');
      if (!bytesEqual(s.validator_set, boundary.validator_set)) bad('validator_set');
      if (!bytesEqual(s.next_validator_set, ZERO32)) bad('next_validator_set');
      link = headerHash(s);
      prev = s;
    });
  }

  function next(v) { return v === U64_MAX ? v : v + 1n; } // Height::next / Epoch::next saturate

  /** epoch.rs `verify_link`: the next set, proven from `set`. */
  function verifyLink(chainId, set, index, link) {
    var h = link.header;
    function at(msg) { fail('epoch link ' + index + ': ' + msg); }
    if (!bytesEqual(h.chain_id, chainId)) at('header is for chain ' + toHex(h.chain_id) + ', expected chain ' + toHex(chainId));
    if (h.epoch !== set.epoch) at('header is of epoch ' + h.epoch + ', the chain has reached epoch ' + set.epoch);
    if (h.height < set.start_height) at('header height ' + h.height + ' is before epoch ' + set.epoch + ' starts at ' + set.start_height);
    if (bytesEqual(h.next_validator_set, ZERO32)) at('header at height ' + h.height + ' commits no next validator set');
    try {
      checkSuffix(h, link.suffix);
      verifyCheckpointWith({ header: link.suffix.length ? link.suffix[link.suffix.length - 1] : h, certificate: link.certificate }, chainId, set);
      checkValidatorSet(link.next);
    } catch (err) {
      if (err instanceof Fail) at(err.message);
      throw err;
    }
    var found = setHash(link.next);
    if (!bytesEqual(found, h.next_validator_set)) at('header commits next validator set ' + toHex(h.next_validator_set) + ', link carries ' + toHex(found));
    if (link.next.epoch !== next(set.epoch)) at('next set is for epoch ' + link.next.epoch + ', expected ' + next(set.epoch));
    if (link.next.start_height !== next(h.height)) at('next set starts at height ' + link.next.start_height + ', expected ' + next(h.height));
    return link.next;
  }

  // ------------------------------------------------------------------ Merkle inclusion (merkle.rs)

  function bitLength(v) { var n = 0; while (v > 0n) { v >>= 1n; n++; } return n; }
  function popcount(v) { var n = 0; while (v > 0n) { n += Number(v & 1n); v >>= 1n; } return n; }

  /** merkle.rs `verify_inclusion` in the ed25519-blake3 suite; the messages are the kernel's (ProofError). */
  function verifyInclusion(index, size, leaf, proof, root) {
    if (size > TREE_SIZE_MAX) fail('tree size ' + size + ' exceeds the limit of ' + TREE_SIZE_MAX);
    if (proof.length > LIMITS.PROOF_HASHES_MAX) fail('proof has ' + proof.length + ' hashes, more than the limit of ' + LIMITS.PROOF_HASHES_MAX);
    if (index >= size) fail('leaf index ' + index + ' is out of range: a tree of size ' + size + ' has indices 0..' + size);
    var inner = bitLength(index ^ (size - 1n));
    var border = popcount(index >> BigInt(inner));
    if (proof.length !== inner + border) fail('proof has ' + proof.length + ' hashes, but a inclusion (index ' + index + ', size ' + size + ') proof needs exactly ' + (inner + border));
    var seed = leaf;
    for (var i = 0; i < inner; i++) {
      seed = ((index >> BigInt(i)) & 1n) === 0n ? nodeHash(seed, proof[i]) : nodeHash(proof[i], seed);
    }
    for (var j = inner; j < proof.length; j++) seed = nodeHash(proof[j], seed);
    if (!bytesEqual(seed, root)) fail('root: root computed from the proof is ' + toHex(seed) + ', expected ' + toHex(root));
  }

  // ------------------------------------------------------------------ the genesis file
  //
  // The genesis file is JSON, read in Rust with serde_json into `Genesis`
  // (client/core/src/genesis.rs and the structs it uses), then encoded and decoded again,
  // which runs `Genesis::validate` (client/cli/src/verify.rs `load_genesis`). This parser
  // follows serde's rules for those structs: unknown fields are ignored (none of them
  // denies unknown fields), a field given twice is an error, missing fields are errors
  // unless serde has a default for them, integers must be JSON integers in range (no
  // fraction, no exponent, no minus sign, not "-0"), and lone surrogate escapes in strings
  // are errors. As serde, a struct may also be written as a JSON array of its fields in
  // order, and a unit enum variant (a role, the suite) as {"name": null}.

  /** A strict JSON parser that keeps integers exact and objects as lists of entries. */
  var NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  function parseJson(text) {
    var i = 0, n = text.length;
    function err(m) { fail('genesis JSON: ' + m + ' at character ' + i); }
    function ws() { while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++; }
    function value(depth) {
      if (depth > 128) err('nesting too deep');
      ws();
      if (i >= n) err('unexpected end');
      var c = text[i];
      if (c === '{') {
        i++;
        var entries = [];
        ws();
        if (text[i] === '}') { i++; return { t: 'object', entries: entries }; }
        for (;;) {
          ws();
          if (text[i] !== '"') err('expected a string key');
          var key = string();
          // serde_json refuses a lone surrogate escape in a key (a field name).
          if (key.lone) err('lone surrogate in hex escape');
          var k = key.v;
          ws();
          if (text[i] !== ':') err("expected ':'");
          i++;
          entries.push([k, value(depth + 1)]);
          ws();
          if (text[i] === ',') { i++; continue; }
          if (text[i] === '}') { i++; return { t: 'object', entries: entries }; }
          err("expected ',' or '}'");
        }
      }
      if (c === '[') {
        i++;
        var items = [];
        ws();
        if (text[i] === ']') { i++; return { t: 'array', items: items }; }
        for (;;) {
          items.push(value(depth + 1));
          ws();
          if (text[i] === ',') { i++; continue; }
          if (text[i] === ']') { i++; return { t: 'array', items: items }; }
          err("expected ',' or ']'");
        }
      }
      if (c === '"') { var sv = string(); return { t: 'string', v: sv.v, lone: sv.lone }; }
      if (text.startsWith('true', i)) { i += 4; return { t: 'bool', v: true }; }
      if (text.startsWith('false', i)) { i += 5; return { t: 'bool', v: false }; }
      if (text.startsWith('null', i)) { i += 4; return { t: 'null' }; }
      NUMBER.lastIndex = i;
      var m = NUMBER.exec(text);
      if (!m) err('expected a value');
      i += m[0].length;
      return { t: 'number', raw: m[0], integer: !m[2] && !m[3] && m[0][0] !== '-' };
    }
    // A string, and whether it has a lone surrogate escape (\ud800 without its pair):
    // serde_json refuses one in a string it reads, but not in the value of a field it
    // ignores, so the refusal is left to the field's reader (jstr).
    function string() {
      i++; // opening quote
      var out = '', lone = false;
      for (;;) {
        if (i >= n) err('unterminated string');
        var c = text.charCodeAt(i);
        if (c === 34) { i++; return { v: out, lone: lone }; }
        if (c < 0x20) err('control character in a string');
        if (c === 92) {
          var e = text[i + 1];
          i += 2;
          var simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
          if (Object.prototype.hasOwnProperty.call(simple, e)) { out += simple[e]; continue; }
          if (e !== 'u') err('invalid escape');
          var cu = hex4();
          if (cu >= 0xd800 && cu <= 0xdbff && text[i] === '\\' && text[i + 1] === 'u' &&
              /^[dD][c-fC-F][0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 6))) {
            i += 2;
            out += String.fromCharCode(cu, hex4());
          } else if (cu >= 0xd800 && cu <= 0xdfff) {
            lone = true;
            out += '\ufffd';
          } else {
            out += String.fromCharCode(cu);
          }
          continue;
        }
        // A raw lone surrogate cannot come from UTF-8 text; refuse it as serde_json would
        // refuse the invalid UTF-8 it stands for.
        if (c >= 0xd800 && c <= 0xdbff) {
          var d = text.charCodeAt(i + 1);
          if (!(d >= 0xdc00 && d <= 0xdfff)) err('invalid unicode');
          out += text[i] + text[i + 1];
          i += 2;
          continue;
        }
        if (c >= 0xdc00 && c <= 0xdfff) err('invalid unicode');
        out += text[i];
        i++;
      }
    }
    function hex4() {
      var h = text.slice(i, i + 4);
      if (!/^[0-9a-fA-F]{4}$/.test(h)) err('invalid \\u escape');
      i += 4;
      return parseInt(h, 16);
    }
    var v = value(0);
    ws();
    if (i !== n) err('trailing characters');
    return v;
  }

  // Field readers, serde-style. `path` names the field in errors, after `jwhat` (what is
  // being read: the genesis, or a state proof).
  var jwhat = 'genesis';
  function jstruct(v, path, fields) {
    // fields: [[name, reader, defaultValue?, aliases?]]; defaultValue undefined: required.
    var out = {}, seen = {};
    if (v.t === 'array') {
      // serde also reads a struct from a JSON array of its fields in order: a missing
      // trailing field takes its default (or is an error), an extra element is an error.
      if (v.items.length > fields.length) fail(jwhat + ' ' + path + ': ' + v.items.length + ' elements, at most ' + fields.length);
      fields.forEach(function (f, k) {
        if (k < v.items.length) out[f[0]] = f[1](v.items[k], path + '.' + f[0]);
        else if (f[2] === undefined) fail(jwhat + ' ' + path + ': ' + v.items.length + ' elements, field `' + f[0] + '` missing');
        else out[f[0]] = typeof f[2] === 'function' ? f[2]() : f[2];
      });
      return out;
    }
    if (v.t !== 'object') fail(jwhat + ' ' + path + ': expected an object');
    v.entries.forEach(function (e) {
      for (var f = 0; f < fields.length; f++) {
        var names = [fields[f][0]].concat(fields[f][3] || []);
        if (names.indexOf(e[0]) >= 0) {
          var name = fields[f][0];
          if (seen[name]) fail(jwhat + ' ' + path + ': duplicate field `' + name + '`');
          seen[name] = true;
          out[name] = fields[f][1](e[1], path + '.' + name);
          return;
        }
      }
      // Unknown fields are ignored, as serde does for these structs.
    });
    fields.forEach(function (f) {
      if (!seen[f[0]]) {
        if (f[2] === undefined) fail(jwhat + ' ' + path + ': missing field `' + f[0] + '`');
        out[f[0]] = typeof f[2] === 'function' ? f[2]() : f[2];
      }
    });
    return out;
  }
  function jint(bits) {
    return function (v, path) {
      if (v.t !== 'number' || !v.integer) fail(jwhat + ' ' + path + ': expected an unsigned integer of ' + bits + ' bits');
      var x = BigInt(v.raw);
      if (x >= (1n << BigInt(bits))) fail(jwhat + ' ' + path + ': ' + v.raw + ' does not fit in ' + bits + ' bits');
      return bits <= 32 ? Number(x) : x;
    };
  }
  var ju64 = jint(64), ju32 = jint(32);
  function jstr(v, path) {
    if (v.t !== 'string') fail(jwhat + ' ' + path + ': expected a string');
    if (v.lone) fail(jwhat + ' ' + path + ': lone surrogate in hex escape');
    return v.v;
  }
  function jvec(reader) {
    return function (v, path) {
      if (v.t !== 'array') fail(jwhat + ' ' + path + ': expected an array');
      return v.items.map(function (x, i) { return reader(x, path + '[' + i + ']'); });
    };
  }
  /** ids.rs PublicKey: 64 lower-case hex digits (130 would be an sm2-sm3 key). */
  function jkey(v, path) {
    var s = jstr(v, path);
    if (/^[0-9a-f]{130}$/.test(s)) fail(jwhat + ' ' + path + ': an sm2-sm3 key in an ed25519-blake3 genesis');
    if (!/^[0-9a-f]{64}$/.test(s)) fail(jwhat + ' ' + path + ': expected 64 lower-case hex digits (an ed25519-blake3 key)');
    return hexLower(path, s);
  }
  function jnetkey(v, path) {
    var s = jstr(v, path);
    if (!/^[0-9a-f]{64}$/.test(s)) fail(jwhat + ' ' + path + ': expected 64 lower-case hex digits (a network key)');
    return hexLower(path, s);
  }
  /** A unit enum variant: "name", or (as serde_json also reads it) {"name": null}. */
  function junit(v, path) {
    if (v.t === 'object' && v.entries.length === 1 && v.entries[0][1].t === 'null') return v.entries[0][0];
    return jstr(v, path);
  }
  var ROLES = ['admin', 'asset_officer', 'procurement_officer', 'data_steward', 'archivist'];
  function jrole(v, path) {
    var s = junit(v, path), k = ROLES.indexOf(s);
    if (k < 0) fail(jwhat + ' ' + path + ': unknown role ' + JSON.stringify(s));
    return k;
  }
  function jcurrency(v, path) {
    var s = jstr(v, path);
    if (!/^[A-Z]{3}$/.test(s)) fail(jwhat + ' ' + path + ': expected an ISO 4217 code of three upper-case letters');
    return utf8(s);
  }
  function jamount(v, path) { return jstruct(v, path, [['minor', ju64], ['currency', jcurrency]]); }
  function jsuite(v, path) {
    var s = junit(v, path);
    if (s !== 'ed25519-blake3' && s !== 'sm2-sm3') fail(jwhat + ' ' + path + ': unknown crypto suite ' + JSON.stringify(s));
    return s;
  }

  /** Read the genesis JSON as serde reads `Genesis`. */
  function readGenesis(text) {
    if (typeof text !== 'string') fail('the genesis must be the text of genesis.json');
    var root = parseJson(text);
    // The suite decides how keys read: an sm2-sm3 genesis is not read further here.
    if (root.t === 'object') {
      var suites = root.entries.filter(function (e) { return e[0] === 'crypto'; });
      if (suites.length === 1 && jsuite(suites[0][1], 'genesis.crypto') === 'sm2-sm3') return { crypto: 'sm2-sm3' };
    } else if (root.t === 'array' && root.items.length > 6 && jsuite(root.items[6], 'genesis.crypto') === 'sm2-sm3') {
      return { crypto: 'sm2-sm3' };
    }
    return jstruct(root, 'genesis', [
      ['chain_name', jstr],
      ['genesis_time', ju64],
      ['agencies', jvec(function (v, p) {
        return jstruct(v, p, [['id', jstr], ['name_zh', jstr], ['name_en', jstr], ['admin_keys', jvec(jkey)]]);
      })],
      ['members', jvec(function (v, p) {
        return jstruct(v, p, [['agency', jstr], ['key', jkey], ['name', jstr], ['roles', jvec(jrole)]]);
      })],
      ['validators', function (v, p) {
        return jstruct(v, p, [['epoch', ju64], ['start_height', ju64], ['validators', jvec(function (v, p) {
          return jstruct(v, p, [['name', jstr], ['agency', jstr], ['consensus_key', jkey], ['network_key', jnetkey], ['power', ju64]]);
        })]]);
      }],
      ['params', function (v, p) {
        return jstruct(v, p, [
          ['block_txs_max', ju32], ['block_bytes_max', ju32], ['delta_ms', ju64],
          ['heartbeat_ms', ju64, undefined, ['block_interval_ms']],
          ['governance_threshold', function (v, p) { return jstruct(v, p, [['numerator', ju32], ['denominator', ju32]]); },
            function () { return { numerator: 2, denominator: 3 }; }],
          ['epoch_delay_blocks', ju64, function () { return 2n; }]
        ]);
      }],
      ['crypto', jsuite, 'ed25519-blake3'],
      ['procurement_limits', function (v, p) {
        return jstruct(v, p, [['rules', jvec(function (v, p) {
          return jstruct(v, p, [['name', jstr], ['agencies', jvec(jstr)], ['open_tender_from', jamount], ['record_from', jamount]]);
        })]]);
      }, function () { return { rules: [] }; }]
    ]);
  }

  /** genesis.rs `Encode for Genesis` (ed25519-blake3: no suite marker). */
  function encodeGenesis(g) {
    var w = new Writer();
    w.str(g.chain_name).u64(g.genesis_time);
    w.u64(g.agencies.length);
    g.agencies.forEach(function (a) {
      w.str(a.id).str(a.name_zh).str(a.name_en).u64(a.admin_keys.length);
      a.admin_keys.forEach(function (k) { w.raw(k); });
    });
    w.u64(g.members.length);
    g.members.forEach(function (m) {
      w.str(m.agency).raw(m.key).str(m.name).u64(m.roles.length);
      m.roles.forEach(function (r) { w.u32(r); });
    });
    writeValidatorSet(w, g.validators);
    var p = g.params;
    w.u32(p.block_txs_max).u32(p.block_bytes_max).u64(p.delta_ms).u64(p.heartbeat_ms)
      .u32(p.governance_threshold.numerator).u32(p.governance_threshold.denominator).u64(p.epoch_delay_blocks);
    if (g.procurement_limits.rules.length > 0) {
      w.u8(0x01); // LIMITS_MARKER
      w.u64(g.procurement_limits.rules.length);
      g.procurement_limits.rules.forEach(function (r) {
        w.str(r.name).u64(r.agencies.length);
        r.agencies.forEach(function (a) { w.str(a); });
        w.u64(r.open_tender_from.minor).raw(r.open_tender_from.currency).u64(r.record_from.minor).raw(r.record_from.currency);
      });
    }
    return w.done();
  }

  /** genesis.rs `Genesis::validate` (ed25519-blake3). */
  function checkGenesis(g) {
    var I = LIMITS.ID_BYTES_MAX, N = LIMITS.NAME_BYTES_MAX;
    checkId('chain_name', g.chain_name, I);
    checkList('agencies', g.agencies, LIMITS.AGENCIES_MAX);
    checkList('members', g.members, LIMITS.GENESIS_MEMBERS_MAX);
    g.agencies.forEach(function (a, i) {
      var f = 'agencies[' + i + ']';
      checkId(f + '.id', a.id, I);
      checkNonempty(f + '.name_zh', a.name_zh, N);
      checkNonempty(f + '.name_en', a.name_en, N);
      checkList(f + '.admin_keys', a.admin_keys, LIMITS.ADMIN_KEYS_MAX);
    });
    g.members.forEach(function (m, i) {
      var f = 'members[' + i + ']';
      checkId(f + '.agency', m.agency, I);
      checkNonempty(f + '.name', m.name, N);
      checkList(f + '.roles', m.roles, LIMITS.ROLES_MAX);
      checkSorted(f + '.roles', m.roles, cmpNum);
    });
    checkParamsGovernance(g.params);
    checkLimits(g.procurement_limits);
    g.procurement_limits.rules.forEach(function (r, i) {
      r.agencies.forEach(function (a) {
        if (!g.agencies.some(function (x) { return x.id === a; })) invalid('procurement_limits.rules[' + i + '].agencies', 'agencies of the genesis', a);
      });
    });
    checkValidatorSet(g.validators);
  }

  /**
   * Parse and check a genesis file. Returns {suite, genesis?, chainId?}: for an sm2-sm3
   * genesis only the suite (this verifier has no SM2/SM3). Throws a Fail when the file
   * would not load in `chancery verify`.
   */
  var lastGenesis = { text: null, parsed: null };
  function parseGenesis(text) {
    // The same file again (several receipts of one chain): the same answer. The parsed
    // genesis is never modified, so it can be shared.
    if (typeof text === 'string' && text === lastGenesis.text) return lastGenesis.parsed;
    var parsed = parseGenesisUncached(text);
    lastGenesis = { text: text, parsed: parsed };
    return parsed;
  }
  function parseGenesisUncached(text) {
    var g = readGenesis(text);
    if (g.crypto !== 'ed25519-blake3') return { suite: g.crypto };
    // The kernel encodes, then decodes and validates what it encoded (u32 fields were
    // range-checked while reading; a too-large encoding is refused by the decoder).
    var bytes = encodeGenesis(g);
    if (bytes.length > LIMITS.GENESIS_ENCODING_BYTES_MAX) fail('genesis: input of ' + bytes.length + ' bytes exceeds the limit of ' + LIMITS.GENESIS_ENCODING_BYTES_MAX + ' bytes');
    try { checkGenesis(g); } catch (err) {
      if (err instanceof Fail) fail('invalid genesis: ' + err.message);
      throw err;
    }
    return { suite: g.crypto, genesis: g, bytes: bytes, chainId: tagHash(TAG.GENESIS_HASH, bytes) };
  }

  /** The chain id (hex) of a genesis file's text; throws on an invalid or sm2-sm3 genesis. */
  function chainIdOf(text) {
    var p = parseGenesis(text);
    if (!p.chainId) fail('the genesis is of the ' + p.suite + ' suite: use `chancery verify`');
    return toHex(p.chainId);
  }

  /**
   * epoch.rs `verify_checkpoint_with_links`: the checkpoint `cp` against the genesis `g`
   * (parsed), through the epoch links `links` (decoded) for a checkpoint of epoch > 0.
   * Returns {signers, power, quorum}; throws a Fail.
   */
  function checkpointFromGenesis(g, cp, links) {
    var checked;
    if (links.length === 0) {
      checked = verifyCheckpointWith(cp, g.chainId, g.genesis.validators);
    } else {
      // epoch.rs `verify_checkpoint_with_links`.
      var epoch = cp.header.epoch;
      if (epoch !== BigInt(links.length)) {
        fail(epoch > BigInt(links.length)
          ? 'checkpoint is of epoch ' + epoch + ', the epoch chain proves the sets of epochs 0 to ' + links.length + ' only'
          : links.length + ' epoch links for a checkpoint of epoch ' + epoch + ': exactly ' + epoch + ' are needed');
      }
      var set = g.genesis.validators;
      links.forEach(function (l, i) { set = verifyLink(g.chainId, set, i, l); });
      if (cp.header.height < set.start_height) fail('checkpoint of epoch ' + epoch + ': certificate height is ' + cp.header.height + ', the header needs a height of epoch ' + set.epoch + ' (from ' + set.start_height + ')');
      try { checked = verifyCheckpointWith(cp, g.chainId, set); } catch (err) {
        if (err instanceof Fail) fail('checkpoint of epoch ' + epoch + ': ' + err.message);
        throw err;
      }
    }
    return checked;
  }

  // ------------------------------------------------------------------ state proofs (state.rs)
  //
  // Each type of the state map is described once, as a schema with four operations that
  // follow the Rust derives: `dec` (bincode, as codec.rs decodes), `json` (serde_json, as
  // serde reads the kernel's JSON form), `enc` (the canonical encoding) and `ser` (the JSON
  // serde writes, for the summary). Values are kept in one internal form: u64 as BigInt,
  // byte arrays as Uint8Array, structs as objects, enums as {v: variant index, x: content}.

  function prim(dec, json, enc, ser) { return { dec: dec, json: json, enc: enc, ser: ser }; }
  function encRaw(w, b) { w.raw(b); }
  function identity(x) { return x; }
  function jbool(v, path) {
    if (v.t !== 'bool') fail(jwhat + ' ' + path + ': expected a boolean');
    return v.v;
  }
  function jhex32(what) {
    return function (v, path) {
      var s = jstr(v, path);
      if (!/^[0-9a-f]{64}$/.test(s)) fail(jwhat + ' ' + path + ': expected a ' + what + ' of 64 lower-case hex digits');
      return hexLower(path, s);
    };
  }
  /** ids.rs `Date::from_str`: YYYY-MM-DD, a valid date from 1900. */
  function jdate(v, path) {
    var s = jstr(v, path);
    var m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(s);
    var d = m && { year: parseInt(m[1], 10), month: parseInt(m[2], 10), day: parseInt(m[3], 10) };
    if (!d || !dateValid(d)) fail(jwhat + ' ' + path + ': expected a valid date YYYY-MM-DD between 1900-01-01 and 9999-12-31');
    return d;
  }
  function pad(n, k) { var t = String(n); while (t.length < k) t = '0' + t; return t; }
  var S = {
    u64: prim(function (r) { return r.u64(); }, ju64, function (w, x) { w.u64(x); }, num),
    u32: prim(function (r) { return r.u32(); }, ju32, function (w, x) { w.u32(x); }, identity),
    bool: prim(function (r) { return r.bool(); }, jbool, function (w, x) { w.u8(x ? 1 : 0); }, identity),
    str: prim(function (r) { return r.str(); }, jstr, function (w, x) { w.str(x); }, identity),
    digest: prim(digestOf, jhex32('digest'), encRaw, toHex),
    key: prim(keyOf, jkey, encRaw, toHex),
    netkey: prim(function (r) { return r.bytes(32); }, jnetkey, encRaw, toHex),
    currency: prim(function (r) { return r.bytes(3); }, jcurrency, encRaw, function (b) { return String.fromCharCode(b[0], b[1], b[2]); }),
    date: prim(dateOf, jdate, function (w, d) { w.u16(d.year).u8(d.month).u8(d.day); },
      function (d) { return pad(d.year, 4) + '-' + pad(d.month, 2) + '-' + pad(d.day, 2); })
  };
  S.option = function (t) {
    return {
      isOption: true,
      dec: function (r) { return r.option(t.dec); },
      json: function (v, path) { return v.t === 'null' ? null : t.json(v, path); },
      enc: function (w, x) { if (x === null) w.u8(0); else { w.u8(1); t.enc(w, x); } },
      ser: function (x) { return x === null ? null : t.ser(x); }
    };
  };
  S.vec = function (t) {
    return {
      dec: function (r) { return r.vec(t.dec); },
      json: function (v, path) {
        if (v.t !== 'array') fail(jwhat + ' ' + path + ': expected an array');
        return v.items.map(function (x, i) { return t.json(x, path + '[' + i + ']'); });
      },
      enc: function (w, x) { w.u64(x.length); x.forEach(function (e) { t.enc(w, e); }); },
      ser: function (x) { return x.map(t.ser); }
    };
  };
  /** A tuple (of a tuple variant): a JSON array of exactly its elements. */
  S.tuple = function (ts) {
    return {
      dec: function (r) { return ts.map(function (t) { return t.dec(r); }); },
      json: function (v, path) {
        if (v.t !== 'array' || v.items.length !== ts.length) fail(jwhat + ' ' + path + ': expected an array of ' + ts.length + ' elements');
        return ts.map(function (t, i) { return t.json(v.items[i], path + '[' + i + ']'); });
      },
      enc: function (w, x) { ts.forEach(function (t, i) { t.enc(w, x[i]); }); },
      ser: function (x) { return ts.map(function (t, i) { return t.ser(x[i]); }); }
    };
  };
  /**
   * serde's struct rules: from an object (unknown fields ignored, a duplicate refused, a
   * missing field refused unless it has a default or is an Option, then None) or from an
   * array of the fields in order (a missing one refused unless it has a default).
   * fields: [[name, type, default?, aliases?]].
   */
  function readStruct(fields, v, path, skip) {
    var out = {}, seen = {};
    if (v.t === 'array') {
      if (v.items.length > fields.length) fail(jwhat + ' ' + path + ': ' + v.items.length + ' elements, at most ' + fields.length);
      fields.forEach(function (f, k) {
        if (k < v.items.length) out[f[0]] = f[1].json(v.items[k], path + '.' + f[0]);
        else if (f[2]) out[f[0]] = f[2]();
        else fail(jwhat + ' ' + path + ': ' + v.items.length + ' elements, field `' + f[0] + '` missing');
      });
      return out;
    }
    if (v.t !== 'object') fail(jwhat + ' ' + path + ': expected an object');
    v.entries.forEach(function (e) {
      if (e[0] === skip) return;
      for (var k = 0; k < fields.length; k++) {
        var f = fields[k];
        if (f[0] === e[0] || (f[3] && f[3].indexOf(e[0]) >= 0)) {
          if (seen[f[0]]) fail(jwhat + ' ' + path + ': duplicate field `' + f[0] + '`');
          seen[f[0]] = true;
          out[f[0]] = f[1].json(e[1], path + '.' + f[0]);
          return;
        }
      }
    });
    fields.forEach(function (f) {
      if (seen[f[0]]) return;
      if (f[2]) out[f[0]] = f[2]();
      else if (f[1].isOption) out[f[0]] = null;
      else fail(jwhat + ' ' + path + ': missing field `' + f[0] + '`');
    });
    return out;
  }
  S.struct = function (fields) {
    return {
      fields: fields,
      dec: function (r) { var o = {}; fields.forEach(function (f) { o[f[0]] = f[1].dec(r); }); return o; },
      json: function (v, path) { return readStruct(fields, v, path); },
      enc: function (w, x) { fields.forEach(function (f) { f[1].enc(w, x[f[0]]); }); },
      ser: function (x) { var o = {}; fields.forEach(function (f) { o[f[0]] = f[1].ser(x[f[0]]); }); return o; }
    };
  };
  /**
   * An externally tagged enum (serde's default, snake_case names): a unit variant is
   * "name" (or {"name": null}), any other {"name": content}. variants: [[name, type|null]].
   */
  S.enum = function (what, variants) {
    return {
      variants: variants,
      dec: function (r) {
        var i = r.tag(variants.length, what);
        return { v: i, x: variants[i][1] ? variants[i][1].dec(r) : null };
      },
      json: function (v, path) {
        var name, content = null;
        if (v.t === 'string' && !v.lone) name = v.v;
        else if (v.t === 'object' && v.entries.length === 1) { name = v.entries[0][0]; content = v.entries[0][1]; }
        else fail(jwhat + ' ' + path + ': expected a ' + what + ' variant');
        for (var i = 0; i < variants.length; i++) {
          if (variants[i][0] !== name) continue;
          var t = variants[i][1];
          if (!t) {
            if (content !== null && content.t !== 'null') fail(jwhat + ' ' + path + ': ' + what + ' ' + name + ' takes no content');
            return { v: i, x: null };
          }
          if (content === null) fail(jwhat + ' ' + path + ': ' + what + ' ' + name + ' needs its content');
          return { v: i, x: t.json(content, path + '.' + name) };
        }
        fail(jwhat + ' ' + path + ': unknown ' + what + ' variant ' + JSON.stringify(String(name).slice(0, 80)));
      },
      enc: function (w, x) { w.u32(x.v); if (variants[x.v][1]) variants[x.v][1].enc(w, x.x); },
      ser: function (x) {
        var vt = variants[x.v];
        if (!vt[1]) return vt[0];
        var o = {};
        o[vt[0]] = vt[1].ser(x.x);
        return o;
      }
    };
  };
  /**
   * An internally tagged enum (`#[serde(tag = "...")]`) of unit and struct variants: an
   * object with the tag field naming the variant beside the variant's fields.
   * variants: [[name, struct type|null]].
   */
  S.tagged = function (what, tag, variants) {
    return {
      dec: function (r) {
        var i = r.tag(variants.length, what);
        return { v: i, x: variants[i][1] ? variants[i][1].dec(r) : null };
      },
      json: function (v, path) {
        if (v.t !== 'object') fail(jwhat + ' ' + path + ': expected an object with a `' + tag + '` field');
        var tags = v.entries.filter(function (e) { return e[0] === tag; });
        if (tags.length === 0) fail(jwhat + ' ' + path + ': missing field `' + tag + '`');
        if (tags.length > 1) fail(jwhat + ' ' + path + ': duplicate field `' + tag + '`');
        var name = jstr(tags[0][1], path + '.' + tag);
        for (var i = 0; i < variants.length; i++) {
          if (variants[i][0] !== name) continue;
          var t = variants[i][1];
          return { v: i, x: t ? readStruct(t.fields, v, path, tag) : null };
        }
        fail(jwhat + ' ' + path + ': unknown ' + what + ' variant ' + JSON.stringify(name.slice(0, 80)));
      },
      enc: function (w, x) { w.u32(x.v); if (variants[x.v][1]) variants[x.v][1].enc(w, x.x); },
      ser: function (x) {
        var o = {};
        o[tag] = variants[x.v][0];
        if (variants[x.v][1]) {
          var inner = variants[x.v][1].ser(x.x);
          Object.keys(inner).forEach(function (k) { o[k] = inner[k]; });
        }
        return o;
      }
    };
  };
  function units(what, names) { return S.enum(what, names.map(function (n) { return [n, null]; })); }

  var T = {};
  T.amount = S.struct([['minor', S.u64], ['currency', S.currency]]);
  T.role = units('role', ROLES);
  T.method = units('procurement method', ['open', 'selective', 'limited', 'direct']);
  T.threshold = S.struct([['numerator', S.u32], ['denominator', S.u32]]);
  T.params = S.struct([
    ['block_txs_max', S.u32], ['block_bytes_max', S.u32], ['delta_ms', S.u64],
    ['heartbeat_ms', S.u64, null, ['block_interval_ms']],
    ['governance_threshold', T.threshold, function () { return { numerator: 2, denominator: 3 }; }],
    ['epoch_delay_blocks', S.u64, function () { return 2n; }]
  ]);
  T.limits = S.struct([['rules', S.vec(S.struct([
    ['name', S.str], ['agencies', S.vec(S.str)], ['open_tender_from', T.amount], ['record_from', T.amount]
  ]))]]);
  T.validatorSet = S.struct([['epoch', S.u64], ['start_height', S.u64], ['validators', S.vec(S.struct([
    ['name', S.str], ['agency', S.str], ['consensus_key', S.key], ['network_key', S.netkey], ['power', S.u64]
  ]))]]);
  T.change = S.tagged('change', 'change', [
    ['add_agency', S.struct([['id', S.str], ['name_zh', S.str], ['name_en', S.str], ['admin_keys', S.vec(S.key)]])],
    ['remove_agency', S.struct([['id', S.str]])],
    ['add_validator', S.struct([['agency', S.str], ['name', S.str], ['consensus_key', S.key], ['network_key', S.netkey], ['power', S.u64]])],
    ['remove_validator', S.struct([['name', S.str]])],
    ['rotate_validator_keys', S.struct([['name', S.str], ['consensus_key', S.option(S.key)], ['network_key', S.option(S.netkey)]])],
    ['set_admin_keys', S.struct([['agency', S.str], ['admin_keys', S.vec(S.key)]])],
    ['set_params', S.struct([['params', T.params]])],
    ['set_procurement_limits', S.struct([['limits', T.limits]])]
  ]);
  var pair = S.tuple([S.str, S.str]);
  /** state.rs `StateKey`, in encoding order. */
  T.key = S.enum('state key', [
    ['asset', S.str], ['award', pair], ['grant', S.str], ['member', S.key], ['seq', S.key],
    ['dataset', S.str], ['agency', S.str], ['proposal', S.str], ['governance', null],
    ['epoch_set', S.u64], ['validator_key', S.key], ['network_key', S.netkey], ['tender', S.str],
    ['contract', pair], ['compliance', S.enum('compliance subject', [['tender', S.str], ['award', pair], ['contract', pair]])],
    ['procurement_limits', null]
  ]);
  /** state.rs `StateValue`, in encoding order. */
  T.value = S.enum('state value', [
    ['asset', S.struct([['custodian', S.str], ['status', units('asset status', ['held', 'disposed'])], ['registered_at', S.u64], ['last_tx', S.digest]])],
    ['award', S.struct([['purchaser', S.str], ['status', units('award status', ['pending', 'active', 'unsuccessful', 'cancelled'])],
      ['value', T.amount], ['award_date', S.date], ['suppliers', S.vec(S.struct([['name', S.str], ['credit_code', S.str]]))], ['last_tx', S.digest]])],
    ['grant', S.struct([['dataset_id', S.str], ['grantor', S.str], ['grantee', S.str], ['valid_from', S.date], ['valid_until', S.date],
      ['revoked', S.bool], ['last_tx', S.digest]])],
    ['member', S.struct([['agency', S.str], ['name', S.str], ['roles', S.vec(T.role)], ['revoked', S.bool]])],
    ['seq', S.u64],
    ['dataset', S.str],
    ['agency', S.struct([['name_zh', S.str], ['name_en', S.str], ['admin_keys', S.vec(S.key)], ['removed', S.bool]])],
    ['proposal', S.struct([['agency', S.str], ['proposer', S.key], ['changes', S.vec(T.change)], ['deadline', S.u64], ['reason', S.digest],
      ['proposed_at', S.u64], ['votes', S.vec(S.struct([['agency', S.str], ['approve', S.bool], ['signer', S.key], ['height', S.u64]]))],
      ['status', S.tagged('proposal status', 'status', [
        ['open', null],
        ['passed', S.struct([['at', S.u64], ['epoch', S.option(S.u64)], ['effective_height', S.option(S.u64)]])],
        ['failed', S.struct([['at', S.u64]])]
      ])], ['last_tx', S.digest]])],
    ['governance', S.struct([['agencies', S.vec(S.str)], ['epoch', S.u64], ['params', T.params],
      ['pending', S.option(S.struct([['epoch', S.u64], ['start_height', S.u64], ['params', T.params], ['passed_at', S.u64]]))]])],
    ['validator_set', T.validatorSet],
    ['validator_key', S.struct([['validator', S.str], ['key_use', units('key use', ['consensus', 'network'])], ['retired_at', S.option(S.u64)]])],
    ['tender', S.struct([['purchaser', S.str], ['method', T.method], ['budget', T.amount], ['publish_date', S.date],
      ['submission_deadline', S.date], ['status', units('tender status', ['active', 'complete'])], ['closed', S.option(S.date)],
      ['bids_received', S.option(S.u32)], ['last_tx', S.digest]])],
    ['contract', S.struct([['purchaser', S.str], ['award_id', S.str], ['value', T.amount], ['paid', T.amount], ['signed_date', S.date],
      ['period_end', S.date], ['last_date', S.date], ['status', units('contract status', ['active', 'complete', 'terminated'])],
      ['method', S.option(T.method)], ['last_tx', S.digest]])],
    ['compliance', S.struct([['method', T.method], ['flags', S.vec(S.struct([
      ['rule', units('compliance rule', ['open_tender_required', 'below_record_limit'])], ['standard', S.str], ['limit', T.amount], ['value', T.amount]
    ]))]])],
    ['procurement_limits', T.limits]
  ]);
  T.end = S.enum('proof end', [['value', null], ['empty', null], ['other_leaf', S.struct([['key_hash', S.digest], ['value_hash', S.digest]])]]);
  T.proof = S.struct([['key', T.key], ['value', S.option(T.value)], ['siblings', S.vec(S.digest)], ['end', T.end]]);

  // The value variant that belongs to each key variant (`StateValue::fits`).
  var VALUE_OF_KEY = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 11, 12, 13, 14];
  // state.rs `key_kind` and `value_kind` (the names in the kernel's messages).
  var KEY_KINDS = ['asset', 'award', 'grant', 'member', 'seq', 'dataset', 'agency', 'proposal', 'governance',
    'epoch_set', 'validator_key', 'network_key', 'tender', 'contract', 'compliance', 'procurement_limits'];
  var VALUE_KINDS = ['asset', 'award', 'grant', 'member', 'seq', 'dataset', 'agency', 'proposal', 'governance',
    'epoch_set', 'validator_key', 'tender', 'contract', 'compliance', 'procurement_limits'];

  function encodeWith(t, x) { var w = new Writer(); t.enc(w, x); return w.done(); }

  /** state.rs `StateKey::validate`. */
  function checkStateKey(k) {
    var I = LIMITS.ID_BYTES_MAX, x = k.x;
    switch (k.v) {
      case 0: return checkId('key.asset', x, I);
      case 1: checkId('key.ocid', x[0], I); return checkId('key.award_id', x[1], I);
      case 2: return checkId('key.grant', x, I);
      case 5: return checkId('key.dataset', x, I);
      case 6: return checkId('key.agency', x, I);
      case 7: return checkId('key.proposal', x, I);
      case 12: return checkId('key.ocid', x, I);
      case 13: checkId('key.ocid', x[0], I); return checkId('key.contract_id', x[1], I);
      case 14:
        if (x.v === 0) return checkId('key.ocid', x.x, I);
        checkId('key.ocid', x.x[0], I);
        return checkId('key.id', x.x[1], I);
      default: return;
    }
  }
  function unitIndexes(list) { return list.map(function (e) { return e.v; }); }
  /** governance.rs `changes`. */
  function checkChanges(v) {
    if (v.length === 0) invalid('changes', 'at least one change', 'none');
    checkList('changes', v, LIMITS.CHANGES_MAX);
    var params = 0;
    v.forEach(function (c, i) {
      var flat = { t: c.v };
      Object.keys(c.x).forEach(function (k) { flat[k] = c.x[k]; });
      checkChange(flat);
      if (c.v === 6 && ++params > 1) invalid('changes[' + i + ']', 'at most one set_params change per proposal', 'a second one');
    });
  }
  /** state.rs `StateValue::validate`. */
  function checkStateValue(val) {
    var I = LIMITS.ID_BYTES_MAX, x = val.x;
    switch (val.v) {
      case 0: return checkId('asset.custodian', x.custodian, I);
      case 1: checkId('award.purchaser', x.purchaser, I); return checkList('award.suppliers', x.suppliers, LIMITS.SUPPLIERS_MAX);
      case 2:
        checkId('grant.dataset_id', x.dataset_id, I);
        checkId('grant.grantor', x.grantor, I);
        return checkId('grant.grantee', x.grantee, I);
      case 3:
        checkId('member.agency', x.agency, I);
        checkText('member.name', x.name, LIMITS.NAME_BYTES_MAX);
        checkList('member.roles', x.roles, LIMITS.ROLES_MAX);
        return checkSorted('member.roles', unitIndexes(x.roles), cmpNum);
      case 4: return;
      case 5: return checkId('dataset.owner', x, I);
      case 6:
        checkText('agency.name_zh', x.name_zh, LIMITS.NAME_BYTES_MAX);
        checkText('agency.name_en', x.name_en, LIMITS.NAME_BYTES_MAX);
        return checkList('agency.admin_keys', x.admin_keys, LIMITS.ADMIN_KEYS_MAX);
      case 7:
        checkId('proposal.agency', x.agency, I);
        checkChanges(x.changes);
        checkList('proposal.votes', x.votes, LIMITS.AGENCIES_MAX);
        return checkSorted('proposal.votes.agency', x.votes.map(function (v) { return v.agency; }), cmpStr);
      case 8:
        checkList('governance.agencies', x.agencies, LIMITS.AGENCIES_MAX);
        return checkSorted('governance.agencies', x.agencies, cmpStr);
      case 9: return checkValidatorSet(x);
      case 10: return checkId('validator_key.validator', x.validator, I);
      case 11: return checkId('tender.purchaser', x.purchaser, I);
      case 12: checkId('contract.purchaser', x.purchaser, I); return checkId('contract.award_id', x.award_id, I);
      case 13: return checkList('compliance.flags', x.flags, 2);
      default: return checkLimits(x);
    }
  }

  /** codec.rs `decode_in` of a `StateProof`, with `Canonical::validate`. */
  function decodeStateProof(bytes) {
    var p = decodeCanonical('state proof', LIMITS.STATE_PROOF_ENCODING_BYTES_MAX, bytes, T.proof.dec);
    try {
      checkStateKey(p.key);
      checkList('siblings', p.siblings, LIMITS.PROOF_SIBLINGS_MAX);
      if (p.value !== null) {
        try { checkStateValue(p.value); } catch (err) {
          if (err instanceof Fail) fail('value: ' + err.message);
          throw err;
        }
      }
    } catch (err) {
      if (err instanceof Fail) fail('invalid state proof: ' + err.message);
      throw err;
    }
    return p;
  }

  /** A JSON value (from JSON.parse) as the genesis parser's tree, for the serde readers. */
  var LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(^|[^\ud800-\udbff])[\udc00-\udfff]/;
  function jsonTree(v, depth) {
    if (depth > 128) fail('state proof JSON: nesting too deep');
    if (v === null) return { t: 'null' };
    if (typeof v === 'boolean') return { t: 'bool', v: v };
    if (typeof v === 'string') return { t: 'string', v: v, lone: LONE_SURROGATE.test(v) };
    if (typeof v === 'number') {
      // JSON.parse has lost the spelling: an exact non-negative integer is read as one
      // (serde would refuse 5.0, README.md); anything else is not an integer.
      var int = Number.isSafeInteger(v) && v >= 0 && !Object.is(v, -0);
      return { t: 'number', raw: int ? String(v) : 'x', integer: int };
    }
    if (typeof v === 'bigint') return { t: 'number', raw: v.toString(), integer: v >= 0n };
    if (Array.isArray(v)) return { t: 'array', items: v.map(function (x) { return jsonTree(x, depth + 1); }) };
    if (typeof v === 'object') return { t: 'object', entries: Object.keys(v).map(function (k) { return [k, jsonTree(v[k], depth + 1)]; }) };
    fail('state proof JSON: a value of type ' + typeof v);
  }

  /**
   * client/cli/src/verify.rs `bundle_proof`: a state proof given as canonical hex (decoded)
   * or as the kernel's JSON (read as serde reads it, then encoded and decoded, as the CLI
   * does, so that the same limits and formats apply). Returns {proof, bytes}.
   */
  function bundleProof(v, what) {
    if (typeof v === 'string') {
      var bytes = hexLower(what, v, 'bundle field');
      return { proof: decodeStateProof(bytes), bytes: bytes };
    }
    var read;
    var saved = jwhat;
    jwhat = what + ' JSON';
    try {
      read = T.proof.json(jsonTree(v, 0), 'proof');
    } finally {
      jwhat = saved;
    }
    var enc = encodeWith(T.proof, read);
    return { proof: decodeStateProof(enc), bytes: enc };
  }

  function stateKeyHash(key) { return tagHash(TAG.STATE_KEY, encodeWith(T.key, key)); }
  function stateValueHash(value) { return tagHash(TAG.STATE_LEAF, concat([Uint8Array.of(0), encodeWith(T.value, value)])); }
  function stateLeafHash(keyHash, valueHash) { return tagHash(TAG.STATE_LEAF, concat([Uint8Array.of(1), keyHash, valueHash])); }
  function stateNodeHash(l, r) { return tagHash(TAG.STATE_NODE, concat([l, r])); }
  function stateBit(h, depth) { return depth < 256 ? ((h[depth >> 3] >> (7 - (depth & 7))) & 1) === 1 : false; }

  /** state.rs `verify_state_proof`: the proven value (null: absent), or a Fail. */
  function verifyStateProofAt(root, p) {
    if (p.siblings.length > LIMITS.PROOF_SIBLINGS_MAX) fail('proof has ' + p.siblings.length + ' siblings, at most ' + LIMITS.PROOF_SIBLINGS_MAX + ' allowed');
    var keyHash = stateKeyHash(p.key);
    var bottom;
    if (p.value !== null && p.end.v === 0) {
      if (VALUE_OF_KEY[p.key.v] !== p.value.v) fail('value of kind ' + VALUE_KINDS[p.value.v] + ' cannot belong to a key of kind ' + KEY_KINDS[p.key.v]);
      bottom = stateLeafHash(keyHash, stateValueHash(p.value));
    } else if (p.value === null && p.end.v === 1) {
      bottom = ZERO32;
    } else if (p.value === null && p.end.v === 2) {
      var other = p.end.x.key_hash;
      var samePrefix = true;
      for (var d = 0; d < Math.min(p.siblings.length, 256); d++) {
        if (stateBit(other, d) !== stateBit(keyHash, d)) { samePrefix = false; break; }
      }
      if (bytesEqual(other, keyHash) || !samePrefix) fail('absence proof ends in leaf ' + toHex(other) + ', which is not another key on the path of ' + toHex(keyHash));
      bottom = stateLeafHash(other, p.end.x.value_hash);
    } else if (p.value !== null) {
      fail('proof claims a value but its path ends in an absence');
    } else {
      fail('proof claims absence but its path ends in the key\'s own leaf');
    }
    var cur = bottom;
    for (var depth = p.siblings.length - 1; depth >= 0; depth--) {
      cur = stateBit(keyHash, depth) ? stateNodeHash(p.siblings[depth], cur) : stateNodeHash(cur, p.siblings[depth]);
    }
    if (!bytesEqual(cur, root)) fail('proof leads to root ' + toHex(cur) + ', expected ' + toHex(root));
    return p.value;
  }

  // ------------------------------------------------------------------ verifyReceipt

  var RECEIPT_FIELDS = ['format', 'entry', 'index', 'proof', 'checkpoint', 'epochs'];
  var STEPS = ['format', 'genesis', 'entry', 'checkpoint', 'inclusion'];

  /**
   * Verify a receipt (the parsed JSON object) against the genesis file's text, as the
   * kernel's `receipt::verify` does, plus the caller's pins: options.chain (hex chain id
   * the genesis must have) and options.tx (hex hash of the transaction the receipt must
   * be for). Returns {status, failed, steps, summary}; never throws.
   */
  function verifyReceipt(receipt, genesisText, options) {
    var steps = [];
    var state = {};
    var current = null;
    function done(id, detail) { steps.push({ id: id, ok: true, detail: detail }); }
    function verdict(status, failed, summary) {
      return { status: status, failed: failed, steps: steps, summary: summary || null };
    }
    try {
      options = options || {};
      if (!noble || !noble.blake3 || !noble.ed25519 || !noble.sha512) {
        current = 'format';
        fail('the crypto library (vendor/noble.js) is not loaded');
      }

      // format: what receipt.rs checks before decoding anything.
      current = 'format';
      if (receipt === null || typeof receipt !== 'object' || Array.isArray(receipt)) fail('the receipt is not a JSON object');
      Object.keys(receipt).forEach(function (k) {
        if (RECEIPT_FIELDS.indexOf(k) < 0) fail('unknown receipt field `' + k + '`: expected ' + RECEIPT_FIELDS.join(', '));
      });
      ['format', 'entry', 'index', 'proof', 'checkpoint'].forEach(function (k) {
        if (receipt[k] === undefined) fail('missing receipt field `' + k + '`');
      });
      if (typeof receipt.format !== 'string') fail('receipt field format: expected a string');
      if (typeof receipt.entry !== 'string') fail('receipt field entry: expected a string');
      if (typeof receipt.checkpoint !== 'string') fail('receipt field checkpoint: expected a string');
      var index;
      if (typeof receipt.index === 'bigint' && receipt.index >= 0n && receipt.index <= U64_MAX) index = receipt.index;
      else if (typeof receipt.index === 'number' && Number.isSafeInteger(receipt.index) && receipt.index >= 0) index = BigInt(receipt.index);
      else fail('receipt field index: expected an unsigned integer');
      if (!Array.isArray(receipt.proof) || !receipt.proof.every(function (p) { return typeof p === 'string'; })) fail('receipt field proof: expected a list of hex strings');
      var epochs = receipt.epochs === undefined ? null : receipt.epochs;
      if (epochs !== null && (!Array.isArray(epochs) || !epochs.every(function (p) { return typeof p === 'string'; }))) fail('receipt field epochs: expected a list of hex strings');
      if (receipt.format === RECEIPT_FORMAT) {
        if (epochs !== null) fail('a ' + RECEIPT_FORMAT + ' receipt has no epochs field (its checkpoint is of epoch 0); ' + RECEIPT_FORMAT_V2 + ' carries them');
      } else if (receipt.format === RECEIPT_FORMAT_V2) {
        if (epochs === null || epochs.length === 0) fail('a ' + RECEIPT_FORMAT_V2 + ' receipt carries at least one epoch link; a receipt of epoch 0 is ' + RECEIPT_FORMAT);
        if (epochs.length > LIMITS.EPOCH_LINKS_MAX) fail(epochs.length + ' epoch links, at most ' + LIMITS.EPOCH_LINKS_MAX);
      } else {
        fail('receipt format ' + JSON.stringify(receipt.format.slice(0, 80)) + ': expected "chancery-receipt/v1 or chancery-receipt/v2"');
      }
      if (receipt.proof.length > LIMITS.PROOF_HASHES_MAX) fail('receipt proof has ' + receipt.proof.length + ' hashes, more than the limit of ' + LIMITS.PROOF_HASHES_MAX);
      // The kernel checks each hex field just before decoding it; with one fault the
      // verdict and the step are the same (README.md).
      var linkBytes = (epochs || []).map(function (h, i) { return hexLower('epochs[' + i + ']', h); });
      var entryBytes = hexLower('entry', receipt.entry);
      var proof = receipt.proof.map(function (p, i) {
        var b = hexLower('proof[' + i + ']', p);
        if (b.length !== 32) fail('receipt field proof[' + i + ']: expected lower-case hex, found ' + b.length + ' bytes, expected 32');
        return b;
      });
      var cpBytes = hexLower('checkpoint', receipt.checkpoint);
      done('format', (receipt.format === RECEIPT_FORMAT ? 'Format ' + RECEIPT_FORMAT + ', no epoch links' : 'Format ' + RECEIPT_FORMAT_V2 + ' with ' + linkBytes.length + ' epoch link(s)') +
        '; entry, checkpoint and ' + proof.length + ' proof hash(es) are lower-case hex.');

      // genesis: the file, its checks, its chain id.
      current = 'genesis';
      var gs = genesisStep(genesisText, options);
      if (gs.unsupported) {
        steps.push({ id: 'genesis', ok: false, detail: gs.unsupported });
        return verdict('unsupported', 'genesis');
      }
      var g = gs.g, chainHex = gs.chainHex;
      done('genesis', gs.detail);

      // entry: the log entry and its transaction.
      current = 'entry';
      var entry;
      try { entry = decodeLogEntry(entryBytes); } catch (err) {
        if (err instanceof Fail) fail('receipt entry: ' + err.message);
        throw err;
      }
      if (!bytesEqual(entry.chainId, g.chainId)) fail('wrong chain: the transaction is for chain ' + toHex(entry.chainId) + ', this genesis is chain ' + chainHex);
      // receipt.rs: the member's signature on the transaction (TX_SIGN over the body).
      if (!ed25519Verify(entry.signer, concat([utf8(TAG.TX_SIGN), Uint8Array.of(0), entry.bodyBytes]), entry.signature)) {
        fail('the transaction\'s signature by its signer ' + toHex(entry.signer) + ' does not verify under the chain\'s acceptance rule');
      }
      var txHash = toHex(tagHash(TAG.TX_HASH, entry.txBytes));
      if (options.tx !== undefined && options.tx !== null) {
        if (typeof options.tx !== 'string' || !/^[0-9a-f]{64}$/.test(options.tx)) fail('the expected transaction hash is not 64 lower-case hex digits');
        if (options.tx !== txHash) fail('the receipt is for transaction ' + txHash + ', expected ' + options.tx);
      }
      done('entry', 'Log entry decodes: ' + entry.record.kind + ' ' + entry.record.subject + ', transaction ' + txHash + ' at height ' + entry.height + ', ' +
        entry.outcome + (entry.reason ? ' (' + entry.reason + ')' : '') + '; it is for this chain and signed by its signer ' + toHex(entry.signer) + '.');

      // checkpoint: the epoch chain (v2), then the finalization certificate.
      current = 'checkpoint';
      var links = linkBytes.map(function (b, i) {
        try { return decodeEpochLink(b); } catch (err) {
          if (err instanceof Fail) fail('receipt epoch link ' + i + ' (the end of epoch ' + i + '): ' + err.message);
          throw err;
        }
      });
      var cp;
      try { cp = decodeCheckpoint(cpBytes); } catch (err) {
        if (err instanceof Fail) fail('receipt checkpoint: ' + err.message);
        throw err;
      }
      var checked = checkpointFromGenesis(g, cp, links);
      done('checkpoint', 'Checkpoint at height ' + cp.header.height + ' (log size ' + cp.header.log_size + ', epoch ' + cp.header.epoch + ') is finalized by ' +
        checked.signers + ' validator signature(s), voting power ' + checked.power + ' of the ' + checked.quorum + ' a quorum needs' +
        (links.length ? '; the validator set is proven from the genesis by ' + links.length + ' epoch link(s).' : '.'));

      // inclusion: the entry is a leaf of the checkpoint's log.
      current = 'inclusion';
      if (entry.height > cp.header.height) fail('entry is at height ' + entry.height + ', after the checkpoint at height ' + cp.header.height);
      try {
        verifyInclusion(index, cp.header.log_size, leafHash(entryBytes), proof, cp.header.log_root);
      } catch (err) {
        if (err instanceof Fail) fail('inclusion of entry ' + index + ' in the log of size ' + cp.header.log_size + ': ' + err.message);
        throw err;
      }
      done('inclusion', 'Entry ' + index + ' is in the log of size ' + cp.header.log_size + ' under the checkpoint\'s root (' + proof.length + ' proof hash(es)).');

      var summary = {
        kind: entry.record.kind,
        subject_id: entry.record.subject,
        tx_hash: txHash,
        height: num(entry.height),
        index: num(index),
        outcome: entry.outcome,
        checkpoint_size: num(cp.header.log_size),
        checkpoint_height: num(cp.header.height),
        checkpoint_epoch: num(cp.header.epoch),
        chain_id: chainHex
      };
      if (entry.reason) summary.reason = entry.reason;
      return verdict('valid', null, summary);
    } catch (err) {
      var detail = err instanceof Fail ? sentence(err.message) : 'internal error: ' + (err && err.message ? err.message : String(err));
      steps.push({ id: current || 'format', ok: false, detail: detail });
      return verdict('invalid', current || 'format');
    }
  }

  // ------------------------------------------------------------------ verifyStateProof

  var STATE_STEPS = ['format', 'genesis', 'checkpoint', 'state'];

  /**
   * Verify a state-proof bundle (`GET /v1/proofs/state/{asset|grant}/{id}`, the parsed
   * JSON object) against the genesis file's text, as `chancery verify` does
   * (client/cli/src/verify.rs `verify_state_bundle`), plus the caller's pin options.chain
   * (hex chain id). Returns {status, failed, steps, summary}; never throws.
   */
  function verifyStateProof(bundle, genesisText, options) {
    var steps = [];
    var current = null;
    function done(id, detail) { steps.push({ id: id, ok: true, detail: detail }); }
    function verdict(status, failed, summary) {
      return { status: status, failed: failed, steps: steps, summary: summary || null };
    }
    function has(k) { return Object.prototype.hasOwnProperty.call(bundle, k) && bundle[k] !== undefined; }
    try {
      options = options || {};
      current = 'format';
      if (!noble || !noble.blake3 || !noble.ed25519 || !noble.sha512) fail('the crypto library (vendor/noble.js) is not loaded');

      // format: the fields the CLI reads, and the hex of each (decoded in later steps).
      if (bundle === null || typeof bundle !== 'object' || Array.isArray(bundle)) fail('no `proof` field: the bundle is not a JSON object');
      var proofField = has('state_proof') ? 'state_proof' : 'proof';
      if (!has(proofField)) fail('no `proof` field');
      var proofV = bundle[proofField];
      if (typeof proofV === 'string') hexLower(proofField, proofV, 'bundle field');
      if (has('proof_hex') && typeof bundle.proof_hex === 'string') hexLower('proof_hex', bundle.proof_hex, 'bundle field');
      if (!has('checkpoint')) fail('no `checkpoint` field');
      var cpV = bundle.checkpoint, cpHex;
      if (typeof cpV === 'string') cpHex = cpV;
      else if (cpV !== null && typeof cpV === 'object' && !Array.isArray(cpV)) {
        if (typeof cpV.checkpoint !== 'string') fail('checkpoint: expected hex or an object with a `checkpoint` hex field');
        cpHex = cpV.checkpoint;
      } else fail('checkpoint: expected hex or an object');
      var cpBytes = hexLower('checkpoint', cpHex, 'bundle field');
      var linkHex = [];
      if (has('epochs')) {
        if (!Array.isArray(bundle.epochs) || !bundle.epochs.every(function (e) { return typeof e === 'string'; })) fail('epochs: expected a list of hex epoch links');
        linkHex = bundle.epochs;
        if (linkHex.length > LIMITS.EPOCH_LINKS_MAX) fail(linkHex.length + ' epoch links, at most ' + LIMITS.EPOCH_LINKS_MAX);
      }
      var linkBytes = linkHex.map(function (h, i) { return hexLower('epochs[' + i + ']', h, 'bundle field'); });
      done('format', 'State proof in `' + proofField + '` (' + (typeof proofV === 'string' ? 'canonical hex' : 'JSON') + ')' +
        (has('proof_hex') ? ' with `proof_hex`' : '') + ', a checkpoint and ' + linkBytes.length + ' epoch link(s); the hex fields are lower-case hex.');

      // genesis: as for receipts.
      current = 'genesis';
      var gs = genesisStep(genesisText, options);
      if (gs.unsupported) {
        steps.push({ id: 'genesis', ok: false, detail: gs.unsupported });
        return verdict('unsupported', 'genesis');
      }
      var g = gs.g, chainHex = gs.chainHex;
      done('genesis', gs.detail);

      // checkpoint: the epoch chain, then the finalization certificate; the fields repeated
      // for readers must be the checkpoint's.
      current = 'checkpoint';
      var cp;
      try { cp = decodeCheckpoint(cpBytes); } catch (err) {
        if (err instanceof Fail) fail('checkpoint: ' + err.message);
        throw err;
      }
      var links = linkBytes.map(function (b, i) {
        try { return decodeEpochLink(b); } catch (err) {
          if (err instanceof Fail) fail('epoch link ' + i + ' (the end of epoch ' + i + '): ' + err.message);
          throw err;
        }
      });
      var checked;
      try { checked = checkpointFromGenesis(g, cp, links); } catch (err) {
        if (err instanceof Fail) fail('checkpoint: ' + err.message);
        throw err;
      }
      var h = cp.header;
      if (has('height') && !(typeof bundle.height === 'number' && Number.isSafeInteger(bundle.height) && bundle.height >= 0 && BigInt(bundle.height) === h.height) &&
          !(typeof bundle.height === 'bigint' && bundle.height === h.height)) {
        fail('`height` is ' + String(JSON.stringify(bundle.height)).slice(0, 80) + ', the checkpoint\'s is ' + h.height);
      }
      if (has('state_root') && bundle.state_root !== toHex(h.state_root)) {
        fail('`state_root` is ' + String(JSON.stringify(bundle.state_root)).slice(0, 80) + ', the checkpoint\'s is ' + toHex(h.state_root));
      }
      done('checkpoint', 'Checkpoint at height ' + h.height + ' (log size ' + h.log_size + ', epoch ' + h.epoch + ', state root ' + toHex(h.state_root) + ') is finalized by ' +
        checked.signers + ' validator signature(s), voting power ' + checked.power + ' of the ' + checked.quorum + ' a quorum needs' +
        (links.length ? '; the validator set is proven from the genesis by ' + links.length + ' epoch link(s).' : '.'));

      // state: the proof (and its twin in proof_hex) under the checkpoint's state root.
      current = 'state';
      var p;
      try {
        p = bundleProof(proofV, proofField === 'proof' ? 'state proof' : 'state_proof');
        if (has('proof_hex')) {
          var twin = bundleProof(bundle.proof_hex, 'proof_hex');
          if (!bytesEqual(twin.bytes, p.bytes)) fail('`proof` and `proof_hex` are different proofs');
        }
      } catch (err) {
        if (err instanceof Fail) fail('state proof: ' + err.message);
        throw err;
      }
      var proof = p.proof, value;
      try { value = verifyStateProofAt(h.state_root, proof); } catch (err) {
        if (err instanceof Fail) fail('state proof against the state root of height ' + h.height + ': ' + err.message);
        throw err;
      }
      var keyJson = T.key.ser(proof.key);
      var valueJson = value === null ? null : T.value.ser(value);
      done('state', value === null
        ? 'State key ' + JSON.stringify(keyJson) + ' is absent at height ' + h.height + ' (the path ends in ' + (proof.end.v === 1 ? 'an empty subtree' : 'another key\'s leaf') + ', ' + proof.siblings.length + ' sibling hash(es)).'
        : 'State key ' + JSON.stringify(keyJson) + ' has the value shown at height ' + h.height + ' (' + proof.siblings.length + ' sibling hash(es) lead to the state root).');

      return verdict('valid', null, {
        kind: KEY_KINDS[proof.key.v],
        key: keyJson,
        present: value !== null,
        value: valueJson,
        checkpoint_height: num(h.height),
        checkpoint_size: num(h.log_size),
        checkpoint_epoch: num(h.epoch),
        checkpoint_time_ms: num(h.time),
        state_root: toHex(h.state_root),
        chain_id: chainHex
      });
    } catch (err) {
      var detail = err instanceof Fail ? sentence(err.message) : 'internal error: ' + (err && err.message ? err.message : String(err));
      steps.push({ id: current || 'format', ok: false, detail: detail });
      return verdict('invalid', current || 'format');
    }
  }

  // ------------------------------------------------------------------ Merkle consistency and roots (merkle.rs)

  /**
   * merkle.rs `verify_consistency_with` in the ed25519-blake3 suite (RFC 9162 2.1.4.2):
   * the tree of `size2` leaves with root `root2` extends the tree of `size1` leaves with
   * root `root1`. Sizes are BigInts, hashes 32-byte arrays. Throws a Fail with the
   * kernel's message (ProofError's Display) on each refusal, in the kernel's order.
   */
  function verifyConsistency(size1, size2, proof, root1, root2) {
    if (size1 > TREE_SIZE_MAX) fail('tree size ' + size1 + ' exceeds the limit of ' + TREE_SIZE_MAX);
    if (size2 > TREE_SIZE_MAX) fail('tree size ' + size2 + ' exceeds the limit of ' + TREE_SIZE_MAX);
    if (proof.length > LIMITS.PROOF_HASHES_MAX) fail('proof has ' + proof.length + ' hashes, more than the limit of ' + LIMITS.PROOF_HASHES_MAX);
    if (size1 > size2) fail('old size ' + size1 + ' is larger than new size ' + size2);
    if (size1 === 0n) fail('consistency proof from size 0: rejected (an empty tree commits to nothing)');
    if (size1 === size2) {
      if (proof.length !== 0) fail('sizes are equal (' + size1 + '): the proof must be empty, found ' + proof.length + ' hashes');
      if (!bytesEqual(root1, root2)) fail('sizes are equal (' + size1 + ') but the roots differ');
      return;
    }
    // The shape of the inclusion proof of leaf size1 - 1 in the new tree; the lowest
    // `shift` levels of it are inside the old tree's rightmost perfect subtree.
    var last = size1 - 1n;
    var inner = bitLength(last ^ (size2 - 1n));
    var border = popcount(last >> BigInt(inner));
    var shift = 0;
    while (((size1 >> BigInt(shift)) & 1n) === 0n) shift++;
    inner -= shift;
    // If size1 is a power of two, its root is a node of the new tree: the proof omits it.
    var seed, start;
    if (size1 === (1n << BigInt(shift))) {
      seed = root1; start = 0;
    } else {
      seed = proof.length > 0 ? proof[0] : ZERO32; start = 1;
    }
    var need = start + inner + border;
    if (proof.length !== need) fail('proof has ' + proof.length + ' hashes, but a consistency (size ' + size1 + ' to ' + size2 + ') proof needs exactly ' + need);
    var rest = proof.slice(start);
    var mask = last >> BigInt(shift);
    // The old root: only the left siblings (where the path goes right) are in the old tree.
    var old = seed, i;
    for (i = 0; i < inner; i++) if (((mask >> BigInt(i)) & 1n) === 1n) old = nodeHash(rest[i], old);
    for (i = inner; i < rest.length; i++) old = nodeHash(rest[i], old);
    if (!bytesEqual(old, root1)) fail('old root: root computed from the proof is ' + toHex(old) + ', expected ' + toHex(root1));
    // The new root: every sibling.
    var now = seed;
    for (i = 0; i < inner; i++) now = ((mask >> BigInt(i)) & 1n) === 0n ? nodeHash(now, rest[i]) : nodeHash(rest[i], now);
    for (i = inner; i < rest.length; i++) now = nodeHash(rest[i], now);
    if (!bytesEqual(now, root2)) fail('new root: root computed from the proof is ' + toHex(now) + ', expected ' + toHex(root2));
  }

  /** merkle.rs `root_with`: the Merkle tree hash (MTH) of a list of leaf hashes. */
  function merkleRoot(leafHashes) {
    if (leafHashes.length === 0) return noble.blake3(new Uint8Array(0), { key: derivedKey(TAG.LOG_NODE) }); // empty_root
    if (leafHashes.length === 1) return leafHashes[0];
    var k = 1;
    while (k * 2 < leafHashes.length) k *= 2; // the largest power of two below the size
    return nodeHash(merkleRoot(leafHashes.slice(0, k)), merkleRoot(leafHashes.slice(k)));
  }

  // ------------------------------------------------------------------ canonical structures, for test vectors
  //
  // tests/vectors/encoding.json gives each kernel structure's canonical encoding, its serde
  // JSON and its hashes. `decodeStructure` decodes the encodings this verifier reads and
  // returns a JSON view of what it decoded (digests and keys as hex, integers as numbers,
  // the fields a reader can compare with the vector's JSON) and the hashes the kernel
  // names for that structure, each computed here from the bytes: {tag, hex}.

  /** tx.rs `Transaction`: body {chain id, signer, seq, record}, signature; validated as the record. */
  function decodeTransaction(bytes) {
    var t = decodeCanonical('transaction', LIMITS.TX_BYTES_MAX, bytes, function (r) {
      var chainId = digestOf(r), signer = keyOf(r), seq = r.u64();
      var rec = record(r);
      var bodyEnd = r.pos;
      return { chainId: chainId, signer: signer, seq: seq, record: rec, signature: r.bytes(64), bodyBytes: bytes.slice(0, bodyEnd) };
    });
    try {
      t.record.check();
    } catch (err) {
      if (err instanceof Fail) fail('invalid transaction: ' + err.message + ' (in record.' + t.record.kind + ')');
      throw err;
    }
    return t;
  }

  function headerView(h) {
    return {
      chain_id: toHex(h.chain_id), epoch: num(h.epoch), height: num(h.height), view: num(h.view), parent: toHex(h.parent),
      proposer: h.proposer, time: num(h.time), txs_hash: toHex(h.txs_hash), tx_count: h.tx_count, log_size: num(h.log_size),
      log_root: toHex(h.log_root), state_root: toHex(h.state_root), validator_set: toHex(h.validator_set),
      next_validator_set: toHex(h.next_validator_set)
    };
  }
  function certificateView(c) {
    return {
      kind: VOTE_KINDS[c.kind], epoch: num(c.epoch), view: num(c.view), block: toHex(c.block),
      signatures: c.signatures.map(function (s) { return { index: s.index, signature: toHex(s.signature) }; })
    };
  }
  function validatorSetView(s) {
    return {
      epoch: num(s.epoch), start_height: num(s.start_height),
      validators: s.validators.map(function (v) {
        return { name: v.name, agency: v.agency, consensus_key: toHex(v.consensus_key), network_key: toHex(v.network_key), power: num(v.power) };
      })
    };
  }
  function txView(t) {
    return {
      body: { chain_id: toHex(t.chainId), signer: toHex(t.signer), seq: num(t.seq), record: { kind: t.record.kind } },
      signature: toHex(t.signature),
      // The member's signature on the body (TX_SIGN), under the kernel's rule.
      signature_valid: ed25519Verify(t.signer, signingBytes(TAG.TX_SIGN, t.bodyBytes), t.signature)
    };
  }
  function hashOf(tag, digest) { return { tag: tag, hex: toHex(digest) }; }
  /** Fails unless re-encoding what was decoded gives the same bytes. */
  function sameEncoding(name, again, bytes) {
    if (!bytesEqual(again, bytes)) fail(name + ' re-encodes to other bytes: ' + toHex(again));
  }

  /**
   * Decode `bytes` as the kernel structure `type` (`Canonical::NAME`) as this verifier
   * decodes it (with the type's validation) and return {value, hashes}; throws a Fail.
   * The genesis is not decoded from bytes here (the verifier reads genesis.json): use
   * `genesisStructure`.
   */
  function decodeStructure(type, bytes) {
    var v;
    switch (type) {
      case 'transaction':
        v = decodeTransaction(bytes);
        return { value: txView(v), hashes: { tx_hash: hashOf(TAG.TX_HASH, tagHash(TAG.TX_HASH, bytes)) } };
      case 'log entry':
        v = decodeLogEntry(bytes);
        var tx = txView({ chainId: v.chainId, signer: v.signer, seq: v.seq, record: v.record, signature: v.signature, bodyBytes: v.bodyBytes });
        return {
          value: {
            height: num(v.height), time: num(v.time), tx: tx,
            outcome: v.outcome === 'applied' ? { status: 'applied' } : { status: 'rejected', reason: v.reason }
          },
          hashes: {
            // The log's Merkle leaf (keyed BLAKE3), not the tag's derive-key hash.
            leaf_hash: hashOf(TAG.LOG_LEAF, leafHash(bytes)),
            tx_hash: hashOf(TAG.TX_HASH, tagHash(TAG.TX_HASH, v.txBytes))
          }
        };
      case 'block header':
        v = decodeCanonical('block header', LIMITS.BLOCK_HEADER_ENCODING_BYTES_MAX, bytes, header);
        checkHeader(v);
        sameEncoding('block header', encodeHeader(v), bytes);
        return {
          value: headerView(v),
          // txs_hash is a field of the header (the hash of the block's transactions, which
          // the header does not carry).
          hashes: { block_hash: hashOf(TAG.BLOCK_HASH, headerHash(v)), txs_hash: hashOf(TAG.BLOCK_TXS_HASH, v.txs_hash) }
        };
      case 'certificate':
        v = decodeCanonical('certificate', LIMITS.CERTIFICATE_ENCODING_BYTES_MAX, bytes, certificate);
        checkCertificate(v);
        // The block a certificate certifies is a field of it.
        return { value: certificateView(v), hashes: { block_hash: hashOf(TAG.BLOCK_HASH, v.block) } };
      case 'checkpoint':
        v = decodeCheckpoint(bytes);
        return {
          value: { header: headerView(v.header), certificate: certificateView(v.certificate) },
          hashes: { block_hash: hashOf(TAG.BLOCK_HASH, headerHash(v.header)) }
        };
      case 'epoch link':
        v = decodeEpochLink(bytes);
        return {
          value: {
            header: headerView(v.header), certificate: certificateView(v.certificate),
            next: validatorSetView(v.next), suffix: v.suffix.map(headerView)
          },
          hashes: {
            block_hash: hashOf(TAG.BLOCK_HASH, headerHash(v.header)),
            next_validator_set_hash: hashOf(TAG.VALIDATOR_SET_HASH, setHash(v.next))
          }
        };
      case 'validator set':
        v = decodeCanonical('validator set', LIMITS.VALIDATOR_SET_ENCODING_BYTES_MAX, bytes, validatorSet);
        try { checkValidatorSet(v); } catch (err) {
          if (err instanceof Fail) fail('invalid validator set: ' + err.message);
          throw err;
        }
        sameEncoding('validator set', writeValidatorSet(new Writer(), v).done(), bytes);
        return { value: validatorSetView(v), hashes: { validator_set_hash: hashOf(TAG.VALIDATOR_SET_HASH, setHash(v)) } };
      default:
        fail('cannot decode a ' + JSON.stringify(type) + ' here');
    }
  }

  /** A genesis from its JSON text: {bytes (its canonical encoding, hex), hashes}; throws a Fail. */
  function genesisStructure(text) {
    var p = parseGenesis(text);
    if (!p.chainId) fail('the genesis is of the ' + p.suite + ' suite');
    return {
      hex: toHex(p.bytes),
      value: { chain_name: p.genesis.chain_name, validators: validatorSetView(p.genesis.validators) },
      hashes: {
        chain_id: hashOf(TAG.GENESIS_HASH, p.chainId),
        validator_set_hash: hashOf(TAG.VALIDATOR_SET_HASH, setHash(p.genesis.validators))
      }
    };
  }

  /** A public function's error: the Fail's message, or a thrown error's. */
  function messageOf(err) { return err && err.message ? String(err.message) : String(err); }
  /** Hex to bytes for the public functions (lower-case hex, as the vectors spell it). */
  function bytesOf(field, v) { return v instanceof Uint8Array ? v : hexLower(field, v, 'argument'); }
  /** A 32-byte hash given as hex or bytes, as merkle.rs `digest_of` requires. */
  function hash32(field, v) {
    var b = bytesOf(field, v);
    if (b.length !== 32) fail(field + ': expected a 32-byte hash, found ' + b.length + ' bytes');
    return b;
  }
  function sizeOf(field, v) {
    if (typeof v === 'bigint' && v >= 0n) return v;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    fail(field + ': expected a non-negative integer');
  }

  /**
   * The first key that appears twice in one object of a proof file's JSON text, or null
   * (also null when the text is not JSON: the caller's JSON.parse reports that). Receipts
   * and bundles have one spelling (docs/spec): `chancery verify` refuses a duplicated key,
   * which JSON.parse would resolve silently by keeping the last value.
   */
  function duplicateKey(text) {
    var tree;
    try { tree = parseJson(String(text)); } catch (err) { return null; }
    var found = null;
    (function walk(v) {
      if (found !== null || !v) return;
      if (v.t === 'object') {
        var seen = Object.create(null);
        v.entries.forEach(function (e) {
          if (found === null && seen[e[0]]) found = e[0];
          seen[e[0]] = true;
          walk(e[1]);
        });
      } else if (v.t === 'array') {
        v.items.forEach(walk);
      }
    })(tree);
    return found;
  }

  /**
   * Step `genesis` of both checks (receipts and state bundles): the file read and checked,
   * its chain id, and the pinned chain id if the caller gave one (`options.chain`).
   * Returns {unsupported: detail} for an sm2-sm3 genesis, else {g, chainHex, detail};
   * throws a Fail.
   */
  function genesisStep(genesisText, options) {
    var g = parseGenesis(genesisText);
    if (!g.chainId) {
      return { unsupported: 'This chain uses the ' + g.suite + ' crypto suite, which this page cannot check (no SM2/SM3 here): use `chancery verify` instead.' };
    }
    var chainHex = toHex(g.chainId);
    if (options.chain !== undefined && options.chain !== null) {
      if (typeof options.chain !== 'string' || !/^[0-9a-f]{64}$/.test(options.chain)) fail('the pinned chain id is not 64 lower-case hex digits');
      if (options.chain !== chainHex) fail('the genesis is chain ' + chainHex + ', expected the pinned chain ' + options.chain);
    }
    return {
      g: g,
      chainHex: chainHex,
      detail: 'Genesis ' + JSON.stringify(g.genesis.chain_name) + ' is valid; chain id ' + chainHex +
        (options.chain ? ' (as pinned)' : '') + '; ' + g.genesis.validators.validators.length + ' validators in epoch ' + g.genesis.validators.epoch + '.'
    };
  }

  /** Parse genesis text for callers: {suite, chain_id?, chain_name?, validators?} or throws Error. */
  function parseGenesisPublic(text) {
    try {
      var p = parseGenesis(text);
      if (!p.chainId) return { suite: p.suite };
      return { suite: p.suite, chain_id: toHex(p.chainId), chain_name: p.genesis.chain_name, validators: p.genesis.validators.validators.length };
    } catch (err) {
      throw new Error(err && err.message ? err.message : String(err));
    }
  }

  globalThis.chanceryVerify = {
    verifyReceipt: verifyReceipt,
    verifyStateProof: verifyStateProof,
    chainIdOf: function (text) {
      try { return chainIdOf(text); } catch (err) { throw new Error(err && err.message ? err.message : String(err)); }
    },
    parseGenesis: parseGenesisPublic,
    duplicateKey: duplicateKey,
    // The building blocks on their own, for test vectors (tests/vectors/) and readers.
    // None of them throws: each returns {ok: true, ...} or {ok: false, error}. Bytes are
    // given as Uint8Array or lower-case hex; results are hex.
    /** `Tag::hash`: BLAKE3 derive-key mode, the tag as context. */
    tagHash: function (tag, bytes) {
      try { return { ok: true, hex: toHex(tagHash(String(tag), bytesOf('bytes', bytes))) }; } catch (e) { return { ok: false, error: messageOf(e) }; }
    },
    /** `Tag::signing_bytes`: tag || 0x00 || body. */
    signingBytes: function (tag, body) {
      try { return { ok: true, hex: toHex(signingBytes(String(tag), bytesOf('body', body))) }; } catch (e) { return { ok: false, error: messageOf(e) }; }
    },
    /** The bytes each validator's vote for a certificate (canonical bytes) signs, on the chain `chainId`. */
    voteSigningBytes: function (chainId, certificateBytes) {
      try {
        var c = decodeCanonical('certificate', LIMITS.CERTIFICATE_ENCODING_BYTES_MAX, bytesOf('certificate', certificateBytes), certificate);
        return { ok: true, hex: toHex(voteSigningBytes(hash32('chain_id', chainId), c)) };
      } catch (e) { return { ok: false, error: messageOf(e) }; }
    },
    /** decodeStructure: {ok, value, hashes} or {ok: false, error}. */
    decode: function (type, bytes) {
      try {
        var d = decodeStructure(String(type), bytesOf('bytes', bytes));
        return { ok: true, value: d.value, hashes: d.hashes };
      } catch (e) { return { ok: false, error: messageOf(e) }; }
    },
    /** genesisStructure: {ok, hex, value, hashes} or {ok: false, error}. */
    genesis: function (text) {
      try {
        var g = genesisStructure(text);
        return { ok: true, hex: g.hex, value: g.value, hashes: g.hashes };
      } catch (e) { return { ok: false, error: messageOf(e) }; }
    },
    /** The log's leaf hash of some data (merkle.rs `leaf_hash`). */
    merkleLeafHash: function (data) {
      try { return { ok: true, hex: toHex(leafHash(bytesOf('data', data))) }; } catch (e) { return { ok: false, error: messageOf(e) }; }
    },
    /** The root of the tree of these leaf hashes (merkle.rs `root_with`; the empty root for none). */
    merkleRoot: function (leafHashes) {
      try {
        return { ok: true, hex: toHex(merkleRoot(leafHashes.map(function (h, i) { return hash32('leaf_hashes[' + i + ']', h); }))) };
      } catch (e) { return { ok: false, error: messageOf(e) }; }
    },
    /** merkle.rs `verify_inclusion`: {ok: true} or {ok: false, error}. */
    verifyInclusion: function (index, size, leafHash, proof, root) {
      try {
        verifyInclusion(sizeOf('index', index), sizeOf('size', size), hash32('leaf_hash', leafHash),
          proof.map(function (h, i) { return hash32('proof[' + i + ']', h); }), hash32('root', root));
        return { ok: true, error: null };
      } catch (e) { return { ok: false, error: messageOf(e) }; }
    },
    /** merkle.rs `verify_consistency`: {ok: true} or {ok: false, error} (the kernel's message). */
    verifyConsistency: function (size1, size2, proof, root1, root2) {
      try {
        verifyConsistency(sizeOf('size1', size1), sizeOf('size2', size2),
          proof.map(function (h, i) { return hash32('proof[' + i + ']', h); }), hash32('root1', root1), hash32('root2', root2));
        return { ok: true, error: null };
      } catch (e) { return { ok: false, error: messageOf(e) }; }
    },
    TAG: TAG,
    // For tests and for readers who want to check one signature under the kernel's rule.
    ed25519Verify: function (key, message, sig) {
      try { return ed25519Verify(key, message, sig); } catch (e) { return false; }
    },
    // Forget the cached genesis, key points and signature verdicts (for benchmarks that
    // measure a first verification).
    clearCaches: function () {
      verdicts.clear();
      pointCache = {};
      lastGenesis = { text: null, parsed: null };
    },
    LIMITS: LIMITS,
    STEPS: STEPS,
    STATE_STEPS: STATE_STEPS
  };
})();
