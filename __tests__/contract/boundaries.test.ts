/**
 * The shape of the product: which folder may import which. The contract depends on nothing but
 * zod; modules reference the Lambdas only as built bundles; a handler folder imports only its own
 * files, lambdas/shared and the contract.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const root = path.join(__dirname, '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return tsFiles(full);
    return entry.endsWith('.ts') ? [full] : [];
  });
}

/** Every import of a file: relative ones resolved to a path from the project root, packages as they are. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map(({ fileName }) =>
    fileName.startsWith('.') ? path.relative(root, path.resolve(path.dirname(file), fileName)) : `package:${fileName}`,
  );
}

/** `file -> import` for each import that `allowed` refuses. */
function violations(folder: string, allowed: (imported: string, file: string) => boolean): string[] {
  return tsFiles(path.join(root, folder)).flatMap((file) =>
    importsOf(file)
      .filter((imported) => !allowed(imported, path.relative(root, file)))
      .map((imported) => `${path.relative(root, file)} -> ${imported}`),
  );
}

const inFolder = (imported: string, folder: string) => imported === folder || imported.startsWith(`${folder}/`);

describe('import boundaries', () => {
  it('keeps the contract free of the AWS SDK, cdktf and the rest of the project', () => {
    expect(violations('contract', (imported) => imported === 'package:zod/mini' || inFolder(imported, 'contract'))).toEqual([]);
  });

  it('keeps modules/ from importing lambdas/, local/ or scripts/', () => {
    const refused = ['lambdas', 'local', 'scripts', 'app', 'main', 'batch-gateway.config', '__tests__'];
    expect(violations('modules', (imported) => !refused.some((folder) => inFolder(imported, folder)))).toEqual([]);
  });

  it('lets a handler folder import only its own files, lambdas/shared, the contract and packages', () => {
    const allowed = (imported: string, file: string) =>
      imported.startsWith('package:') || inFolder(imported, 'contract') || inFolder(imported, 'lambdas/shared') || inFolder(imported, path.dirname(file));
    expect(violations('lambdas', allowed)).toEqual([]);
  });

  it('can fail: a handler importing another handler is reported', () => {
    const allowed = (imported: string, file: string) => inFolder(imported, path.dirname(file));
    expect(violations('lambdas/notify', (imported, file) => allowed(imported, file) && !imported.startsWith('package:'))).toContain(
      'lambdas/notify/core.ts -> lambdas/shared/connections-table',
    );
  });
});
