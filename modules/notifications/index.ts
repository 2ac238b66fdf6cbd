import { Apigatewayv2Api } from '@cdktf/provider-aws/lib/apigatewayv2-api';
import { Apigatewayv2Deployment } from '@cdktf/provider-aws/lib/apigatewayv2-deployment';
import { Apigatewayv2Integration } from '@cdktf/provider-aws/lib/apigatewayv2-integration';
import { Apigatewayv2IntegrationResponse } from '@cdktf/provider-aws/lib/apigatewayv2-integration-response';
import { Apigatewayv2Route } from '@cdktf/provider-aws/lib/apigatewayv2-route';
import { Apigatewayv2RouteResponse } from '@cdktf/provider-aws/lib/apigatewayv2-route-response';
import { Apigatewayv2Stage } from '@cdktf/provider-aws/lib/apigatewayv2-stage';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import { Fn, ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import {
  CONNECTION_KEY,
  CONNECTION_TTL_ATTRIBUTE,
  CONNECTIONS_BY_CLIENT_INDEX,
  DEFAULT_CONNECTION_TTL_SECONDS,
  ENV,
  PING_ACTION,
  PONG_REPLY,
  UNKNOWN_ACTION_REPLY,
  WEBSOCKET_LIMITS,
} from '../../contract';
import { IRunRequestsTable } from '../api-ingest/table';
import { IGrantable } from '../shared/iam';
import { LambdaFunction } from '../shared/lambda-function';
import { assertLiteral, assertLogRetention, physicalName } from '../shared/naming';
import { configuredInputsTrigger } from '../shared/redeployment';

/** What the orchestration needs to tell clients and operators how a run ended. */
export interface INotificationTargets {
  /** The notify Lambda the state machine invokes on every terminal status. */
  readonly notifyFunctionArn: string;
  /** Topic that receives every FAILED or TIMED_OUT run request. */
  readonly failureTopicArn: string;
  /** Lets the state machine invoke notify and publish failures. */
  grantNotify(grantee: IGrantable): void;
}

export interface NotificationsProps {
  /** The run-requests table (notify records the outcome of each notification on the item). */
  readonly runRequestsTable: IRunRequestsTable;
  /**
   * Seconds a connection record is considered live (TTL, epoch seconds), at most 7200: API Gateway
   * closes every connection after 2 hours. A shorter TTL stops notifications to a connection older
   * than it while the connection is still open.
   * @default 7200 - as long as API Gateway keeps a connection open
   */
  readonly connectionTtlSeconds?: number;
  /** @default 'v1' */
  readonly stageName?: string;
  /** @default 10 per second, burst 20 */
  readonly throttlingRateLimit?: number;
  readonly throttlingBurstLimit?: number;
  /** E-mail address subscribed to the failure topic (the subscription must be confirmed). @default - none */
  readonly failureEmail?: string;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /** Access logs need the account-level API Gateway CloudWatch role: pass it so the stage waits for it. */
  readonly accountLogging?: ITerraformDependable;
  /** @default false */
  readonly tracing?: boolean;
}

/** The WebSocket side: clients connect with their client id and are told when their run ends. */
export class Notifications extends Construct implements INotificationTargets {
  public readonly websocketApiId: string;
  /**
   * `arn:<partition>:execute-api:<region>:<account>:<api-id>`: a WebSocket client's identity needs
   * `execute-api:Invoke` on `<this>/<stage>/$connect` to connect (`$connect` is IAM-authorized).
   */
  public readonly websocketExecutionArn: string;
  /** `wss://<id>.execute-api.<region>.amazonaws.com/<stage>`: clients connect here with `?clientId=...`. */
  public readonly websocketUrl: string;
  /** The `@connections` management endpoint notify posts to. */
  public readonly managementEndpoint: string;
  public readonly connectionsTableName: string;
  public readonly connectionsTableArn: string;
  public readonly failureTopicArn: string;
  public readonly notifyFunctionArn: string;
  public readonly notifyFunction: LambdaFunction;
  public readonly connectFunction: LambdaFunction;
  public readonly disconnectFunction: LambdaFunction;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    const ttl = props.connectionTtlSeconds ?? DEFAULT_CONNECTION_TTL_SECONDS;
    const maxTtl = WEBSOCKET_LIMITS.maxConnectionSeconds;
    const stageName = props.stageName ?? 'v1';
    // Clients sign $connect with SigV4: their identity is what notify matches against the poster's.
    const authorization = 'AWS_IAM';
    const retention = props.logRetentionDays ?? 30;
    assertLiteral(
      ttl,
      (t) => Number.isInteger(t) && t >= 60 && t <= maxTtl,
      `Notifications: connectionTtlSeconds must be a whole number from 60 to ${maxTtl}, API Gateway's maximum WebSocket connection duration of 2 hours (got ${ttl})`,
    );
    assertLiteral(stageName, (n) => /^[A-Za-z0-9_-]{1,128}$/.test(n), `Notifications: stageName must match [A-Za-z0-9_-]{1,128} (got '${stageName}')`);
    if (props.failureEmail !== undefined) {
      assertLiteral(props.failureEmail, (e) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e), `Notifications: failureEmail is not an e-mail address (got '${props.failureEmail}')`);
    }
    assertLogRetention(retention, 'Notifications');
    const name = physicalName(this);
    const index = CONNECTIONS_BY_CLIENT_INDEX;

    const connections = new DynamodbTable(this, 'connections', {
      name: physicalName(this, 'connections', 255),
      billingMode: 'PAY_PER_REQUEST',
      hashKey: CONNECTION_KEY,
      attribute: [
        { name: CONNECTION_KEY, type: 'S' },
        { name: 'clientId', type: 'S' },
      ],
      globalSecondaryIndex: [{ name: index, hashKey: 'clientId', projectionType: 'ALL' }],
      // DynamoDB TTL is epoch seconds; ws-connect writes seconds.
      ttl: { attributeName: CONNECTION_TTL_ATTRIBUTE, enabled: true },
      serverSideEncryption: { enabled: true },
      pointInTimeRecovery: { enabled: false },
    });
    this.connectionsTableName = connections.name;
    this.connectionsTableArn = connections.arn;
    const indexArn = `${connections.arn}/index/${index}`;

    const api = new Apigatewayv2Api(this, 'api', {
      name,
      description: 'batch-gateway: run request notifications',
      protocolType: 'WEBSOCKET',
      routeSelectionExpression: '$request.body.action',
    });
    this.websocketApiId = api.id;
    this.websocketExecutionArn = api.executionArn;

    const common = { logRetentionDays: retention, tracing: props.tracing, timeoutSeconds: 10 };
    this.connectFunction = new LambdaFunction(this, 'ws-connect', {
      bundle: 'ws-connect',
      description: 'Records a WebSocket connection with its client id and caller identity',
      environment: { [ENV.connectionsTable]: connections.name, [ENV.connectionTtlSeconds]: String(ttl), [ENV.serviceName]: 'ws-connect' },
      ...common,
    });
    this.connectFunction.addToRolePolicy('connections-put', [{ actions: ['dynamodb:PutItem'], resources: [connections.arn] }]);
    this.disconnectFunction = new LambdaFunction(this, 'ws-disconnect', {
      bundle: 'ws-disconnect',
      description: 'Forgets a closed WebSocket connection',
      environment: { [ENV.connectionsTable]: connections.name, [ENV.serviceName]: 'ws-disconnect' },
      ...common,
    });
    this.disconnectFunction.addToRolePolicy('connections-delete', [{ actions: ['dynamodb:DeleteItem'], resources: [connections.arn] }]);

    const routes: Apigatewayv2Route[] = [];
    const integrations: Apigatewayv2Integration[] = [];
    const integrationResponses: Apigatewayv2IntegrationResponse[] = [];
    const routeResponses: Apigatewayv2RouteResponse[] = [];
    for (const [routeKey, fn, routeAuth] of [
      ['$connect', this.connectFunction, authorization],
      // Only $connect can be authorized: a connection is authenticated once, when it opens.
      ['$disconnect', this.disconnectFunction, 'NONE'],
    ] as const) {
      const slug = routeKey.slice(1);
      const integration = new Apigatewayv2Integration(this, `${slug}-integration`, {
        apiId: api.id,
        integrationType: 'AWS_PROXY',
        integrationUri: fn.invokeArn,
        integrationMethod: 'POST',
      });
      integrations.push(integration);
      routes.push(
        new Apigatewayv2Route(this, `${slug}-route`, {
          apiId: api.id,
          routeKey,
          authorizationType: routeAuth,
          target: `integrations/${integration.id}`,
        }),
      );
      new LambdaPermission(this, `${slug}-permission`, {
        action: 'lambda:InvokeFunction',
        functionName: fn.functionName,
        principal: 'apigateway.amazonaws.com',
        sourceArn: `${api.executionArn}/*/${routeKey}`,
      });
    }

    // What a client may send, answered by API Gateway itself: a MOCK integration renders the reply,
    // no Lambda runs, so a keepalive costs one message and nothing more. `ping` answers a keepalive;
    // `$default` (any other action, or a message that is not JSON) answers with an error naming the
    // one message there is, rather than API Gateway's bare "Forbidden".
    for (const [routeKey, reply] of [
      [PING_ACTION, PONG_REPLY],
      ['$default', UNKNOWN_ACTION_REPLY],
    ] as const) {
      const slug = routeKey.replace(/^\$/, '');
      const integration = new Apigatewayv2Integration(this, `${slug}-integration`, {
        apiId: api.id,
        integrationType: 'MOCK',
        // A MOCK integration answers with the status its request template renders. `\$default` is the
        // static key `$default` (an unescaped `$` would start a variable).
        templateSelectionExpression: MOCK_TEMPLATE_KEY,
        requestTemplates: { $default: MOCK_REQUEST_TEMPLATE },
      });
      const integrationResponse = new Apigatewayv2IntegrationResponse(this, `${slug}-integration-response`, {
        apiId: api.id,
        integrationId: integration.id,
        // The catch-all response a non-proxy integration needs; MOCK only ever answers 200 here.
        integrationResponseKey: '$default',
        templateSelectionExpression: MOCK_TEMPLATE_KEY,
        responseTemplates: { $default: JSON.stringify(reply) },
      });
      const route = new Apigatewayv2Route(this, `${slug}-route`, {
        apiId: api.id,
        routeKey,
        authorizationType: 'NONE',
        target: `integrations/${integration.id}`,
        // Two-way: with a route response, API Gateway sends the integration's output to the client.
        routeResponseSelectionExpression: '$default',
      });
      const routeResponse = new Apigatewayv2RouteResponse(this, `${slug}-route-response`, { apiId: api.id, routeId: route.id, routeResponseKey: '$default' });
      routes.push(route);
      integrations.push(integration);
      integrationResponses.push(integrationResponse);
      routeResponses.push(routeResponse);
    }

    // A new deployment whenever a route, an integration or a response changes (configuredInputsTrigger:
    // their configured attributes, and the ids they reference); it depends on all of them, so none is
    // left out of it.
    const served = [...routes, ...integrations, ...integrationResponses, ...routeResponses];
    const deployment = new Apigatewayv2Deployment(this, 'deployment', {
      apiId: api.id,
      description: 'batch-gateway notifications',
      triggers: { redeployment: configuredInputsTrigger(served) },
      lifecycle: { createBeforeDestroy: true },
      dependsOn: served,
    });
    const accessLogs = new CloudwatchLogGroup(this, 'access-logs', { name: `/aws/apigateway/${name}/${stageName}`, retentionInDays: retention });
    const stage = new Apigatewayv2Stage(this, 'stage', {
      apiId: api.id,
      name: stageName,
      deploymentId: deployment.id,
      accessLogSettings: {
        destinationArn: accessLogs.arn,
        format: JSON.stringify({
          requestId: '$context.requestId',
          connectionId: '$context.connectionId',
          routeKey: '$context.routeKey',
          eventType: '$context.eventType',
          status: '$context.status',
          userArn: '$context.identity.userArn',
          sourceIp: '$context.identity.sourceIp',
          error: '$context.error.message',
        }),
      },
      defaultRouteSettings: {
        throttlingRateLimit: props.throttlingRateLimit ?? 10,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 20,
        dataTraceEnabled: false,
        loggingLevel: 'OFF',
      },
      dependsOn: props.accountLogging ? [props.accountLogging] : undefined,
    });
    this.websocketUrl = stage.invokeUrl;
    // The management API is the stage's HTTPS form (https://<id>.execute-api.<region>.<DNS suffix>/<stage>),
    // taken from the API's own endpoint: its DNS suffix is the partition's (amazonaws.com.cn in China).
    this.managementEndpoint = `${Fn.replace(api.apiEndpoint, 'wss://', 'https://')}/${stage.name}`;

    this.notifyFunction = new LambdaFunction(this, 'notify', {
      bundle: 'notify',
      description: "Tells a run request's client, on its own connections, how the run ended",
      environment: {
        [ENV.connectionsTable]: connections.name,
        [ENV.tableName]: props.runRequestsTable.tableName,
        [ENV.websocketEndpoint]: this.managementEndpoint,
        [ENV.serviceName]: 'notify',
      },
      timeoutSeconds: 30,
      logRetentionDays: retention,
      tracing: props.tracing,
    });
    this.notifyFunction.addToRolePolicy('notify', [
      { actions: ['dynamodb:Query'], resources: [indexArn] },
      { actions: ['dynamodb:DeleteItem'], resources: [connections.arn] },
      { actions: ['execute-api:ManageConnections'], resources: [`${api.executionArn}/${stage.name}/POST/@connections/*`] },
      { actions: ['dynamodb:UpdateItem'], resources: [props.runRequestsTable.tableArn] },
    ]);
    this.notifyFunctionArn = this.notifyFunction.functionArn;

    const topic = new SnsTopic(this, 'failures', {
      name: physicalName(this, 'failures', 256),
      displayName: 'batch-gateway failed run requests',
      // The AWS-managed key: encrypted at rest; publishers in the account use it through SNS.
      kmsMasterKeyId: 'alias/aws/sns',
    });
    this.failureTopicArn = topic.arn;
    if (props.failureEmail) {
      new SnsTopicSubscription(this, 'failures-email', { topicArn: topic.arn, protocol: 'email', endpoint: props.failureEmail });
    }
  }

  public grantNotify(grantee: IGrantable): void {
    grantee.addToPolicy('notifications', [
      { actions: ['lambda:InvokeFunction'], resources: [this.notifyFunctionArn, `${this.notifyFunctionArn}:*`] },
      { actions: ['sns:Publish'], resources: [this.failureTopicArn] },
    ]);
  }
}

/** A template selection expression that always selects the template keyed `$default`. */
const MOCK_TEMPLATE_KEY = '\\$default';
/** What API Gateway expects of a MOCK integration's request template: the status it answers with. */
const MOCK_REQUEST_TEMPLATE = '{"statusCode": 200}';
