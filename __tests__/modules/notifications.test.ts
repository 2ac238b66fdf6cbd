import { Apigatewayv2IntegrationResponse } from '@cdktf/provider-aws/lib/apigatewayv2-integration-response';
import { Apigatewayv2Route } from '@cdktf/provider-aws/lib/apigatewayv2-route';
import { TerraformOutput, TerraformStack, TerraformVariable } from 'cdktf';
import { PONG_REPLY, UNKNOWN_ACTION_REPLY } from '../../contract';
import { managementEndpointFrom } from '../../lambdas/notify/core';
import { RunRequestsTable } from '../../modules/api-ingest/table';
import { ApiGatewayAccountLogging } from '../../modules/api-ingest/account-logging';
import { Notifications, NotificationsProps } from '../../modules/notifications';
import { ServiceRole } from '../../modules/shared/iam';
import { readableReference } from '../../scripts/lib/plan-summary';
import { bundleHash, Synthesized, onlyResource, refTo, resourceNamed, resourcesOf, roleNamed, synthStack } from '../helpers/synth';

type Options = Omit<NotificationsProps, 'runRequestsTable'>;

/**
 * Synthesizes a run-requests table (`table`) and `Notifications` (`notifications`) with `options`;
 * `after` may add to the stack (e.g. a grantee).
 */
function synthNotifications(options: Options = {}, after?: (stack: TerraformStack, notifications: Notifications) => void): Synthesized {
  return synthStack((stack) => {
    const table = new RunRequestsTable(stack, 'table');
    const notifications = new Notifications(stack, 'notifications', { runRequestsTable: table, ...options });
    after?.(stack, notifications);
  });
}

/** Deferred construction, for `toThrow`. */
function buildNotifications(options: Options): () => void {
  return () => synthNotifications(options);
}

/** A reference as the role summaries print it (`aws_x.name.attr`). */
function readable(json: Synthesized, type: string, idPart: string, attribute: string): string {
  return readableReference(refTo(json, type, idPart, attribute));
}

