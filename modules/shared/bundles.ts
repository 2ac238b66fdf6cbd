import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** The project root: the nearest folder above this file that holds package.json. */
function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`batch-gateway: no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

/** Where `npm run build` writes the zipped bundle of the Lambda `name` (`dist/bundles/<name>.zip`). */
export function lambdaBundleZip(name: string): string {
  const zip = path.join(projectRoot(), 'dist', 'bundles', `${name}.zip`);
  if (!existsSync(zip)) {
    throw new Error(`batch-gateway: the bundle of Lambda '${name}' is missing at ${zip}; run 'npm run build' first`);
  }
  return zip;
}

/** Where `npm run build` writes the bundle of the Lambda `name` (one `index.js` per folder). */
export function lambdaBundleDir(name: string): string {
  const dir = path.join(projectRoot(), 'dist', 'bundles', name);
  if (!existsSync(path.join(dir, 'index.js'))) {
    throw new Error(`batch-gateway: the bundle of Lambda '${name}' is missing at ${dir}; run 'npm run build' first`);
  }
  return dir;
}
