import { Construct } from 'constructs';
import { BatchGateway, BatchGatewayProps, ExistingRunRequestsTable, LambdaFunction } from '../../modules';
import { physicalNames, resourcesOf, roleNamed, synthStack } from '../helpers/synth';

const BUSYBOX = 'public.ecr.aws/docker/library/busybox:1.36';
const QUEUE_ARN = 'arn:aws:batch:eu-west-1:111122223333:job-queue/team-queue';

function synthGateway(props: Partial<BatchGatewayProps> = {}) {
  let gateway!: BatchGateway;
  const json = synthStack((stack) => {
    gateway = new BatchGateway(stack, 'gateway', { namePrefix: 'acme-test', routes: { hello: { image: BUSYBOX } }, ...props });
  });
  return { json, gateway };
}

describe('BatchGateway (one route, from an image)', () => {
  const { json, gateway } = synthGateway();

  it('needs only an image: a Fargate job definition of 0.25 vCPU and 512 MiB, a 24-hour deadline and attempt timeout', () => {
    const [definition] = Object.values(resourcesOf(json, 'aws_batch_job_definition'));
    const container = JSON.parse(definition.container_properties);

    expect(definition.name).toBe('acme-test-batch-hello');
    expect(container.image).toBe(BUSYBOX);
    expect(container.resourceRequirements).toEqual([
      { type: 'VCPU', value: '0.25' },
      { type: 'MEMORY', value: '512' },
    ]);
    expect(definition.timeout).toEqual({ attempt_duration_seconds: 86400 });
    const route = JSON.parse(Object.values(resourcesOf(json, 'aws_sfn_state_machine'))[0].definition).States['Route hello'].Result;
    expect(route).toMatchObject({ type: 'batch', maxRunTimeSeconds: 86400, terminateOnTimeout: true });
  });

  it('creates its network, environment, queue, API, table, notifications, bucket, monitoring', () => {
    for (const type of ['aws_vpc', 'aws_batch_compute_environment', 'aws_batch_job_queue', 'aws_api_gateway_rest_api', 'aws_apigatewayv2_api', 'aws_s3_bucket', 'aws_sfn_state_machine', 'aws_lambda_event_source_mapping', 'aws_cloudwatch_dashboard']) {
      expect([type, Object.keys(resourcesOf(json, type)).length]).toEqual([type, 1]);
    }
    // Run requests and connections.
    expect(Object.keys(resourcesOf(json, 'aws_dynamodb_table'))).toHaveLength(2);
    expect(gateway.batch?.network).toBeDefined();
  });

  it('creates no barcode function when no route asks for it, and watches every function it created', () => {
    const names = Object.values(resourcesOf(json, 'aws_lambda_function')).map((f) => f.function_name).sort();
    const alarmed = Object.values(resourcesOf(json, 'aws_cloudwatch_metric_alarm')).filter((a) => a.metric_name === 'Errors').map((a) => a.dimensions.FunctionName);

    // Ingest (1), orchestration with events completion (5), notifications (3).
    expect(names).toHaveLength(9);
    expect(names.some((n) => n.includes('barcode'))).toBe(false);
    expect(gateway.functions.every((f) => f instanceof LambdaFunction)).toBe(true);
    expect(alarmed).toHaveLength(9);
  });

  it('names everything after its prefix, and exposes the URLs and ARNs a stack outputs', () => {
    for (const name of physicalNames(json)) expect(name.slice(name.indexOf(':') + 1)).toMatch(/^(\/aws\/[a-z-]+\/(states\/)?)?(alias\/)?acme-test-/);
    expect(gateway.metricsNamespace).toBe('batch-gateway/acme-test');
    expect(gateway.runRequestsUrl).toBe(gateway.api.runRequestsUrl);
    expect(gateway.websocketUrl).toBe(gateway.notifications.websocketUrl);
    expect(gateway.stateMachineArn).toBe(gateway.orchestration.stateMachineArn);
  });
});

