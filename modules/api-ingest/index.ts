import { ApiGatewayApiKey } from '@cdktf/provider-aws/lib/api-gateway-api-key';
import { ApiGatewayDeployment } from '@cdktf/provider-aws/lib/api-gateway-deployment';
import { ApiGatewayGatewayResponse } from '@cdktf/provider-aws/lib/api-gateway-gateway-response';
import { ApiGatewayIntegration } from '@cdktf/provider-aws/lib/api-gateway-integration';
import { ApiGatewayIntegrationResponse } from '@cdktf/provider-aws/lib/api-gateway-integration-response';
import { ApiGatewayMethod } from '@cdktf/provider-aws/lib/api-gateway-method';
import { ApiGatewayMethodResponse } from '@cdktf/provider-aws/lib/api-gateway-method-response';
import { ApiGatewayMethodSettings } from '@cdktf/provider-aws/lib/api-gateway-method-settings';
import { ApiGatewayModel } from '@cdktf/provider-aws/lib/api-gateway-model';
import { ApiGatewayRequestValidator } from '@cdktf/provider-aws/lib/api-gateway-request-validator';
import { ApiGatewayResource } from '@cdktf/provider-aws/lib/api-gateway-resource';
import { ApiGatewayRestApi } from '@cdktf/provider-aws/lib/api-gateway-rest-api';
import { ApiGatewayStage } from '@cdktf/provider-aws/lib/api-gateway-stage';
import { ApiGatewayUsagePlan } from '@cdktf/provider-aws/lib/api-gateway-usage-plan';
import { ApiGatewayUsagePlanKey } from '@cdktf/provider-aws/lib/api-gateway-usage-plan-key';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { Fn, ITerraformDependable, TerraformResource } from 'cdktf';
import { Construct } from 'constructs';
import { ServiceRole } from '../shared/iam';
import { assertLogRetention, assertProp, iamName, physicalName } from '../shared/naming';
import { configuredInputsTrigger } from '../shared/redeployment';
import { IDEMPOTENCY_KEY_HEADER } from '../../contract';
import { RUN_REQUEST_BODY_SCHEMA } from './request-model';
import { IRunRequestsTable, RunRequestsTable } from './table';
import {
  GET_CLIENT_ERROR_RESPONSE,
  GET_RESPONSE,
  PUT_ACCEPTED_RESPONSE,
  PUT_CLIENT_ERROR_RESPONSE,
  SERVER_ERROR_RESPONSE,
  VALIDATION_ERROR_RESPONSE,
  getRunRequestTemplate,
  putRunRequestTemplate,
} from './templates';

export * from './table';
export * from './account-logging';
export { RUN_REQUEST_BODY_SCHEMA } from './request-model';

/** How callers authenticate. */
export type ApiAuthorization = 'AWS_IAM' | 'API_KEY';

export interface ApiIngestProps {
  /**
   * The run-requests table to write to.
   * @default - a new {@link RunRequestsTable}
   */
  readonly table?: IRunRequestsTable;
  /**
   * Path of the collection resource (one segment).
   * @default 'runrequests'
   */
  readonly resourcePath?: string;
  /**
   * `AWS_IAM`: callers sign with SigV4 and need `execute-api:Invoke`; `API_KEY`: callers send
   * `x-api-key`, and a usage plan with a key is created.
   * @default 'AWS_IAM'
   */
  readonly authorization?: ApiAuthorization;
  /** @default 'v1' */
  readonly stageName?: string;
  /** Steady-state requests per second for the stage. @default 50 */
  readonly throttlingRateLimit?: number;
  /** Burst capacity for the stage. @default 100 */
  readonly throttlingBurstLimit?: number;
  /**
   * Monthly request quota of the API key's usage plan (API_KEY only).
   * @default - no quota
   */
  readonly monthlyQuota?: number;
  /** Retention of the access log group. @default 30 */
  readonly logRetentionDays?: number;
  /**
   * Access logs need the account-level API Gateway CloudWatch role: pass the
   * {@link ApiGatewayAccountLogging} of this account and region so the stage waits for it.
   * @default - the role is assumed to be configured already
   */
  readonly accountLogging?: ITerraformDependable;
  /** @default false */
  readonly tracing?: boolean;
  /** @default - derived from the construct path */
  readonly apiName?: string;
}

