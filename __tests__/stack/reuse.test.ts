/**
 * The modules composed differently from main.ts, from the package's one entry point: an existing
 * network, a table passed in, two ingest APIs sharing one Batch environment. Nothing in a module
 * may assume the default stack.
 */
import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, TerraformStack } from 'cdktf';
import { ApiIngest, BatchEnvironment, ExistingRunRequestsTable, Orchestration, RunRequestsTable, ServiceRole, StreamTrigger } from '../../modules';
import { initAndValidate } from '../../scripts/lib/terraform';
import { physicalNames, resourcesOf, rolesOf, synthStack } from '../helpers/synth';

let ingestA!: ApiIngest;
let ingestB!: ApiIngest;
let batch!: BatchEnvironment;

function compose(stack: TerraformStack): void {
    const sharedTable = new RunRequestsTable(stack, 'orders-table', { tableName: 'orders-run-requests' });
    ingestA = new ApiIngest(stack, 'orders-api', { table: sharedTable, authorization: 'API_KEY', resourcePath: 'jobs' });
    const imported = new ExistingRunRequestsTable(stack, 'billing-table', {
      tableName: 'billing-run-requests',
      tableArn: 'arn:aws:dynamodb:eu-west-1:111122223333:table/billing-run-requests',
      streamArn: 'arn:aws:dynamodb:eu-west-1:111122223333:table/billing-run-requests/stream/2026-01-01T00:00:00.000',
    });
    ingestB = new ApiIngest(stack, 'billing-api', { table: imported });
    batch = new BatchEnvironment(stack, 'shared-batch', {
      subnetIds: ['subnet-0aaa', 'subnet-0bbb'],
      securityGroupIds: ['sg-0ccc'],
      egress: 'nat',
      computeType: 'FARGATE_SPOT',
      jobDefinitions: [
        { name: 'orders', image: 'public.ecr.aws/docker/library/busybox:1.36', command: ['true'] },
        { name: 'billing', image: 'public.ecr.aws/docker/library/busybox:1.36', command: ['true'], vcpu: 1, memoryMiB: 2048 },
      ],
    });
    // One state machine per table: each writes statuses back to its own table.
    const ordersMachine = new Orchestration(stack, 'orders-orchestration', {
      table: ingestA.table,
      routes: { orders: { target: batch.jobTarget('orders') }, 'orders.v2': { target: batch.jobTarget('orders'), parameters: { version: '2' } } },
      defaultRoute: 'orders',
    });
    const billingMachine = new Orchestration(stack, 'billing-orchestration', {
      table: ingestB.table,
      routes: { billing: { target: batch.jobTarget('billing'), maxRunTimeSeconds: 600, polling: { initialSeconds: 5, maxSeconds: 60 } } },
    });
    new StreamTrigger(stack, 'orders-trigger', { table: ingestA.table, stateMachine: ordersMachine });
    new StreamTrigger(stack, 'billing-trigger', { table: ingestB.table, stateMachine: billingMachine });
    const operator = new ServiceRole(stack, 'operator', { servicePrincipal: 'lambda.amazonaws.com' });
    batch.grantSubmitJob(operator, ['orders']);
    batch.grantDescribeJobs(operator);
    batch.grantTerminateJob(operator);
}

describe('modules reused in another composition', () => {
  const json = synthStack(compose);

  it('gives every resource of both APIs and triggers its own physical name', () => {
    const names = physicalNames(json);
    expect(names.length).toBeGreaterThan(15);
    expect(new Set(names).size).toBe(names.length);
  });

  it('creates only the table it was not given', () => {
    const tables = Object.values(resourcesOf(json, 'aws_dynamodb_table'));
    expect(tables.map((t) => t.name)).toEqual(['orders-run-requests']);
  });

  it('points each API at its own table', () => {
    const templates = Object.values(resourcesOf(json, 'aws_api_gateway_integration'))
      .filter((i) => i.uri.includes('TransactWriteItems'))
      .map((i) => i.request_templates['application/json'] as string);
    expect(templates).toHaveLength(2);
    expect(templates.some((t) => /"TableName": "\$\{aws_dynamodb_table\.orders-table_[A-Za-z0-9_]+\.name\}"/.test(t))).toBe(true);
    expect(templates.some((t) => t.includes('"TableName": "billing-run-requests"'))).toBe(true);
    expect(ingestA.routes).toEqual(['POST /jobs', 'GET /jobs/{runRequestID}']);
    expect(ingestB.routes).toEqual(['POST /runrequests', 'GET /runrequests/{runRequestID}']);
  });

  it("grants the imported table's triggers its stream, by ARN", () => {
    const billing = rolesOf(json).find((r) => r.name.includes('billing-trigger'))!;
    const stream = billing.statements.find((s) => s.actions.includes('dynamodb:GetRecords'))!;
    expect(stream.resources).toEqual(['arn:aws:dynamodb:eu-west-1:111122223333:table/billing-run-requests/stream/2026-01-01T00:00:00.000']);
  });

  it('runs both routes in one shared Batch environment in the given network', () => {
    const environment = Object.values(resourcesOf(json, 'aws_batch_compute_environment'))[0];
    expect(Object.keys(resourcesOf(json, 'aws_batch_compute_environment'))).toHaveLength(1);
    expect(environment.compute_resources).toMatchObject({ type: 'FARGATE_SPOT', subnets: ['subnet-0aaa', 'subnet-0bbb'], security_group_ids: ['sg-0ccc'] });
    expect(Object.keys(batch.jobDefinitionArns).sort()).toEqual(['billing', 'orders']);
    expect(resourcesOf(json, 'aws_vpc')).toEqual({});
  });

  it('keys only the API that asked for API-key auth', () => {
    const methods = Object.values(resourcesOf(json, 'aws_api_gateway_method'));
    expect(methods.filter((m) => m.api_key_required === true && m.authorization === 'NONE')).toHaveLength(2);
    expect(methods.filter((m) => m.authorization === 'AWS_IAM')).toHaveLength(2);
    expect(Object.keys(resourcesOf(json, 'aws_api_gateway_usage_plan'))).toHaveLength(1);
  });
});

describe('modules reused in another composition, through terraform', () => {
  it('passes terraform validate', () => {
    const outdir = path.join(__dirname, '..', '..', '.tmp', 'reuse-test');
    rmSync(outdir, { recursive: true, force: true });
    mkdirSync(outdir, { recursive: true });
    const app = new App({ outdir });
    const stack = new TerraformStack(app, 'reuse');
    new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
    compose(stack);
    app.synth();

    const [, validate] = initAndValidate(path.join(outdir, 'stacks', 'reuse'));

    expect(validate.stdout).toMatch(/Success! The configuration is valid/);
  }, 120_000);
});
