// The measuring loop of the verifier benchmarks, shared by bench.js (Node) and
// bench-browser.js (the same loop inside a headless Chromium page). Classic script:
// defines globalThis.chanceryBench.measure.
(function () {
  'use strict';
  function median(xs) {
    var s = xs.slice().sort(function (a, b) { return a - b; });
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }
  // runs: [{what, receipt (parsed), genesis (text)}]; now(): milliseconds, fractional.
  // Each iteration verifies from cold caches (genesis, key points and signature verdicts
  // forgotten: a first visit to the page), then once more with warm caches (the page
  // checking another receipt of the same chain). Returns one line of text per run, or
  // throws if a receipt is not valid.
  function measure(verify, runs, iterations, now) {
    return runs.map(function (run) {
      var cold = [];
      var warm = [];
      for (var i = 0; i < iterations; i++) {
        verify.clearCaches();
        var t = now();
        var r = verify.verifyReceipt(run.receipt, run.genesis, {});
        cold.push(now() - t);
        if (r.status !== 'valid') {
          throw new Error(run.what + ': not valid: ' + JSON.stringify(r.steps[r.steps.length - 1]));
        }
        t = now();
        verify.verifyReceipt(run.receipt, run.genesis, {});
        warm.push(now() - t);
      }
      return (run.what + '                                    ').slice(0, 36) +
        ' cold: median ' + median(cold).toFixed(1) + ' ms (min ' + Math.min.apply(null, cold).toFixed(1) +
        ', max ' + Math.max.apply(null, cold).toFixed(1) + ')' +
        '   warm: median ' + median(warm).toFixed(2) + ' ms   (' + iterations + ' runs)';
    });
  }
  globalThis.chanceryBench = { measure: measure, median: median };
})();
