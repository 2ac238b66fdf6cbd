/**
 * A short, human review of a synthesized stack and its plan: resources by type and action, the
 * API routes, and each IAM role with what it may do. Roles and routes are read from the
 * synthesized configuration, where references are still symbolic (`aws_dynamodb_table.x.arn`),
 * which reads better than the plan's "known after apply".
 */
import { TerraformPlanJson } from './terraform';

type Block = Record<string, Record<string, Record<string, unknown>>>;
/** The parts of a cdk.tf.json that the review reads. */
export interface SynthesizedConfig {
  readonly resource?: Block;
  readonly data?: Block;
}

export interface RoleSummary {
  readonly address: string;
  readonly name: string;
  readonly trustedBy: string[];
  /** `conditions` as `<key> <operator> <values>`, when the statement has any. */
  readonly statements: { effect: string; actions: string[]; resources: string[]; conditions?: string[] }[];
  readonly managedPolicies: string[];
}

export interface StackSummary {
  /** Count per action (`create`, `update`, `delete`, `replace`, `read`, `no-op`). */
  readonly actions: Record<string, number>;
  /** Count of managed resources per type and action, e.g. `{ aws_iam_role: { create: 6 } }`. */
  readonly byType: Record<string, Record<string, number>>;
  readonly routes: string[];
  readonly roles: RoleSummary[];
}

/** `${aws_x.name_ABC123.arn}` -> `aws_x.name.arn`: references, readable. */
export function readableReference(value: string): string {
  // The provider's region is part of IAM names (`<name>-<region>`): shown as such.
  return value.replace(/\$\{([^}]*)\}/g, (_, ref: string) => (/^data\.aws_region\.[^.]+\.name$/.test(ref) ? '<region>' : ref.replace(/_[0-9A-F]{8}(?=\.|$)/g, '')));
}

function refTarget(value: unknown): string | undefined {
  const m = typeof value === 'string' ? /^\$\{([a-z0-9_]+\.[A-Za-z0-9_-]+|data\.[a-z0-9_]+\.[A-Za-z0-9_-]+)\.[a-z_]+\}$/.exec(value) : null;
  return m?.[1];
}

/** The action a resource change stands for: create, update, delete, replace, read or no-op. */
export function changeAction(actions: readonly string[]): string {
  if (actions.includes('delete') && actions.includes('create')) return 'replace';
  return actions[0] ?? 'no-op';
}

export function summarize(config: SynthesizedConfig, plan?: TerraformPlanJson): StackSummary {
  const actions: Record<string, number> = {};
  const byType: Record<string, Record<string, number>> = {};
  for (const rc of plan?.resource_changes ?? []) {
    if (rc.mode !== 'managed') continue;
    const action = changeAction(rc.change.actions);
    actions[action] = (actions[action] ?? 0) + 1;
    byType[rc.type] ??= {};
    byType[rc.type][action] = (byType[rc.type][action] ?? 0) + 1;
  }
  return { actions, byType, routes: apiRoutes(config), roles: iamRoles(config) };
}

/** `METHOD /path` of every REST API method in the configuration. */
export function apiRoutes(config: SynthesizedConfig): string[] {
  const resources = config.resource?.aws_api_gateway_resource ?? {};
  const pathOf = (resourceRef: unknown): string => {
    const target = refTarget(resourceRef);
    if (!target || !target.startsWith('aws_api_gateway_resource.')) return '';
    const r = resources[target.split('.')[1]];
    return r ? `${pathOf(r.parent_id)}/${String(r.path_part)}` : '';
  };
  const methods = Object.values(config.resource?.aws_api_gateway_method ?? {});
  return methods.map((m) => `${String(m.http_method)} ${pathOf(m.resource_id) || '/'}  (auth: ${String(m.authorization)}${m.api_key_required ? ', API key' : ''})`).sort();
}

/** Every IAM role with its trust, inline policy statements and managed policy attachments. */
export function iamRoles(config: SynthesizedConfig): RoleSummary[] {
  const roles = config.resource?.aws_iam_role ?? {};
  const docs = config.data?.aws_iam_policy_document ?? {};
  const docOf = (value: unknown): Record<string, unknown> | undefined => {
    const target = refTarget(value);
    return target?.startsWith('data.aws_iam_policy_document.') ? docs[target.split('.')[2]] : undefined;
  };
  const statementsOf = (doc: Record<string, unknown> | undefined) =>
    ((doc?.statement as Record<string, unknown>[] | undefined) ?? []).map((s) => {
      const conditions = ((s.condition as { test: string; variable: string; values: string[] }[] | undefined) ?? []).map(
        (c) => `${c.variable} ${c.test} ${c.values.map(readableReference).join(', ')}`,
      );
      return {
        effect: String(s.effect ?? 'Allow'),
        actions: (s.actions as string[] | undefined) ?? [],
        resources: ((s.resources as string[] | undefined) ?? []).map(readableReference),
        principals: ((s.principals as { identifiers: string[] }[] | undefined) ?? []).flatMap((p) => p.identifiers),
        ...(conditions.length > 0 ? { conditions } : {}),
      };
    });
  const belongsTo = (roleKey: string, value: unknown) => refTarget(value) === `aws_iam_role.${roleKey}`;
  return Object.entries(roles)
    .map(([key, role]) => ({
      address: `aws_iam_role.${key}`,
      name: readableReference(String(role.name ?? key)),
      trustedBy: statementsOf(docOf(role.assume_role_policy)).flatMap((s) => s.principals),
      statements: Object.values(config.resource?.aws_iam_role_policy ?? {})
        .filter((p) => belongsTo(key, p.role))
        .flatMap((p) => statementsOf(docOf(p.policy)).map(({ effect, actions, resources, conditions }) => ({ effect, actions, resources, ...(conditions ? { conditions } : {}) }))),
      managedPolicies: Object.values(config.resource?.aws_iam_role_policy_attachment ?? {})
        .filter((p) => belongsTo(key, p.role))
        .map((p) => readableReference(String(p.policy_arn))),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The review as text for a terminal. */
export function formatSummary(summary: StackSummary): string {
  const lines: string[] = [];
  const total = Object.values(summary.actions).reduce((a, b) => a + b, 0);
  lines.push(`Plan: ${total} resource changes (${Object.entries(summary.actions).map(([a, n]) => `${n} to ${a}`).join(', ') || 'none'})`);
  for (const [type, counts] of Object.entries(summary.byType).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${type.padEnd(42)} ${Object.entries(counts).map(([a, n]) => `${n} ${a}`).join(', ')}`);
  }
  lines.push('', 'API routes:');
  for (const route of summary.routes) lines.push(`  ${route}`);
  lines.push('', 'IAM roles and what each may do:');
  for (const role of summary.roles) {
    lines.push(`  ${role.name}  (assumed by ${role.trustedBy.join(', ') || '?'})`);
    for (const s of role.statements) lines.push(`    ${s.effect} ${s.actions.join(', ')} on ${s.resources.join(', ')}${s.conditions ? ` when ${s.conditions.join(' and ')}` : ''}`);
    for (const p of role.managedPolicies) lines.push(`    managed policy ${p}`);
    if (role.statements.length === 0 && role.managedPolicies.length === 0) lines.push('    (no permissions)');
  }
  return lines.join('\n');
}