/** Statements in a stable order, for comparing sets of statements. */
function sorted<T>(statements: T[]): T[] {
  return [...statements].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

const allow = (actions: string[], resources: string[]) => ({ effect: 'Allow', actions, resources });

/** The asset hash of a Lambda bundle, computed the way the function's asset computes it. */
const FUNCTIONS = ['ws-connect', 'ws-disconnect', 'notify'] as const;
const ROUTES = [
  { routeKey: '$connect', slug: 'connect', bundle: 'ws-connect', authorization: 'AWS_IAM' },
  { routeKey: '$disconnect', slug: 'disconnect', bundle: 'ws-disconnect', authorization: 'NONE' },
] as const;
/** The routes API Gateway answers itself (MOCK): the keepalive, and every other client message. */
const MOCK_ROUTES = [
  { routeKey: 'ping', slug: 'ping', reply: PONG_REPLY },
  { routeKey: '$default', slug: 'default', reply: UNKNOWN_ACTION_REPLY },
] as const;

describe('Notifications (defaults)', () => {
  // Prepare + Act
  const json = synthNotifications();
  const api = onlyResource(json, 'aws_apigatewayv2_api');
  const stage = onlyResource(json, 'aws_apigatewayv2_stage');
  const deployment = onlyResource(json, 'aws_apigatewayv2_deployment');
  const connections = resourceNamed(json, 'aws_dynamodb_table', 'connections');
  const apiId = refTo(json, 'aws_apigatewayv2_api', 'api', 'id');
  const executionArn = refTo(json, 'aws_apigatewayv2_api', 'api', 'execution_arn');
  const fn = (bundle: string) => resourceNamed(json, 'aws_lambda_function', `${bundle}_function`);

  describe('WebSocket API', () => {
    it('is a WebSocket API that selects routes by the action of a message', () => {
      expect(api).toMatchObject({ name: 'test-notifications', protocol_type: 'WEBSOCKET', route_selection_expression: '$request.body.action' });
    });

    it("exposes the API's execution ARN, on which callers are granted execute-api:Invoke for $connect (issue 17, fault 12)", () => {
      const withOutput = synthNotifications({}, (stack, notifications) => new TerraformOutput(stack, 'execution_arn', { value: notifications.websocketExecutionArn }));

      expect(withOutput.output!.execution_arn.value).toBe(executionArn);
    });

    it('has exactly the $connect, $disconnect, ping and $default routes, with an integration each', () => {
      expect(Object.values(resourcesOf(json, 'aws_apigatewayv2_route')).map((r) => r.route_key).sort()).toEqual(['$connect', '$default', '$disconnect', 'ping']);
      expect(Object.keys(resourcesOf(json, 'aws_apigatewayv2_integration'))).toHaveLength(4);
    });

    it.each(ROUTES)('routes $routeKey ($authorization) to an AWS_PROXY integration of $bundle', ({ slug, bundle, authorization, routeKey }) => {
      // Prepare
      const route = resourceNamed(json, 'aws_apigatewayv2_route', `_${slug}-route`);
      const integration = resourceNamed(json, 'aws_apigatewayv2_integration', `_${slug}-integration`);
      // Assess
      expect(route).toEqual({
        api_id: apiId,
        route_key: routeKey,
        authorization_type: authorization,
        target: `integrations/${refTo(json, 'aws_apigatewayv2_integration', `_${slug}-integration`, 'id')}`,
      });
      expect(integration).toEqual({
        api_id: apiId,
        integration_type: 'AWS_PROXY',
        integration_method: 'POST',
        integration_uri: refTo(json, 'aws_lambda_function', `${bundle}_function`, 'invoke_arn'),
      });
    });

    it.each(MOCK_ROUTES)('answers $routeKey with $reply.action from a MOCK integration, two-way', ({ slug, routeKey, reply }) => {
      // Prepare
      const integrationId = refTo(json, 'aws_apigatewayv2_integration', `_${slug}-integration`, 'id');
      const route = resourceNamed(json, 'aws_apigatewayv2_route', `_${slug}-route`);
      // Assess
      expect(route).toEqual({
        api_id: apiId,
        route_key: routeKey,
        authorization_type: 'NONE',
        target: `integrations/${integrationId}`,
        route_response_selection_expression: '$default',
      });
      // The request template is MOCK's status code; `\$default` selects the template keyed `$default`.
      expect(resourceNamed(json, 'aws_apigatewayv2_integration', `_${slug}-integration`)).toEqual({
        api_id: apiId,
        integration_type: 'MOCK',
        template_selection_expression: '\\$default',
        request_templates: { $default: '{"statusCode": 200}' },
      });
      expect(resourceNamed(json, 'aws_apigatewayv2_integration_response', `_${slug}-integration-response`)).toEqual({
        api_id: apiId,
        integration_id: integrationId,
        integration_response_key: '$default',
        template_selection_expression: '\\$default',
        response_templates: { $default: JSON.stringify(reply) },
      });
      expect(resourceNamed(json, 'aws_apigatewayv2_route_response', `_${slug}-route-response`)).toEqual({
        api_id: apiId,
        route_id: refTo(json, 'aws_apigatewayv2_route', `_${slug}-route`, 'id'),
        route_response_key: '$default',
      });
    });

    it('answers a ping with {"action":"pong"} and anything else with an error that names the ping', () => {
      expect(PONG_REPLY).toEqual({ action: 'pong' });
      expect(UNKNOWN_ACTION_REPLY).toEqual({ action: 'error', message: 'unknown action: the only message a client may send is {"action":"ping"}' });
    });

    it.each(ROUTES)('lets API Gateway invoke $bundle from the $routeKey route of any stage, only', ({ slug, bundle, routeKey }) => {
      expect(resourceNamed(json, 'aws_lambda_permission', `_${slug}-permission`)).toEqual({
        action: 'lambda:InvokeFunction',
        function_name: refTo(json, 'aws_lambda_function', `${bundle}_function`, 'function_name'),
        principal: 'apigateway.amazonaws.com',
        source_arn: `${executionArn}/*/${routeKey}`,
      });
      expect(Object.keys(resourcesOf(json, 'aws_lambda_permission'))).toHaveLength(2);
    });

    it('deploys after every route, integration and response, replacing the deployment before destroying it', () => {
      // Prepare
      const types = ['aws_apigatewayv2_route', 'aws_apigatewayv2_integration', 'aws_apigatewayv2_integration_response', 'aws_apigatewayv2_route_response'];
      const dependencies = types.flatMap((type) => Object.keys(resourcesOf(json, type)).map((id) => `${type}.${id}`));
      // Assess
      expect(dependencies).toHaveLength(12);
      expect(deployment.api_id).toBe(apiId);
      expect([...(deployment.depends_on as string[])].sort()).toEqual(dependencies.sort());
      expect(deployment.lifecycle).toEqual({ create_before_destroy: true });
    });

    it('hashes what the routes, integrations and responses are configured with, at synth, and the ids they reference', () => {
      // Never an attribute as the provider reads it back: an unset selection expression or template
      // map read back as "" or {} changed the hash, so every plan after an apply redeployed (the
      // apply tier's re-plan showed it).
      const trigger = String(deployment.triggers.redeployment);
      const match = /^\$\{sha1\(jsonencode\(\["([0-9a-f]{40})", (.*)\]\)\)\}$/.exec(trigger);
      expect(match).not.toBeNull();
      const references = match![2].split(', ');
      const ids = (type: string) => Object.keys(resourcesOf(json, type)).map((id) => `${type}.${id}.id`);
      expect([...references].sort()).toEqual(
        [
          `aws_apigatewayv2_api.${Object.keys(resourcesOf(json, 'aws_apigatewayv2_api'))[0]}.id`,
          ...ids('aws_apigatewayv2_integration'),
          ...ids('aws_apigatewayv2_route').filter((r) => /ping|default/.test(r)),
          ...FUNCTIONS.filter((f) => f !== 'notify').map((f) => refTo(json, 'aws_lambda_function', `${f}_function`, 'invoke_arn').slice(2, -1)),
        ].sort(),
      );
    });

    it('gives the same trigger for the same inputs, and another when a reply template or a route\'s auth changes', () => {
      const triggerOf = (change?: (notifications: Notifications) => void) =>
        String(onlyResource(synthNotifications({}, (_stack, notifications) => change?.(notifications)), 'aws_apigatewayv2_deployment').triggers.redeployment);
      const trigger = triggerOf();
      expect(triggerOf()).toBe(trigger);
      expect(String(deployment.triggers.redeployment)).toBe(trigger);
      const reply = triggerOf((n) => {
        (n.node.findChild('ping-integration-response') as Apigatewayv2IntegrationResponse).responseTemplates = { $default: '{"type":"pong!"}' };
      });
      const auth = triggerOf((n) => {
        (n.node.findChild('disconnect-route') as Apigatewayv2Route).authorizationType = 'AWS_IAM';
      });
      expect(new Set([trigger, reply, auth]).size).toBe(3);
    });

    it('serves stage v1 from that deployment', () => {
      expect(stage).toMatchObject({ api_id: apiId, name: 'v1', deployment_id: refTo(json, 'aws_apigatewayv2_deployment', 'deployment', 'id') });
    });

    it('logs access as JSON to its own log group, kept 30 days', () => {
      // Prepare
      const logGroup = resourceNamed(json, 'aws_cloudwatch_log_group', 'access-logs');
      const format = JSON.parse(stage.access_log_settings.format as string) as Record<string, string>;
      // Assess
      expect(stage.access_log_settings.destination_arn).toBe(refTo(json, 'aws_cloudwatch_log_group', 'access-logs', 'arn'));
      expect(logGroup).toEqual({ name: '/aws/apigateway/test-notifications/v1', retention_in_days: 30 });
      expect(format).toMatchObject({ requestId: '$context.requestId', connectionId: '$context.connectionId', routeKey: '$context.routeKey', status: '$context.status' });
    });

    it('throttles every route at 10 per second, burst 20, with no data traces', () => {
      expect(stage.default_route_settings).toEqual({ throttling_rate_limit: 10, throttling_burst_limit: 20, data_trace_enabled: false, logging_level: 'OFF' });
    });

    it('does not wait for account logging it was not given', () => {
      expect(stage.depends_on).toBeUndefined();
    });
  });

  describe('connections table', () => {
    it('keys connections by connectionId and finds them by clientId', () => {
      expect(connections).toMatchObject({
        name: 'test-notifications-connections',
        hash_key: 'connectionId',
        attribute: [
          { name: 'connectionId', type: 'S' },
          { name: 'clientId', type: 'S' },
        ],
        global_secondary_index: [{ name: 'byClientId', hash_key: 'clientId', projection_type: 'ALL' }],
      });
    });

    it('expires connections on expiresAt, is encrypted and billed per request', () => {
      expect(connections).toMatchObject({
        ttl: { attribute_name: 'expiresAt', enabled: true },
        server_side_encryption: { enabled: true },
        billing_mode: 'PAY_PER_REQUEST',
      });
    });
  });

  describe('functions', () => {
    it.each(FUNCTIONS)('%s runs its own bundle on Node.js 22, arm64', (bundle) => {
      expect(fn(bundle)).toMatchObject({ runtime: 'nodejs22.x', architectures: ['arm64'], handler: 'index.handler' });
      expect(fn(bundle).source_code_hash).toBe(bundleHash(bundle));
      expect(fn(bundle).role).toBe(refTo(json, 'aws_iam_role', `${bundle}_role`, 'arn'));
    });

    it('tells ws-connect the connections table and keeps connections 7200 s, as long as API Gateway keeps them open', () => {
      expect(fn('ws-connect').environment.variables).toEqual({
        CONNECTIONS_TABLE: refTo(json, 'aws_dynamodb_table', 'connections', 'name'),
        CONNECTION_TTL_SECONDS: '7200',
        POWERTOOLS_SERVICE_NAME: 'ws-connect',
        POWERTOOLS_METRICS_NAMESPACE: 'batch-gateway',
      });
    });

    it('tells ws-disconnect the connections table', () => {
      expect(fn('ws-disconnect').environment.variables).toEqual({
        CONNECTIONS_TABLE: refTo(json, 'aws_dynamodb_table', 'connections', 'name'),
        POWERTOOLS_SERVICE_NAME: 'ws-disconnect',
        POWERTOOLS_METRICS_NAMESPACE: 'batch-gateway',
      });
    });

    it('tells notify both tables and the https management endpoint of the stage', () => {
      // Prepare
      const apiEndpoint = refTo(json, 'aws_apigatewayv2_api', 'api', 'api_endpoint').slice(2, -1);
      const stageName = refTo(json, 'aws_apigatewayv2_stage', 'stage', 'name');
      // Assess
      expect(fn('notify').environment.variables).toEqual({
        CONNECTIONS_TABLE: refTo(json, 'aws_dynamodb_table', 'connections', 'name'),
        TABLE_NAME: refTo(json, 'aws_dynamodb_table', 'table', 'name'),
        WEBSOCKET_ENDPOINT: `\${replace(${apiEndpoint}, "wss://", "https://")}/${stageName}`,
        POWERTOOLS_SERVICE_NAME: 'notify',
        POWERTOOLS_METRICS_NAMESPACE: 'batch-gateway',
      });
    });

    it.each([
      ['aws', 'wss://a1b2c3d4e5.execute-api.ap-southeast-2.amazonaws.com', 'https://a1b2c3d4e5.execute-api.ap-southeast-2.amazonaws.com/v1'],
      ['aws-cn', 'wss://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn', 'https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn/v1'],
    ])("builds the endpoint from the API's own (%s), no literal region or DNS suffix, and notify accepts it once Terraform resolves it", (_partition, apiEndpoint, expected) => {
      // Prepare: what Terraform makes of the expression, given the API's endpoint as the provider reads it.
      const endpoint = fn('notify').environment.variables.WEBSOCKET_ENDPOINT as string;
      const resolved = endpoint
        .replace(/\$\{replace\([^,]+, "wss:\/\/", "https:\/\/"\)\}/, () => apiEndpoint.replace('wss://', 'https://'))
        .replace(refTo(json, 'aws_apigatewayv2_stage', 'stage', 'name'), 'v1');
      // Assess
      expect(endpoint).not.toMatch(/\b(?:us|eu|ap|sa|ca|me|af|il|mx|cn)-[a-z]+-\d\b/);
      expect(endpoint).not.toContain('amazonaws.com');
      expect(resolved).toBe(expected);
      expect(managementEndpointFrom(resolved)).toBe(resolved);
    });
  });

  describe('IAM', () => {
    it('lets ws-connect put connections, and write its logs, only', () => {
      expect(sorted(roleNamed(json, 'test-notifications-ws-connect-role').statements)).toEqual(
        sorted([
          allow(['dynamodb:PutItem'], [readable(json, 'aws_dynamodb_table', 'connections', 'arn')]),
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [`${readable(json, 'aws_cloudwatch_log_group', 'ws-connect_logs', 'arn')}:*`]),
        ]),
      );
    });

    it('lets ws-disconnect delete connections, and write its logs, only', () => {
      expect(sorted(roleNamed(json, 'test-notifications-ws-disconnect-role').statements)).toEqual(
        sorted([
          allow(['dynamodb:DeleteItem'], [readable(json, 'aws_dynamodb_table', 'connections', 'arn')]),
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [`${readable(json, 'aws_cloudwatch_log_group', 'ws-disconnect_logs', 'arn')}:*`]),
        ]),
      );
    });

    it('lets notify query the clientId index, forget gone connections, post to connections of its stage and record the outcome', () => {
      // Prepare
      const connectionsArn = readable(json, 'aws_dynamodb_table', 'connections', 'arn');
      const stageName = readable(json, 'aws_apigatewayv2_stage', 'stage', 'name');
      // Assess
      expect(sorted(roleNamed(json, 'test-notifications-notify-role').statements)).toEqual(
        sorted([
          allow(['dynamodb:Query'], [`${connectionsArn}/index/byClientId`]),
          allow(['dynamodb:DeleteItem'], [connectionsArn]),
          allow(['execute-api:ManageConnections'], [`${readable(json, 'aws_apigatewayv2_api', 'api', 'execution_arn')}/${stageName}/POST/@connections/*`]),
          allow(['dynamodb:UpdateItem'], [readable(json, 'aws_dynamodb_table', 'table', 'arn')]),
          allow(['logs:CreateLogStream', 'logs:PutLogEvents'], [`${readable(json, 'aws_cloudwatch_log_group', 'notify_logs', 'arn')}:*`]),
        ]),
      );
    });

    it('grantNotify lets a grantee invoke notify (and its versions) and publish to the failure topic, nothing more', () => {
      // Prepare + Act
      const granted = synthNotifications({}, (stack, notifications) => {
        notifications.grantNotify(new ServiceRole(stack, 'caller', { servicePrincipal: 'states.amazonaws.com' }));
      });
      const notify = readable(granted, 'aws_lambda_function', 'notify_function', 'arn');
      // Assess
      expect(roleNamed(granted, 'test-caller').statements).toEqual([
        allow(['lambda:InvokeFunction'], [notify, `${notify}:*`]),
        allow(['sns:Publish'], [readable(granted, 'aws_sns_topic', 'failures', 'arn')]),
      ]);
    });
  });

  describe('failure topic', () => {
    it('is encrypted with the AWS-managed SNS key', () => {
      expect(onlyResource(json, 'aws_sns_topic')).toMatchObject({ name: 'test-notifications-failures', kms_master_key_id: 'alias/aws/sns' });
    });

    it('has no subscription without failureEmail', () => {
      expect(resourcesOf(json, 'aws_sns_topic_subscription')).toEqual({});
    });
  });
});

