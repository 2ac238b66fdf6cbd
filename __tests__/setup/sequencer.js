// Longest files first, so that no worker starts a minute-long file when the others are done. jest
// knows each file's last duration from its cache; a fresh clone (CI) has none, and file size, jest's
// fallback, ranks the short-lived unit tests first. Without a duration, a file that starts a process
// of minutes (terraform, npm, local mode, a browser) is ranked as one.
const { readFileSync } = require('node:fs');
const Sequencer = require('@jest/test-sequencer').default;

const SLOW_MARKERS = /\b(startLocalProcess|initValidatePlan|initAndValidate)\(|execFileSync\('npm'/;
/** What a file of each kind is taken to last, in ms, when jest has not timed it. */
const ASSUMED_MS = { slow: 60_000, other: 2_000 };

class LongestFirstSequencer extends Sequencer {
  sort(tests) {
    const estimate = (test) => {
      const timed = this.time(test);
      if (timed != null) return timed;
      return SLOW_MARKERS.test(readFileSync(test.path, 'utf8')) ? ASSUMED_MS.slow : ASSUMED_MS.other;
    };
    const ranked = tests.map((test) => ({ test, failed: this.hasFailed(test), ms: estimate(test) }));
    // What failed last time first (its news matters most), then the longest.
    ranked.sort((a, b) => Number(b.failed) - Number(a.failed) || b.ms - a.ms || (a.test.path < b.test.path ? -1 : 1));
    return ranked.map((r) => r.test);
  }
}

module.exports = LongestFirstSequencer;
