/**
 * The IAM side of a synthesized stack with example values: every Terraform reference resolved to
 * what AWS would make of it (account 111122223333, the provider's region, ARNs built the way each
 * service builds them), every `aws_iam_policy_document` rendered to IAM JSON, and each policy
 * attached where it belongs: inline role policies to their role, trust policies, and the resource
 * policies of buckets, queues, topics, keys and functions.
 */
import { createHash } from 'node:crypto';
import { Json, Synthesized } from './synth';

export const EXAMPLE_ACCOUNT = '111122223333';

/** An IAM policy document as AWS reads it. */
export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: PolicyStatementJson[];
}

export interface PolicyStatementJson {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | Record<string, string[]>;
  Action?: string[];
  NotAction?: string[];
  Resource?: string[];
  NotResource?: string[];
  Condition?: Record<string, Record<string, string[]>>;
}

/** A role of the stack with the policies it carries. */
export interface RoleModel {
  /** Its name, as AWS shows it (e.g. `batch-gateway-dev-orchestration-role-us-east-1`). */
  readonly name: string;
  readonly arn: string;
  /** The session a service acts with when it assumes the role: the principal of its requests. */
  readonly sessionArn: string;
  readonly trustPolicy: PolicyDocument;
  readonly identityPolicies: { readonly name: string; readonly policy: PolicyDocument }[];
}

/** A policy attached to a resource, and the ARN of that resource. */
export interface ResourcePolicyModel {
  /** `aws_s3_bucket_policy.<id>`, `trust <role>`, ...: where it comes from. */
  readonly name: string;
  /** The bucket, queue, topic, key, function or role ARN it protects. */
  readonly owner: string;
  readonly policy: PolicyDocument;
}

export interface IamModel {
  readonly values: TerraformValues;
  readonly roles: RoleModel[];
  readonly resourcePolicies: ResourcePolicyModel[];
}

type Value = string | number | Value[];

/**
 * Resolves `${...}` expressions of a synthesized configuration to example values. Only what the
 * stack uses is supported (references, `element`, `split`, `replace`, `join`, `lower`); anything
 * else throws, so a new construct that the simulation cannot read fails loudly instead of silently.
 */
export class TerraformValues {
  public readonly region: string;
  public readonly account = EXAMPLE_ACCOUNT;
  public readonly partition = 'aws';

  constructor(public readonly json: Synthesized) {
    const region = json.provider?.aws?.[0]?.region;
    if (typeof region !== 'string') throw new Error('the stack has no AWS provider region');
    this.region = region;
  }

  /** `arn:aws:<service>:<region>:<account>:<resource>`. */
  public arn(service: string, resource: string, region = this.region, account: string = this.account): string {
    return `arn:${this.partition}:${service}:${region}:${account}:${resource}`;
  }

  /** A configuration string with every interpolation replaced by its example value. */
  public resolve(value: string): string {
    let out = '';
    let i = 0;
    while (i < value.length) {
      const start = value.indexOf('${', i);
      if (start < 0) return out + value.slice(i);
      if (value[start - 1] === '$') {
        // `$${` is Terraform's escape for a literal `${`.
        out += `${value.slice(i, start - 1)}\${`;
        i = start + 2;
        continue;
      }
      out += value.slice(i, start);
      const pos = { i: start + 2 };
      const result = this.expression(value, pos);
      skipSpaces(value, pos);
      if (value[pos.i] !== '}') throw new Error(`unterminated interpolation in ${value}`);
      out += String(result);
      i = pos.i + 1;
    }
    return out;
  }