describe('Notifications options', () => {
  it('subscribes failureEmail to the failure topic by e-mail', () => {
    const json = synthNotifications({ failureEmail: 'ops@example.com' });
    expect(onlyResource(json, 'aws_sns_topic_subscription')).toEqual({
      topic_arn: refTo(json, 'aws_sns_topic', 'failures', 'arn'),
      protocol: 'email',
      endpoint: 'ops@example.com',
    });
  });

  it('leaves a failureEmail from a Terraform variable to Terraform (only literal values are checked)', () => {
    // Prepare + Act
    const json = synthStack((stack) => {
      const email = new TerraformVariable(stack, 'failure_email', { type: 'string' });
      new Notifications(stack, 'notifications', { runRequestsTable: new RunRequestsTable(stack, 'table'), failureEmail: email.stringValue });
    });
    // Assess
    expect(onlyResource(json, 'aws_sns_topic_subscription').endpoint).toBe('${var.failure_email}');
  });

  it('keeps connections connectionTtlSeconds', () => {
    const json = synthNotifications({ connectionTtlSeconds: 1800 });
    expect(resourceNamed(json, 'aws_lambda_function', 'ws-connect_function').environment.variables.CONNECTION_TTL_SECONDS).toBe('1800');
  });

  it('sets the stage name, throttling and log retention', () => {
    // Prepare + Act
    const json = synthNotifications({ stageName: 'prod', throttlingRateLimit: 5, throttlingBurstLimit: 7, logRetentionDays: 14 });
    const stage = onlyResource(json, 'aws_apigatewayv2_stage');
    // Assess
    expect(stage.name).toBe('prod');
    expect(stage.default_route_settings).toMatchObject({ throttling_rate_limit: 5, throttling_burst_limit: 7 });
    expect(resourceNamed(json, 'aws_cloudwatch_log_group', 'access-logs')).toEqual({ name: '/aws/apigateway/test-notifications/prod', retention_in_days: 14 });
    for (const bundle of FUNCTIONS) {
      expect(resourceNamed(json, 'aws_cloudwatch_log_group', `${bundle}_logs`).retention_in_days).toBe(14);
    }
  });

  it('creates the stage after the account logging it is given', () => {
    const json = synthStack((stack) => {
      const accountLogging = new ApiGatewayAccountLogging(stack, 'apigw-account');
      new Notifications(stack, 'notifications', { runRequestsTable: new RunRequestsTable(stack, 'table'), accountLogging: accountLogging.resource });
    });
    expect(onlyResource(json, 'aws_apigatewayv2_stage').depends_on).toEqual([`aws_api_gateway_account.${Object.keys(resourcesOf(json, 'aws_api_gateway_account'))[0]}`]);
  });

  it('traces every function with tracing', () => {
    const json = synthNotifications({ tracing: true });
    for (const bundle of FUNCTIONS) {
      expect(resourceNamed(json, 'aws_lambda_function', `${bundle}_function`).tracing_config).toEqual({ mode: 'Active' });
    }
  });
});

