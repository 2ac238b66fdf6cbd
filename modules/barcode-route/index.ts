import { Construct } from 'constructs';
import { ENV } from '../../contract';
import { IArtifactsBucket } from '../artifacts';
import { IGrantable } from '../shared/iam';
import { LambdaFunction } from '../shared/lambda-function';
import { ILambdaRouteFunction } from '../orchestration';
import { isLiteral } from '../shared/naming';
import { Fn, Op, Token } from 'cdktf';

export interface BarcodeRouteProps {
  /** Where the PNG is stored; the link expires no later than the object. */
  readonly artifacts: IArtifactsBucket;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /** @default false */
  readonly tracing?: boolean;
  /** The function's timeout: at least the longest maxRunTimeSeconds of the routes it serves. @default 300, a Lambda route's default */
  readonly timeoutSeconds?: number;
}

/** SigV4 presigned URLs live at most seven days. */
const MAX_PRESIGNED_SECONDS = 7 * 86400;

/**
 * The `generate-barcode` Lambda route (the original demo): renders a Code 128 PNG of the
 * request's `parameters.text`, stores it as `<runRequestID>/barcode.png`, returns a link.
 */
export class BarcodeRoute extends Construct implements ILambdaRouteFunction {
  public readonly functionArn: string;
  public readonly timeoutSeconds: number;
  public readonly role: IGrantable;
  public readonly function: LambdaFunction;

  constructor(scope: Construct, id: string, props: BarcodeRouteProps) {
    super(scope, id);
    this.function = new LambdaFunction(this, 'generate-barcode', {
      bundle: 'generate-barcode',
      description: 'Renders a Code 128 barcode PNG into the artifacts bucket and returns a link',
      environment: {
        [ENV.urlExpiresSeconds]: linkLifetimeSeconds(props.artifacts.expirationDays),
        [ENV.serviceName]: 'generate-barcode',
      },
      memorySize: 512,
      // At least the route's maximum run time, so that the route's timeout (TIMED_OUT) comes first.
      timeoutSeconds: props.timeoutSeconds ?? 300,
      logRetentionDays: props.logRetentionDays,
      tracing: props.tracing,
    });
    this.functionArn = this.function.functionArn;
    this.timeoutSeconds = this.function.timeoutSeconds;
    this.role = this.function.role;
  }
}

/** Seconds a link lives: the object's lifetime, at most SigV4's; a Terraform expression when the days are one. */
function linkLifetimeSeconds(expirationDays: number): string {
  if (isLiteral(expirationDays)) return String(Math.min(expirationDays * 86400, MAX_PRESIGNED_SECONDS));
  return Token.asString(Fn.min([Op.mul(expirationDays, 86400), MAX_PRESIGNED_SECONDS]));
}