  /** Every string in a value (object, array) resolved. */
  public resolveDeep<T>(value: T): T {
    if (typeof value === 'string') return this.resolve(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.resolveDeep(v)) as T;
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolveDeep(v)])) as T;
    return value;
  }

  /** The resource that a value of the form `${type.id.attribute}` refers to. */
  public target(value: unknown): { type: string; id: string; attribute: string } | undefined {
    const m = typeof value === 'string' ? /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}$/.exec(value) : null;
    return m ? { type: m[1], id: m[2], attribute: m[3] } : undefined;
  }

  /** A resource of the configuration by type and logical id. */
  public resource(type: string, id: string): Json {
    const r = this.json.resource[type]?.[id];
    if (!r) throw new Error(`no ${type}.${id} in the stack`);
    return r;
  }

  /** The example value of `<type>.<id>.<attribute>`: a literal of the configuration, or what AWS computes. */
  public attribute(type: string, id: string, attribute: string): string {
    const r = this.resource(type, id);
    const computed = COMPUTED[type]?.(this, r, id) ?? {};
    if (attribute in computed) return computed[attribute];
    if (typeof r[attribute] === 'string' || typeof r[attribute] === 'number') return this.resolve(String(r[attribute]));
    throw new Error(`the simulation does not know ${type}.${attribute} (add it to COMPUTED in iam-policies.ts)`);
  }

  /** The example ARN of the KMS key a `kms_master_key_id` names (an AWS-managed alias included). */
  public kmsKeyArn(keyIdOrAlias: string): string {
    const resolved = this.resolve(keyIdOrAlias);
    if (resolved.startsWith('arn:')) return resolved;
    if (resolved.startsWith('alias/aws/')) return this.arn('kms', `key/${exampleUuid(resolved)}`);
    throw new Error(`the simulation does not know the key '${resolved}'`);
  }

  /** The policy document data source `id`, rendered. */
  public policyDocument(id: string): PolicyDocument {
    const doc = this.json.data.aws_iam_policy_document?.[id];
    if (!doc) throw new Error(`no data.aws_iam_policy_document.${id}`);
    return renderPolicyDocument(this.resolveDeep(doc));
  }

  /** The policy a `${data.aws_iam_policy_document.<id>.json}` value names. */
  public policyOf(value: unknown): PolicyDocument {
    const m = typeof value === 'string' ? /^\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.(json|minified_json)\}$/.exec(value) : null;
    if (m) return this.policyDocument(m[1]);
    if (typeof value === 'string' && value.trim().startsWith('{')) return JSON.parse(this.resolve(value)) as PolicyDocument;
    throw new Error(`not a policy: ${String(value)}`);
  }

  private expression(src: string, pos: { i: number }): Value {
    skipSpaces(src, pos);
    const c = src[pos.i];
    if (c === '"') return this.stringLiteral(src, pos);
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+/.exec(src.slice(pos.i))!;
      pos.i += m[0].length;
      return Number(m[0]);
    }
    const m = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*/.exec(src.slice(pos.i));
    if (!m) throw new Error(`cannot read the expression at '${src.slice(pos.i, pos.i + 40)}'`);
    pos.i += m[0].length;
    skipSpaces(src, pos);
    if (src[pos.i] === '(') {
      pos.i++;
      const args: Value[] = [];
      for (;;) {
        skipSpaces(src, pos);
        if (src[pos.i] === ')') break;
        args.push(this.expression(src, pos));
        skipSpaces(src, pos);
        if (src[pos.i] === ',') pos.i++;
      }
      pos.i++;
      return callFunction(m[0], args);
    }
    return this.reference(m[0].split('.'));
  }

  private stringLiteral(src: string, pos: { i: number }): string {
    let raw = '';
    pos.i++;
    while (src[pos.i] !== '"') {
      if (pos.i >= src.length) throw new Error(`unterminated string in ${src}`);
      if (src[pos.i] === '\\') {
        raw += src[pos.i + 1] === 'n' ? '\n' : src[pos.i + 1];
        pos.i += 2;
      } else {
        raw += src[pos.i++];
      }
    }
    pos.i++;
    return this.resolve(raw);
  }

  private reference(parts: string[]): string {
    if (parts[0] === 'data') {
      const [, type, id, attribute] = parts;
      if (type === 'aws_region' && ['name', 'region', 'id'].includes(attribute)) return this.region;
      if (type === 'aws_partition' && attribute === 'partition') return this.partition;
      if (type === 'aws_partition' && attribute === 'dns_suffix') return 'amazonaws.com';
      if (type === 'aws_iam_policy_document' && ['json', 'minified_json'].includes(attribute)) return JSON.stringify(this.policyDocument(id));
      throw new Error(`the simulation does not know data.${type}.${attribute}`);
    }
    const [type, id, attribute] = parts;
    if (!attribute) throw new Error(`not a reference: ${parts.join('.')}`);
    return this.attribute(type, id, attribute);
  }
}

function skipSpaces(src: string, pos: { i: number }): void {
  while (/\s/.test(src[pos.i] ?? '')) pos.i++;
}