describe('BatchGateway routes', () => {
  it('submits an existing job definition to the queue it creates, granted on that definition only', () => {
    const { json } = synthGateway({ routes: { report: { existingJobDefinition: 'team-report', parameters: { format: 'csv' }, maxRunTimeSeconds: 600 } } });
    const submit = roleNamed(json, 'submit-job').statements.find((s) => s.actions.includes('batch:SubmitJob'))!;
    const route = JSON.parse(Object.values(resourcesOf(json, 'aws_sfn_state_machine'))[0].definition).States['Route report'].Result;

    expect(resourcesOf(json, 'aws_batch_job_definition')).toEqual({});
    expect(route).toMatchObject({ jobDefinition: 'team-report', parameters: { format: 'csv' }, maxRunTimeSeconds: 600 });
    expect(submit.resources[1]).toMatch(/job-definition\/team-report"\):\*$/);
  });

  it('submits to an existing queue without creating a compute environment, a queue or a network', () => {
    const { json, gateway } = synthGateway({ existingJobQueueArn: QUEUE_ARN });

    expect(resourcesOf(json, 'aws_batch_compute_environment')).toEqual({});
    expect(resourcesOf(json, 'aws_batch_job_queue')).toEqual({});
    expect(resourcesOf(json, 'aws_vpc')).toEqual({});
    expect(gateway.batch!.jobQueueArn).toBe(QUEUE_ARN);
  });

  it('runs the built-in barcode route, and a function of your own, as Lambda routes with no Batch environment', () => {
    let gateway!: BatchGateway;
    const json = synthStack((stack) => {
      const own = new LambdaFunction(stack, 'own-route', { bundle: 'generate-barcode', timeoutSeconds: 300 });
      gateway = new BatchGateway(stack, 'gateway', { namePrefix: 'acme-test', routes: { barcode: { lambda: 'barcode', maxRunTimeSeconds: 30 }, mine: { lambda: own } } });
    });
    const states = JSON.parse(Object.values(resourcesOf(json, 'aws_sfn_state_machine'))[0].definition).States;

    expect(gateway.batch).toBeUndefined();
    expect(resourcesOf(json, 'aws_batch_job_queue')).toEqual({});
    expect(states['Run barcode'].TimeoutSeconds).toBe(30);
    expect(states['Run mine'].Resource).toMatch(/aws_lambda_function\.own-route_function/);
  });

  it('defaults an unknown processname to the route it names', () => {
    const { json } = synthGateway({ routes: { hello: { image: BUSYBOX }, other: { image: BUSYBOX } }, defaultRoute: 'other' });
    const choose = JSON.parse(Object.values(resourcesOf(json, 'aws_sfn_state_machine'))[0].definition).States['Choose route'];

    expect(choose.Default).toBe('Route other');
  });
});

describe('BatchGateway options', () => {
  it('uses a table it is given', () => {
    const json = synthStack((stack) => {
      const existingTable = new ExistingRunRequestsTable(stack, 'shared', {
        tableName: 'shared-run-requests',
        tableArn: 'arn:aws:dynamodb:eu-west-1:111122223333:table/shared-run-requests',
        streamArn: 'arn:aws:dynamodb:eu-west-1:111122223333:table/shared-run-requests/stream/x',
      });
      new BatchGateway(stack, 'gateway', { namePrefix: 'acme-test', routes: { hello: { image: BUSYBOX } }, existingTable });
    });

    expect(Object.values(resourcesOf(json, 'aws_dynamodb_table')).map((t) => t.name)).toEqual(['acme-test-notifications-connections']);
  });

  it('leaves monitoring out when asked', () => {
    const { json, gateway } = synthGateway({ monitoring: false });

    expect(gateway.monitoring).toBeUndefined();
    expect(resourcesOf(json, 'aws_cloudwatch_metric_alarm')).toEqual({});
  });

  it("leaves the account-level API Gateway logging role alone unless asked (it is the account's, not the gateway's)", () => {
    expect(resourcesOf(synthGateway().json, 'aws_api_gateway_account')).toEqual({});

    const managed = synthGateway({ manageApiGatewayAccount: true }).json;
    const account = Object.values(resourcesOf(managed, 'aws_api_gateway_account'));
    expect(account).toHaveLength(1);
    // reset_on_delete is deprecated in provider 5.x: a warning on every plan (the README says what destroy does).
    expect(account[0]).not.toHaveProperty('reset_on_delete');
    // Both stages wait for the setting: access logs cannot be enabled before it exists.
    for (const stage of [...Object.values(resourcesOf(managed, 'aws_api_gateway_stage')), ...Object.values(resourcesOf(managed, 'aws_apigatewayv2_stage'))]) {
      expect(stage.depends_on).toEqual([expect.stringMatching(/^aws_api_gateway_account\./)]);
    }
  });

  it('keeps two gateways of one stack apart by their prefixes', () => {
    const json = synthStack((stack) => {
      new BatchGateway(stack, 'a', { namePrefix: 'team-a', routes: { hello: { image: BUSYBOX } }, manageApiGatewayAccount: false });
      new BatchGateway(new Construct(stack, 'nested'), 'b', { namePrefix: 'team-b', routes: { hello: { image: BUSYBOX } }, manageApiGatewayAccount: false });
    });
    const names = physicalNames(json);

    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((n) => n.includes(':team-a-')).length).toBe(names.filter((n) => n.includes(':team-b-')).length);
  });
});

