/**
 * Issue 17, fault 2: the stack in the other partitions the configuration accepts (aws-cn,
 * aws-us-gov). An ARN or endpoint written for the commercial partition fails there at run time
 * (a state machine's `arn:aws:states:::...` integration ends the run with States.Runtime), so the
 * synthesized stack must hold no `arn:aws:` and no `amazonaws.com` but the service principals,
 * which AWS keeps unpartitioned (`<service>.amazonaws.com` in every partition).
 */
import { Json, onlyResource, resourceNamed, synthDev, Synthesized } from '../helpers/synth';

const PARTITION = '${data.aws_partition.batch-gateway-partition.partition}';

/** Every string in `value` with the path that leads to it; a JSON-encoded string is walked too. */
function stringsOf(value: unknown, at = ''): { at: string; text: string }[] {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        return stringsOf(JSON.parse(trimmed), `${at}(json)`);
      } catch {
        // Not JSON: a template or a policy with interpolations, checked as text.
      }
    }
    return [{ at, text: value }];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => stringsOf(v, `${at}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value as Json).flatMap(([k, v]) => stringsOf(v, `${at}.${k}`));
  return [];
}

/** Where a service principal goes: a trust policy's or key policy's principal, a Lambda permission's. */
const PRINCIPAL_PATH = /(?:\.principals\[\d+\]\.identifiers\[\d+\]|\.aws_lambda_permission\.[^.]+\.principal|\.Principal\.Service(?:\[\d+\])?)$/;

describe.each([
  ['aws-cn', 'cn-north-1'],
  ['aws-us-gov', 'us-gov-west-1'],
])('the dev stack in %s (%s)', (_partition, region) => {
  let json: Synthesized;
  beforeAll(() => {
    json = synthDev((dev) => {
      dev.region = region;
    });
  });

  it('is configured for the region, with the partition read from the provider', () => {
    expect(json.provider?.aws[0].region).toBe(region);
    expect(json.data.aws_partition).toEqual({ 'batch-gateway-partition': {} });
  });

  it("holds no ARN of the commercial partition: each is a resource's, or built on the partition data source", () => {
    const offenders = stringsOf(json).filter(({ text }) => /\barn:aws:/.test(text));
    expect(offenders).toEqual([]);
  });

  it('names amazonaws.com only in service principals, which AWS does not partition', () => {
    const named = stringsOf(json).filter(({ text }) => text.includes('amazonaws.com'));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter(({ at, text }) => !(PRINCIPAL_PATH.test(at) && /^[a-z0-9-]+\.amazonaws\.com$/.test(text)))).toEqual([]);
  });

  it("integrates the state machine with Step Functions' own services in the provider's partition", () => {
    const definition = JSON.parse(onlyResource(json, 'aws_sfn_state_machine').definition as string) as Json;
    const integrations = Object.values(definition.States as Record<string, Json>)
      .map((s) => s.Resource as string | undefined)
      .filter((r): r is string => r !== undefined && r.includes(':states:::'));
    expect(integrations.sort()).toEqual([`arn:${PARTITION}:states:::lambda:invoke.waitForTaskToken`, `arn:${PARTITION}:states:::sns:publish`]);
  });

  it("calls the WebSocket management API at the API's own endpoint (its DNS suffix the partition's)", () => {
    const notify = resourceNamed(json, 'aws_lambda_function', 'notify');
    expect(notify.environment.variables.WEBSOCKET_ENDPOINT).toMatch(
      /^\$\{replace\(aws_apigatewayv2_api\.[A-Za-z0-9_-]+\.api_endpoint, "wss:\/\/", "https:\/\/"\)\}\/\$\{aws_apigatewayv2_stage\.[A-Za-z0-9_-]+\.name\}$/,
    );
  });
});