function callFunction(name: string, args: Value[]): Value {
  const str = (v: Value) => {
    if (typeof v === 'object') throw new Error(`${name}: expected a string, got a list`);
    return String(v);
  };
  switch (name) {
    case 'split':
      return str(args[1]).split(str(args[0]));
    case 'element': {
      const list = args[0] as Value[];
      return list[Number(args[1]) % list.length];
    }
    case 'join':
      return (args[1] as Value[]).map(str).join(str(args[0]));
    case 'lower':
      return str(args[0]).toLowerCase();
    case 'replace': {
      // Terraform: a substring wrapped in slashes is a regular expression (RE2; the stack's are JS-compatible).
      const [s, search, replacement] = args.map(str);
      const re = /^\/(.*)\/$/.exec(search);
      return re ? s.replace(new RegExp(re[1], 'g'), replacement) : s.split(search).join(replacement);
    }
    default:
      throw new Error(`the simulation does not evaluate the Terraform function ${name}()`);
  }
}

/** A stable, readable stand-in for an id AWS generates: the same input gives the same id. */
export function exampleId(seed: string, length = 10): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

function exampleUuid(seed: string): string {
  const h = exampleId(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Attributes AWS computes, built as each service builds them (the Terraform AWS provider 5.x's forms). */
const COMPUTED: Record<string, (v: TerraformValues, r: Json, id: string) => Record<string, string>> = {
  aws_dynamodb_table: (v, r) => {
    const arn = v.arn('dynamodb', `table/${v.resolve(r.name)}`);
    return { arn, id: v.resolve(r.name), stream_arn: `${arn}/stream/2026-01-01T00:00:00.000` };
  },
  aws_sqs_queue: (v, r) => ({
    arn: v.arn('sqs', v.resolve(r.name)),
    url: `https://sqs.${v.region}.amazonaws.com/${v.account}/${v.resolve(r.name)}`,
  }),
  aws_sns_topic: (v, r) => ({ arn: v.arn('sns', v.resolve(r.name)), id: v.arn('sns', v.resolve(r.name)) }),
  aws_s3_bucket: (v, r, id) => {
    const bucket = r.bucket ? v.resolve(r.bucket) : `${v.resolve(r.bucket_prefix)}${exampleId(id, 26)}`;
    return { bucket, id: bucket, arn: `arn:${v.partition}:s3:::${bucket}` };
  },
  aws_kms_key: (v, _r, id) => ({ key_id: exampleUuid(id), arn: v.arn('kms', `key/${exampleUuid(id)}`) }),
  // The provider's log group ARN has no trailing `:*` (unlike the CloudWatch Logs API's).
  aws_cloudwatch_log_group: (v, r) => ({ arn: v.arn('logs', `log-group:${v.resolve(r.name)}`) }),
  aws_lambda_function: (v, r) => {
    const arn = v.arn('lambda', `function:${v.resolve(r.function_name)}`);
    return { arn, invoke_arn: `arn:${v.partition}:apigateway:${v.region}:lambda:path/2015-03-31/functions/${arn}/invocations` };
  },
  aws_iam_role: (v, r) => ({ arn: `arn:${v.partition}:iam::${v.account}:role/${v.resolve(r.name)}`, id: v.resolve(r.name) }),
  aws_batch_job_queue: (v, r) => ({ arn: v.arn('batch', `job-queue/${v.resolve(r.name)}`) }),
  // A new job definition's first revision is 1; `arn` is the latest revision's ARN.
  aws_batch_job_definition: (v, r) => ({
    arn: v.arn('batch', `job-definition/${v.resolve(r.name)}:1`),
    arn_prefix: v.arn('batch', `job-definition/${v.resolve(r.name)}`),
    revision: '1',
  }),
  aws_sfn_state_machine: (v, r) => ({ arn: v.arn('states', `stateMachine:${v.resolve(r.name)}`) }),
  // A rule on the default event bus.
  aws_cloudwatch_event_rule: (v, r) => ({ arn: v.arn('events', `rule/${v.resolve(r.name)}`), name: v.resolve(r.name) }),
  aws_apigatewayv2_api: (v, _r, id) => ({
    id: exampleId(id),
    execution_arn: v.arn('execute-api', exampleId(id)),
    api_endpoint: `wss://${exampleId(id)}.execute-api.${v.region}.amazonaws.com`,
  }),
  aws_apigatewayv2_integration: (_v, _r, id) => ({ id: exampleId(id, 7) }),
  aws_apigatewayv2_stage: (v, r) => ({ invoke_url: `wss://${v.attribute('aws_apigatewayv2_api', v.target(r.api_id)!.id, 'id')}.execute-api.${v.region}.amazonaws.com/${v.resolve(r.name)}` }),
  aws_api_gateway_rest_api: (v, _r, id) => ({ id: exampleId(id), root_resource_id: exampleId(`${id}/`, 6), execution_arn: v.arn('execute-api', exampleId(id)) }),
  aws_api_gateway_stage: (v, r) => ({ invoke_url: `https://${v.attribute('aws_api_gateway_rest_api', v.target(r.rest_api_id)!.id, 'id')}.execute-api.${v.region}.amazonaws.com/${v.resolve(r.stage_name)}` }),
};

/** An `aws_iam_policy_document` (its attributes resolved) as the JSON AWS evaluates. */
export function renderPolicyDocument(doc: Json): PolicyDocument {
  const statements = (doc.statement ?? []) as Json[];
  return {
    Version: '2012-10-17',
    Statement: statements.map((s) => {
      const out: PolicyStatementJson = { Effect: s.effect ?? 'Allow' };
      if (s.sid) out.Sid = s.sid;
      const principals = (s.principals ?? []) as { type: string; identifiers: string[] }[];
      if (principals.some((p) => p.type === '*')) out.Principal = '*';
      else if (principals.length > 0) out.Principal = Object.fromEntries(principals.map((p) => [p.type, p.identifiers]));
      if (s.actions) out.Action = s.actions;
      if (s.not_actions) out.NotAction = s.not_actions;
      if (s.resources) out.Resource = s.resources;
      if (s.not_resources) out.NotResource = s.not_resources;
      for (const c of (s.condition ?? []) as { test: string; variable: string; values: string[] }[]) {
        out.Condition ??= {};
        out.Condition[c.test] ??= {};
        out.Condition[c.test][c.variable] = [...(out.Condition[c.test][c.variable] ?? []), ...c.values];
      }
      return out;
    }),
  };
}

/** Roles with their trust and inline policies, and every resource policy of the stack. */
export function iamModelOf(json: Synthesized): IamModel {
  const values = new TerraformValues(json);
  const resources = (type: string) => Object.entries(json.resource[type] ?? {});

  const unsupported = ['aws_iam_policy', 'aws_iam_role_policy_attachment', 'aws_iam_user', 'aws_iam_group', 'aws_iam_role_policies_exclusive', 'aws_lambda_layer_version_permission', 'aws_kms_grant'];
  for (const type of unsupported) {
    if (resources(type).length > 0) throw new Error(`the simulation does not model ${type} yet: extend iam-policies.ts`);
  }

  const roles: RoleModel[] = resources('aws_iam_role').map(([id, role]) => {
    if (role.inline_policy || role.managed_policy_arns) throw new Error(`aws_iam_role.${id}: inline_policy and managed_policy_arns are not modelled`);
    const name = values.attribute('aws_iam_role', id, 'name');
    return {
      name,
      arn: values.attribute('aws_iam_role', id, 'arn'),
      sessionArn: `arn:${values.partition}:sts::${values.account}:assumed-role/${name}/example-session`,
      trustPolicy: values.policyOf(role.assume_role_policy),
      identityPolicies: resources('aws_iam_role_policy')
        .filter(([, p]) => values.target(p.role)?.type === 'aws_iam_role' && values.target(p.role)?.id === id)
        .map(([, p]) => ({ name: values.resolve(p.name), policy: values.policyOf(p.policy) })),
    };
  });
  const attachedPolicies = resources('aws_iam_role_policy').filter(([, p]) => values.target(p.role)?.type !== 'aws_iam_role');
  if (attachedPolicies.length > 0) throw new Error(`role policies on roles outside the stack are not modelled: ${attachedPolicies.map(([id]) => id).join(', ')}`);

  const ownerOf = (value: unknown, attribute = 'arn') => {
    const t = values.target(value);
    if (!t) throw new Error(`expected a reference, got ${String(value)}`);
    return values.attribute(t.type, t.id, attribute);
  };
  const resourcePolicies: ResourcePolicyModel[] = [
    ...roles.map((r) => ({ name: `trust policy of ${r.name}`, owner: r.arn, policy: r.trustPolicy })),
    ...resources('aws_s3_bucket_policy').map(([id, p]) => ({ name: `aws_s3_bucket_policy.${id}`, owner: ownerOf(p.bucket), policy: values.policyOf(p.policy) })),
    ...resources('aws_sqs_queue_policy').map(([id, p]) => ({ name: `aws_sqs_queue_policy.${id}`, owner: ownerOf(p.queue_url), policy: values.policyOf(p.policy) })),
    ...resources('aws_sns_topic_policy').map(([id, p]) => ({ name: `aws_sns_topic_policy.${id}`, owner: values.resolve(p.arn), policy: values.policyOf(p.policy) })),
    ...resources('aws_kms_key')
      .filter(([, k]) => k.policy)
      .map(([id, k]) => ({ name: `aws_kms_key.${id}`, owner: values.attribute('aws_kms_key', id, 'arn'), policy: values.policyOf(k.policy) })),
    ...lambdaPermissionPolicies(values),
    ...awsManagedKeyPolicies(values),
    ...bucketKeyPolicies(values),
  ];
  return { values, roles, resourcePolicies };
}

/** The function policy AWS builds from the `aws_lambda_permission`s of each function (one statement each). */
function lambdaPermissionPolicies(values: TerraformValues): ResourcePolicyModel[] {
  const byFunction = new Map<string, PolicyStatementJson[]>();
  for (const [id, p] of Object.entries(values.json.resource.aws_lambda_permission ?? {})) {
    const fn = values.target(p.function_name);
    if (!fn || fn.type !== 'aws_lambda_function') throw new Error(`aws_lambda_permission.${id}: function_name must reference a function of the stack`);
    const arn = values.attribute('aws_lambda_function', fn.id, 'arn');
    const principal = values.resolve(p.principal);
    const statement: PolicyStatementJson = {
      Sid: id,
      Effect: 'Allow',
      Principal: principal.endsWith('.amazonaws.com') ? { Service: [principal] } : { AWS: [principal] },
      Action: [values.resolve(p.action)],
      Resource: [p.qualifier ? `${arn}:${values.resolve(p.qualifier)}` : arn],
    };
    if (p.source_arn) statement.Condition = { ArnLike: { 'AWS:SourceArn': [values.resolve(p.source_arn)] } };
    if (p.source_account) statement.Condition = { ...statement.Condition, StringEquals: { 'AWS:SourceAccount': [values.resolve(p.source_account)] } };
    byFunction.set(arn, [...(byFunction.get(arn) ?? []), statement]);
  }
  return [...byFunction].map(([arn, Statement]) => ({ name: `function policy of ${arn}`, owner: arn, policy: { Version: '2012-10-17', Statement } }));
}

/**
 * The key policy of each customer-managed key a bucket of the stack is encrypted with: the key is
 * not the stack's, so the policy is the default one KMS gives a key, which lets IAM policies of
 * the account grant its use (KMS developer guide, "Default key policy").
 */
function bucketKeyPolicies(values: TerraformValues): ResourcePolicyModel[] {
  const first = (x: unknown) => (Array.isArray(x) ? x[0] : x) as Json | undefined;
  const keys = new Set(
    Object.values(values.json.resource.aws_s3_bucket_server_side_encryption_configuration ?? {})
      .map((e) => first(first(e.rule)?.apply_server_side_encryption_by_default))
      .filter((d) => d?.sse_algorithm === 'aws:kms' && typeof d.kms_master_key_id === 'string')
      .map((d) => values.kmsKeyArn(d!.kms_master_key_id)),
  );
  return [...keys].map((key) => ({
    name: `customer-managed key ${key}`,
    owner: key,
    policy: {
      Version: '2012-10-17',
      Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: [`arn:${values.partition}:iam::${values.account}:root`] }, Action: ['kms:*'], Resource: ['*'] }],
    },
  }));
}

/**
 * The key policy of an AWS-managed key (`alias/aws/<service>`) that a topic of the stack uses, as
 * AWS documents it: any principal of the account may use the key through that service only.
 */
function awsManagedKeyPolicies(values: TerraformValues): ResourcePolicyModel[] {
  const aliases = new Set(
    Object.values(values.json.resource.aws_sns_topic ?? {})
      .map((t) => (t.kms_master_key_id ? values.resolve(t.kms_master_key_id) : undefined))
      .filter((k): k is string => k?.startsWith('alias/aws/') ?? false),
  );
  return [...aliases].map((alias) => {
    const service = alias.slice('alias/aws/'.length);
    return {
      name: `AWS-managed key ${alias}`,
      owner: values.kmsKeyArn(alias),
      policy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: `Allow access through ${service} for all principals in the account that are authorized to use ${service}`,
            Effect: 'Allow',
            Principal: { AWS: ['*'] },
            Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:DescribeKey'],
            Resource: ['*'],
            Condition: { StringEquals: { 'kms:CallerAccount': [values.account], 'kms:ViaService': [`${service}.${values.region}.amazonaws.com`] } },
          },
        ],
      },
    };
  });
}
