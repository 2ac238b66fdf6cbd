import { TerraformVariable } from 'cdktf';
import { ArtifactsBucket } from '../../modules/artifacts';
import { BarcodeRoute, BarcodeRouteProps } from '../../modules/barcode-route';
import { readableReference } from '../../scripts/lib/plan-summary';
import { bundleHash, Synthesized, onlyResource, refTo, roleNamed, synthStack } from '../helpers/synth';

/**
 * Synthesizes an artifacts bucket (`artifacts`) keeping objects `expirationDays` and a
 * `BarcodeRoute` (`barcode`) on it with `props`; `after` may inspect the route.
 */
function synthBarcode(expirationDays = 1, props: Omit<BarcodeRouteProps, 'artifacts'> = {}, after?: (route: BarcodeRoute) => void): Synthesized {
  return synthStack((stack) => {
    const artifacts = new ArtifactsBucket(stack, 'artifacts', { expirationDays });
    const route = new BarcodeRoute(stack, 'barcode', { artifacts, ...props });
    after?.(route);
  });
}

/** The asset hash of a Lambda bundle, computed the way the function's asset computes it. */
describe('BarcodeRoute (defaults)', () => {
  // Prepare + Act
  const json = synthBarcode();
  const fn = onlyResource(json, 'aws_lambda_function');

  it("runs the generate-barcode bundle on Node.js 22, arm64, 512 MB, 300 s (a Lambda route's default run time)", () => {
    expect(fn).toMatchObject({
      function_name: 'test-barcode-generate-barcode',
      runtime: 'nodejs22.x',
      architectures: ['arm64'],
      handler: 'index.handler',
      memory_size: 512,
      timeout: 300,
    });
    expect(fn.source_code_hash).toBe(bundleHash('generate-barcode'));
  });

  it('signs links for as long as an artifact of 1 day lives: 86400 s', () => {
    expect(fn.environment.variables).toEqual({ URL_EXPIRES_SECONDS: '86400', POWERTOOLS_SERVICE_NAME: 'generate-barcode', POWERTOOLS_METRICS_NAMESPACE: 'batch-gateway' });
  });

  it('runs as its own role, which the route itself grants nothing but its logs', () => {
    expect(fn.role).toBe(refTo(json, 'aws_iam_role', 'generate-barcode_role', 'arn'));
    expect(roleNamed(json, 'test-barcode-generate-barcode-role').statements).toEqual([
      {
        effect: 'Allow',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`${readableReference(refTo(json, 'aws_cloudwatch_log_group', 'generate-barcode_logs', 'arn'))}:*`],
      },
    ]);
  });

  it('serves as a Lambda route: its ARN and its role', () => {
    synthBarcode(1, {}, (route) => {
      expect(route.functionArn).toBe(route.function.functionArn);
      expect(route.role).toBe(route.function.role);
    });
  });
});

describe('BarcodeRoute options', () => {
  it.each([
    { days: 1, seconds: '86400' },
    { days: 7, seconds: '604800' },
    { days: 30, seconds: '604800' },
  ])('signs links for $seconds s when artifacts live $days day(s) (a presigned URL lives at most 7 days)', ({ days, seconds }) => {
    expect(onlyResource(synthBarcode(days), 'aws_lambda_function').environment.variables.URL_EXPIRES_SECONDS).toBe(seconds);
  });

  it('with expirationDays from a Terraform variable, hands the function an expression of it, never a made-up number', () => {
    // Prepare + Act: ArtifactsBucket accepts an unresolved expirationDays and leaves it to Terraform.
    const json = synthStack((stack) => {
      const days = new TerraformVariable(stack, 'days', { type: 'number' });
      new BarcodeRoute(stack, 'barcode', { artifacts: new ArtifactsBucket(stack, 'artifacts', { expirationDays: days.numberValue }) });
    });
    // Assess
    expect(onlyResource(json, 'aws_lambda_function').environment.variables.URL_EXPIRES_SECONDS).toContain('var.days');
  });

  it('sets log retention and tracing', () => {
    const json = synthBarcode(1, { logRetentionDays: 14, tracing: true });
    expect(onlyResource(json, 'aws_cloudwatch_log_group').retention_in_days).toBe(14);
    expect(onlyResource(json, 'aws_lambda_function').tracing_config).toEqual({ mode: 'Active' });
  });
});
