import { ApiGatewayIntegration } from '@cdktf/provider-aws/lib/api-gateway-integration';
import { ApiGatewayIntegrationResponse } from '@cdktf/provider-aws/lib/api-gateway-integration-response';
import { ApiGatewayMethod } from '@cdktf/provider-aws/lib/api-gateway-method';
import { ApiIngest, ExistingRunRequestsTable, RUN_REQUEST_BODY_SCHEMA, RunRequestsTable } from '../../modules/api-ingest';
import { ApiGatewayAccountLogging } from '../../modules/api-ingest/account-logging';
import { onlyResource, refTo, resourceNamed, resourcesOf, roleNamed, synthStack } from '../helpers/synth';

describe('ApiIngest (defaults)', () => {
  const json = synthStack((stack) => new ApiIngest(stack, 'ingest'));

  it('creates the run-requests table with stream, encryption, PITR, TTL and on-demand billing', () => {
    const table = onlyResource(json, 'aws_dynamodb_table');

    expect(table).toMatchObject({
      hash_key: 'runRequestID',
      attribute: [{ name: 'runRequestID', type: 'S' }],
      billing_mode: 'PAY_PER_REQUEST',
      stream_enabled: true,
      stream_view_type: 'NEW_IMAGE',
      server_side_encryption: { enabled: true },
      point_in_time_recovery: { enabled: true },
      ttl: { attribute_name: 'expiresAt', enabled: true },
      deletion_protection_enabled: true,
    });
  });

  it('serves POST on the collection and GET on an item, both signed with SigV4', () => {
    const collection = resourceNamed(json, 'aws_api_gateway_resource', 'collection');
    const item = resourceNamed(json, 'aws_api_gateway_resource', 'item');
    const post = resourceNamed(json, 'aws_api_gateway_method', 'post');
    const get = resourceNamed(json, 'aws_api_gateway_method', 'get');

    expect(collection.path_part).toBe('runrequests');
    expect(item).toMatchObject({ path_part: '{runRequestID}', parent_id: refTo(json, 'aws_api_gateway_resource', 'collection', 'id') });
    expect(post).toMatchObject({ http_method: 'POST', authorization: 'AWS_IAM', api_key_required: false });
    expect(get).toMatchObject({ http_method: 'GET', authorization: 'AWS_IAM', request_parameters: { 'method.request.path.runRequestID': true } });
  });

  it('validates the body against the run request model before integrating', () => {
    const post = resourceNamed(json, 'aws_api_gateway_method', 'post');
    const model = onlyResource(json, 'aws_api_gateway_model');
    const validator = resourceNamed(json, 'aws_api_gateway_request_validator', 'body-validator');

    expect(post.request_validator_id).toBe(refTo(json, 'aws_api_gateway_request_validator', 'body-validator', 'id'));
    expect(post.request_models).toEqual({ 'application/json': refTo(json, 'aws_api_gateway_model', 'run-request-model', 'name') });
    expect(JSON.parse(model.schema)).toEqual(RUN_REQUEST_BODY_SCHEMA);
    expect(model.content_type).toBe('application/json');
    expect(validator).toMatchObject({ validate_request_body: true, validate_request_parameters: true });
  });

  it('answers validation failures with 400 and the validation error', () => {
    const responses = Object.values(resourcesOf(json, 'aws_api_gateway_gateway_response'));

    expect(responses.map((r) => r.response_type).sort()).toEqual(['BAD_REQUEST_BODY', 'BAD_REQUEST_PARAMETERS']);
    for (const r of responses) {
      expect(r.status_code).toBe('400');
      expect(r.response_templates['application/json']).toContain('$context.error.validationErrorString');
    }
  });

  it('integrates straight with DynamoDB, never passing unmapped content types through', () => {
    const put = resourceNamed(json, 'aws_api_gateway_integration', 'post-integration');
    const get = resourceNamed(json, 'aws_api_gateway_integration', 'get-integration');
    const tableArn = refTo(json, 'aws_dynamodb_table', 'table', 'arn');
    const arnPart = (i: number) => `\${element(split(":", ${tableArn.slice(2, -1)}), ${i})}`;

    expect(put).toMatchObject({
      type: 'AWS',
      integration_http_method: 'POST',
      passthrough_behavior: 'NEVER',
      uri: `arn:${arnPart(1)}:apigateway:${arnPart(3)}:dynamodb:action/TransactWriteItems`,
      credentials: refTo(json, 'aws_iam_role', 'integration-role', 'arn'),
    });
    expect(get).toMatchObject({ type: 'AWS', passthrough_behavior: 'NEVER', uri: `arn:${arnPart(1)}:apigateway:${arnPart(3)}:dynamodb:action/GetItem` });
    expect(put.request_templates['application/json']).toContain('"ConditionExpression": "attribute_not_exists(runRequestID)"');
    expect(put.request_templates['application/json']).toContain(`"TableName": "${refTo(json, 'aws_dynamodb_table', 'table', 'name')}"`);
  });

  it('maps DynamoDB success to 202 and errors to 4xx and 5xx; 200 only for a repeat under an Idempotency-Key', () => {
    const post = Object.entries(resourcesOf(json, 'aws_api_gateway_integration_response')).filter(([id]) => id.startsWith('ingest_post-'));
    const byStatus = Object.fromEntries(post.map(([, r]) => [r.status_code, r.selection_pattern ?? null]));

    expect(byStatus).toEqual({ '202': null, '400': '4\\d{2}', '503': '5\\d{2}' });
    const methodStatuses = Object.entries(resourcesOf(json, 'aws_api_gateway_method_response'))
      .filter(([id]) => id.startsWith('ingest_post-'))
      .map(([, r]) => r.status_code)
      .sort();
    expect(methodStatuses).toEqual(['200', '202', '400', '409', '422', '429', '503']);
  });

  it('lets the integration role put, check (a transaction\'s ConditionCheck) and get items in its table only', () => {
    const role = roleNamed(json, 'ingest-integration');

    expect(role.trustedBy).toEqual(['apigateway.amazonaws.com']);
    expect(role.statements).toEqual([{ effect: 'Allow', actions: ['dynamodb:PutItem', 'dynamodb:ConditionCheckItem', 'dynamodb:GetItem'], resources: ['aws_dynamodb_table.ingest_table.arn'] }]);
  });

  it('throttles the stage, logs access to a log group with retention, and keeps execution logs off', () => {
    const stage = onlyResource(json, 'aws_api_gateway_stage');
    const settings = onlyResource(json, 'aws_api_gateway_method_settings');
    const logs = onlyResource(json, 'aws_cloudwatch_log_group');

    expect(stage.stage_name).toBe('v1');
    expect(stage.xray_tracing_enabled).toBe(false);
    expect(stage.access_log_settings.destination_arn).toBe(refTo(json, 'aws_cloudwatch_log_group', 'access-logs', 'arn'));
    expect(JSON.parse(stage.access_log_settings.format)).toMatchObject({ requestId: '$context.requestId', status: '$context.status', userArn: '$context.identity.userArn' });
    expect(settings).toMatchObject({ method_path: '*/*', settings: { throttling_rate_limit: 50, throttling_burst_limit: 100, metrics_enabled: true, logging_level: 'OFF', data_trace_enabled: false } });
    expect(logs.retention_in_days).toBe(30);
  });

  it('redeploys when the API changes, creating the new deployment before removing the old', () => {
    const deployment = onlyResource(json, 'aws_api_gateway_deployment');

    expect(deployment.lifecycle).toEqual({ create_before_destroy: true });
    expect(deployment.triggers.redeployment).toMatch(/^\$\{sha1\(jsonencode\(\[.*\]\)\)\}$/);
    expect(deployment.depends_on).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^aws_api_gateway_integration\./),
        expect.stringMatching(/^aws_api_gateway_integration_response\./),
        expect.stringMatching(/^aws_api_gateway_gateway_response\./),
        expect.stringMatching(/^aws_api_gateway_model\./),
      ]),
    );
  });

  it('hashes what the routes are configured with, at synth, and the values of the references in it', () => {
    // The configured attributes hashed at synth; the ids, ARNs and names they reference hashed by
    // Terraform. Never a whole resource: that hashes what the provider reads back, which differs
    // (null read back as {}, the model's schema as the API returns it), so every plan redeployed.
    const trigger = String(onlyResource(json, 'aws_api_gateway_deployment').triggers.redeployment);
    const match = /^\$\{sha1\(jsonencode\(\["([0-9a-f]{40})", (.*)\]\)\)\}$/.exec(trigger);

    expect(match).not.toBeNull();
    const references = match![2].split(', ');
    expect(references).toEqual(expect.arrayContaining([
      refTo(json, 'aws_dynamodb_table', 'table', 'name').slice(2, -1),
      refTo(json, 'aws_dynamodb_table', 'table', 'arn').slice(2, -1),
      refTo(json, 'aws_iam_role', 'integration', 'arn').slice(2, -1),
      refTo(json, 'aws_api_gateway_resource', 'collection', 'id').slice(2, -1),
      refTo(json, 'aws_api_gateway_request_validator', 'body', 'id').slice(2, -1),
    ]));
    expect(references.every((r) => /^aws_[a-z0-9_]+\.[A-Za-z0-9_-]+\.[a-z0-9_]+$/.test(r))).toBe(true);
  });

  it('gives the same trigger for the same inputs, and another when one template changes', () => {
    const triggerOf = (change?: (ingest: ApiIngest) => void) =>
      String(
        onlyResource(
          synthStack((stack) => {
            const ingest = new ApiIngest(stack, 'ingest');
            change?.(ingest);
          }),
          'aws_api_gateway_deployment',
        ).triggers.redeployment,
      );
    const trigger = triggerOf();
    expect(triggerOf()).toBe(trigger);
    expect(String(onlyResource(json, 'aws_api_gateway_deployment').triggers.redeployment)).toBe(trigger);
    // One response template, one request template, one method's auth: each redeploys.
    const responseTemplate = triggerOf((ingest) => {
      (ingest.node.findChild('post-202-integration') as ApiGatewayIntegrationResponse).responseTemplates = { 'application/json': '{"runRequestID": "$context.requestId"}' };
    });
    const requestTemplate = triggerOf((ingest) => {
      (ingest.node.findChild('get-integration') as ApiGatewayIntegration).requestTemplates = { 'application/json': '{}' };
    });
    const auth = triggerOf((ingest) => {
      (ingest.node.findChild('post') as ApiGatewayMethod).authorization = 'NONE';
    });
    expect(new Set([trigger, responseTemplate, requestTemplate, auth]).size).toBe(4);
  });
});

