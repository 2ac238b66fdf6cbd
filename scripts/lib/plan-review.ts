/**
 * A Markdown review of a Terraform plan (`terraform show -json <planfile>`, format 1.x) for a pull
 * request: what would be lost comes first (stateful resources replaced or destroyed, with the
 * attribute forcing it and Terraform's reason in words), then IAM permissions gained and lost,
 * state machine definition changes, the routes by processname (each one's state and job definition or
 * function), API routes added and removed, and every change by module.
 * A `failOn` policy turns the review into a gate (`npm run plan-review`, CI).
 *
 * Values unknown at plan time (new ARNs, policies built from them) are read from the configuration
 * instead: the plan's own `configuration` block, or the synthesized cdk.tf.json when given. Both are
 * read through plan-summary (`iamRoles`, `apiRoutes`), so `npm start` and CI say the same thing.
 */
import { apiRoutes, changeAction, iamRoles, readableReference, summarize, SynthesizedConfig } from './plan-summary';
import { TerraformPlanJson } from './terraform';

type Json = Record<string, unknown>;
type ResourceChange = NonNullable<TerraformPlanJson['resource_changes']>[number];
/** The parts of a change that plan-summary does not read. */
interface ChangeDetail {
  readonly after_unknown?: unknown;
  readonly before_sensitive?: unknown;
  readonly after_sensitive?: unknown;
}

/**
 * Resource types whose replacement or destruction loses data or work in flight, with what is lost.
 * A replacement is a destroy followed by a create: the new object starts empty.
 */
export const STATEFUL_RESOURCES: Readonly<Record<string, string>> = {
  aws_dynamodb_table: 'every item in the table, and its stream',
  aws_batch_compute_environment: 'the jobs running on it; its queues dispatch nothing until it is back',
  aws_batch_job_queue: 'the jobs waiting or running in the queue',
  aws_s3_bucket: 'every object in the bucket',
  aws_sqs_queue: 'the messages in the queue',
  aws_sns_topic: 'its subscriptions (e-mail subscribers must confirm again)',
  aws_cloudwatch_log_group: 'its log events',
  aws_kms_key: 'whatever was encrypted with it, once the deletion window ends',
  aws_kinesis_stream: 'the records in the stream',
  aws_efs_file_system: 'the files on it',
  aws_db_instance: 'the database (unless a final snapshot is taken)',
  aws_rds_cluster: 'the database (unless a final snapshot is taken)',
  aws_ecr_repository: 'the images in the repository',
  aws_secretsmanager_secret: 'the secret value and its versions',
};

/**
 * What to do before applying a plan that replaces or destroys a resource of these types, so that
 * the apply succeeds and what is in flight is not lost. docs/operations.md says the same at length.
 */
export const STATEFUL_PROCEDURES: Readonly<Record<string, string>> = {
  // DeleteComputeEnvironment refuses while jobs run on it and leaves it INVALID, failing the apply.
  aws_batch_compute_environment:
    'drain it first: disable its job queue (`aws batch update-job-queue --job-queue <queue> --state DISABLED`: no new job is accepted, queued ones still run), ' +
    'let its jobs end or terminate them (`aws batch list-jobs --job-queue <queue> --job-status RUNNING`, also RUNNABLE and STARTING; `aws batch terminate-job --job-id <id> --reason drain`), ' +
    'then apply, which enables the queue again (docs/operations.md, "Replacing the compute environment")',
};

/** The stateful resource types (see {@link STATEFUL_RESOURCES}). */
export const STATEFUL_RESOURCE_TYPES: readonly string[] = Object.keys(STATEFUL_RESOURCES);

/**
 * When the review fails:
 * - `stateful`: a stateful resource is replaced or destroyed (the default);
 * - `replace`: any resource is replaced;
 * - `destroy`: any resource is destroyed or replaced (the existing object is deleted either way);
 * - `any-change`: anything is created, updated, replaced or destroyed;
 * - `none`: never.
 */
export type FailOn = 'stateful' | 'replace' | 'destroy' | 'any-change' | 'none';
export const FAIL_ON_POLICIES: readonly FailOn[] = ['stateful', 'replace', 'destroy', 'any-change', 'none'];

/** Terraform's `action_reason` values, in words. */
export const ACTION_REASONS: Readonly<Record<string, string>> = {
  replace_because_cannot_update: 'an attribute that cannot change in place changed',
  replace_because_tainted: 'the object is tainted (an earlier apply failed part-way)',
  replace_by_request: 'replacement was requested (`-replace`)',
  replace_by_triggers: 'a `replace_triggered_by` reference changed',
  delete_because_no_resource_config: 'its configuration was removed',
  delete_because_no_module: 'its module was removed',
  delete_because_wrong_repetition: 'the resource switched between count, for_each and a single instance',
  delete_because_count_index: 'its count index is beyond the new count',
  delete_because_each_key: 'its for_each key is no longer in the map',
  delete_because_no_move_target: 'the target of its `moved` block does not exist',
};

/** A plan that is not Terraform's JSON plan format 1.x. */
export class PlanFormatError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PlanFormatError';
  }
}

export interface ReviewOptions {
  /**
   * When the review fails.
   * @default 'stateful'
   */
  readonly failOn?: FailOn;
  /**
   * The synthesized configuration (cdk.tf.json), to read what the plan only knows after apply.
   * @default - the plan's own `configuration` block
   */
  readonly config?: SynthesizedConfig;
  /**
   * Heading of the review.
   * @default 'Terraform plan review'
   */
  readonly title?: string;
}

export interface ChangeCounts {
  readonly create: number;
  readonly update: number;
  readonly replace: number;
  readonly destroy: number;
}

export type ReviewAction = 'create' | 'update' | 'replace' | 'destroy';

