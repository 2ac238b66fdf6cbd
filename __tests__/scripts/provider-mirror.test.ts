/**
 * Provider mirrors on temporary directory trees: TF_PROVIDER_MIRROR at any level of a mirror's tree
 * normalised to its root, the errors when it is none, and the search (candidate folders, then a
 * bounded find).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { findProviderMirror, impliedMirrorDirectories, mirroredVersions, mirrorRootOf, terraformPlatform } from '../../scripts/lib/provider-mirror';
import { providerUnreachable } from '../../scripts/lib/terraform';

const PLATFORM = 'linux_amd64';

/** An unpacked mirror at `root` with hashicorp/aws `version` for the platform; returns the binary's path. */
function unpackedMirror(root: string, version: string, platform = PLATFORM): string {
  const dir = path.join(root, 'registry.terraform.io', 'hashicorp', 'aws', version, platform);
  mkdirSync(dir, { recursive: true });
  const binary = path.join(dir, `terraform-provider-aws_v${version}_x5`);
  writeFileSync(binary, '');
  return binary;
}

describe('provider mirrors', () => {
  let tmp: string;

  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'mirror-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  describe('mirrorRootOf (TF_PROVIDER_MIRROR at any level)', () => {
    it('normalises every level of the tree, from the root to the binary, to the root', () => {
      const root = path.join(tmp, 'plugins');
      const binary = unpackedMirror(root, '5.100.0');
      const levels = [
        root,
        path.join(root, 'registry.terraform.io'),
        path.join(root, 'registry.terraform.io', 'hashicorp'),
        path.join(root, 'registry.terraform.io', 'hashicorp', 'aws'),
        path.join(root, 'registry.terraform.io', 'hashicorp', 'aws', '5.100.0'),
        path.join(root, 'registry.terraform.io', 'hashicorp', 'aws', '5.100.0', PLATFORM),
        binary,
      ];

      for (const level of levels) expect(mirrorRootOf(level, { version: '5.100.0', platform: PLATFORM })).toBe(root);
    });

    it('accepts a relative path, and the packed layout (a zip per version and platform)', () => {
      const root = path.join(tmp, 'packed');
      const providerDir = path.join(root, 'registry.terraform.io', 'hashicorp', 'aws');
      mkdirSync(providerDir, { recursive: true });
      writeFileSync(path.join(providerDir, `terraform-provider-aws_5.100.0_${PLATFORM}.zip`), '');

      expect(mirrorRootOf(path.relative(process.cwd(), providerDir), { version: '5.100.0', platform: PLATFORM })).toBe(root);
      expect(mirroredVersions(root, PLATFORM)).toEqual(['5.100.0']);
    });

    it('names what it expected for a path that does not exist, or is not in a mirror', () => {
      expect(() => mirrorRootOf(path.join(tmp, 'missing'), { version: '5.100.0', platform: PLATFORM })).toThrow(
        `TF_PROVIDER_MIRROR is ${path.join(tmp, 'missing')}, which does not exist: expected a Terraform filesystem mirror: the folder holding registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/, or any folder or file below it`,
      );
      expect(() => mirrorRootOf(tmp, { platform: PLATFORM })).toThrow(/which is not in a provider mirror \(no registry\.terraform\.io\/ in it or above it\): expected a Terraform filesystem mirror/);
    });

    it('says which versions a mirror holds when the stack needs another, and when it holds none for the platform', () => {
      const root = path.join(tmp, 'old');
      unpackedMirror(root, '5.99.1');
      unpackedMirror(root, '5.9.0');

      expect(() => mirrorRootOf(root, { version: '5.100.0', platform: PLATFORM })).toThrow(
        `the mirror ${root} holds hashicorp/aws 5.9.0, 5.99.1 for linux_amd64, but the stack needs 5.100.0 (expected ${root}/registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_*)`,
      );
      expect(() => mirrorRootOf(root, { platform: 'darwin_arm64' })).toThrow(`the mirror ${root} holds no hashicorp/aws for darwin_arm64`);
    });
  });

  describe('findProviderMirror', () => {
    it('takes the first candidate folder that holds the version, and reports the ones with other versions', () => {
      const old = path.join(tmp, 'home', '.terraform.d', 'plugins');
      const current = path.join(tmp, 'usr', 'share', 'terraform', 'plugins');
      unpackedMirror(old, '5.99.1');
      unpackedMirror(current, '5.100.0');

      const result = findProviderMirror({ version: '5.100.0', platform: PLATFORM, candidates: [path.join(tmp, 'none'), old, current], searchRoots: [] });

      expect(result.mirror).toEqual({ root: current, versions: ['5.100.0'], source: `found in ${current}` });
      expect(result.otherVersions).toEqual([{ root: old, versions: ['5.99.1'], source: `found in ${old}` }]);
    });

    it('finds a mirror anywhere below the search roots when no candidate has one, skipping excluded folders and .terraform copies', () => {
      const excluded = path.join(tmp, 'project');
      unpackedMirror(path.join(excluded, 'mirror'), '5.100.0');
      unpackedMirror(path.join(tmp, 'work', 'stack', '.terraform', 'providers'), '5.100.0');
      const wanted = path.join(tmp, 'opt', 'tools', 'tf-plugins');
      unpackedMirror(wanted, '5.100.0');

      const result = findProviderMirror({ version: '5.100.0', platform: PLATFORM, candidates: [], searchRoots: [tmp], exclude: [excluded] });

      expect(result.mirror?.root).toBe(wanted);
      expect(result.mirror?.source).toBe(`found by searching ${tmp}`);
      expect(result.searched).toEqual([`find ${tmp} (10 levels deep, 60 s at most)`]);
    });

    it('finds nothing deeper than its bound, and says where it looked', () => {
      unpackedMirror(path.join(tmp, 'a', 'b', 'c'), '5.100.0');

      const result = findProviderMirror({ version: '5.100.0', platform: PLATFORM, candidates: [path.join(tmp, 'x')], searchRoots: [tmp], exclude: [], maxDepth: 3 });

      expect(result.mirror).toBeUndefined();
      expect(result.searched).toEqual([path.join(tmp, 'x'), `find ${tmp} (3 levels deep, 60 s at most)`]);
    });
  });

  it("lists Terraform's implied mirror directories for Linux, with the XDG defaults, then the plugin caches", () => {
    expect(impliedMirrorDirectories({}, '/home/me', 'linux', '/work/stack')).toEqual([
      '/work/stack/terraform.d/plugins',
      '/home/me/.terraform.d/plugins',
      '/home/me/.local/share/terraform/plugins',
      '/usr/local/share/terraform/plugins',
      '/usr/share/terraform/plugins',
      '/home/me/.terraform.d/plugin-cache',
    ]);
    expect(impliedMirrorDirectories({ XDG_DATA_HOME: '/data', XDG_DATA_DIRS: '/opt/share', TF_PLUGIN_CACHE_DIR: '/cache' }, '/home/me', 'linux', '/w')).toEqual([
      '/w/terraform.d/plugins',
      '/home/me/.terraform.d/plugins',
      '/data/terraform/plugins',
      '/opt/share/terraform/plugins',
      '/cache',
      '/home/me/.terraform.d/plugin-cache',
    ]);
  });

  it("names platforms as Terraform does", () => {
    expect(terraformPlatform('linux', 'x64')).toBe('linux_amd64');
    expect(terraformPlatform('darwin', 'arm64')).toBe('darwin_arm64');
    expect(terraformPlatform('win32', 'x64')).toBe('windows_amd64');
  });
});

