/**
 * The default stack through the real terraform CLI and the real AWS provider: init (from the
 * provider mirror named by TF_PROVIDER_MIRROR), validate, and a plan with no AWS credentials.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_ENVIRONMENT, synthesize } from '../../main';
import { changeAction, formatSummary, summarize } from '../../scripts/lib/plan-summary';
import { initValidatePlan, OfflinePlanResult } from '../../scripts/lib/terraform';

const outdir = path.join(__dirname, '..', '..', '.tmp', 'offline-plan-test');

describe('default stack, offline terraform', () => {
  let result: OfflinePlanResult;
  let stackDir: string;

  beforeAll(() => {
    rmSync(outdir, { recursive: true, force: true });
    mkdirSync(outdir, { recursive: true });
    synthesize({ outdir, offlinePlan: true });
    stackDir = path.join(outdir, 'stacks', DEFAULT_ENVIRONMENT);
    result = initValidatePlan(stackDir);
  }, 180_000);

  it('validates and plans', () => {
    expect(result.runs.map((r) => r.command.split(' ').slice(0, 2).join(' '))).toEqual([
      'terraform init',
      'terraform validate',
      'terraform plan',
      'terraform show',
    ]);
    expect(result.runs[1].stdout).toMatch(/Success! The configuration is valid/);
  });

  it('uses no deprecated argument: validate and plan warn of nothing (reset_on_delete of aws_api_gateway_account was one)', () => {
    const [, validate, plan] = result.runs;
    for (const run of [validate, plan]) expect(`${run.stdout}\n${run.stderr}`).not.toMatch(/Deprecated|deprecated/);
  });

  it('plans only creations, for every resource of the configuration', () => {
    const managed = (result.planJson.resource_changes ?? []).filter((rc) => rc.mode === 'managed');
    const config = JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8'));
    const configured = Object.values(config.resource as Record<string, object>).reduce((n, byId) => n + Object.keys(byId).length, 0);

    expect(managed.length).toBe(configured);
    expect(new Set(managed.map((rc) => changeAction(rc.change.actions)))).toEqual(new Set(['create']));
  });

  it('prints a review with the routes and what each role may do', () => {
    const config = JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8'));
    const text = formatSummary(summarize(config, result.planJson));

    expect(text).toMatch(/^Plan: \d+ resource changes \(\d+ to create\)/);
    expect(text).toContain('POST /runrequests  (auth: AWS_IAM)');
    expect(text).toContain('GET /runrequests/{runRequestID}  (auth: AWS_IAM)');
    expect(text).toContain('batch-gateway-dev-ingest-integration-<region>  (assumed by apigateway.amazonaws.com)\n    Allow dynamodb:PutItem, dynamodb:ConditionCheckItem, dynamodb:GetItem on aws_dynamodb_table.gateway_table.arn');
    expect(text).toContain('Allow states:StartExecution on aws_sfn_state_machine.gateway_orchestration_state-machine.arn');
  });
});

describe('default stack, offline terraform: the saved plan', () => {
  it('is reviewed by npm run plan-review as it is, binary, with the stack configuration', () => {
    const stackDir = path.join(outdir, 'stacks', DEFAULT_ENVIRONMENT);
    const root = path.join(__dirname, '..', '..');

    const review = spawnSync(process.execPath, [path.join(root, 'scripts', 'plan-review.mjs'), path.join(stackDir, 'plan.tfplan'), '--config', path.join(stackDir, 'cdk.tf.json')], {
      encoding: 'utf8',
      env: process.env,
    });

    expect(review.stderr).toBe('');
    expect(review.status).toBe(0);
    expect(review.stdout).toMatch(/^## Terraform plan review\n\n\*\*Plan:\*\* \d+ to create, 0 to update, 0 to replace, 0 to destroy\./);
  });
});