describe('Notifications validation', () => {
  it('rejects connectionTtlSeconds 59', () => {
    expect(buildNotifications({ connectionTtlSeconds: 59 })).toThrow(/^Notifications: connectionTtlSeconds must be a whole number from 60 to 7200, .* \(got 59\)/);
  });

  it('rejects connectionTtlSeconds 7201, past API Gateway\'s 2-hour connection limit, and says so', () => {
    expect(buildNotifications({ connectionTtlSeconds: 7201 })).toThrow(
      "Notifications: connectionTtlSeconds must be a whole number from 60 to 7200, API Gateway's maximum WebSocket connection duration of 2 hours (got 7201)",
    );
  });

  it('rejects connectionTtlSeconds 90.5', () => {
    expect(buildNotifications({ connectionTtlSeconds: 90.5 })).toThrow(/connectionTtlSeconds must be a whole number .* \(got 90\.5\)/);
  });

  it('accepts connectionTtlSeconds 60 and 7200', () => {
    expect(buildNotifications({ connectionTtlSeconds: 60 })).not.toThrow();
    expect(buildNotifications({ connectionTtlSeconds: 7200 })).not.toThrow();
  });

  it("rejects stageName 'a b'", () => {
    expect(buildNotifications({ stageName: 'a b' })).toThrow(/^Notifications: stageName must match \[A-Za-z0-9_-\]\{1,128\} \(got 'a b'\)/);
  });

  it("rejects failureEmail 'nope'", () => {
    expect(buildNotifications({ failureEmail: 'nope' })).toThrow(/^Notifications: failureEmail is not an e-mail address \(got 'nope'\)/);
  });

  it('rejects log retention 8 days', () => {
    expect(buildNotifications({ logRetentionDays: 8 })).toThrow(/^Notifications: logRetentionDays must be one of .*\(got 8\)/);
  });
});
