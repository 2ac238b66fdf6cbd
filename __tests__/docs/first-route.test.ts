/**
 * "Your first route", followed as the README says: its route added to the dev environment, the
 * synthesized stack and the review `npm start` prints show what it promises, and local mode runs it
 * to SUCCEEDED with the request it gives.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { synthesize } from '../../main';
import { reviewPlan } from '../../scripts/lib/plan-review';
import { initValidatePlan } from '../../scripts/lib/terraform';
import { LocalProcess, startLocalProcess } from '../helpers/local-process';
import { devConfig, Json, resourcesOf, rolesOf, synthDev } from '../helpers/synth';

const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
const section = /## Your first route\n([\s\S]*?)\n## /.exec(readme)![1];

/** The `routes: { ... }` snippet, evaluated as the object literal it is. */
function readmeRoutes(): Record<string, Json> {
  const snippet = /```ts\n(routes: \{[\s\S]*?\n\},?)\n```/.exec(section)?.[1];
  if (!snippet) throw new Error('no routes snippet in "Your first route"');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(`return {${snippet}}`)().routes as Record<string, Json>;
}

const routes = readmeRoutes();
const [name] = Object.keys(routes);
const request = JSON.parse(/```json\n(.*)\n```/.exec(section)![1]) as Json;
const withRoute = (dev: { routes: Record<string, unknown> }) => Object.assign(dev.routes, routes);

describe('"Your first route", in the plan', () => {
  const json = synthDev(withRoute as never);

  it('is one route of 1 vCPU and 2 GB from a private ECR image', () => {
    expect(Object.keys(routes)).toEqual(['thumbnails']);
    expect(routes.thumbnails).toMatchObject({ vcpus: 1, memoryMiB: 2048, image: expect.stringMatching(/\.dkr\.ecr\./) });
  });

  it('gives the job definition the README names, with the sizes and the command', () => {
    const definition = Object.values(resourcesOf(json, 'aws_batch_job_definition')).find((d) => d.name === `batch-gateway-dev-batch-${name}`);
    const container = JSON.parse(definition!.container_properties as string) as Json;

    expect(definition!.platform_capabilities).toEqual(['FARGATE']);
    expect(container.resourceRequirements).toEqual(expect.arrayContaining([{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '2048' }]));
    expect(container.command).toEqual(routes.thumbnails.command);
    expect(container.image).toBe(routes.thumbnails.image);
  });

  it('gives the state machine a `Route thumbnails` state, and submit-job the grant to submit to it', () => {
    const [machine] = Object.values(resourcesOf(json, 'aws_sfn_state_machine'));
    const submitGrants = rolesOf(json).find((r) => r.name.includes('submit-job'))!.statements.filter((s) => s.actions.includes('batch:SubmitJob'));

    expect(Object.keys(JSON.parse(machine.definition as string).States)).toContain(`Route ${name}`);
    expect(submitGrants.flatMap((s) => s.resources).some((r) => r.includes(`job-${name}`))).toBe(true);
  });

  it("lets the job's execution role pull the image from its repository, granted from the URI", () => {
    const pulls = rolesOf(json).flatMap((r) => r.statements).filter((s) => s.actions.includes('ecr:BatchGetImage'));

    expect(pulls.flatMap((s) => s.resources)).toContain('arn:aws:ecr:us-east-1:123456789012:repository/thumbnails');
  });
});

describe('"Your first route", in the review npm start prints', () => {
  const outdir = path.join(__dirname, '..', '..', '.tmp', 'first-route-plan');
  let markdown: string;

  // What `npm start` does (scripts/plan.mjs): an offline-plan synth, terraform init, validate, plan, and the review.
  beforeAll(() => {
    rmSync(outdir, { recursive: true, force: true });
    mkdirSync(outdir, { recursive: true });
    synthesize({ outdir, offlinePlan: true, config: devConfig(withRoute as never) });
    const stackDir = path.join(outdir, 'stacks', 'dev');
    const { planJson } = initValidatePlan(stackDir);
    markdown = reviewPlan(planJson, { config: JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')), title: 'Offline plan review' }).markdown;
  }, 180_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('shows the lines the README quotes, in that order', () => {
    const quoted = /\n\n```\n([\s\S]*?)\n```/.exec(section)![1].split('\n');
    const lines = markdown.split('\n');
    // `…` stands for what the README leaves out of a line.
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const matcher = (line: string) => new RegExp(`^${line.split('…').map(escape).join('.*')}$`);
    let at = 0;
    const found = quoted.map((line) => {
      const index = lines.findIndex((l, i) => i >= at && matcher(line).test(l));
      at = index + 1;
      return [line, index >= 0];
    });

    expect(quoted).toEqual(expect.arrayContaining([`- added \`${name}\`: state \`Route ${name}\`, runs job definition \`batch-gateway-dev-batch-${name}\``]));
    expect(found).toEqual(quoted.map((line) => [line, true]));
  });
});

describe('"Your first route", in local mode', () => {
  let local: LocalProcess;
  beforeAll(async () => {
    local = await startLocalProcess('first-route', withRoute as never, ['--wait-scale', '0.01', '--batch-status-delay-ms', '20']);
  }, 90_000);
  afterAll(async () => local?.stop());

  it('runs the request the README gives to SUCCEEDED, exit code 0', async () => {
    const response = await fetch(local.runRequestsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    const { runRequestID } = (await response.json()) as Json;
    await local.idle();
    const final = (await (await fetch(`${local.runRequestsUrl}/${runRequestID}`)).json()) as Json;

    expect(request.processname).toBe(name);
    expect(response.status).toBe(202);
    expect(final).toMatchObject({ status: 'SUCCEEDED', exitCode: 0, processname: name });
  });
});
