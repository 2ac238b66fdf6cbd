/**
 * The documented roles (docs/deploy.md): the planning role has what `terraform plan` calls beyond
 * read-only, and the deploying role covers every service of a resource type the stack creates.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { synthDev } from '../helpers/synth';

const root = path.join(__dirname, '..', '..');
interface Statement {
  readonly Sid: string;
  readonly Action: string[];
  readonly Resource: string | string[];
  readonly Condition?: unknown;
}
const policy = (file: string) => JSON.parse(readFileSync(path.join(root, 'docs', 'iam', file), 'utf8')) as { Statement: Statement[] };
const actionsOf = (file: string) => policy(file).Statement.flatMap((s) => s.Action);

/** The service whose API creates each resource type the stacks use. */
const SERVICE_OF: [RegExp, string][] = [
  [/^aws_api_gateway_|^aws_apigatewayv2_/, 'apigateway'],
  [/^aws_batch_/, 'batch'],
  [/^aws_cloudwatch_log_group$/, 'logs'],
  [/^aws_cloudwatch_(metric_alarm|dashboard)$/, 'cloudwatch'],
  [/^aws_cloudwatch_event_(rule|target)$/, 'events'],
  [/^aws_dynamodb_/, 'dynamodb'],
  [/^aws_iam_/, 'iam'],
  [/^aws_kms_/, 'kms'],
  [/^aws_lambda_/, 'lambda'],
  [/^aws_s3_/, 's3'],
  [/^aws_sfn_/, 'states'],
  [/^aws_sns_/, 'sns'],
  [/^aws_sqs_/, 'sqs'],
  [/^aws_(vpc|subnet|internet_gateway|route|route_table|route_table_association|security_group|default_security_group|vpc_security_group_egress_rule)$/, 'ec2'],
];

describe('the planning role (docs/iam/plan-role-policy.json)', () => {
  it('allows states:ValidateStateMachineDefinition, which every plan of a changed state machine calls, on * (its only resource)', () => {
    expect(policy('plan-role-policy.json').Statement).toEqual([expect.objectContaining({ Action: ['states:ValidateStateMachineDefinition'], Resource: '*' })]);
  });

  it('is what the plan workflow asks for', () => {
    const workflow = readFileSync(path.join(root, '.github', 'workflows', 'plan.yml'), 'utf8');

    expect(workflow).toContain('docs/iam/plan-role-policy.json');
    expect(workflow).toContain('ReadOnlyAccess');
    expect(workflow).toContain('states:ValidateStateMachineDefinition');
  });
});

describe('the deploying role (docs/iam/deploy-role-policy.json)', () => {
  const types = [
    ...Object.keys(synthDev().resource),
    // What other configurations add: API keys, EC2 compute, an e-mail subscription.
    'aws_api_gateway_api_key',
    'aws_api_gateway_usage_plan',
    'aws_iam_instance_profile',
    'aws_iam_role_policy_attachment',
    'aws_sns_topic_subscription',
  ];

  it('covers the service of every resource type the stack creates (a type the map does not know fails too)', () => {
    const services = new Set(actionsOf('deploy-role-policy.json').map((a) => a.split(':')[0]));
    const uncovered = types.filter((type) => {
      const service = SERVICE_OF.find(([pattern]) => pattern.test(type))?.[1];
      return service === undefined || !services.has(service);
    });

    expect(types.length).toBeGreaterThan(45);
    expect(uncovered).toEqual([]);
  });

  it('can create the resources it must and validate the definition as the plan does', () => {
    const actions = actionsOf('deploy-role-policy.json');

    for (const action of ['iam:CreateRole', 'iam:PassRole', 'lambda:CreateFunction', 'dynamodb:CreateTable', 'states:CreateStateMachine', 'batch:CreateComputeEnvironment', 'batch:RegisterJobDefinition', 'states:ValidateStateMachineDefinition', 'iam:CreateServiceLinkedRole']) {
      expect(actions).toContain(action);
    }
  });

  it("scopes what it can by the default name prefix: no '*' resource outside the statements that need one", () => {
    const statements = policy('deploy-role-policy.json').Statement;
    const unscoped = statements.filter((s) => s.Resource === '*' && s.Condition === undefined).map((s) => s.Sid);

    expect(unscoped).toEqual(['DefinitionValidationAndWildcardOnlyReads']);
    for (const s of statements.filter((x) => x.Resource !== '*')) {
      for (const resource of [s.Resource].flat()) expect([s.Sid, resource]).toEqual([s.Sid, expect.stringMatching(/batch-gateway-\*|\/\*$|\/restapis$|\/apis$|\/usageplans$|\/apikeys$|\/account$|key\/\*$/)]);
    }
  });
});