/**
 * REST API that stores run requests straight into DynamoDB (AWS-service integrations, no
 * Lambda): `POST /runrequests` writes an ACCEPTED item (once per `Idempotency-Key`), `GET /runrequests/{runRequestID}` reads
 * its status.
 */
export class ApiIngest extends Construct {
  public readonly table: IRunRequestsTable;
  public readonly restApiId: string;
  /** The API's name (CloudWatch's `ApiName` dimension). */
  public readonly apiName: string;
  /** For `execute-api:Invoke` policies: `<executionArn>/<stage>/<METHOD>/<path>`. */
  public readonly executionArn: string;
  public readonly stageName: string;
  /** Base URL of the stage, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/v1`. */
  public readonly url: string;
  /** Full URL of the collection, where clients POST. */
  public readonly runRequestsUrl: string;
  public readonly accessLogGroupName: string;
  /** The API key's id (API_KEY only); its value is read with `aws apigateway get-api-key --include-value`. */
  public readonly apiKeyId?: string;
  /** Routes as `METHOD /path`, for reviews and docs. */
  public readonly routes: string[];

  constructor(scope: Construct, id: string, props: ApiIngestProps = {}) {
    super(scope, id);
    const resourcePath = props.resourcePath ?? 'runrequests';
    const authorization = props.authorization ?? 'AWS_IAM';
    const stageName = props.stageName ?? 'v1';
    const rate = props.throttlingRateLimit ?? 50;
    const burst = props.throttlingBurstLimit ?? 100;
    const retention = props.logRetentionDays ?? 30;
    assertProp(/^[A-Za-z0-9_-]{1,64}$/.test(resourcePath), `ApiIngest: resourcePath must be one path segment of [A-Za-z0-9_-] (got '${resourcePath}')`);
    assertProp(authorization === 'AWS_IAM' || authorization === 'API_KEY', `ApiIngest: authorization must be AWS_IAM or API_KEY (got '${authorization}')`);
    assertProp(/^[A-Za-z0-9_-]{1,128}$/.test(stageName), `ApiIngest: stageName must match [A-Za-z0-9_-]{1,128} (got '${stageName}')`);
    assertProp(rate > 0 && burst > 0, `ApiIngest: throttling limits must be positive (got rate ${rate}, burst ${burst})`);
    assertProp(props.monthlyQuota === undefined || authorization === 'API_KEY', 'ApiIngest: monthlyQuota applies only with authorization API_KEY');
    assertLogRetention(retention, 'ApiIngest');

    this.table = props.table ?? new RunRequestsTable(this, 'table');
    const name = props.apiName ?? physicalName(this);
    // Partition and region come from the table's ARN: no account or region literal, no AWS lookup.
    const partition = Fn.element(Fn.split(':', this.table.tableArn), 1);
    const region = Fn.element(Fn.split(':', this.table.tableArn), 3);
    const dynamodbAction = (action: string) => `arn:${partition}:apigateway:${region}:dynamodb:action/${action}`;

    const api = new ApiGatewayRestApi(this, 'api', {
      name,
      description: 'batch-gateway: run requests into DynamoDB',
      endpointConfiguration: { types: ['REGIONAL'] },
    });
    this.restApiId = api.id;
    this.apiName = api.name;
    this.executionArn = api.executionArn;

    // No aws:SourceArn/aws:SourceAccount on the trust (confused deputy): API Gateway documents
    // neither for an integration's credentials role and does not set aws:SourceAccount when it
    // assumes one, so such a condition would deny every request (500). What the role may do stays
    // narrow instead: PutItem and GetItem on this table.
    const integrationRole = new ServiceRole(this, 'integration-role', {
      servicePrincipal: 'apigateway.amazonaws.com',
      roleName: iamName(this, 'integration'),
      description: `Lets API ${name} put and get run requests`,
    });
    integrationRole.addToPolicy('run-requests', [
      // POST is a TransactWriteItems: IAM authorizes each of its Puts and ConditionChecks.
      { actions: ['dynamodb:PutItem', 'dynamodb:ConditionCheckItem', 'dynamodb:GetItem'], resources: [this.table.tableArn] },
    ]);

    const model = new ApiGatewayModel(this, 'run-request-model', {
      restApiId: api.id,
      name: 'RunRequest',
      contentType: 'application/json',
      schema: JSON.stringify(RUN_REQUEST_BODY_SCHEMA),
    });
    const bodyValidator = new ApiGatewayRequestValidator(this, 'body-validator', {
      restApiId: api.id,
      name: 'body',
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const paramValidator = new ApiGatewayRequestValidator(this, 'params-validator', {
      restApiId: api.id,
      name: 'parameters',
      validateRequestBody: false,
      validateRequestParameters: true,
    });
    const routeResources: TerraformResource[] = [model, bodyValidator, paramValidator];
    for (const responseType of ['BAD_REQUEST_BODY', 'BAD_REQUEST_PARAMETERS']) {
      const gatewayResponse = new ApiGatewayGatewayResponse(this, `response-${responseType.toLowerCase()}`, {
        restApiId: api.id,
        responseType,
        statusCode: '400',
        responseTemplates: { 'application/json': VALIDATION_ERROR_RESPONSE },
      });
      // Gateway responses, like routes, take effect only with a new deployment.
      routeResources.push(gatewayResponse);
    }

    const collection = new ApiGatewayResource(this, 'collection', {
      restApiId: api.id,
      parentId: api.rootResourceId,
      pathPart: resourcePath,
    });
    const item = new ApiGatewayResource(this, 'item', {
      restApiId: api.id,
      parentId: collection.id,
      pathPart: '{runRequestID}',
    });

    const apiKeyRequired = authorization === 'API_KEY';
    const methodAuthorization = authorization === 'AWS_IAM' ? 'AWS_IAM' : 'NONE';

    // POST /runrequests -> PutItem
    const post = new ApiGatewayMethod(this, 'post', {
      restApiId: api.id,
      resourceId: collection.id,
      httpMethod: 'POST',
      authorization: methodAuthorization,
      apiKeyRequired,
      requestValidatorId: bodyValidator.id,
      requestModels: { 'application/json': model.name },
      // Optional; its pattern is checked by the template (a validator checks only presence).
      requestParameters: { [`method.request.header.${IDEMPOTENCY_KEY_HEADER}`]: false },
    });
    const putTemplate = putRunRequestTemplate(this.table.tableName);
    const postIntegration = new ApiGatewayIntegration(this, 'post-integration', {
      restApiId: api.id,
      resourceId: collection.id,
      httpMethod: post.httpMethod,
      type: 'AWS',
      integrationHttpMethod: 'POST',
      uri: dynamodbAction('TransactWriteItems'),
      credentials: integrationRole.roleArn,
      // Other content types get 415 instead of reaching DynamoDB unvalidated.
      passthroughBehavior: 'NEVER',
      requestTemplates: { 'application/json': putTemplate },
      timeoutMilliseconds: 10000,
    });
    routeResources.push(post, postIntegration);
    routeResources.push(
      ...this.responses('post', api.id, collection.id, post, postIntegration, [
        { statusCode: '202', template: PUT_ACCEPTED_RESPONSE },
        { statusCode: '400', selectionPattern: '4\\d{2}', template: PUT_CLIENT_ERROR_RESPONSE },
        // A repeat under an Idempotency-Key (200), another body under it (422), one in progress (409).
        { statusCode: '200' },
        { statusCode: '409' },
        { statusCode: '422' },
        { statusCode: '429' },
        { statusCode: '503', selectionPattern: '5\\d{2}', template: SERVER_ERROR_RESPONSE },
      ]),
    );

    // GET /runrequests/{runRequestID} -> GetItem
    const get = new ApiGatewayMethod(this, 'get', {
      restApiId: api.id,
      resourceId: item.id,
      httpMethod: 'GET',
      authorization: methodAuthorization,
      apiKeyRequired,
      requestValidatorId: paramValidator.id,
      requestParameters: { 'method.request.path.runRequestID': true },
    });
    const getTemplate = getRunRequestTemplate(this.table.tableName);
    const getIntegration = new ApiGatewayIntegration(this, 'get-integration', {
      restApiId: api.id,
      resourceId: item.id,
      httpMethod: get.httpMethod,
      type: 'AWS',
      integrationHttpMethod: 'POST',
      uri: dynamodbAction('GetItem'),
      credentials: integrationRole.roleArn,
      passthroughBehavior: 'NEVER',
      requestTemplates: { 'application/json': getTemplate },
      timeoutMilliseconds: 10000,
    });
    routeResources.push(get, getIntegration);
    routeResources.push(
      ...this.responses('get', api.id, item.id, get, getIntegration, [
        { statusCode: '200', template: GET_RESPONSE },
        { statusCode: '404' },
        { statusCode: '400', selectionPattern: '4\\d{2}', template: GET_CLIENT_ERROR_RESPONSE },
        { statusCode: '429' },
        { statusCode: '503', selectionPattern: '5\\d{2}', template: SERVER_ERROR_RESPONSE },
      ]),
    );
    this.routes = [`POST /${resourcePath}`, `GET /${resourcePath}/{runRequestID}`];

    // A new deployment whenever anything it serves changes (configuredInputsTrigger): the old one goes
    // after the new one exists.
    const deployment = new ApiGatewayDeployment(this, 'deployment', {
      restApiId: api.id,
      triggers: { redeployment: configuredInputsTrigger(routeResources) },
      lifecycle: { createBeforeDestroy: true },
      dependsOn: routeResources,
    });

    const accessLogs = new CloudwatchLogGroup(this, 'access-logs', {
      name: `/aws/apigateway/${name}/${stageName}`,
      retentionInDays: retention,
    });
    this.accessLogGroupName = accessLogs.name;
    const stage = new ApiGatewayStage(this, 'stage', {
      restApiId: api.id,
      deploymentId: deployment.id,
      stageName,
      xrayTracingEnabled: props.tracing ?? false,
      accessLogSettings: { destinationArn: accessLogs.arn, format: JSON.stringify(ACCESS_LOG_FORMAT) },
      dependsOn: props.accountLogging ? [props.accountLogging] : undefined,
    });
    new ApiGatewayMethodSettings(this, 'stage-settings', {
      restApiId: api.id,
      stageName: stage.stageName,
      methodPath: '*/*',
      settings: {
        throttlingRateLimit: rate,
        throttlingBurstLimit: burst,
        metricsEnabled: true,
        // Execution logs would hold request bodies; access logs say who called what.
        loggingLevel: 'OFF',
        dataTraceEnabled: false,
      },
    });
    this.stageName = stage.stageName;
    this.url = stage.invokeUrl;
    this.runRequestsUrl = `${stage.invokeUrl}/${resourcePath}`;

    if (apiKeyRequired) {
      const plan = new ApiGatewayUsagePlan(this, 'usage-plan', {
        name: `${name}-plan`,
        apiStages: [{ apiId: api.id, stage: stage.stageName }],
        throttleSettings: { rateLimit: rate, burstLimit: burst },
        quotaSettings: props.monthlyQuota ? { limit: props.monthlyQuota, period: 'MONTH' } : undefined,
      });
      const key = new ApiGatewayApiKey(this, 'api-key', { name: `${name}-key`, enabled: true });
      new ApiGatewayUsagePlanKey(this, 'usage-plan-key', { keyId: key.id, keyType: 'API_KEY', usagePlanId: plan.id });
      this.apiKeyId = key.id;
    }
  }

  /** ARN to allow in a caller's policy for `execute-api:Invoke` on every route of this stage. */
  public invokeArnForAllRoutes(): string {
    return `${this.executionArn}/${this.stageName}/*/*`;
  }

  private responses(
    prefix: string,
    restApiId: string,
    resourceId: string,
    method: ApiGatewayMethod,
    integration: ApiGatewayIntegration,
    specs: { statusCode: string; selectionPattern?: string; template?: string }[],
  ): TerraformResource[] {
    const created: TerraformResource[] = [];
    for (const spec of specs) {
      const methodResponse = new ApiGatewayMethodResponse(this, `${prefix}-${spec.statusCode}`, {
        restApiId,
        resourceId,
        httpMethod: method.httpMethod,
        statusCode: spec.statusCode,
        responseModels: { 'application/json': 'Empty' },
      });
      created.push(methodResponse);
      // Statuses without a template are reached through responseOverride in another template.
      if (spec.template !== undefined) {
        created.push(
          new ApiGatewayIntegrationResponse(this, `${prefix}-${spec.statusCode}-integration`, {
            restApiId,
            resourceId,
            httpMethod: method.httpMethod,
            statusCode: spec.statusCode,
            selectionPattern: spec.selectionPattern,
            responseTemplates: { 'application/json': spec.template },
            dependsOn: [integration, methodResponse],
          }),
        );
      }
    }
    return created;
  }
}

/** One JSON line per request in the access log. */
const ACCESS_LOG_FORMAT = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  responseLength: '$context.responseLength',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  sourceIp: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  userArn: '$context.identity.userArn',
  apiKeyId: '$context.identity.apiKeyId',
  error: '$context.error.message',
  validationError: '$context.error.validationErrorString',
};