export interface StatefulChange {
  readonly address: string;
  readonly type: string;
  readonly module: string;
  readonly action: 'replace' | 'destroy';
  /** The attributes forcing a replacement, e.g. `compute_resources[0].type`. */
  readonly forcedBy: string[];
  /** Terraform's `action_reason`, e.g. `replace_because_cannot_update`. */
  readonly reason?: string;
  /** What is lost (see {@link STATEFUL_RESOURCES}). */
  readonly loses: string;
  /** What to do before applying, where something can be done (see {@link STATEFUL_PROCEDURES}). */
  readonly procedure?: string;
}

export interface Permission {
  readonly effect: string;
  readonly action: string;
  readonly resource: string;
  /** The statement's condition, as JSON. */
  readonly condition?: string;
}

export interface IamChange {
  readonly address: string;
  readonly module: string;
  readonly action: ReviewAction;
  /** Whose permissions change: a role, or a managed policy (`aws_iam_policy`). */
  readonly principal: { readonly kind: 'role' | 'policy'; readonly name: string };
  readonly gains: Permission[];
  readonly losses: Permission[];
  /** Managed policies attached to or detached from the role (`aws_iam_role_policy_attachment`). */
  readonly attached: string[];
  readonly detached: string[];
  /** Principals that may newly assume the role, or no longer may (`aws_iam_role` trust policy). */
  readonly trustGained: string[];
  readonly trustLost: string[];
  /**
   * Where the new document was read from. `configuration` when the plan only knows it after
   * apply; `unknown` when no configuration says either.
   */
  readonly source: 'plan' | 'configuration' | 'unknown';
}

export interface DefinitionDiff {
  readonly address: string;
  readonly module: string;
  readonly action: ReviewAction;
  readonly source: 'plan' | 'configuration' | 'unknown';
  readonly added: string[];
  readonly removed: string[];
  readonly changed: { readonly state: string; readonly fields: string[] }[];
  readonly startAt?: { readonly before?: string; readonly after?: string };
  /** Number of states in the new definition, when known. */
  readonly states?: number;
}

/** A route of a state machine (a `Route <name>` state) the plan adds, removes or changes. */
export interface ProcessRouteChange {
  /** The processname that selects it. */
  readonly name: string;
  readonly change: 'added' | 'removed' | 'changed';
  /** The state machine's state that carries it. */
  readonly state: string;
  /** What it runs: `job definition <name>` or `function <name>`. */
  readonly runs: string;
  /** The state machine it is in. */
  readonly address: string;
}

export interface PlanReview {
  readonly markdown: string;
  readonly counts: ChangeCounts;
  /** Stateful resources replaced or destroyed, destroys first. */
  readonly stateful: StatefulChange[];
  readonly iam: IamChange[];
  readonly stateMachines: DefinitionDiff[];
  readonly routes: { readonly added: string[]; readonly removed: string[] };
  /** The routes by processname (state machine states) added, removed or changed; every route of a new state machine. */
  readonly processRoutes: ProcessRouteChange[];
  /** Changes to settings that hold for a whole account and region, not for this stack alone. */
  readonly accountLevel: { readonly address: string; readonly action: ReviewAction; readonly touches: string }[];
  readonly failOn: FailOn;
  readonly failed: boolean;
  /** Why the policy failed, one line each (empty when it passed). */
  readonly failures: string[];
}

interface Reviewed {
  readonly rc: ResourceChange;
  readonly change: ResourceChange['change'] & ChangeDetail;
  readonly action: ReviewAction;
  readonly module: string;
}

const ACTION_ORDER: readonly ReviewAction[] = ['destroy', 'replace', 'update', 'create'];
/** plan-summary's changeAction -> the review's words; `read`, `no-op` and `forget` are not reviewed. */
const REVIEW_ACTIONS: Readonly<Record<string, ReviewAction>> = { create: 'create', update: 'update', replace: 'replace', delete: 'destroy' };
const CDKTF_NAME = /^(.+)_[0-9A-F]{8}$/;

/** Reviews a plan; `plan` is the parsed output of `terraform show -json <planfile>`. */
export function reviewPlan(plan: unknown, options: ReviewOptions = {}): PlanReview {
  assertPlan(plan);
  const failOn = options.failOn ?? 'stateful';
  if (!FAIL_ON_POLICIES.includes(failOn)) throw new RangeError(`failOn is '${String(failOn)}'; allowed: ${FAIL_ON_POLICIES.join(', ')}`);
  const config = mergeConfigs(options.config, configFromPlan(plan));
  const changes = reviewedChanges(plan);
  const actions = summarize({}, plan).actions;
  const counts: ChangeCounts = { create: actions.create ?? 0, update: actions.update ?? 0, replace: actions.replace ?? 0, destroy: actions.delete ?? 0 };
  const stateful = statefulChanges(changes);
  const iam = changes.flatMap((c) => iamChange(c, config) ?? []).sort(byPrincipal);
  const stateMachines = changes.filter((c) => c.rc.type === 'aws_sfn_state_machine').map((c) => definitionDiff(c, config));
  const routes = routeChanges(plan, changes, config);
  const processRoutes = changes.filter((c) => c.rc.type === 'aws_sfn_state_machine').flatMap((c) => processRouteChanges(c, config));
  const failures = policyFailures(failOn, changes, stateful);
  const accountLevel = changes.flatMap((c) => {
    const touches = ACCOUNT_LEVEL_TYPES[c.rc.type];
    return touches ? [{ address: c.rc.address, action: c.action, touches }] : [];
  });
  const review = { counts, stateful, iam, stateMachines, routes, processRoutes, accountLevel, failOn, failed: failures.length > 0, failures };
  return { markdown: renderMarkdown(review, changes, options.title ?? 'Terraform plan review'), ...review };
}

/** Resources that set something for the whole account and region: what each touches. */
const ACCOUNT_LEVEL_TYPES: Readonly<Record<string, string>> = {
  aws_api_gateway_account:
    'the CloudWatch Logs role of API Gateway for the whole account and region: every REST API there logs through it, and a role another stack set is replaced (destroy leaves the setting naming the deleted role: the README says how to clear it)',
};

