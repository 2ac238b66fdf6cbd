/**
 * AWS limits checked where the value is set: each rule stops the synth with the limit in its
 * message, and a value just inside the limit passes.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformStack, Testing } from 'cdktf';
import { BatchEnvironment, BatchGateway, BatchGatewayProps, LambdaFunction, Orchestration, RunRequestsTable } from '../../modules';
import { AWS_LIMITS } from '../../modules/shared/limits';
import { resourcesOf, synthStack } from '../helpers/synth';

const BUSYBOX = 'public.ecr.aws/docker/library/busybox:1.36';
const DAY = 86400;

function gateway(props: Partial<BatchGatewayProps>, region = 'eu-west-1') {
  const stack = new TerraformStack(Testing.app(), 'limits');
  new AwsProvider(stack, 'aws', { region });
  return new BatchGateway(stack, 'gateway', { namePrefix: 'limits', routes: { job: { image: BUSYBOX } }, ...props });
}

describe('route limits', () => {
  it("rejects a job definition whose attempt timeout ends a job before the route's deadline (Batch would end it FAILED)", () => {
    const build = () =>
      synthStack((stack) => {
        const batch = new BatchEnvironment(stack, 'batch', { jobDefinitions: [{ name: 'short', image: BUSYBOX, timeoutSeconds: 600 }] });
        new Orchestration(stack, 'orchestration', { table: new RunRequestsTable(stack, 'table'), routes: { short: { target: batch.jobTarget('short'), maxRunTimeSeconds: 3600 } } });
      });

    expect(build).toThrow(
      "Orchestration route 'short': the job definition ends an attempt after 600 s, before the route's maxRunTimeSeconds of 3600 s: Batch would end the job FAILED, never TIMED_OUT. Give the job definition timeoutSeconds >= 3600",
    );
  });

  it('derives the attempt timeout from the route in a gateway, at least Batch minimum of 60 s', () => {
    const json = synthStack((stack) => new BatchGateway(stack, 'gateway', { namePrefix: 'limits', routes: { quick: { image: BUSYBOX, maxRunTimeSeconds: 20 }, slow: { image: BUSYBOX, maxRunTimeSeconds: 7200 } } }));
    const timeouts = Object.fromEntries(Object.values(resourcesOf(json, 'aws_batch_job_definition')).map((d) => [d.name, d.timeout.attempt_duration_seconds]));

    expect(timeouts).toEqual({ 'limits-batch-quick': AWS_LIMITS.minAttemptTimeoutSeconds, 'limits-batch-slow': 7200 });
  });

  it('rejects a Fargate route over 14 days, and takes 14 days', () => {
    expect(() => gateway({ routes: { job: { image: BUSYBOX, maxRunTimeSeconds: 14 * DAY + 1 } } })).toThrow(
      `maxRunTimeSeconds ${14 * DAY + 1} is over 14 days (${14 * DAY} s), the longest AWS Batch guarantees a job on Fargate`,
    );
    expect(() => gateway({ routes: { job: { image: BUSYBOX, maxRunTimeSeconds: 14 * DAY } } })).not.toThrow();
  });

  it("rejects a polling route whose polls would pass Step Functions' 25,000 history events", () => {
    const build = (maxSeconds: number) => () =>
      gateway({ computeType: 'EC2', routes: { job: { image: BUSYBOX, vcpus: 1, memoryMiB: 2048, maxRunTimeSeconds: 30 * DAY, completion: 'poll', polling: { maxSeconds } } } });

    expect(build(900)).toThrow(/polling a job for 2592000 s on this schedule takes 2887 polls and 26010 execution history events, over Step Functions' 25000; raise polling.maxSeconds or lower maxRunTimeSeconds/);
    expect(build(1800)).not.toThrow();
  });

  it("rejects an events route whose safety-net checks would pass the 25,000 history events, and takes 30 days on the default", () => {
    const build = (maxRunTimeSeconds: number, maxSeconds?: number) => () =>
      gateway({ computeType: 'EC2', routes: { job: { image: BUSYBOX, vcpus: 1, memoryMiB: 2048, maxRunTimeSeconds, ...(maxSeconds ? { polling: { maxSeconds } } : {}) } } });

    expect(build(30 * DAY)).not.toThrow();
    expect(build(60 * DAY)).toThrow(/checking a job for 5184000 s on this safety-net schedule takes 2881 checks and 37480 execution history events, over Step Functions' 25000/);
    expect(build(60 * DAY, 3600)).not.toThrow();
  });

  it("rejects route parameters that would push the largest request over Batch's 30 KiB SubmitJob payload", () => {
    const parameters = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`default${i}`, 'x'.repeat(500)]));

    expect(() => gateway({ routes: { job: { existingJobDefinition: 'team-job', parameters } } })).toThrow(
      /route 'job': a request at the API's limits could make a SubmitJob payload of \d+ bytes, over Batch's 30720 \(30 KiB\); the route's own parameters take \d+ of them/,
    );
    expect(() => gateway({ routes: { job: { existingJobDefinition: 'team-job', parameters: { format: 'csv' } } } })).not.toThrow();
  });

  it("rejects a Lambda route longer than its function's own timeout", () => {
    const build = () =>
      synthStack((stack) => {
        const fn = new LambdaFunction(stack, 'route-fn', { bundle: 'generate-barcode', timeoutSeconds: 30 });
        new BatchGateway(stack, 'gateway', { namePrefix: 'limits', routes: { quick: { lambda: fn, maxRunTimeSeconds: 120 } } });
      });

    expect(build).toThrow("route 'quick': the function stops at its timeout of 30 s, before the route's maxRunTimeSeconds of 120 s; give it a timeout of at least 120 s");
  });

  it('gives the barcode function a timeout at least as long as its longest route', () => {
    const json = synthStack((stack) => new BatchGateway(stack, 'gateway', { namePrefix: 'limits', routes: { barcode: { lambda: 'barcode', maxRunTimeSeconds: 600 } } }));
    const fn = Object.values(resourcesOf(json, 'aws_lambda_function')).find((f) => String(f.function_name).includes('barcode'))!;

    expect(fn.timeout).toBe(600);
  });
});

describe('network limits', () => {
  it('rejects a created network in a region where Fargate runs in some zones only, unless their zone IDs are given', () => {
    expect(() => gateway({}, 'us-west-1')).toThrow(
      "BatchEnvironment: in us-west-1 Fargate runs only in zones usw1-az1, usw1-az3, and AWS may place the created subnets elsewhere; set networkProps.availabilityZoneIds: ['usw1-az1', 'usw1-az3']",
    );
    expect(() => gateway({ networkProps: { availabilityZoneIds: ['usw1-az2'] } }, 'us-west-1')).toThrow('Fargate does not run in usw1-az2 (us-west-1 has it in usw1-az1, usw1-az3 only)');
    expect(() => gateway({ networkProps: { availabilityZoneIds: ['usw1-az1', 'usw1-az3'] } }, 'us-west-1')).not.toThrow();
    expect(() => gateway({}, 'eu-west-1')).not.toThrow();
  });

  it('places the subnets by zone ID when asked', () => {
    const json = synthStack((stack) => new BatchGateway(stack, 'gateway', { namePrefix: 'limits', routes: { job: { image: BUSYBOX } }, networkProps: { availabilityZoneIds: ['euw1-az1', 'euw1-az3'] } }));

    expect(Object.values(resourcesOf(json, 'aws_subnet')).map((s) => s.availability_zone_id).sort()).toEqual(['euw1-az1', 'euw1-az3']);
  });
});
