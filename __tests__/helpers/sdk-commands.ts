/**
 * The AWS SDK commands a handler can send: every `new XxxCommand(` reachable from the `handler`
 * it exports, following the functions it references through its own files, lambdas/shared and the
 * contract. Syntactic (TypeScript's parser, no type checker: a type-checked program of the handlers
 * takes seconds), which is enough for this code base: imports are resolved by name, a function is
 * reached when any reachable code names it (called or passed as a value), and the module-level code
 * of every imported file runs. Names shadowed by locals may add a function that is not called; that
 * errs on the side of more requests, never fewer.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

export const PROJECT_ROOT = path.join(__dirname, '..', '..');

/** One `new XxxCommand(...)` a handler can reach. */
export interface ReachableCommand {
  /** The SDK package, e.g. `@aws-sdk/client-batch`. */
  readonly client: string;
  /** E.g. `SubmitJobCommand`. */
  readonly command: string;
  /** The file holding it, from the project root. */
  readonly file: string;
  readonly line: number;
  /**
   * The input's properties that are known without running the code: string constants (`IndexName`),
   * and the keys of object literals (`tags`, computed keys resolved).
   */
  readonly input: Record<string, string | string[]>;
}

interface ImportBinding {
  readonly from: string;
  /** The exported name, `default`, or `*` for a namespace import. */
  readonly name: string;
}

interface SourceModule {
  readonly file: string;
  readonly source: ts.SourceFile;
  readonly imports: Map<string, ImportBinding>;
  /** Top-level functions, classes and variables by name. */
  readonly declarations: Map<string, ts.Node>;
  /** `export { local as exported }` and `export function exported`. */
  readonly localExports: Map<string, string>;
  readonly reExports: Map<string, ImportBinding>;
  readonly starExports: string[];
  /** Relative modules imported for their values (not `import type`). */
  readonly valueImports: string[];
}

type Resolved = { readonly module: SourceModule; readonly node: ts.Node } | { readonly external: string; readonly name: string };

const modules = new Map<string, SourceModule>();

function moduleAt(file: string): SourceModule {
  const known = modules.get(file);
  if (known) return known;
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const m: SourceModule = { file, source, imports: new Map(), declarations: new Map(), localExports: new Map(), reExports: new Map(), starExports: [], valueImports: [] };
  const isExported = (node: ts.Node) => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((mod) => mod.kind === ts.SyntaxKind.ExportKeyword);
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const from = (statement.moduleSpecifier as ts.StringLiteral).text;
      const clause = statement.importClause;
      if (clause?.isTypeOnly) continue;
      if (from.startsWith('.')) m.valueImports.push(from);
      if (clause?.name) m.imports.set(clause.name.text, { from, name: 'default' });
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) m.imports.set(bindings.name.text, { from, name: '*' });
      if (bindings && ts.isNamedImports(bindings)) {
        for (const el of bindings.elements) if (!el.isTypeOnly) m.imports.set(el.name.text, { from, name: (el.propertyName ?? el.name).text });
      }
    } else if (ts.isExportDeclaration(statement)) {
      if (statement.isTypeOnly) continue;
      const from = statement.moduleSpecifier && (statement.moduleSpecifier as ts.StringLiteral).text;
      if (from?.startsWith('.')) m.valueImports.push(from);
      const clause = statement.exportClause;
      if (!clause && from) m.starExports.push(from);
      if (clause && ts.isNamedExports(clause)) {
        for (const el of clause.elements) {
          const local = (el.propertyName ?? el.name).text;
          if (from) m.reExports.set(el.name.text, { from, name: local });
          else m.localExports.set(el.name.text, local);
        }
      }
    } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) {
      m.declarations.set(statement.name.text, statement);
      if (isExported(statement)) m.localExports.set(statement.name.text, statement.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) {
        if (!ts.isIdentifier(d.name)) continue;
        m.declarations.set(d.name.text, d);
        if (isExported(statement)) m.localExports.set(d.name.text, d.name.text);
      }
    }
  }
  modules.set(file, m);
  return m;
}

