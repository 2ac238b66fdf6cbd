import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Construct } from 'constructs';
import { iamName } from './naming';

/** One IAM policy statement (always `Allow`: denies belong in resource policies and SCPs). */
export interface PolicyStatement {
  readonly sid?: string;
  readonly actions: string[];
  readonly resources: string[];
  readonly conditions?: { test: string; variable: string; values: string[] }[];
}

/** Something that can be granted permissions: a role created here, or one passed in. */
export interface IGrantable {
  readonly roleArn: string;
  readonly roleName: string;
  /** Adds an inline policy named `id` holding these statements. */
  addToPolicy(id: string, statements: PolicyStatement[]): void;
}

export interface ServiceRoleProps {
  /** Service principal allowed to assume the role, e.g. `lambda.amazonaws.com`. */
  readonly servicePrincipal: string;
  /**
   * Role name.
   * @default - the gateway's name prefix (or the stack's id), the construct path and the region
   */
  readonly roleName?: string;
  readonly description?: string;
  /** Extra conditions on the trust policy (e.g. `aws:SourceArn`) against the confused-deputy problem. */
  readonly trustConditions?: { test: string; variable: string; values: string[] }[];
}

/** An IAM role for one AWS service, with inline policies rendered from policy documents. */
export class ServiceRole extends Construct implements IGrantable {
  public readonly roleArn: string;
  public readonly roleName: string;
  /** Inline policies added so far: depend on them where AWS checks permissions at creation. */
  public readonly policies: IamRolePolicy[] = [];
  private readonly role: IamRole;

  constructor(scope: Construct, id: string, props: ServiceRoleProps) {
    super(scope, id);
    const trust = new DataAwsIamPolicyDocument(this, 'trust', {
      statement: [
        {
          actions: ['sts:AssumeRole'],
          principals: [{ type: 'Service', identifiers: [props.servicePrincipal] }],
          condition: props.trustConditions,
        },
      ],
    });
    this.role = new IamRole(this, 'role', {
      name: props.roleName ?? iamName(this),
      description: props.description,
      assumeRolePolicy: trust.json,
    });
    this.roleArn = this.role.arn;
    this.roleName = this.role.name;
  }

  public addToPolicy(id: string, statements: PolicyStatement[]): void {
    const policy = addInlinePolicy(this, id, this.role.name, statements);
    if (!this.policies.includes(policy)) this.policies.push(policy);
  }

  /** The underlying resource, for `dependsOn`. */
  public get resource(): IamRole {
    return this.role;
  }
}

/** A role created elsewhere, granted to by name. */
export class ImportedRole extends Construct implements IGrantable {
  constructor(
    scope: Construct,
    id: string,
    public readonly roleArn: string,
    public readonly roleName: string,
  ) {
    super(scope, id);
  }

  public addToPolicy(id: string, statements: PolicyStatement[]): void {
    addInlinePolicy(this, id, this.roleName, statements);
  }
}

/**
 * Adds the policy `id` once: a second grant of the same id with the same statements is a no-op
 * (two routes on one queue grant the same thing); with other statements it is a bug.
 */
function addInlinePolicy(scope: Construct, id: string, roleName: string, statements: PolicyStatement[]): IamRolePolicy {
  const existing = scope.node.tryFindChild(`${id}-policy`) as IamRolePolicy | undefined;
  if (existing) {
    const granted = grantedStatements.get(existing);
    if (JSON.stringify(granted) !== JSON.stringify(statements)) {
      throw new Error(`${scope.node.path}: policy '${id}' was already granted with other statements`);
    }
    return existing;
  }
  const doc = new DataAwsIamPolicyDocument(scope, `${id}-document`, {
    statement: statements.map((s) => ({
      sid: s.sid,
      effect: 'Allow',
      actions: s.actions,
      resources: s.resources,
      condition: s.conditions,
    })),
  });
  const policy = new IamRolePolicy(scope, `${id}-policy`, { name: id, role: roleName, policy: doc.json });
  grantedStatements.set(policy, statements);
  return policy;
}

const grantedStatements = new WeakMap<IamRolePolicy, PolicyStatement[]>();

/**
 * A resource policy statement refusing every call over plain HTTP (`aws:SecureTransport` false),
 * for a bucket's or a queue's policy. `service:*` here only denies: it grants nothing.
 */
export function denyInsecureTransport(service: 's3' | 'sqs', resources: string[]) {
  return {
    sid: 'DenyInsecureTransport',
    effect: 'Deny',
    actions: [`${service}:*`],
    resources,
    principals: [{ type: '*', identifiers: ['*'] }],
    condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
  };
}
