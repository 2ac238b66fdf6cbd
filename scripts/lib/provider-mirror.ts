/**
 * Local mirrors of the hashicorp/aws provider, for machines without access to the Terraform
 * registry. A filesystem mirror is a folder holding `registry.terraform.io/hashicorp/aws/...`,
 * either unpacked (`<version>/<platform>/terraform-provider-aws_*`) or packed
 * (`terraform-provider-aws_<version>_<platform>.zip`): the layouts Terraform's `filesystem_mirror`
 * reads. Nothing here names a machine's own mirror: it is given (`TF_PROVIDER_MIRROR`, at any level
 * of its tree) or found where Terraform and people put mirrors.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';

/** The provider the stacks need, as it appears in a mirror's tree. */
export const AWS_PROVIDER = { hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'aws' } as const;

const PROVIDER_DIR = path.join(AWS_PROVIDER.hostname, AWS_PROVIDER.namespace, AWS_PROVIDER.type);
const BINARY_PREFIX = `terraform-provider-${AWS_PROVIDER.type}`;

/** A path that is not a usable mirror, or no mirror found: the message says what was expected. */
export class ProviderMirrorError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ProviderMirrorError';
  }
}

/** A mirror that holds the provider. */
export interface ProviderMirror {
  /** The folder holding `registry.terraform.io/`: what a `filesystem_mirror` block's `path` names. */
  readonly root: string;
  /** The versions of hashicorp/aws it holds for the platform, oldest first. */
  readonly versions: readonly string[];
  /** How it was chosen: `TF_PROVIDER_MIRROR`, or where it was found. */
  readonly source: string;
}

/** Terraform's name of a platform (`linux_amd64`, `darwin_arm64`, ...). @default - this machine's */
export function terraformPlatform(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const os = platform === 'win32' ? 'windows' : platform;
  const cpu = ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' } as Record<string, string>)[arch] ?? arch;
  return `${os}_${cpu}`;
}

/** Where hashicorp/aws `version` for `platform` lies in a mirror rooted at `root` (unpacked layout), for messages. */
export function expectedProviderPath(root: string, version: string | undefined, platform = terraformPlatform()): string {
  return path.join(root, PROVIDER_DIR, version ?? '<version>', platform, `${BINARY_PREFIX}_*`);
}

/** The versions of hashicorp/aws a mirror holds for `platform`, in either layout; none when `root` is not one. */
export function mirroredVersions(root: string, platform = terraformPlatform()): string[] {
  const providerDir = path.join(root, PROVIDER_DIR);
  const versions = new Set<string>();
  for (const entry of entries(providerDir)) {
    const packed = new RegExp(`^${BINARY_PREFIX}_(.+)_${platform}\\.zip$`).exec(entry);
    if (packed) versions.add(packed[1]);
    else if (entries(path.join(providerDir, entry, platform)).some((f) => f.startsWith(BINARY_PREFIX))) versions.add(entry);
  }
  return [...versions].sort(compareVersions);
}

/**
 * The mirror root of a path at any level of a mirror's tree: the root itself, `registry.terraform.io`,
 * `.../hashicorp`, `.../aws`, `.../aws/<version>`, the platform folder or the binary (or packed zip).
 * Throws a {@link ProviderMirrorError} naming what was expected when the path is not in a mirror, or
 * its mirror lacks the provider (or `version` of it) for the platform.
 */
export function mirrorRootOf(given: string, options: { readonly version?: string; readonly platform?: string; readonly name?: string } = {}): string {
  const name = options.name ?? 'TF_PROVIDER_MIRROR';
  const platform = options.platform ?? terraformPlatform();
  const expected = `a Terraform filesystem mirror: the folder holding ${path.join(PROVIDER_DIR, options.version ?? '<version>', platform)}/, or any folder or file below it`;
  const resolved = path.resolve(given);
  if (!existsSync(resolved)) throw new ProviderMirrorError(`${name} is ${given}, which does not exist: expected ${expected}`);
  const root = mirrorRootAbove(resolved);
  if (root === undefined) throw new ProviderMirrorError(`${name} is ${given}, which is not in a provider mirror (no ${AWS_PROVIDER.hostname}/ in it or above it): expected ${expected}`);
  const versions = mirroredVersions(root, platform);
  if (versions.length === 0) {
    throw new ProviderMirrorError(`${name} is ${given}: the mirror ${root} holds no ${AWS_PROVIDER.namespace}/${AWS_PROVIDER.type} for ${platform} (expected ${expectedProviderPath(root, options.version, platform)})`);
  }
  if (options.version !== undefined && !versions.includes(options.version)) {
    throw new ProviderMirrorError(
      `${name} is ${given}: the mirror ${root} holds ${AWS_PROVIDER.namespace}/${AWS_PROVIDER.type} ${versions.join(', ')} for ${platform}, but the stack needs ${options.version} (expected ${expectedProviderPath(root, options.version, platform)})`,
    );
  }
  return root;
}

