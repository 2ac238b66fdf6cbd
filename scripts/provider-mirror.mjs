// `node scripts/provider-mirror.mjs`: prints the root of the local hashicorp/aws provider mirror
// the tools use: TF_PROVIDER_MIRROR at any level of its tree, else one found on this machine the
// way `npm start` finds one when the registry is out of reach (scripts/lib/provider-mirror.ts).
// .ci/run hands it to the tests as TF_PROVIDER_MIRROR. Exit 0: printed; 1: TF_PROVIDER_MIRROR is
// not a usable mirror; 2: none found (the registry must serve). Builds dist/ first when missing.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from './build.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const compiled = path.join(root, 'dist/app/scripts/lib/provider-mirror.js');

try {
  if (!existsSync(compiled)) await build({ quiet: true });
  const { findProviderMirror, mirrorRootOf, terraformPlatform } = require(compiled);
  // The version the stacks pin: the one the provider bindings were generated for.
  const bindings = JSON.parse(readFileSync(require.resolve('@cdktf/provider-aws/package.json', { paths: [root] }), 'utf8'));
  const version = bindings.cdktf?.provider?.version;
  if (process.env.TF_PROVIDER_MIRROR) {
    console.log(mirrorRootOf(process.env.TF_PROVIDER_MIRROR, { version }));
  } else {
    const { mirror, searched } = findProviderMirror({ version, exclude: [root] });
    if (!mirror) {
      console.error(`no local mirror of hashicorp/aws ${version} (${terraformPlatform()}) found; looked in: ${searched.join(', ')}`);
      process.exit(2);
    }
    console.log(mirror.root);
  }
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