function resolveModuleFile(fromFile: string, specifier: string): string {
  const base = path.resolve(path.dirname(fromFile), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (existsSync(candidate)) return candidate;
  throw new Error(`cannot resolve '${specifier}' from ${path.relative(PROJECT_ROOT, fromFile)}`);
}

function resolveBinding(fromFile: string, binding: ImportBinding): Resolved | undefined {
  if (!binding.from.startsWith('.')) return { external: binding.from, name: binding.name };
  if (binding.name === '*' || binding.name === 'default') return undefined;
  return resolveExport(moduleAt(resolveModuleFile(fromFile, binding.from)), binding.name);
}

function resolveExport(m: SourceModule, name: string): Resolved | undefined {
  const local = m.localExports.get(name);
  if (local !== undefined) return resolveName(m, local);
  const re = m.reExports.get(name);
  if (re) return resolveBinding(m.file, re);
  for (const star of m.starExports) {
    const found = resolveExport(moduleAt(resolveModuleFile(m.file, star)), name);
    if (found) return found;
  }
  return undefined;
}

/** What a top-level name of a module is: one of its declarations, or an import. */
function resolveName(m: SourceModule, name: string): Resolved | undefined {
  const node = m.declarations.get(name);
  if (node) return { module: m, node };
  const binding = m.imports.get(name);
  return binding ? resolveBinding(m.file, binding) : undefined;
}

/** The string value of an expression made of literals and constants (`'x'`, `CONST`, `'x' as const`). */
function constantString(m: SourceModule, expr: ts.Expression): string | undefined {
  if (ts.isStringLiteralLike(expr)) return expr.text;
  if (ts.isAsExpression(expr) || ts.isParenthesizedExpression(expr)) return constantString(m, expr.expression);
  if (ts.isIdentifier(expr)) {
    const r = resolveName(m, expr.text);
    if (r && 'node' in r && ts.isVariableDeclaration(r.node) && r.node.initializer) return constantString(r.module, r.node.initializer);
  }
  return undefined;
}

function inputOf(m: SourceModule, call: ts.NewExpression): Record<string, string | string[]> {
  const arg = call.arguments?.[0];
  const input: Record<string, string | string[]> = {};
  if (!arg || !ts.isObjectLiteralExpression(arg)) return input;
  const keyOf = (name: ts.PropertyName) => (ts.isComputedPropertyName(name) ? constantString(m, name.expression) : ts.isIdentifier(name) || ts.isStringLiteral(name) ? name.text : undefined);
  for (const p of arg.properties) {
    if (!ts.isPropertyAssignment(p)) continue;
    const key = keyOf(p.name);
    if (key === undefined) continue;
    const text = constantString(m, p.initializer);
    if (text !== undefined) input[key] = text;
    else if (ts.isObjectLiteralExpression(p.initializer)) {
      input[key] = p.initializer.properties.flatMap((q) => (q.name ? [keyOf(q.name)] : [])).filter((k): k is string => k !== undefined);
    }
  }
  return input;
}

/** Statements that run when a module is imported (not the bodies of its functions). */
function moduleInitialization(m: SourceModule): ts.Node[] {
  return m.source.statements.flatMap((s): ts.Node[] => {
    if (ts.isImportDeclaration(s) || ts.isExportDeclaration(s) || ts.isFunctionDeclaration(s) || ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s)) return [];
    if (ts.isVariableStatement(s)) {
      return s.declarationList.declarations.flatMap((d) => (d.initializer && !ts.isArrowFunction(d.initializer) && !ts.isFunctionExpression(d.initializer) ? [d.initializer] : []));
    }
    return [s];
  });
}

/** Every SDK command reachable from the `handler` that `handlerFile` exports. */
export function commandsReachableFrom(handlerFile: string): ReachableCommand[] {
  const entry = moduleAt(path.resolve(PROJECT_ROOT, handlerFile));
  const handler = resolveExport(entry, 'handler');
  if (!handler || !('node' in handler)) throw new Error(`${handlerFile} exports no handler`);

  const found: ReachableCommand[] = [];
  const visited = new Set<ts.Node>();
  const initialized = new Set<string>();
  const queue: { module: SourceModule; node: ts.Node }[] = [];
  const enqueue = (module: SourceModule, node: ts.Node) => {
    if (!visited.has(node)) {
      visited.add(node);
      queue.push({ module, node });
    }
  };
  const initialize = (m: SourceModule) => {
    if (initialized.has(m.file)) return;
    initialized.add(m.file);
    for (const node of moduleInitialization(m)) enqueue(m, node);
    for (const specifier of m.valueImports) initialize(moduleAt(resolveModuleFile(m.file, specifier)));
  };
  initialize(entry);
  enqueue(handler.module, handler.node);

  while (queue.length > 0) {
    const { module: m, node } = queue.shift()!;
    const visit = (n: ts.Node): void => {
      if (ts.isNewExpression(n) && ts.isIdentifier(n.expression)) {
        const r = resolveName(m, n.expression.text);
        if (r && 'external' in r && r.external.startsWith('@aws-sdk/client-') && r.name.endsWith('Command')) {
          found.push({
            client: r.external,
            command: r.name,
            file: path.relative(PROJECT_ROOT, m.file),
            line: m.source.getLineAndCharacterOfPosition(n.getStart()).line + 1,
            input: inputOf(m, n),
          });
        }
      }
      const isPropertyName = (ts.isPropertyAccessExpression(n.parent) && n.parent.name === n) || (ts.isPropertyAssignment(n.parent) && n.parent.name === n);
      if (ts.isIdentifier(n) && !isPropertyName) {
        const r = resolveName(m, n.text);
        if (r && 'node' in r) {
          initialize(r.module);
          enqueue(r.module, r.node);
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(node);
  }
  return found.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}
