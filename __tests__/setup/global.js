// Runs once before the test workers start, so what it sets in process.env reaches them.
const { mkdirSync } = require('node:fs');
const path = require('node:path');

module.exports = async () => {
  // cdktf's Testing helpers leave synth folders in the temp dir: keep them in the ignored .tmp/.
  const tmp = path.join(__dirname, '..', '..', '.tmp', 'jest');
  mkdirSync(tmp, { recursive: true });
  process.env.TMPDIR = tmp;
};