describe('BatchGateway validation', () => {
  const existingTable = { tableName: 't', tableArn: 'arn:aws:dynamodb:eu-west-1:1:table/t', streamArn: 'arn:aws:dynamodb:eu-west-1:1:table/t/stream/x' } as never;
  it.each<[string, Partial<BatchGatewayProps>, string | RegExp]>([
    ['a prefix with capitals', { namePrefix: 'Acme' }, "namePrefix must be 2 to 24 characters of a-z, 0-9 and -, starting with a letter and not ending with - (got 'Acme')"],
    ['a prefix too long for IAM names', { namePrefix: 'a'.repeat(25) }, /namePrefix must be 2 to 24 characters/],
    ['no routes', { routes: {} }, 'BatchGateway: routes must name at least one route'],
    ['a route with an image and an existing job definition', { routes: { x: { image: BUSYBOX, existingJobDefinition: 'y' } as never } }, "BatchGateway route 'x': give exactly one of image (a job definition created here), existingJobDefinition or lambda (got image and existingJobDefinition)"],
    ['a route with nothing to run', { routes: { x: {} as never } }, /route 'x': give exactly one of .* \(got none\)/],
    ['an existing table and table settings', { existingTable, tableProps: { deletionProtection: false } }, 'BatchGateway: give existingTable or tableProps, not both'],
    ['an existing network and network settings', { existingNetwork: { subnetIds: ['subnet-1'], securityGroupIds: ['sg-1'], egress: 'nat' }, networkProps: {} }, 'BatchGateway: give existingNetwork or networkProps, not both'],
    ['an existing queue and a network', { existingJobQueueArn: QUEUE_ARN, existingNetwork: { subnetIds: ['subnet-1'], securityGroupIds: ['sg-1'], egress: 'nat' } }, 'BatchGateway: give existingJobQueueArn or existingNetwork, not both'],
    ['an existing queue and a ceiling', { existingJobQueueArn: QUEUE_ARN, maxVcpus: 4 }, 'BatchGateway: give existingJobQueueArn or maxVcpus, not both'],
    ['an unknown default route', { defaultRoute: 'nope' }, "defaultRoute 'nope' is not one of the routes (hello)"],
    ['vCPUs as a string', { routes: { x: { image: BUSYBOX, vcpus: '1' } as never } }, `BatchGateway route 'x': vcpus must be a number of vCPUs such as 0.25 or 1 (got "1")`],
    ['a maximum run time as a string', { routes: { x: { image: BUSYBOX, maxRunTimeSeconds: '60' } as never } }, `BatchGateway route 'x': maxRunTimeSeconds must be a whole number of seconds such as 3600 (got "60")`],
    ['a command as one string', { routes: { x: { image: BUSYBOX, command: 'echo hi' } as never } }, `BatchGateway route 'x': command must be a list of strings, one per argument, such as ['echo', 'hi'] (got "echo hi")`],
    ['a misspelled prop', { routes: { x: { image: BUSYBOX, vcpu: 1 } as never } }, "BatchGateway route 'x': unknown prop vcpu (an image route takes image, command, vcpus,"],
    [
      'a placeholder the route does not declare',
      { routes: { x: { image: BUSYBOX, command: ['echo', 'Ref::inptu'], parameters: { input: 'a', mode: 'b' } } } },
      `BatchGateway route 'x': command[1]: Ref::inptu is not a parameter of the route, whose parameters are input, mode (got "Ref::inptu"): declare each parameter the command takes in parameters, with its default ('' when every request gives it), e.g. parameters: { inptu: '' }`,
    ],
    [
      'a placeholder inside a longer argument',
      { routes: { x: { image: BUSYBOX, command: ['sh', '-c', 'echo Ref::input'], parameters: { input: 'a' } } } },
      `BatchGateway route 'x': command[2]: must not embed Ref::input in a longer argument: Batch pastes a caller's text into it, and a shell runs that text as code (got "echo Ref::input"): pass Ref::input as an argument of its own, e.g. ['sh', '-c', 'echo "$0"', 'Ref::input'], or set allowParameterInterpolation: true to take that risk`,
    ],
  ])('rejects %s', (_, props, message) => {
    expect(() => synthGateway(props)).toThrow(message);
  });

  const RULE =
    "must say how the jobs reach ECR, CloudWatch Logs and S3: 'nat' (the subnets route to a NAT gateway), 'public-ip' (public subnets: each Fargate task gets a public IP) or " +
    "'vpc-endpoints' (no route out: the VPC has endpoints for ecr.api, ecr.dkr, logs and an S3 gateway endpoint)";
  const subnets = { subnetIds: ['subnet-0aaa'], securityGroupIds: ['sg-0bbb'] };

  it('requires the egress of an existing network, naming the field, the value and what it may be (issue 17, fault 4)', () => {
    expect(() => synthGateway({ existingNetwork: subnets as never })).toThrow(`BatchGateway: existingNetwork.egress ${RULE}`);
    expect(() => synthGateway({ existingNetwork: { ...subnets, egress: 'internet' as never } })).toThrow(`BatchGateway: existingNetwork.egress ${RULE} (got "internet")`);
  });

  it('refuses an ECR Public or Docker Hub image on any route when the network has VPC endpoints only, with the configuration file\'s words', () => {
    const routes = { hello: { image: BUSYBOX }, report: { image: 'busybox', command: ['true'] }, barcode: { lambda: 'barcode' as const } };

    expect(() => synthGateway({ routes, existingNetwork: { ...subnets, egress: 'vpc-endpoints' } })).toThrow(
      `BatchGateway route 'hello': image must be an image a VPC endpoint serves, such as a private ECR image (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>), since existingNetwork.egress is 'vpc-endpoints' (got "${BUSYBOX}"): ` +
        "no VPC endpoint serves ECR Public (public.ecr.aws); mirror the image to a private ECR repository, or route the subnets through a NAT gateway (existingNetwork.egress: 'nat')\n" +
        `BatchGateway route 'report': image must be an image a VPC endpoint serves, such as a private ECR image (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>), since existingNetwork.egress is 'vpc-endpoints' (got "busybox"): ` +
        "no VPC endpoint serves Docker Hub; mirror the image to a private ECR repository, or route the subnets through a NAT gateway (existingNetwork.egress: 'nat')",
    );
  });

  it.each([
    ['nat', BUSYBOX, 'DISABLED'],
    ['public-ip', BUSYBOX, 'ENABLED'],
    ['vpc-endpoints', '111122223333.dkr.ecr.eu-west-1.amazonaws.com/hello:1', 'DISABLED'],
  ] as const)("runs jobs in an existing network with egress '%s' (%s): the task's public IP %s", (egress, image, assignPublicIp) => {
    const { json } = synthGateway({ routes: { hello: { image } }, existingNetwork: { ...subnets, egress } });
    const [definition] = Object.values(resourcesOf(json, 'aws_batch_job_definition'));

    expect(resourcesOf(json, 'aws_vpc')).toEqual({});
    expect(JSON.parse(definition.container_properties).networkConfiguration).toEqual({ assignPublicIp });
  });

  it("lists every route's mistakes in one message", () => {
    const routes = { a: { image: BUSYBOX, vcpus: '1' }, b: { image: BUSYBOX, command: 'echo hi', maxRunTimeSeconds: '60' } } as never;

    expect(() => synthGateway({ routes })).toThrow(/^BatchGateway route 'a': vcpus .*\nBatchGateway route 'b': command .*\nBatchGateway route 'b': maxRunTimeSeconds .*$/);
  });

  it('takes a placeholder as an argument of its own, and one inside a longer argument when the route opts in', () => {
    const { json } = synthGateway({
      routes: {
        safe: { image: BUSYBOX, command: ['sh', '-c', 'echo "$0"', 'Ref::input'], parameters: { input: '' } },
        trusted: { image: BUSYBOX, command: ['sh', '-c', 'echo Ref::input'], parameters: { input: 'a' }, allowParameterInterpolation: true },
      },
    });
    const commands = Object.fromEntries(Object.values(resourcesOf(json, 'aws_batch_job_definition')).map((d) => [d.name, JSON.parse(d.container_properties).command]));

    expect(commands).toEqual({ 'acme-test-batch-safe': ['sh', '-c', 'echo "$0"', 'Ref::input'], 'acme-test-batch-trusted': ['sh', '-c', 'echo Ref::input'] });
  });
});