function assertPlan(plan: unknown): asserts plan is TerraformPlanJson {
  const p = plan as Partial<TerraformPlanJson> | null;
  if (typeof p !== 'object' || p === null || typeof p.format_version !== 'string') {
    throw new PlanFormatError('not a Terraform JSON plan: no format_version (make it with `terraform show -json <planfile>`)');
  }
  if (!p.format_version.startsWith('1.')) throw new PlanFormatError(`unsupported plan format_version ${p.format_version}: this review reads 1.x`);
  if (p.resource_changes !== undefined && !Array.isArray(p.resource_changes)) throw new PlanFormatError('resource_changes is not an array');
}

/**
 * The module a change belongs to: `module_address` when Terraform has one, and the top construct
 * of a cdktf name (`<construct path joined by _>_<hash>`: `ingest_table_C581A1ED` -> `ingest`).
 */
export function moduleOf(rc: { readonly name: string; readonly module_address?: string }): string {
  const construct = CDKTF_NAME.test(rc.name) ? rc.name.split('_')[0] : undefined;
  if (rc.module_address) return construct ? `${rc.module_address}/${construct}` : rc.module_address;
  return construct ?? '(root)';
}

function reviewedChanges(plan: TerraformPlanJson): Reviewed[] {
  const out: Reviewed[] = [];
  const managed = (plan.resource_changes ?? []).filter((rc) => rc.mode === 'managed');
  const wrapper = commonTopConstruct(managed);
  for (const rc of managed) {
    const action = REVIEW_ACTIONS[changeAction(rc.change.actions)];
    if (action) out.push({ rc, change: rc.change, action, module: moduleOf(wrapper ? { ...rc, name: rc.name.slice(wrapper.length + 1) } : rc) });
  }
  return out;
}

/**
 * The construct every resource of the plan sits in, when there is one (a stack holding one
 * `BatchGateway` puts everything under `gateway_...`): grouping by it would say nothing, so the
 * review groups by the modules inside it.
 */
function commonTopConstruct(changes: readonly ResourceChange[]): string | undefined {
  const tops = new Set(changes.map((rc) => (CDKTF_NAME.test(rc.name) && rc.name.split('_').length > 2 ? rc.name.split('_')[0] : undefined)));
  const [top] = tops;
  return tops.size === 1 && top !== undefined ? top : undefined;
}

// ---------------------------------------------------------------------------------------------
// Values and paths

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function at(value: unknown, path: readonly unknown[]): unknown {
  let current = value;
  for (const step of path) {
    if (Array.isArray(current) && typeof step === 'number') current = current[step];
    else if (isObject(current) && typeof step === 'string') current = current[step];
    else return undefined;
  }
  return current;
}

/** True when the after_unknown/sensitive marker at `path`, or any marker under it, is `true`. */
function marked(markers: unknown, path: readonly unknown[]): boolean {
  let current = markers;
  for (const step of path) {
    if (current === true) return true;
    current = at(current, [step]);
  }
  const any = (v: unknown): boolean => v === true || (Array.isArray(v) ? v.some(any) : isObject(v) && Object.values(v).some(any));
  return any(current);
}

/** `[["compute_resources", 0, "type"]]` -> `compute_resources[0].type`. */
export function attributePath(path: readonly unknown[]): string {
  return path
    .map((step, i) => {
      if (typeof step === 'number') return `[${step}]`;
      const s = String(step);
      if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) return `[${JSON.stringify(s)}]`;
      return i === 0 ? s : `.${s}`;
    })
    .join('');
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function shown(value: unknown, sensitive: boolean, unknown = false): string {
  if (sensitive) return '(sensitive)';
  if (unknown) return '(known after apply)';
  return code(preview(value));
}

/** Markdown code span that survives backticks in the text. */
function code(text: string): string {
  const ticks = text.includes('`') ? '``' : '`';
  return ticks === '`' ? `\`${text}\`` : `\`\` ${text} \`\``;
}

function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Configuration: the plan's `configuration` block as a cdk.tf.json-shaped SynthesizedConfig

/**
 * Converts the plan's `configuration.root_module` into the shape of a synthesized cdk.tf.json, so
 * plan-summary's readers apply to both. For a cdktf stack, Terraform reports each attribute as a
 * `constant_value` holding the same `${...}` template as cdk.tf.json; an HCL expression has only
 * `references`, of which the first (the most specific) stands for the value. Child modules are not
 * read.
 */
export function configFromPlan(plan: TerraformPlanJson): SynthesizedConfig {
  const resources = at(plan.configuration, ['root_module', 'resources']);
  if (!Array.isArray(resources)) return {};
  const resource: Record<string, Record<string, Json>> = {};
  const data: Record<string, Record<string, Json>> = {};
  for (const r of resources) {
    if (!isObject(r) || typeof r.type !== 'string' || typeof r.name !== 'string') continue;
    const target = r.mode === 'data' ? data : resource;
    target[r.type] ??= {};
    target[r.type][r.name] = blockValue(r.expressions);
  }
  return { resource, data };
}

function expressionValue(expr: unknown): unknown {
  if (Array.isArray(expr)) return expr.map(blockValue);
  if (!isObject(expr)) return undefined;
  if ('constant_value' in expr) return expr.constant_value;
  const keys = Object.keys(expr);
  if (keys.length === 0) return undefined;
  if (keys.every((k) => k === 'references')) {
    const refs = expr.references;
    return Array.isArray(refs) && typeof refs[0] === 'string' ? `\${${refs[0]}}` : undefined;
  }
  return blockValue(expr);
}

function blockValue(block: unknown): Json {
  const out: Json = {};
  if (isObject(block)) for (const [key, expr] of Object.entries(block)) out[key] = expressionValue(expr);
  return out;
}

