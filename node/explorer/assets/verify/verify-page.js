// The /verify page's glue: reads the page's inputs, fetches the receipt and the genesis
// file (or reads the files the reader chose or dropped), runs chanceryVerify.verifyReceipt
// (verify.js) and shows each step. The verdict is machine-readable in the DOM:
// #verify-result carries data-status ("pending", "running", "valid", "invalid",
// "unsupported"), data-failed (the failing step's id) and data-ms (the time the check
// took). Classic script, no framework, nothing sent anywhere but the two GETs to the
// node that served the page.
(function () {
  'use strict';
  var doc = document;
  var zh = (doc.documentElement.lang || '').indexOf('zh') === 0;
  function t(z, e) { return zh ? z : e; }
  var STEP_NAMES = {
    format: t('证明文件格式', 'Proof file format'),
    genesis: t('创世文件与链标识', 'Genesis file and chain id'),
    entry: t('日志条目与交易', 'Log entry and transaction'),
    checkpoint: t('检查点：验证人法定多数签名', 'Checkpoint: signatures of a quorum of validators'),
    inclusion: t('包含证明：条目在检查点的日志根之下', 'Inclusion proof: the entry under the checkpoint\'s log root'),
    state: t('状态证明：值在检查点的状态根之下', 'State proof: the value under the checkpoint\'s state root'),
    fetch: t('获取证明与创世文件', 'Fetching the proof and the genesis file'),
    files: t('读取文件', 'Reading the files')
  };
  var HEX64 = /^[0-9a-f]{64}$/;

  var result = doc.getElementById('verify-result');
  var steps = doc.getElementById('verify-steps');
  var summary = doc.getElementById('verify-summary');
  var trust = doc.getElementById('verify-trust');
  if (!result || !steps) return;

  function el(tag, cls, text) {
    var e = doc.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function clear(e) { while (e && e.firstChild) e.removeChild(e.firstChild); }

  function setStatus(status, failed, message, ms) {
    result.setAttribute('data-status', status);
    if (failed) result.setAttribute('data-failed', failed); else result.removeAttribute('data-failed');
    if (ms !== undefined) result.setAttribute('data-ms', ms.toFixed(1)); else result.removeAttribute('data-ms');
    clear(result);
    var badge = el('span', 'badge' + (status === 'valid' ? ' ok' : (status === 'invalid' ? ' bad' : '')));
    badge.textContent = {
      pending: t('等待输入', 'Waiting for input'),
      running: t('验证中…', 'Checking…'),
      valid: t('有效', 'Valid'),
      invalid: t('无效', 'Invalid'),
      unsupported: t('无法在浏览器中验证', 'Cannot be checked in the browser')
    }[status] || status;
    result.appendChild(badge);
    if (message) result.appendChild(doc.createTextNode(' ' + message));
  }

  function showSteps(list) {
    clear(steps);
    list.forEach(function (s) {
      var li = el('li');
      li.setAttribute('data-step', s.id);
      li.setAttribute('data-ok', s.ok ? 'true' : 'false');
      li.appendChild(el('span', 'badge' + (s.ok ? ' ok' : ' bad'), s.ok ? '✓' : '✗'));
      li.appendChild(doc.createTextNode(' '));
      li.appendChild(el('strong', null, STEP_NAMES[s.id] || s.id));
      if (s.detail) {
        li.appendChild(doc.createTextNode(': '));
        li.appendChild(el('span', 'detail', s.detail));
      }
      steps.appendChild(li);
    });
  }

  function showSummary(r, chain, pinned) {
    clear(summary);
    if (r.summary && r.summary.key !== undefined) {
      // A state proof: the key, whether it is present, the proven value.
      var st = r.summary;
      var sdl = el('dl', 'kv');
      sdl.appendChild(el('dt', null, t('状态键', 'State key')));
      var kd = el('dd');
      kd.appendChild(el('code', null, JSON.stringify(st.key)));
      sdl.appendChild(kd);
      sdl.appendChild(el('dt', null, t('检查点', 'Checkpoint')));
      sdl.appendChild(el('dd', null, t('高度 ', 'height ') + st.checkpoint_height + t('，日志大小 ', ', log size ') + st.checkpoint_size
        + (st.checkpoint_epoch ? t('，纪元 ', ', epoch ') + st.checkpoint_epoch : '')));
      sdl.appendChild(el('dt', null, t('证明的值', 'Proven value')));
      var vd = el('dd');
      if (st.present) vd.appendChild(el('pre', null, JSON.stringify(st.value, null, 2)));
      else vd.appendChild(doc.createTextNode(t('不存在：该检查点的状态中没有这个键。', 'Absent: the state at that checkpoint has no such key.')));
      sdl.appendChild(vd);
      summary.appendChild(sdl);
    } else if (r.summary) {
      var s = r.summary;
      var dl = el('dl', 'kv');
      function row(k, v, code) {
        dl.appendChild(el('dt', null, k));
        var dd = el('dd');
        dd.appendChild(code ? el('code', null, String(v)) : doc.createTextNode(String(v)));
        dl.appendChild(dd);
      }
      row(t('记录类型', 'Record kind'), s.kind);
      row(t('记录编号', 'Subject'), s.subject_id, true);
      row(t('交易哈希', 'Transaction'), s.tx_hash, true);
      row(t('区块高度 / 日志序号', 'Block height / log index'), s.height + ' / ' + s.index);
      row(t('执行结果', 'Outcome'), s.outcome === 'applied' ? t('已执行', 'applied')
        : t('被拒绝', 'rejected') + (s.reason ? ' (' + s.reason + ')' : ''));
      row(t('检查点', 'Checkpoint'), t('高度 ', 'height ') + s.checkpoint_height + t('，日志大小 ', ', log size ') + s.checkpoint_size
        + (s.checkpoint_epoch ? t('，纪元 ', ', epoch ') + s.checkpoint_epoch : ''));
      summary.appendChild(dl);
      if (s.outcome !== 'applied') {
        summary.appendChild(el('p', 'restricted', t(
          '账本收录了这笔交易，但执行时拒绝了它：它没有改变任何状态。',
          'The ledger holds this transaction, but execution rejected it: it changed no state.')));
      }
    }
    clear(trust);
    if (!chain) return;
    if (pinned) {
      trust.appendChild(doc.createTextNode(t('已按固定的链标识核对创世文件：', 'The genesis file was checked against the pinned chain id: ')));
      trust.appendChild(el('code', null, chain));
    } else {
      trust.appendChild(doc.createTextNode(t(
        '本次验证信任了节点提供的创世文件，其链标识为 ',
        'This check trusted the genesis file the node served; its chain id is ')));
      trust.appendChild(el('code', null, chain));
      trust.appendChild(doc.createTextNode(t(
        '。请将它与各机构在自己网站上公布的链标识比对；在地址后加上 ',
        '. Compare it with the chain id the agencies publish on their own sites; add ')));
      trust.appendChild(el('code', null, '&chain=' + chain));
      trust.appendChild(doc.createTextNode(t(
        ' 即可固定它，此后任何不同的创世文件都会被判为无效。',
        ' to this page\'s address to pin it: from then on any other genesis file is refused.')));
    }
  }

  // Which check a proof file asks for: a receipt has "entry" and "index"; a state-proof
  // bundle has a "proof" or "state_proof" and a "checkpoint".
  function isStateBundle(doc) {
    // As client/cli/src/verify.rs `detect` and verify-cli.js tell them apart.
    return !!doc && typeof doc === 'object' && !Array.isArray(doc) &&
      !(doc.entry !== undefined && doc.index !== undefined) &&
      (doc.proof !== undefined || doc.state_proof !== undefined) && doc.checkpoint !== undefined;
  }

  function run(receiptText, genesisText, opts, source) {
    setStatus('running');
    var t0 = performance.now();
    var r;
    var receipt;
    try {
      receipt = JSON.parse(receiptText);
      var dup = window.chanceryVerify.duplicateKey(receiptText);
      if (dup !== null) {
        r = { status: 'invalid', failed: 'format', steps: [{ id: 'format', ok: false, detail: 'The proof file has the key ' + JSON.stringify(dup) + ' twice: expected each key once.' }], summary: null };
      }
    } catch (e) {
      r = { status: 'invalid', failed: 'format', steps: [{ id: 'format', ok: false, detail: 'The proof file is not JSON: ' + e.message }], summary: null };
    }
    if (!r) {
      r = isStateBundle(receipt)
        ? window.chanceryVerify.verifyStateProof(receipt, genesisText, { chain: opts.chain })
        : window.chanceryVerify.verifyReceipt(receipt, genesisText, opts);
    }
    var ms = performance.now() - t0;
    showSteps((source ? [source] : []).concat(r.steps));
    var chain = null;
    try { chain = window.chanceryVerify.chainIdOf(genesisText); } catch (e) { chain = null; }
    showSummary(r, typeof chain === 'string' ? chain : null, !!opts.chain);
    var msg = r.status === 'valid'
      ? (r.summary && r.summary.key !== undefined
        ? t('状态证明与创世文件一致：上面的值就是该检查点时账本的状态。', 'The state proof agrees with the genesis file: the value above is the ledger\'s state at that checkpoint.')
        : t('收据与创世文件一致：这条记录在账本中，历史未被改写。', 'The receipt agrees with the genesis file: the record is in the ledger, and its history was not rewritten.'))
      : r.status === 'unsupported'
        ? t('此链使用 SM2/SM3 密码套件，浏览器验证器尚不支持；请使用 chancery verify。', 'This chain uses the SM2/SM3 suite, which the browser verifier does not support yet; use chancery verify.')
        : t('未通过：', 'Failed at: ') + (STEP_NAMES[r.failed] || r.failed);
    setStatus(r.status, r.failed, msg, ms);
  }

  function fail(step, detail) {
    showSteps([{ id: step, ok: false, detail: detail }]);
    setStatus('invalid', step, t('未通过：', 'Failed at: ') + STEP_NAMES[step]);
  }

  // The options of the address: ?tx=HASH[&chain=CHAIN_ID].
  var params = new URLSearchParams(location.search);
  var tx = (params.get('tx') || '').trim().toLowerCase();
  var chain = (params.get('chain') || '').trim().toLowerCase();
  var opts = {};
  if (chain) opts.chain = chain;
  if (tx) opts.tx = tx;

  // ?asset=ID or ?grant=ID: the state proof of its current state.
  var stateKind = params.get('asset') !== null ? 'asset' : (params.get('grant') !== null ? 'grant' : null);
  var stateId = stateKind ? (params.get(stateKind) || '').trim() : '';
  var ID_RE = /^[A-Za-z0-9_.:\/-]{1,64}$/;

  var get = function (u) {
    return fetch(u, { headers: { Accept: 'application/json' } }).then(function (resp) {
      return resp.text().then(function (body) {
        if (!resp.ok) throw new Error('GET ' + u + ': HTTP ' + resp.status + ' ' + body.slice(0, 300));
        return body;
      });
    });
  };

  if (stateKind && location.protocol !== 'file:') {
    if (!ID_RE.test(stateId)) {
      fail('fetch', stateKind + ' must be 1 to 64 of A-Z a-z 0-9 - _ . : /; found ' + JSON.stringify(stateId.slice(0, 80)));
    } else if (chain && !HEX64.test(chain)) {
      fail('fetch', 'chain must be 64 lower-case hex digits (a chain id); found ' + JSON.stringify(chain.slice(0, 80)));
    } else {
      setStatus('running');
      var u = '/v1/proofs/state/' + stateKind + '/' + encodeURIComponent(stateId);
      Promise.all([get(u), get('/genesis.json')]).then(function (texts) {
        run(texts[0], texts[1], opts, { id: 'fetch', ok: true, detail: 'GET ' + u + ' and GET /genesis.json from ' + location.host });
      }, function (e) {
        fail('fetch', e.message);
      });
    }
  } else if (tx && location.protocol !== 'file:') {
    if (!HEX64.test(tx)) {
      fail('fetch', 'tx must be 64 lower-case hex digits (a transaction hash); found ' + JSON.stringify(tx.slice(0, 80)));
    } else if (chain && !HEX64.test(chain)) {
      fail('fetch', 'chain must be 64 lower-case hex digits (a chain id); found ' + JSON.stringify(chain.slice(0, 80)));
    } else {
      setStatus('running');
      Promise.all([get('/v1/receipts/' + tx), get('/genesis.json')]).then(function (texts) {
        run(texts[0], texts[1], opts, { id: 'fetch', ok: true, detail: 'GET /v1/receipts/' + tx + ' and GET /genesis.json from ' + location.host });
      }, function (e) {
        fail('fetch', e.message);
      });
    }
  } else {
    setStatus('pending', null, t('输入交易哈希，或选择收据文件和创世文件。', 'Enter a transaction hash, or choose a receipt file and a genesis file.'));
  }

  // Offline: a receipt file and a genesis file, chosen or dropped.
  var files = { receipt: null, genesis: null };
  var rIn = doc.getElementById('receipt-file');
  var gIn = doc.getElementById('genesis-file');
  var drop = doc.getElementById('drop');
  function read(file) {
    return new Promise(function (ok, no) {
      var fr = new FileReader();
      fr.onload = function () { ok(String(fr.result)); };
      fr.onerror = function () { no(fr.error); };
      fr.readAsText(file);
    });
  }
  function tryFiles() {
    if (!files.receipt || !files.genesis) return;
    Promise.all([read(files.receipt), read(files.genesis)]).then(function (texts) {
      var o = {};
      if (chain) o.chain = chain;
      run(texts[0], texts[1], o, { id: 'files', ok: true, detail: files.receipt.name + ', ' + files.genesis.name + ' (read in this browser, not sent anywhere)' });
    }, function (e) { fail('files', String(e)); });
  }
  if (rIn) rIn.addEventListener('change', function () { files.receipt = rIn.files[0] || null; tryFiles(); });
  if (gIn) gIn.addEventListener('change', function () { files.genesis = gIn.files[0] || null; tryFiles(); });
  if (drop) {
    drop.addEventListener('dragover', function (e) { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', function () { drop.classList.remove('over'); });
    drop.addEventListener('drop', function (e) {
      e.preventDefault();
      drop.classList.remove('over');
      var list = Array.prototype.slice.call(e.dataTransfer.files || []);
      // Tell the two apart by content: a genesis file has "validators" and "chain_name".
      Promise.all(list.slice(0, 2).map(read)).then(function (texts) {
        texts.forEach(function (text, i) {
          if (/"chain_name"/.test(text) && /"validators"/.test(text)) files.genesis = list[i];
          else files.receipt = list[i];
        });
        tryFiles();
      });
    });
  }
  window.chanceryVerifyPage = { run: run };
})();