describe('providerUnreachable: when init falls back to a mirror', () => {
  const run = (stderr: string) => ({ command: 'terraform init', ms: 1, stdout: '', stderr });

  it('is true for the registry out of reach (no DNS, a proxy refusing) and for a CLI config that allows no source', () => {
    expect(
      providerUnreachable(
        run(`Error: Failed to query available provider packages

Could not retrieve the list of available versions for provider hashicorp/aws:
could not connect to registry.terraform.io: failed to request discovery
document: Get "https://registry.terraform.io/.well-known/terraform.json":
dial tcp: lookup registry.terraform.io on 10.255.255.53:53: no such host`),
      ),
    ).toBe(true);
    expect(providerUnreachable(run('could not connect to registry.terraform.io: failed to request discovery document: proxyconnect tcp: dial tcp 127.0.0.1:9: connect: connection refused'))).toBe(true);
    expect(
      providerUnreachable(
        run(`Could not retrieve the list of available versions for provider hashicorp/aws:
provider registry.terraform.io/hashicorp/aws was not found in any of the
search locations`),
      ),
    ).toBe(true);
  });

  it('is false for failures a mirror would not mend: a bad configuration, an unreachable backend', () => {
    expect(providerUnreachable(run('Error: Unsupported argument\n\n  on cdk.tf.json line 12: An argument named "regin" is not expected here.'))).toBe(false);
    expect(providerUnreachable(run('Error: Failed to request discovery document: Get "https://app.terraform.io/.well-known/terraform.json": dial tcp: lookup app.terraform.io: no such host'))).toBe(false);
  });
});