function mergeConfigs(primary: SynthesizedConfig | undefined, fallback: SynthesizedConfig): SynthesizedConfig {
  if (!primary) return fallback;
  const merge = (a: SynthesizedConfig['resource'], b: SynthesizedConfig['resource']) => {
    const out: Record<string, Record<string, Record<string, unknown>>> = {};
    for (const type of new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])) out[type] = { ...b?.[type], ...a?.[type] };
    return out;
  };
  return { resource: merge(primary.resource, fallback.resource), data: merge(primary.data, fallback.data) };
}

const REF = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z_]+\}$/;

// ---------------------------------------------------------------------------------------------
// Stateful replacements and destroys

function statefulChanges(changes: Reviewed[]): StatefulChange[] {
  return changes
    .filter((c) => (c.action === 'replace' || c.action === 'destroy') && c.rc.type in STATEFUL_RESOURCES)
    .map((c) => ({
      address: c.rc.address,
      type: c.rc.type,
      module: c.module,
      action: c.action as 'replace' | 'destroy',
      forcedBy: (c.change.replace_paths ?? []).map(attributePath),
      reason: c.rc.action_reason,
      loses: STATEFUL_RESOURCES[c.rc.type],
      ...(c.rc.type in STATEFUL_PROCEDURES ? { procedure: STATEFUL_PROCEDURES[c.rc.type] } : {}),
    }))
    .sort((a, b) => ACTION_ORDER.indexOf(a.action) - ACTION_ORDER.indexOf(b.action) || a.address.localeCompare(b.address));
}

/** `name`: `"a"` -> `"b"`, for each attribute forcing a replacement (never a sensitive value). */
function forcedByText(c: Reviewed): string[] {
  return (c.change.replace_paths ?? []).map((path) => {
    const before = shown(at(c.change.before, path), marked(c.change.before_sensitive, path));
    const after = shown(at(c.change.after, path), marked(c.change.after_sensitive, path), marked(c.change.after_unknown, path));
    return `${code(attributePath(path))}: ${before} -> ${after}`;
  });
}

function reasonText(reason: string | undefined): string | undefined {
  if (!reason) return undefined;
  return `${ACTION_REASONS[reason] ?? reason.replace(/_/g, ' ')} (${code(reason)})`;
}

// ---------------------------------------------------------------------------------------------
// IAM

const IAM_POLICY_TYPES = new Set(['aws_iam_role_policy', 'aws_iam_policy']);
const STAND_IN_ROLE = 'plan_review_stand_in';

/** The (effect, action, resource) pairs a policy document grants; undefined when it is not one. */
export function policyPermissions(document: unknown): Permission[] | undefined {
  const doc = parseJson(document);
  if (!isObject(doc)) return undefined;
  const list = (v: unknown): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => readableReference(String(x))));
  const statements = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement === undefined ? [] : [doc.Statement];
  return statements.filter(isObject).flatMap((s) => {
    const actions = s.NotAction !== undefined ? list(s.NotAction).map((a) => `everything but ${a}`) : list(s.Action);
    const resources = s.NotResource !== undefined ? list(s.NotResource).map((r) => `everything but ${r}`) : s.Resource === undefined ? ['*'] : list(s.Resource);
    const condition = s.Condition === undefined ? undefined : JSON.stringify(s.Condition);
    return actions.flatMap((action) => resources.map((resource) => ({ effect: String(s.Effect ?? 'Allow'), action, resource, ...(condition ? { condition } : {}) })));
  });
}

/**
 * The permissions the configuration gives a policy resource. A document data source is read the
 * way npm start's role list reads it (plan-summary's iamRoles), on the configuration cut down to
 * this one policy and a stand-in role; a literal JSON policy is parsed.
 */
function configuredPermissions(config: SynthesizedConfig, type: string, name: string): Permission[] | undefined {
  const policy = config.resource?.[type]?.[name]?.policy;
  if (typeof policy !== 'string') return undefined;
  if (policy.trim().startsWith('{')) return policyPermissions(policy);
  const [role] = iamRoles({
    resource: { aws_iam_role: { [STAND_IN_ROLE]: {} }, aws_iam_role_policy: { [name]: { policy, role: `\${aws_iam_role.${STAND_IN_ROLE}.name}` } } },
    data: config.data,
  });
  if (!role || role.statements.length === 0) return undefined;
  return role.statements.flatMap((s) => s.actions.flatMap((action) => s.resources.map((resource) => ({ effect: s.effect, action, resource }))));
}

/** A role (or policy) name from the plan, else from the configuration's reference, readable. */
function nameOf(c: Reviewed, attribute: string, config: SynthesizedConfig): string {
  const known = [c.change.after, c.change.before].map((v) => at(v, [attribute])).find((v) => typeof v === 'string');
  if (typeof known === 'string') return known;
  const configured = config.resource?.[c.rc.type]?.[c.rc.name]?.[attribute];
  if (typeof configured !== 'string') return '(known after apply)';
  const ref = REF.exec(configured);
  const target = ref ? config.resource?.[ref[1]]?.[ref[2]] : undefined;
  if (ref && typeof target?.name === 'string' && !target.name.includes('${')) return target.name;
  return readableReference(configured);
}

const permissionKey = (p: Permission, byAction: boolean) => (byAction ? `${p.effect}|${p.action}` : `${p.effect}|${p.action}|${p.resource}|${p.condition ?? ''}`);

function diffPermissions(before: Permission[], after: Permission[], byAction: boolean): { gains: Permission[]; losses: Permission[] } {
  const keys = (list: Permission[]) => new Set(list.map((p) => permissionKey(p, byAction)));
  const [had, has] = [keys(before), keys(after)];
  return { gains: after.filter((p) => !had.has(permissionKey(p, byAction))), losses: before.filter((p) => !has.has(permissionKey(p, byAction))) };
}