describe('ApiIngest (options)', () => {
  it('with API_KEY auth, requires a key on every method and creates a usage plan with throttling and quota', () => {
    const json = synthStack((stack) => new ApiIngest(stack, 'ingest', { authorization: 'API_KEY', monthlyQuota: 100000 }));
    const methods = Object.values(resourcesOf(json, 'aws_api_gateway_method'));
    const plan = onlyResource(json, 'aws_api_gateway_usage_plan');

    expect(methods.map((m) => [m.authorization, m.api_key_required])).toEqual([
      ['NONE', true],
      ['NONE', true],
    ]);
    expect(plan).toMatchObject({ throttle_settings: { rate_limit: 50, burst_limit: 100 }, quota_settings: { limit: 100000, period: 'MONTH' } });
    expect(onlyResource(json, 'aws_api_gateway_usage_plan_key')).toMatchObject({ key_type: 'API_KEY', key_id: refTo(json, 'aws_api_gateway_api_key', 'api-key', 'id') });
  });

  it('writes to a table passed in and creates none', () => {
    const json = synthStack((stack) => {
      const table = new ExistingRunRequestsTable(stack, 'existing', {
        tableName: 'legacy-requests',
        tableArn: 'arn:aws:dynamodb:eu-west-1:111122223333:table/legacy-requests',
        streamArn: 'arn:aws:dynamodb:eu-west-1:111122223333:table/legacy-requests/stream/x',
      });
      new ApiIngest(stack, 'ingest', { table });
    });

    expect(resourcesOf(json, 'aws_dynamodb_table')).toEqual({});
    expect(roleNamed(json, 'ingest-integration').statements[0].resources).toEqual(['arn:aws:dynamodb:eu-west-1:111122223333:table/legacy-requests']);
  });

  it('waits for the account logging role before creating the stage, and scopes that role to log groups', () => {
    const json = synthStack((stack) => {
      const accountLogging = new ApiGatewayAccountLogging(stack, 'apigw-account');
      new ApiIngest(stack, 'ingest', { accountLogging: accountLogging.resource, tracing: true, table: new RunRequestsTable(stack, 'table', { deletionProtection: false }) });
    });
    const stage = onlyResource(json, 'aws_api_gateway_stage');
    const role = roleNamed(json, 'apigw-account');

    expect(stage.depends_on).toEqual([expect.stringMatching(/^aws_api_gateway_account\./)]);
    expect(onlyResource(json, 'aws_api_gateway_account').depends_on).toEqual(
      expect.arrayContaining([expect.stringMatching(/^aws_iam_role\./), expect.stringMatching(/^aws_iam_role_policy\./)]),
    );
    expect(stage.xray_tracing_enabled).toBe(true);
    expect(onlyResource(json, 'aws_dynamodb_table').deletion_protection_enabled).toBe(false);
    const wildcard = role.statements.filter((s) => s.resources.includes('*'));
    expect(wildcard).toEqual([{ effect: 'Allow', actions: ['logs:DescribeLogGroups'], resources: ['*'] }]);
    expect(role.statements[0].resources[0]).toMatch(/:log-group:\*$/);
  });

  it.each([
    [{ resourcePath: 'run/requests' }, "resourcePath must be one path segment of [A-Za-z0-9_-] (got 'run/requests')"],
    [{ authorization: 'NONE' as never }, "authorization must be AWS_IAM or API_KEY (got 'NONE')"],
    [{ stageName: 'v 1' }, "stageName must match [A-Za-z0-9_-]{1,128} (got 'v 1')"],
    [{ throttlingRateLimit: 0 }, 'throttling limits must be positive (got rate 0, burst 100)'],
    [{ monthlyQuota: 10 }, 'monthlyQuota applies only with authorization API_KEY'],
    [{ logRetentionDays: 2 }, 'logRetentionDays must be one of 1, 3, 5'],
  ])('rejects %j', (props, message) => {
    expect(() => synthStack((stack) => new ApiIngest(stack, 'ingest', props))).toThrow(message);
  });
});