/** The nearest folder at or above `resolved` that holds `registry.terraform.io/`. */
function mirrorRootAbove(resolved: string): string | undefined {
  // The binary lies five levels below the root (hostname/namespace/type/version/platform/binary).
  let dir = resolved;
  for (let level = 0; level <= 6; level++) {
    if (path.basename(dir) === AWS_PROVIDER.hostname) return path.dirname(dir);
    if (isDirectory(path.join(dir, AWS_PROVIDER.hostname))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return undefined;
}

/**
 * Terraform's implied local mirror directories for this machine, and the plugin caches (same layout):
 * where Terraform itself looks, and where people put providers. In the order Terraform documents them
 * (https://developer.hashicorp.com/terraform/cli/config/config-file#implied-local-mirror-directories).
 */
export function impliedMirrorDirectories(env: NodeJS.ProcessEnv = process.env, home: string = homedir(), platform: NodeJS.Platform = process.platform, cwd = process.cwd()): string[] {
  const dirs = [path.join(cwd, 'terraform.d', 'plugins')];
  if (platform === 'win32') {
    const appData = env.APPDATA ?? path.join(home, 'AppData', 'Roaming');
    dirs.push(path.join(appData, 'terraform.d', 'plugins'), path.join(appData, 'HashiCorp', 'Terraform', 'plugins'));
  } else {
    dirs.push(path.join(home, '.terraform.d', 'plugins'));
    if (platform === 'darwin') {
      dirs.push(path.join(home, 'Library', 'Application Support', 'io.terraform', 'plugins'), '/Library/Application Support/io.terraform/plugins');
    } else {
      // The XDG base directories, with the specification's defaults.
      const dataHome = env.XDG_DATA_HOME || path.join(home, '.local', 'share');
      const dataDirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':').filter(Boolean);
      dirs.push(...[dataHome, ...dataDirs].map((d) => path.join(d, 'terraform', 'plugins')));
    }
  }
  if (env.TF_PLUGIN_CACHE_DIR) dirs.push(env.TF_PLUGIN_CACHE_DIR);
  dirs.push(path.join(home, '.terraform.d', 'plugin-cache'));
  return [...new Set(dirs)];
}

export interface MirrorSearchOptions {
  /** The version the stack needs. @default - any version */
  readonly version?: string;
  /** @default - this machine's (terraformPlatform()) */
  readonly platform?: string;
  /** Folders that may be mirror roots, looked at first, in order. @default - impliedMirrorDirectories() */
  readonly candidates?: readonly string[];
  /** Where a bounded `find` looks when no candidate holds the provider. @default ['/'] ([] on Windows) */
  readonly searchRoots?: readonly string[];
  /**
   * Folders the find skips besides `.terraform`, `node_modules` and `.git` (a working directory's
   * `.terraform/providers` has the mirror layout, but it is a copy Terraform manages).
   * @default [process.cwd()]: the project, whose test trees and synthesized stacks hold such copies
   */
  readonly exclude?: readonly string[];
  /** How deep the find descends below a search root. @default 10 */
  readonly maxDepth?: number;
  /** The find's time bound; what it printed until then still counts. @default 60000 */
  readonly timeoutMs?: number;
}

/** What a search looked at, for the message when it finds nothing. */
export interface MirrorSearchResult {
  readonly mirror?: ProviderMirror;
  /** Mirrors found that hold other versions only. */
  readonly otherVersions: readonly ProviderMirror[];
  /** Where it looked, in words. */
  readonly searched: readonly string[];
}

/**
 * Looks for a mirror holding hashicorp/aws (`version`, when given) for the platform: first the
 * candidate folders, then, when none has it, a bounded `find` below the search roots for folders
 * named `registry.terraform.io` (on one file system, without /proc, /sys and /dev).
 */
export function findProviderMirror(options: MirrorSearchOptions = {}): MirrorSearchResult {
  const platform = options.platform ?? terraformPlatform();
  const otherVersions: ProviderMirror[] = [];
  const consider = (root: string, source: string): ProviderMirror | undefined => {
    const versions = mirroredVersions(root, platform);
    if (versions.length === 0) return undefined;
    const mirror = { root, versions, source };
    if (options.version === undefined || versions.includes(options.version)) return mirror;
    otherVersions.push(mirror);
    return undefined;
  };
  const candidates = options.candidates ?? impliedMirrorDirectories();
  for (const dir of candidates) {
    const mirror = consider(dir, `found in ${dir}`);
    if (mirror) return { mirror, otherVersions, searched: candidates };
  }
  const searchRoots = options.searchRoots ?? (process.platform === 'win32' ? [] : ['/']);
  if (searchRoots.length === 0) return { otherVersions, searched: candidates };
  const maxDepth = options.maxDepth ?? 10;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const searched = [...candidates, `find ${searchRoots.join(' ')} (${maxDepth} levels deep, ${Math.round(timeoutMs / 1000)} s at most)`];
  for (const registryDir of findRegistryFolders(searchRoots, options.exclude ?? [process.cwd()], maxDepth, timeoutMs)) {
    const mirror = consider(path.dirname(registryDir), `found by searching ${searchRoots.join(' ')}`);
    if (mirror) return { mirror, otherVersions, searched };
  }
  return { otherVersions, searched };
}

/** Folders named `registry.terraform.io` below the roots, sorted; what a timed-out find printed counts too. */
function findRegistryFolders(roots: readonly string[], exclude: readonly string[], maxDepth: number, timeoutMs: number): string[] {
  const pruned = ['/proc', '/sys', '/dev', ...exclude.map((e) => path.resolve(e))].flatMap((p) => ['-path', p, '-o']);
  const args = [
    ...roots,
    '-xdev',
    '-maxdepth',
    String(maxDepth),
    '(',
    ...pruned,
    '-name',
    'node_modules',
    '-o',
    '-name',
    '.git',
    '-o',
    '-name',
    '.terraform',
    ')',
    '-prune',
    '-o',
    '-type',
    'd',
    '-name',
    AWS_PROVIDER.hostname,
    '-print',
    '-prune',
  ];
  const result = spawnSync('find', args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
  return (result.stdout ?? '').split('\n').filter(Boolean).sort();
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Orders versions numerically part by part (5.99.1 before 5.100.0). */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const diff = /^\d+$/.test(x) && /^\d+$/.test(y) ? Number(x) - Number(y) : x.localeCompare(y);
    if (diff !== 0) return diff;
  }
  return 0;
}