function iamChange(c: Reviewed, config: SynthesizedConfig): IamChange | undefined {
  const base = { address: c.rc.address, module: c.module, action: c.action };
  if (c.rc.type === 'aws_iam_role_policy_attachment') {
    const planned = (v: unknown) => (typeof at(v, ['policy_arn']) === 'string' ? String(at(v, ['policy_arn'])) : undefined);
    const configured = config.resource?.[c.rc.type]?.[c.rc.name]?.policy_arn;
    const before = c.action === 'create' ? undefined : planned(c.change.before);
    let after: string | undefined;
    let source: IamChange['source'] = 'plan';
    if (c.action !== 'destroy') {
      after = planned(c.change.after) ?? (typeof configured === 'string' ? readableReference(configured) : undefined);
      source = planned(c.change.after) ? 'plan' : after ? 'configuration' : 'unknown';
    }
    const changed = after !== before;
    const attached = changed && after ? [after] : [];
    const detached = changed && before ? [before] : [];
    return { ...base, principal: { kind: 'role', name: nameOf(c, 'role', config) }, ...nothing(), attached, detached, source };
  }
  if (c.rc.type === 'aws_iam_role') return roleTrustChange(c, config);
  if (!IAM_POLICY_TYPES.has(c.rc.type)) return undefined;
  const before = c.action === 'create' ? [] : policyPermissions(at(c.change.before, ['policy'])) ?? [];
  let after: Permission[] = [];
  let source: IamChange['source'] = 'plan';
  if (c.action !== 'destroy') {
    const planned = marked(c.change.after_unknown, ['policy']) ? undefined : policyPermissions(at(c.change.after, ['policy']));
    const configured = planned ? undefined : configuredPermissions(config, c.rc.type, c.rc.name);
    after = planned ?? configured ?? [];
    source = planned ? 'plan' : configured ? 'configuration' : 'unknown';
  }
  // Resources read from the configuration are references (`aws_s3_bucket.x.arn`), not the ARNs of
  // the old document: compare those by action only.
  const { gains, losses } = source === 'unknown' ? { gains: [], losses: [] } : diffPermissions(before, after, source === 'configuration' && c.action !== 'create');
  const principal = c.rc.type === 'aws_iam_policy' ? { kind: 'policy' as const, name: nameOf(c, 'name', config) } : { kind: 'role' as const, name: nameOf(c, 'role', config) };
  return { ...base, principal, ...nothing(), gains, losses, source };
}

type IamLists = Pick<IamChange, 'gains' | 'losses' | 'attached' | 'detached' | 'trustGained' | 'trustLost'>;
const nothing = (): IamLists => ({ gains: [], losses: [], attached: [], detached: [], trustGained: [], trustLost: [] });
const IAM_TYPE_ORDER = ['aws_iam_role', 'aws_iam_role_policy', 'aws_iam_role_policy_attachment', 'aws_iam_policy'];

/** Each role's changes together: by role (or policy) name, the role itself first. */
function byPrincipal(a: IamChange, b: IamChange): number {
  const rank = (i: IamChange) => IAM_TYPE_ORDER.indexOf(i.address.split('.')[0]);
  return a.principal.kind.localeCompare(b.principal.kind) || a.principal.name.localeCompare(b.principal.name) || rank(a) - rank(b) || a.address.localeCompare(b.address);
}

/** `Service: lambda.amazonaws.com` -> `lambda.amazonaws.com`, as plan-summary lists trust. */
function trustedPrincipals(document: unknown): string[] | undefined {
  const doc = parseJson(document);
  if (!isObject(doc)) return undefined;
  const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  return statements.filter(isObject).flatMap((s) => {
    if (s.Principal === '*') return ['*'];
    return isObject(s.Principal) ? Object.values(s.Principal).flatMap((v) => (Array.isArray(v) ? v : [v])).map(String) : [];
  });
}

/**
 * A role created or destroyed, or whose trust changes: who may assume it. The new trust policy,
 * when unknown in the plan, is read like npm start's role list (plan-summary's iamRoles).
 */
function roleTrustChange(c: Reviewed, config: SynthesizedConfig): IamChange | undefined {
  const before = c.action === 'create' ? [] : trustedPrincipals(at(c.change.before, ['assume_role_policy'])) ?? [];
  let after: string[] = [];
  let source: IamChange['source'] = 'plan';
  if (c.action !== 'destroy') {
    const planned = marked(c.change.after_unknown, ['assume_role_policy']) ? undefined : trustedPrincipals(at(c.change.after, ['assume_role_policy']));
    const role = config.resource?.aws_iam_role?.[c.rc.name];
    const configured = planned || !role ? undefined : iamRoles({ resource: { aws_iam_role: { [c.rc.name]: role } }, data: config.data })[0]?.trustedBy;
    after = planned ?? configured ?? [];
    source = planned ? 'plan' : configured?.length ? 'configuration' : 'unknown';
  }
  const trustGained = after.filter((p) => !before.includes(p));
  const trustLost = before.filter((p) => !after.includes(p));
  if (c.action === 'update' && trustGained.length + trustLost.length === 0) return undefined;
  const name = nameOf(c, 'name', config);
  return { address: c.rc.address, module: c.module, action: c.action, principal: { kind: 'role', name }, ...nothing(), trustGained, trustLost, source };
}

/**
 * `gains dynamodb:GetItem, dynamodb:PutItem on <table>, <index>`: the actions of each resource,
 * then resources with the same actions (and effect and condition) on one line.
 */
