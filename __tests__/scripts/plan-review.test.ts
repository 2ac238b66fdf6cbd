/**
 * The plan review (scripts/lib/plan-review.ts) and its CLI (scripts/plan-review.mjs), on a real
 * plan of the default stack (fixtures/plans/default-stack-create.json: `terraform show -json` of
 * the offline plan, made with `initValidatePlan`) and on hand-written plans in Terraform's JSON
 * plan format 1.2.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { apiRoutes, summarize, SynthesizedConfig } from '../../scripts/lib/plan-summary';
import { configFromPlan, FailOn, moduleOf, PlanFormatError, PlanReview, reviewPlan, STATEFUL_PROCEDURES, STATEFUL_RESOURCE_TYPES } from '../../scripts/lib/plan-review';
import { TerraformPlanJson } from '../../scripts/lib/terraform';

const root = path.join(__dirname, '..', '..');
const fixtures = path.join(__dirname, '..', 'fixtures', 'plans');
const fixturePath = (name: string) => path.join(fixtures, name);
const fixture = <T = TerraformPlanJson>(name: string): T => JSON.parse(readFileSync(fixturePath(name), 'utf8')) as T;

describe('stateful resource types', () => {
  it('include every type whose replacement loses data or work in flight', () => {
    expect(STATEFUL_RESOURCE_TYPES).toEqual(
      expect.arrayContaining([
        'aws_dynamodb_table',
        'aws_batch_compute_environment',
        'aws_batch_job_queue',
        'aws_s3_bucket',
        'aws_sqs_queue',
        'aws_sns_topic',
        'aws_cloudwatch_log_group',
        'aws_kms_key',
      ]),
    );
  });
});

describe('module of a change', () => {
  it('is the top construct of a cdktf name', () => {
    expect(moduleOf({ name: 'ingest_table_C581A1ED' })).toBe('ingest');
    expect(moduleOf({ name: 'apigw-account_EEEAF9DE' })).toBe('apigw-account');
  });

  it('is the Terraform module when there is one, with the construct inside it', () => {
    expect(moduleOf({ name: 'this', module_address: 'module.batch' })).toBe('module.batch');
    expect(moduleOf({ name: 'compute_queue_0A1B2C3D', module_address: 'module.batch' })).toBe('module.batch/compute');
  });

  it('is the root for a name that is not cdktf-made', () => {
    expect(moduleOf({ name: 'legacy' })).toBe('(root)');
  });
});

describe('review of the default stack planned from scratch (real terraform plan)', () => {
  const plan = fixture('default-stack-create.json');
  const managed = (plan.resource_changes ?? []).filter((rc) => rc.mode === 'managed');
  let review: PlanReview;

  beforeAll(() => {
    review = reviewPlan(plan);
  });

  it('counts only creations, one per managed resource', () => {
    expect(managed.length).toBeGreaterThan(100);
    expect(review.counts).toEqual({ create: managed.length, update: 0, replace: 0, destroy: 0 });
    expect(review.markdown).toContain(`**Plan:** ${managed.length} to create, 0 to update, 0 to replace, 0 to destroy.`);
  });

  it('finds no stateful replacement and passes the default policy', () => {
    expect(review.stateful).toEqual([]);
    expect(review.failed).toBe(false);
    expect(review.failOn).toBe('stateful');
    expect(review.markdown).toContain('None: no stateful resource is replaced or destroyed.');
  });

  it('calls out the account-level API Gateway setting the plan creates, and what it touches beyond the stack', () => {
    expect(review.accountLevel).toEqual([{ address: expect.stringMatching(/^aws_api_gateway_account\./), action: 'create', touches: expect.stringContaining('for the whole account and region') }]);
    expect(review.markdown).toMatch(/### Account-level settings \(1\)\n\n- \*\*create\*\* `aws_api_gateway_account\.[^`]+`: the CloudWatch Logs role of API Gateway for the whole account and region/);
  });

  it('lists the new API routes, REST paths rebuilt from the plan configuration', () => {
    expect(review.routes).toEqual({
      added: ['$connect  (API Gateway v2, auth: AWS_IAM)', '$disconnect  (API Gateway v2, auth: NONE)', 'GET /runrequests/{runRequestID}  (auth: AWS_IAM)', 'POST /runrequests  (auth: AWS_IAM)'],
      removed: [],
    });
    expect(review.markdown).toContain('- added `POST /runrequests  (auth: AWS_IAM)`');
  });

  it('reads the routes as npm start does (plan-summary) from the plan configuration', () => {
    const restRoutes = review.routes.added.filter((r) => !r.includes('API Gateway v2'));

    expect(restRoutes).toEqual(apiRoutes(configFromPlan(plan)));
  });

  it('says what each new role may do, read from the configuration since ARNs are known after apply', () => {
    // The plan knows role names (the region comes from a data source it reads), not policy ARNs.
    const ingest = review.iam.filter((i) => i.principal.name === 'batch-gateway-dev-ingest-integration-us-east-1');

    expect(ingest.map((i) => i.address.split('.')[0])).toEqual(['aws_iam_role', 'aws_iam_role_policy']);
    expect(ingest[0].trustGained).toEqual(['apigateway.amazonaws.com']);
    expect(ingest[1]).toMatchObject({ source: 'configuration', losses: [] });
    expect(ingest[1].gains).toEqual([
      { effect: 'Allow', action: 'dynamodb:PutItem', resource: 'aws_dynamodb_table.gateway_table.arn' },
      { effect: 'Allow', action: 'dynamodb:GetItem', resource: 'aws_dynamodb_table.gateway_table.arn' },
    ]);
    expect(review.markdown).toContain(
      '- role `batch-gateway-dev-ingest-integration-us-east-1`: create of `aws_iam_role_policy.gateway_ingest_integration-role_run-requests-policy_C770EB0D`\n  - gains `dynamodb:GetItem`, `dynamodb:PutItem` on `aws_dynamodb_table.gateway_table.arn`',
    );
    expect(review.markdown).toContain('gains `states:StartExecution` on `aws_sfn_state_machine.gateway_orchestration_state-machine.arn`');
  });

  it('counts the states of the new state machine from the configuration', () => {
    expect(review.stateMachines).toHaveLength(1);
    expect(review.stateMachines[0]).toMatchObject({ action: 'create', source: 'configuration', added: [], removed: [], changed: [] });
    expect(review.stateMachines[0].states).toBeGreaterThan(10);
  });

  it("lists every route of the new state machine by processname: its state, its job definition or function", () => {
    const machine = 'aws_sfn_state_machine.gateway_orchestration_state-machine_65800C1C';

    expect(review.processRoutes).toEqual([
      { name: 'sample', change: 'added', state: 'Route sample', runs: 'job definition `batch-gateway-dev-batch-sample`', address: machine },
      { name: 'barcode', change: 'added', state: 'Route barcode', runs: 'function `batch-gateway-dev-barcode-generate-barcode`', address: machine },
    ]);
    expect(review.markdown).toContain(
      [
        '### Routes by processname',
        '',
        '- added `sample`: state `Route sample`, runs job definition `batch-gateway-dev-batch-sample`',
        '- added `barcode`: state `Route barcode`, runs function `batch-gateway-dev-barcode-generate-barcode`',
      ].join('\n'),
    );
  });

  it('groups every change under its module, inside the gateway that holds them all', () => {
    for (const m of ['apigw-account', 'artifacts', 'barcode', 'batch', 'ingest', 'monitoring', 'notifications', 'orchestration', 'table', 'trigger']) {
      expect(review.markdown).toMatch(new RegExp(`^#### ${m} \\(\\d+ create\\)$`, 'm'));
    }
    expect(review.markdown).not.toMatch(/^#### gateway /m);
    expect(review.markdown).toContain('- create `aws_dynamodb_table.gateway_table_B4AAD1E0`');
  });

  it('counts as plan-summary does', () => {
    expect(review.counts.create).toBe(summarize({}, plan).actions.create);
  });
});

describe('review of hand-written changes (fixtures/plans/mixed-changes.json)', () => {
  const plan = fixture('mixed-changes.json');
  let review: PlanReview;

  beforeAll(() => {
    review = reviewPlan(plan);
  });

  it('counts creates, updates, replacements and destroys, ignoring no-ops and reads', () => {
    expect(review.counts).toEqual({ create: 2, update: 5, replace: 2, destroy: 5 });
    expect(review.markdown).toContain('**Plan:** 2 to create, 5 to update, 2 to replace, 5 to destroy.');
  });

  it('lists stateful destroys and replacements, with the attribute forcing each and the reason', () => {
    expect(review.stateful).toEqual([
      {
        address: 'aws_sqs_queue.trigger_dead-letters_EE927A09',
        type: 'aws_sqs_queue',
        module: 'trigger',
        action: 'destroy',
        forcedBy: [],
        reason: 'delete_because_no_resource_config',
        loses: 'the messages in the queue',
      },
      expect.objectContaining({ address: 'aws_batch_compute_environment.batch_compute_79ABF2D0', action: 'replace', forcedBy: ['compute_resources[0].type'], reason: 'replace_because_cannot_update' }),
      expect.objectContaining({ address: 'aws_dynamodb_table.ingest_table_C581A1ED', module: 'ingest', action: 'replace', forcedBy: ['name'], reason: 'replace_because_cannot_update' }),
    ]);
  });

  it('puts the stateful section first, before IAM, definitions, routes and the changes by module', () => {
    const sections = review.markdown.split('\n').filter((l) => l.startsWith('### '));

    expect(sections).toEqual(['### Stateful resources replaced or destroyed (3)', '### IAM (3 changes)', '### State machine definitions', '### API routes', '### Changes by module']);
  });

  it('shows the forcing attribute with its old and new value, and the reason in words', () => {
    expect(review.markdown).toContain(
      [
        '- **replace** `aws_dynamodb_table.ingest_table_C581A1ED` (module `ingest`)',
        '  - forced by `name`: `"batch-gateway-ingest-table"` -> `"batch-gateway-run-requests"`',
        '  - why: an attribute that cannot change in place changed (`replace_because_cannot_update`)',
        '  - loses: every item in the table, and its stream',
      ].join('\n'),
    );
    expect(review.markdown).toContain('  - forced by `compute_resources[0].type`: `"FARGATE"` -> `"FARGATE_SPOT"`');
    expect(review.markdown).toContain('  - why: its configuration was removed (`delete_because_no_resource_config`)');
  });

  it('never shows a sensitive value of a forcing attribute', () => {
    const secret = structuredClone(plan) as { resource_changes: { address: string; change: Record<string, unknown> }[] } & TerraformPlanJson;
    const table = secret.resource_changes.find((rc) => rc.address.startsWith('aws_dynamodb_table.'));
    table!.change.after_sensitive = { name: true };

    const markdown = reviewPlan(secret).markdown;

    expect(markdown).toContain('  - forced by `name`: `"batch-gateway-ingest-table"` -> (sensitive)');
    expect(markdown).not.toContain('"batch-gateway-run-requests"');
  });

  it('says in words which role gains and loses which action on which resource', () => {
    const support = review.iam.find((i) => i.address.includes('batch-submit-support'));

    expect(support).toMatchObject({
      action: 'update',
      principal: { kind: 'role', name: 'batch-gateway-orchestration-submit-job-role' },
      source: 'plan',
      gains: [{ effect: 'Allow', action: 'batch:DescribeJobs', resource: '*' }],
      losses: [{ effect: 'Allow', action: 'batch:TerminateJob', resource: 'arn:aws:batch:us-east-1:123456789012:job/*' }],
    });
    expect(review.markdown).toContain(
      [
        '- role `batch-gateway-orchestration-submit-job-role`: update of `aws_iam_role_policy.orchestration_submit-job_role_batch-submit-support-batch-policy_4049A422`',
        '  - gains `batch:DescribeJobs` on `*`',
        '  - loses `batch:TerminateJob` on `arn:aws:batch:us-east-1:123456789012:job/*`',
      ].join('\n'),
    );
    expect(review.markdown).toContain(
      '- role `batch-gateway-trigger-start-execution-role`: destroy of `aws_iam_role_policy.trigger_start-execution_role_dead-letters-policy_FF4E2F1A`\n  - loses `sqs:SendMessage` on `arn:aws:sqs:us-east-1:123456789012:batch-gateway-trigger-dead-letters`',
    );
  });

  it('reads a policy unknown at plan time from the plan configuration and compares it by action', () => {
    const ingest = review.iam.find((i) => i.address.includes('ingest_integration'));

    expect(ingest).toMatchObject({ principal: { name: 'batch-gateway-ingest-integration' }, source: 'configuration', gains: [], losses: [] });
    expect(review.markdown).toContain('  - new document known after apply: read from the configuration, compared by action');
  });

  it('diffs the state machine definition by state name', () => {
    expect(review.stateMachines).toEqual([
      {
        address: 'aws_sfn_state_machine.orchestration_state-machine_04DD5EBA',
        module: 'orchestration',
        action: 'update',
        source: 'plan',
        added: ['Notify client'],
        removed: ['Legacy notify'],
        changed: [
          { state: 'Poll job', fields: ['Retry'] },
          { state: 'Job succeeded', fields: ['Next'] },
        ],
        states: 8,
      },
    ]);
    expect(review.markdown).toContain('  - states added: `Notify client`\n  - states removed: `Legacy notify`\n  - state `Poll job` changed: `Retry`');
  });

  it('lists the API routes added and removed, paths from the planned values and the prior state', () => {
    expect(review.routes).toEqual({
      added: ['DELETE /runrequests/{runRequestID}  (auth: AWS_IAM)', 'ping  (API Gateway v2, auth: NONE)'],
      removed: ['GET /status  (auth: AWS_IAM)'],
    });
    expect(review.markdown).toContain('- added `DELETE /runrequests/{runRequestID}  (auth: AWS_IAM)`');
    expect(review.markdown).toContain('- removed `GET /status  (auth: AWS_IAM)`');
  });

  it('groups changes by module, what is lost first, with the attributes an update changes', () => {
    expect(review.markdown).toContain(
      [
        '#### trigger (3 destroy)',
        '',
        '- destroy `aws_iam_role_policy.trigger_start-execution_role_dead-letters-policy_FF4E2F1A` (its configuration was removed)',
        '- destroy `aws_sqs_queue_policy.trigger_dead-letters-policy_1861CB4A` (its configuration was removed)',
        '- destroy `aws_sqs_queue.trigger_dead-letters_EE927A09` (its configuration was removed)',
      ].join('\n'),
    );
    expect(review.markdown).toContain('#### ingest (2 destroy, 1 replace, 1 update, 1 create)');
    expect(review.markdown).toContain('- replace (create before destroy) `aws_batch_compute_environment.batch_compute_79ABF2D0`: forced by `compute_resources[0].type`');
    expect(review.markdown).toMatch(/- update `aws_lambda_function\.orchestration_submit-job_function_16464E85`: .*`environment`.*`source_code_hash`/);
  });

  it.each<[FailOn, boolean]>([
    ['stateful', true],
    ['replace', true],
    ['destroy', true],
    ['any-change', true],
    ['none', false],
  ])('with --fail-on %s, fails: %s', (failOn, failed) => {
    expect(reviewPlan(plan, { failOn }).failed).toBe(failed);
  });

  it('says why the stateful policy failed', () => {
    expect(review.failures).toEqual([
      'stateful aws_sqs_queue.trigger_dead-letters_EE927A09 would be destroyed [delete_because_no_resource_config]',
      `stateful aws_batch_compute_environment.batch_compute_79ABF2D0 would be replaced (forced by compute_resources[0].type) [replace_because_cannot_update]: ${STATEFUL_PROCEDURES.aws_batch_compute_environment}`,
      'stateful aws_dynamodb_table.ingest_table_C581A1ED would be replaced (forced by name) [replace_because_cannot_update]',
    ]);
    expect(review.markdown).toContain('**Policy `--fail-on stateful`: failed.** 3 stateful resources would be replaced or destroyed (below).');
  });
});

describe('review of a compute environment replaced or destroyed: the drain procedure (issue 17, fault 7)', () => {
  // Moving the gateway onto an existing queue (`jobQueueArn`) destroys its compute environment and queue.
  const destroyed = reviewPlan(fixture('compute-environment-destroy.json'));
  const replaced = reviewPlan(fixture('mixed-changes.json'));
  const drain = STATEFUL_PROCEDURES.aws_batch_compute_environment;

  it('says to disable the queue, let or terminate its jobs, then apply', () => {
    expect(drain).toMatch(/^drain it first: disable its job queue .*--state DISABLED.*let its jobs end or terminate them .*terminate-job.*then apply/);
    expect(drain).toContain('docs/operations.md');
  });

  it('counts a destroyed compute environment as stateful and fails the default policy, with the procedure in the message', () => {
    expect(destroyed.stateful).toEqual([
      expect.objectContaining({ address: 'aws_batch_compute_environment.gateway_batch_compute_79ABF2D0', module: 'batch', action: 'destroy', procedure: drain }),
      expect.objectContaining({ address: 'aws_batch_job_queue.gateway_batch_queue_E64401DB', action: 'destroy', loses: 'the jobs waiting or running in the queue' }),
    ]);
    expect(destroyed.stateful[1]).not.toHaveProperty('procedure');
    expect(destroyed.failed).toBe(true);
    expect(destroyed.failures[0]).toBe(`stateful aws_batch_compute_environment.gateway_batch_compute_79ABF2D0 would be destroyed [delete_because_no_resource_config]: ${drain}`);
  });

  it('puts the procedure under the destroyed and the replaced compute environment in the review', () => {
    const entry = [
      '- **destroy** `aws_batch_compute_environment.gateway_batch_compute_79ABF2D0` (module `batch`)',
      '  - why: its configuration was removed (`delete_because_no_resource_config`)',
      '  - loses: the jobs running on it; its queues dispatch nothing until it is back',
      `  - before applying: ${drain}`,
    ].join('\n');

    expect(destroyed.markdown).toContain(entry);
    expect(replaced.markdown).toContain(`  - loses: the jobs running on it; its queues dispatch nothing until it is back\n  - before applying: ${drain}`);
    // Only where there is something to do first.
    expect(replaced.markdown.match(/before applying/g)).toHaveLength(1);
  });

  it('and docs/operations.md has the procedure the message points to', () => {
    const operations = readFileSync(path.join(root, 'docs', 'operations.md'), 'utf8');

    expect(operations).toContain('## Replacing the compute environment');
    expect(operations).toMatch(/update-job-queue[^\n]*--state DISABLED/);
    expect(operations).toMatch(/terminate-job/);
  });
});

describe('review of routes added, changed and removed in a state machine update', () => {
  const route = (name: string, jobDefinition: string) => ({ Type: 'Pass', Result: { type: 'batch', name, jobQueue: 'arn:aws:batch:us-east-1:123456789012:job-queue/q', jobDefinition }, ResultPath: '$.route', Next: 'Submit job' });
  const definition = (routes: ReturnType<typeof route>[]) =>
    JSON.stringify({ StartAt: 'Submit job', States: { ...Object.fromEntries(routes.map((r) => [`Route ${r.Result.name}`, r])), 'Submit job': { Type: 'Succeed' } } });
  const machine = (before: ReturnType<typeof route>[], after: ReturnType<typeof route>[]): TerraformPlanJson =>
    ({
      format_version: '1.2',
      resource_changes: [
        {
          address: 'aws_sfn_state_machine.orchestration_state-machine_04DD5EBA',
          mode: 'managed',
          type: 'aws_sfn_state_machine',
          name: 'orchestration_state-machine_04DD5EBA',
          change: { actions: ['update'], before: { definition: definition(before) }, after: { definition: definition(after) } },
        },
      ],
    }) as TerraformPlanJson;

  it('names each route the update adds, changes or removes, and none it leaves alone', () => {
    const review = reviewPlan(
      machine(
        [route('sample', 'gw-batch-sample'), route('report', 'gw-batch-report'), route('nightly', 'gw-batch-nightly')],
        [route('sample', 'gw-batch-sample'), route('report', 'team-report'), route('thumbnails', 'gw-batch-thumbnails')],
      ),
    );

    expect(review.processRoutes.map((r) => [r.change, r.name, r.state, r.runs])).toEqual([
      ['added', 'thumbnails', 'Route thumbnails', 'job definition `gw-batch-thumbnails`'],
      ['changed', 'report', 'Route report', 'job definition `team-report`'],
      ['removed', 'nightly', 'Route nightly', 'job definition `gw-batch-nightly`'],
    ]);
    expect(review.markdown).toContain('- removed `nightly`: state `Route nightly`, runs job definition `gw-batch-nightly`');
  });

  it('has no routes section when no route changes', () => {
    const review = reviewPlan(machine([route('sample', 'gw-batch-sample')], [route('sample', 'gw-batch-sample')]));

    expect(review.processRoutes).toEqual([]);
    expect(review.markdown).not.toContain('### Routes by processname');
  });
});

describe('review of a policy unknown at plan time and a replacement of a stateless resource', () => {
  const plan = fixture('unknown-policy.json');
  const config = fixture<SynthesizedConfig>('unknown-policy.cdk.tf.json');

  it('says the policy is known after apply when nothing configures it', () => {
    const review = reviewPlan(plan);

    expect(review.iam).toEqual([expect.objectContaining({ action: 'create', source: 'unknown', gains: [], principal: { kind: 'role', name: 'batch-gateway-orchestration-poll-job-role' } })]);
    expect(review.markdown).toContain('  - new document known after apply (not in the plan, no configuration to read it from)');
  });

  it('reads it from the synthesized cdk.tf.json when given, as npm start does', () => {
    const review = reviewPlan(plan, { config });

    expect(review.iam[0]).toMatchObject({ source: 'configuration' });
    expect(review.iam[0].gains.map((p) => `${p.action} on ${p.resource}`)).toEqual(['dynamodb:GetItem on aws_dynamodb_table.ingest_table.arn', 'dynamodb:UpdateItem on aws_dynamodb_table.ingest_table.arn']);
  });

  it.each<[FailOn, boolean]>([
    ['stateful', false],
    ['replace', true],
    ['destroy', true],
    ['any-change', true],
    ['none', false],
  ])('with --fail-on %s (a log group updated, a permission replaced), fails: %s', (failOn, failed) => {
    const review = reviewPlan(plan, { failOn });

    expect(review.stateful).toEqual([]);
    expect(review.failed).toBe(failed);
  });
});

describe('input that is not a plan', () => {
  it.each([
    ['an empty object', {}, /no format_version/],
    ['a state file of format 2', { format_version: '2.0' }, /unsupported plan format_version 2\.0/],
    ['null', null, /not a Terraform JSON plan/],
  ])('rejects %s', (_, input, message) => {
    expect(() => reviewPlan(input)).toThrow(PlanFormatError);
    expect(() => reviewPlan(input)).toThrow(message);
  });

  it('reviews a plan with no changes', () => {
    const review = reviewPlan({ format_version: '1.2', resource_changes: [] }, { failOn: 'any-change' });

    expect(review.failed).toBe(false);
    expect(review.markdown).toContain('**Plan:** no changes.');
  });
});

describe('npm run plan-review (scripts/plan-review.mjs)', () => {
  const cli = path.join(root, 'scripts', 'plan-review.mjs');
  const out = path.join(root, '.tmp', 'plan-review-test');
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8' });

  beforeAll(() => {
    // The CLI runs the compiled review (dist/app, from `node scripts/build.mjs`; `npm test` builds
    // first). Build only when it is missing: a rebuild empties dist/ under the other test files.
    if (!existsSync(path.join(root, 'dist', 'app', 'scripts', 'lib', 'plan-review.js'))) {
      const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, encoding: 'utf8' });
      if (build.status !== 0) throw new Error(`build failed: ${build.stderr}`);
    }
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
  }, 120_000);

  it('passes the real plan of the default stack and prints the review', () => {
    const result = run(fixturePath('default-stack-create.json'));

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^## Terraform plan review\n\n\*\*Plan:\*\* \d+ to create, 0 to update, 0 to replace, 0 to destroy\./);
  });

  it('exits 1 on a stateful replacement by default, saying why on stderr', () => {
    const result = run(fixturePath('mixed-changes.json'));

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('plan-review: --fail-on stateful failed:');
    expect(result.stderr).toContain('stateful aws_dynamodb_table.ingest_table_C581A1ED would be replaced (forced by name) [replace_because_cannot_update]');
    expect(result.stdout).toContain('### Stateful resources replaced or destroyed (3)');
  });

  it('exits 0 with --fail-on none, as for a pull request labelled allow-stateful-replacement', () => {
    const result = run(fixturePath('mixed-changes.json'), '--fail-on', 'none');

    expect(result.status).toBe(0);
    expect(result.stdout).toContain('**Policy `--fail-on none`: passed.**');
  });

  it.each([
    ['stateful', 0],
    ['replace', 1],
    ['destroy', 1],
    ['any-change', 1],
    ['none', 0],
  ])('applies --fail-on=%s to a stateless replacement: exit %d', (policy, status) => {
    expect(run(fixturePath('unknown-policy.json'), `--fail-on=${policy}`).status).toBe(status);
  });

  it('writes the review to --out and reads values unknown in the plan from --config', () => {
    const file = path.join(out, 'review.md');

    const result = run(fixturePath('unknown-policy.json'), '--out', file, '--config', fixturePath('unknown-policy.cdk.tf.json'));

    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`plan-review: 1 to create, 1 to update, 1 to replace, 0 to destroy; wrote ${file}\n`);
    expect(readFileSync(file, 'utf8')).toContain('gains `dynamodb:GetItem`, `dynamodb:UpdateItem` on `aws_dynamodb_table.ingest_table.arn`');
  });

  it.each([
    ['an unknown policy', ['plan.json', '--fail-on', 'stateless'], /--fail-on is 'stateless'; allowed: stateful, replace, destroy, any-change, none/],
    ['a flag without its value', ['plan.json', '--out'], /--out needs a value/],
    ['an unknown option', ['plan.json', '--force'], /unknown option --force/],
    ['two plans', ['a.json', 'b.json'], /one plan at a time/],
  ])('exits 2 on a usage error: %s', (_, args, message) => {
    const result = run(...args);

    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('usage: npm run -s plan-review -- [<plan>] [--stack NAME]');
    expect(result.stdout).toBe('');
  });

  it('exits 2 when the plan cannot be read or is not a plan', () => {
    const missing = run(path.join(out, 'nope.json'));
    const notPlan = run(fixturePath('unknown-policy.cdk.tf.json'));

    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read plan .*nope\.json: no such file \(make one with npm start, or give the output of terraform show -json\)/);
    expect(notPlan.status).toBe(2);
    expect(notPlan.stderr).toMatch(/not a Terraform JSON plan/);
  });

  it("reads the plan npm start saved for the stack when given none, and says how to make one when it is missing", () => {
    const result = run('--stack', 'no-such-environment');

    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/cannot read plan .*cdktf\.out\/stacks\/no-such-environment\/plan\.tfplan: no such file \(make one with npm start/);
  });

  it('recognises a saved binary plan and says what to run when terraform cannot show it', () => {
    const file = path.join(out, 'not-initialised', 'plan.tfplan');
    mkdirSync(path.dirname(file), { recursive: true });
    // A zip archive, as a saved plan is, in a folder where terraform was never initialised.
    writeFileSync(file, Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(64)]));

    const result = run(file);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain('is a saved binary plan and `terraform show -json` could not read it');
    expect(result.stderr).toContain('terraform show -json plan.tfplan > plan.json');
    expect(result.stderr).not.toMatch(/Unexpected token|JSON at position/);
  });
});
