import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { LambdaFunction as LambdaFunctionResource } from '@cdktf/provider-aws/lib/lambda-function';
import { AssetType, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';
import { lambdaBundleZip } from './bundles';
import { IGrantable, PolicyStatement, ServiceRole } from './iam';
import { ENV } from '../../contract';
import { assertLogRetention, assertProp, metricsNamespaceOf, physicalName } from './naming';

export interface LambdaFunctionProps {
  /** Name of the bundle under `dist/bundles/` (the folder name under `lambdas/`). */
  readonly bundle: string;
  /**
   * Folder holding `index.js`; overrides `bundle` for code built elsewhere.
   * @default - `dist/bundles/<bundle>.zip`
   */
  readonly codeDirectory?: string;
  /** @default - derived from the construct path */
  readonly functionName?: string;
  readonly description?: string;
  /** @default {} */
  readonly environment?: Record<string, string>;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default 30 */
  readonly timeoutSeconds?: number;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /** @default false */
  readonly tracing?: boolean;
  /**
   * Reserved concurrency; caps the function's share of the account's concurrency.
   * @default - unreserved
   */
  readonly reservedConcurrency?: number;
}

/**
 * A Node.js 22 Lambda from a prebuilt esbuild bundle, with its own role, a log group with
 * retention created before the function (so the runtime never creates one without retention),
 * and JSON logs.
 */
export class LambdaFunction extends Construct {
  public readonly functionName: string;
  public readonly functionArn: string;
  public readonly invokeArn: string;
  public readonly role: ServiceRole;
  public readonly logGroupName: string;
  public readonly timeoutSeconds: number;
  public readonly resource: LambdaFunctionResource;

  constructor(scope: Construct, id: string, props: LambdaFunctionProps) {
    super(scope, id);
    const name = props.functionName ?? physicalName(this);
    const memorySize = props.memorySize ?? 256;
    const timeout = props.timeoutSeconds ?? 30;
    const retention = props.logRetentionDays ?? 30;
    assertProp(memorySize >= 128 && memorySize <= 10240, `${name}: memorySize must be 128..10240 MB (got ${memorySize})`);
    assertProp(timeout >= 1 && timeout <= 900, `${name}: timeoutSeconds must be 1..900 (got ${timeout})`);
    assertLogRetention(retention, name);

    const logGroup = new CloudwatchLogGroup(this, 'logs', {
      name: `/aws/lambda/${name}`,
      retentionInDays: retention,
    });
    this.logGroupName = logGroup.name;

    this.role = new ServiceRole(this, 'role', {
      servicePrincipal: 'lambda.amazonaws.com',
      description: `Execution role of Lambda ${name}`,
    });
    this.role.addToPolicy('logs', [
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${logGroup.arn}:*`] },
    ]);
    if (props.tracing) {
      // X-Ray trace APIs support no resource-level permissions.
      this.role.addToPolicy('xray', [{ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] }]);
    }

    const asset = props.codeDirectory
      ? new TerraformAsset(this, 'code', { path: props.codeDirectory, type: AssetType.ARCHIVE })
      : new TerraformAsset(this, 'code', { path: lambdaBundleZip(props.bundle), type: AssetType.FILE });

    this.resource = new LambdaFunctionResource(this, 'function', {
      functionName: name,
      description: props.description,
      role: this.role.roleArn,
      runtime: 'nodejs22.x',
      architectures: ['arm64'],
      handler: 'index.handler',
      filename: asset.path,
      sourceCodeHash: asset.assetHash,
      memorySize,
      timeout,
      reservedConcurrentExecutions: props.reservedConcurrency,
      environment: {
        // The gateway's own metrics namespace: two gateways in one account never add up each other's runs.
        variables: { [ENV.metricsNamespace]: metricsNamespaceOf(this), ...(props.environment ?? {}) },
      },
      loggingConfig: { logFormat: 'JSON', logGroup: logGroup.name },
      tracingConfig: { mode: props.tracing ? 'Active' : 'PassThrough' },
      dependsOn: [logGroup],
    });
    this.timeoutSeconds = timeout;
    this.functionName = this.resource.functionName;
    this.functionArn = this.resource.arn;
    this.invokeArn = this.resource.invokeArn;
  }

  /** Grants the function's role these statements. */
  public addToRolePolicy(id: string, statements: PolicyStatement[]): void {
    this.role.addToPolicy(id, statements);
  }

  public get grantable(): IGrantable {
    return this.role;
  }
}