function permissionLines(verb: string, permissions: Permission[]): string[] {
  const byResource = new Map<string, { effect: string; condition?: string; resource: string; actions: Set<string> }>();
  for (const p of permissions) {
    const key = JSON.stringify([p.effect, p.condition, p.resource]);
    const group = byResource.get(key) ?? { effect: p.effect, condition: p.condition, resource: p.resource, actions: new Set<string>() };
    group.actions.add(p.action);
    byResource.set(key, group);
  }
  const byActions = new Map<string, { effect: string; condition?: string; actions: string[]; resources: string[] }>();
  for (const g of byResource.values()) {
    const actions = [...g.actions].sort();
    const key = JSON.stringify([g.effect, g.condition, actions]);
    const line = byActions.get(key) ?? { effect: g.effect, condition: g.condition, actions, resources: [] };
    line.resources.push(g.resource);
    byActions.set(key, line);
  }
  return [...byActions.values()].map(
    (l) => `${verb} ${l.effect === 'Allow' ? '' : `a ${l.effect} of `}${l.actions.map(code).join(', ')} on ${l.resources.map(code).join(', ')}${l.condition ? ` when ${code(l.condition)}` : ''}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Step Functions definitions

function flattenStates(definition: unknown, prefix = '', out = new Map<string, Json>()): Map<string, Json> {
  const states = at(definition, ['States']);
  if (!isObject(states)) return out;
  for (const [name, state] of Object.entries(states)) {
    if (!isObject(state)) continue;
    const key = `${prefix}${name}`;
    const { Branches, Iterator, ItemProcessor, ...own } = state;
    out.set(key, own);
    if (Array.isArray(Branches)) Branches.forEach((b, i) => flattenStates(b, `${key} > branch ${i + 1} > `, out));
    for (const nested of [Iterator, ItemProcessor]) if (nested) flattenStates(nested, `${key} > `, out);
  }
  return out;
}

/** Deep equality; with `lenient`, a `${...}` template on the right (configuration) matches anything. */
function same(a: unknown, b: unknown, lenient: boolean): boolean {
  if (lenient && typeof b === 'string' && b.includes('${')) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i], lenient));
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => same(a[k], b[k], lenient));
  }
  return a === b;
}

/** A state machine's definition before and after the change; after from the configuration when the plan knows it only after apply. */
function definitions(c: Reviewed, config: SynthesizedConfig): { before: unknown; after: unknown; source: DefinitionDiff['source'] } {
  const before = c.action === 'create' ? undefined : parseJson(at(c.change.before, ['definition']));
  let after: unknown;
  let source: DefinitionDiff['source'] = 'plan';
  if (c.action !== 'destroy') {
    after = marked(c.change.after_unknown, ['definition']) ? undefined : parseJson(at(c.change.after, ['definition']));
    if (after === undefined) {
      after = parseJson(config.resource?.[c.rc.type]?.[c.rc.name]?.definition);
      source = after === undefined ? 'unknown' : 'configuration';
    }
  }
  return { before, after, source };
}

function definitionDiff(c: Reviewed, config: SynthesizedConfig): DefinitionDiff {
  const base = { address: c.rc.address, module: c.module, action: c.action };
  const { before, after, source } = definitions(c, config);
  const [old, now] = [flattenStates(before), flattenStates(after)];
  const lenient = source === 'configuration';
  const known = source !== 'unknown' && c.action !== 'create' && c.action !== 'destroy';
  const added = known ? [...now.keys()].filter((k) => !old.has(k)) : [];
  const removed = known ? [...old.keys()].filter((k) => !now.has(k)) : [];
  const changed = known
    ? [...now.entries()]
        .filter(([name]) => old.has(name))
        .map(([name, state]) => {
          const prior = old.get(name) ?? {};
          const fields = [...new Set([...Object.keys(prior), ...Object.keys(state)])].filter((f) => !same(prior[f], state[f], lenient));
          return { state: name, fields };
        })
        .filter((s) => s.fields.length > 0)
    : [];
  const startBefore = at(before, ['StartAt']);
  const startAfter = at(after, ['StartAt']);
  const startAt = known && startBefore !== startAfter ? { before: startBefore as string | undefined, after: startAfter as string | undefined } : undefined;
  return { ...base, source, added, removed, changed, ...(startAt ? { startAt } : {}), ...(after !== undefined ? { states: now.size } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Routes by processname

/**
 * The routes of a definition by name: each is a Pass state that sets `$.route` to the route as
 * contract/route.ts describes it (`Route <name>`, modules/orchestration/definition.ts).
 */
function routeStates(definition: unknown): Map<string, { state: string; route: Json }> {
  const routes = new Map<string, { state: string; route: Json }>();
  for (const [state, own] of flattenStates(definition)) {
    if (own.Type !== 'Pass' || own.ResultPath !== '$.route' || !isObject(own.Result) || typeof own.Result.name !== 'string') continue;
    routes.set(own.Result.name, { state, route: own.Result });
  }
  return routes;
}

/** What a route runs, named as an operator finds it: the job definition's name, the function's name. */
function routeRuns(route: Json, config: SynthesizedConfig): string {
  if (route.type === 'batch' && typeof route.jobDefinition === 'string') return `job definition ${code(readableReference(route.jobDefinition))}`;
  if (route.type === 'lambda' && typeof route.functionArn === 'string') {
    const ref = REF.exec(route.functionArn);
    const name = ref ? config.resource?.[ref[1]]?.[ref[2]]?.function_name : undefined;
    return `function ${code(readableReference(typeof name === 'string' ? name : route.functionArn))}`;
  }
  return `a route of type ${code(String(route.type))}`;
}

function processRouteChanges(c: Reviewed, config: SynthesizedConfig): ProcessRouteChange[] {
  const { before, after, source } = definitions(c, config);
  const [old, now] = [routeStates(before), routeStates(after)];
  const lenient = source === 'configuration';
  const entry = (name: string, change: ProcessRouteChange['change'], at: { state: string; route: Json }): ProcessRouteChange => ({
    name,
    change,
    state: at.state,
    runs: routeRuns(at.route, config),
    address: c.rc.address,
  });
  return [
    ...[...now].filter(([name]) => !old.has(name)).map(([name, r]) => entry(name, 'added', r)),
    ...[...now].filter(([name, r]) => old.has(name) && (old.get(name)!.state !== r.state || !same(old.get(name)!.route, r.route, lenient))).map(([name, r]) => entry(name, 'changed', r)),
    // A definition known only after apply says nothing of what was removed.
    ...(source === 'unknown' ? [] : [...old].filter(([name]) => !now.has(name)).map(([name, r]) => entry(name, 'removed', r))),
  ];
}

// ---------------------------------------------------------------------------------------------
// API routes

/** API Gateway resource id -> path, from every value the plan knows (changes and prior state). */
function resourcePaths(plan: TerraformPlanJson): Map<string, string> {
  const paths = new Map<string, string>();
  const note = (v: unknown) => {
    if (typeof at(v, ['id']) === 'string' && typeof at(v, ['path']) === 'string') paths.set(String(at(v, ['id'])), String(at(v, ['path'])));
  };
  for (const rc of plan.resource_changes ?? []) if (rc.type === 'aws_api_gateway_resource') [rc.change.before, rc.change.after].forEach(note);
  const walk = (module: unknown) => {
    for (const r of (at(module, ['resources']) as unknown[] | undefined) ?? []) if (at(r, ['type']) === 'aws_api_gateway_resource') note(at(r, ['values']));
    for (const child of (at(module, ['child_modules']) as unknown[] | undefined) ?? []) walk(child);
  };
  walk(at(plan, ['prior_state', 'values', 'root_module']));
  return paths;
}

function routeOf(c: Reviewed, values: unknown, paths: Map<string, string>, config: SynthesizedConfig, useConfig: boolean): string | undefined {
  if (!isObject(values)) return undefined;
  if (c.rc.type === 'aws_apigatewayv2_route') {
    return typeof values.route_key === 'string' ? `${values.route_key}  (API Gateway v2, auth: ${String(values.authorization_type ?? 'NONE')})` : undefined;
  }
  const path = typeof values.resource_id === 'string' ? paths.get(values.resource_id) : undefined;
  if (path !== undefined && typeof values.http_method === 'string') {
    return `${values.http_method} ${path}  (auth: ${String(values.authorization)}${values.api_key_required ? ', API key' : ''})`;
  }
  const method = config.resource?.aws_api_gateway_method?.[c.rc.name];
  if (useConfig && method) {
    // plan-summary's route reader, on the configuration cut down to this one method.
    return apiRoutes({ resource: { aws_api_gateway_resource: config.resource?.aws_api_gateway_resource ?? {}, aws_api_gateway_method: { [c.rc.name]: method } } })[0];
  }
  return typeof values.http_method === 'string' ? `${values.http_method} (resource ${String(values.resource_id ?? 'known after apply')})` : undefined;
}

function routeChanges(plan: TerraformPlanJson, changes: Reviewed[], config: SynthesizedConfig): { added: string[]; removed: string[] } {
  const paths = resourcePaths(plan);
  const added: string[] = [];
  const removed: string[] = [];
  for (const c of changes) {
    if (c.rc.type !== 'aws_api_gateway_method' && c.rc.type !== 'aws_apigatewayv2_route') continue;
    if (c.action === 'update') continue;
    const before = c.action === 'create' ? undefined : routeOf(c, c.change.before, paths, config, false);
    const after = c.action === 'destroy' ? undefined : routeOf(c, c.change.after, paths, config, true);
    if (before === after) continue;
    if (after) added.push(after);
    if (before) removed.push(before);
  }
  return { added: added.sort(), removed: removed.sort() };
}

// ---------------------------------------------------------------------------------------------
// Policy

function policyFailures(failOn: FailOn, changes: Reviewed[], stateful: StatefulChange[]): string[] {
  switch (failOn) {
    case 'stateful':
      return stateful.map((s) => `stateful ${s.address} would be ${s.action === 'destroy' ? 'destroyed' : 'replaced'}${s.forcedBy.length ? ` (forced by ${s.forcedBy.join(', ')})` : ''}${s.reason ? ` [${s.reason}]` : ''}${s.procedure ? `: ${s.procedure}` : ''}`);
    case 'replace':
      return changes.filter((c) => c.action === 'replace').map((c) => `${c.rc.address} would be replaced`);
    case 'destroy':
      return changes.filter((c) => c.action === 'replace' || c.action === 'destroy').map((c) => `${c.rc.address} would be ${c.action === 'destroy' ? 'destroyed' : 'replaced (destroyed, then created)'}`);
    case 'any-change':
      return changes.length > 0 ? [`${changes.length} resource changes`] : [];
    case 'none':
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** Top-level attributes an update or replacement changes. */
function changedAttributes(c: Reviewed): string[] {
  const before = isObject(c.change.before) ? c.change.before : {};
  const after = isObject(c.change.after) ? c.change.after : {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after), ...Object.keys(isObject(c.change.after_unknown) ? c.change.after_unknown : {})])];
  return keys.filter((k) => marked(c.change.after_unknown, [k]) || !same(before[k], after[k], false)).sort();
}

function changeLine(c: Reviewed): string {
  const action = c.action === 'replace' && c.change.actions[0] === 'create' ? 'replace (create before destroy)' : c.action;
  let detail = '';
  if (c.action === 'replace' && c.change.replace_paths?.length) detail = `: forced by ${c.change.replace_paths.map((p) => code(attributePath(p))).join(', ')}`;
  else if (c.action === 'update') {
    const attrs = changedAttributes(c);
    const listed = attrs.slice(0, 8).map(code).join(', ');
    detail = attrs.length ? `: ${listed}${attrs.length > 8 ? ` and ${attrs.length - 8} more` : ''}` : '';
  }
  const reason = c.rc.action_reason && c.action !== 'replace' && c.action !== 'update' ? ` (${ACTION_REASONS[c.rc.action_reason] ?? c.rc.action_reason})` : '';
  return `- ${action} ${code(c.rc.address)}${detail}${reason}`;
}

type ReviewData = Omit<PlanReview, 'markdown'>;

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

function renderMarkdown(review: ReviewData, changes: Reviewed[], title: string): string {
  const { counts } = review;
  const lines: string[] = [`## ${title}`, ''];
  const total = counts.create + counts.update + counts.replace + counts.destroy;
  lines.push(total === 0 ? '**Plan:** no changes.' : `**Plan:** ${counts.create} to create, ${counts.update} to update, ${counts.replace} to replace, ${counts.destroy} to destroy.`);
  lines.push('', `**Policy \`--fail-on ${review.failOn}\`: ${review.failed ? 'failed' : 'passed'}.**`);
  // A stateful failure is the next section; other policies list what failed them here.
  if (review.failed && review.failOn === 'stateful') lines[lines.length - 1] += ` ${plural(review.stateful.length, 'stateful resource')} would be replaced or destroyed (below).`;
  else if (review.failed) lines.push('', ...review.failures.map((f) => `- ${f}`));

  lines.push('', `### Stateful resources replaced or destroyed (${review.stateful.length})`, '');
  if (review.stateful.length === 0) lines.push('None: no stateful resource is replaced or destroyed.');
  for (const s of review.stateful) {
    const c = changes.find((x) => x.rc.address === s.address);
    lines.push(`- **${s.action}** ${code(s.address)} (module ${code(s.module)})`);
    for (const forced of c ? forcedByText(c) : []) lines.push(`  - forced by ${forced}`);
    const why = reasonText(s.reason);
    if (why) lines.push(`  - why: ${why}`);
    lines.push(`  - loses: ${s.loses}`);
    if (s.procedure) lines.push(`  - before applying: ${s.procedure}`);
  }

  if (review.accountLevel.length > 0) {
    lines.push('', `### Account-level settings (${review.accountLevel.length})`, '');
    for (const a of review.accountLevel) lines.push(`- **${a.action}** ${code(a.address)}: ${a.touches}`);
  }

  if (review.iam.length > 0) {
    lines.push('', `### IAM (${plural(review.iam.length, 'change')})`, '');
    if (review.iam.some((i) => i.source === 'configuration')) {
      lines.push('_Values the plan knows only after apply are read from the configuration: `aws_x.name.arn` is a reference._', '');
    }
    for (const i of review.iam) {
      lines.push(`- ${i.principal.kind} ${code(i.principal.name)}: ${i.action} of ${code(i.address)}`);
      const items = [
        ...permissionLines('gains', i.gains),
        ...permissionLines('loses', i.losses),
        ...i.attached.map((p) => `gains managed policy ${code(p)}`),
        ...i.detached.map((p) => `loses managed policy ${code(p)}`),
        ...(i.trustGained.length ? [`may be assumed by ${i.trustGained.map(code).join(', ')}`] : []),
        ...(i.trustLost.length ? [`may no longer be assumed by ${i.trustLost.map(code).join(', ')}`] : []),
      ];
      if (i.action === 'destroy' && i.address.startsWith('aws_iam_role.')) items.push('the role is deleted with every permission it had');
      if (i.source === 'unknown') items.push('new document known after apply (not in the plan, no configuration to read it from)');
      else if (i.source === 'configuration' && i.action !== 'create') items.push('new document known after apply: read from the configuration, compared by action');
      if (items.length === 0) items.push('no permission gained or lost');
      for (const item of items) lines.push(`  - ${item}`);
    }
  }

  if (review.stateMachines.length > 0) {
    lines.push('', '### State machine definitions', '');
    for (const d of review.stateMachines) {
      lines.push(`- ${d.action} ${code(d.address)}`);
      const items: string[] = [];
      if (d.action === 'create') items.push(d.states !== undefined ? `new definition with ${d.states} states` : 'definition known after apply');
      if (d.source === 'unknown' && d.action !== 'create' && d.action !== 'destroy') items.push('new definition known after apply');
      if (d.startAt) items.push(`start state ${code(String(d.startAt.before))} -> ${code(String(d.startAt.after))}`);
      if (d.added.length) items.push(`states added: ${d.added.map(code).join(', ')}`);
      if (d.removed.length) items.push(`states removed: ${d.removed.map(code).join(', ')}`);
      for (const s of d.changed) items.push(`state ${code(s.state)} changed: ${s.fields.map(code).join(', ')}`);
      if (d.source === 'configuration' && d.action !== 'create') items.push('read from the configuration (references compared as equal)');
      if (items.length === 0 && d.action === 'update') items.push('definition unchanged');
      for (const item of items) lines.push(`  - ${item}`);
    }
  }

  if (review.processRoutes.length > 0) {
    lines.push('', '### Routes by processname', '');
    for (const r of review.processRoutes) lines.push(`- ${r.change} ${code(r.name)}: state ${code(r.state)}, runs ${r.runs}`);
  }

  if (review.routes.added.length + review.routes.removed.length > 0) {
    lines.push('', '### API routes', '');
    for (const r of review.routes.added) lines.push(`- added ${code(r)}`);
    for (const r of review.routes.removed) lines.push(`- removed ${code(r)}`);
  }

  if (changes.length > 0) {
    lines.push('', '### Changes by module');
    const modules = [...new Set(changes.map((c) => c.module))].sort();
    for (const m of modules) {
      const inModule = changes
        .filter((c) => c.module === m)
        .sort((a, b) => ACTION_ORDER.indexOf(a.action) - ACTION_ORDER.indexOf(b.action) || a.rc.address.localeCompare(b.rc.address));
      const tally = ACTION_ORDER.map((a) => [a, inModule.filter((c) => c.action === a).length] as const)
        .filter(([, n]) => n > 0)
        .map(([a, n]) => `${n} ${a}`)
        .join(', ');
      lines.push('', `#### ${m} (${tally})`, '');
      for (const c of inModule) lines.push(changeLine(c));
    }
  }
  return `${lines.join('\n')}\n`;
}
