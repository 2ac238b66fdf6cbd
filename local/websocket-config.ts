/**
 * The WebSocket API as local mode reads it from the synthesized Terraform JSON: its stage, its
 * route selection expression, the functions behind `$connect` and `$disconnect`, and every other
 * route with its MOCK integration (request templates, integration responses and their templates)
 * and whether a route response makes it two-way. Local mode answers a client's message from
 * exactly this, as API Gateway answers it from the deployed configuration.
 */
import { type CdkTfJson, functionReferencedBy, type LocalFunction } from './config';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** An integration response of a MOCK integration. */
export interface MockIntegrationResponseConfig {
  /** `$default`, or `/<regex>/` matched against the status code the request template rendered. */
  readonly key: string;
  readonly templateSelectionExpression?: string;
  readonly responseTemplates: Readonly<Record<string, string>>;
}

/** A route for client messages, answered by a MOCK integration. */
export interface MockRouteConfig {
  readonly routeKey: string;
  readonly templateSelectionExpression?: string;
  /** Rendered over the message; MOCK answers with the `statusCode` the output holds. */
  readonly requestTemplates: Readonly<Record<string, string>>;
  readonly integrationResponses: readonly MockIntegrationResponseConfig[];
  /** A route response exists and the route selects it: the client receives the rendered reply. */
  readonly twoWay: boolean;
}

export interface WebSocketApiConfig {
  readonly stage: string;
  readonly routeSelectionExpression: string;
  readonly connectFunction: LocalFunction;
  readonly disconnectFunction: LocalFunction;
  /** Every route but `$connect` and `$disconnect`, by route key. */
  readonly messageRoutes: Readonly<Record<string, MockRouteConfig>>;
}

/** Reads the stack's one WebSocket API; throws on what local mode cannot serve, naming it. */
export function websocketApiFromConfig(config: CdkTfJson): WebSocketApiConfig {
  const apis = Object.values(config.resource.aws_apigatewayv2_api ?? {}).filter((a) => a.protocol_type === 'WEBSOCKET');
  if (apis.length !== 1) throw new Error(`local mode: expected one WebSocket API in the stack, found ${apis.length}`);
  const integrations = config.resource.aws_apigatewayv2_integration ?? {};
  const idIn = (type: string, reference: string | undefined) => new RegExp(`\\$\\{${type}\\.([^.}]+)\\.id\\}`).exec(reference ?? '')?.[1];
  const integrationResponses = Object.values(config.resource.aws_apigatewayv2_integration_response ?? {});
  const routeResponses = Object.values(config.resource.aws_apigatewayv2_route_response ?? {});

  let connectFunction: LocalFunction | undefined;
  let disconnectFunction: LocalFunction | undefined;
  const messageRoutes: Record<string, MockRouteConfig> = {};
  for (const [routeId, route] of Object.entries(config.resource.aws_apigatewayv2_route ?? {})) {
    const routeKey: string = route.route_key;
    const integrationId = idIn('aws_apigatewayv2_integration', route.target);
    const integration: Json | undefined = integrationId ? integrations[integrationId] : undefined;
    if (!integration) throw new Error(`local mode: the WebSocket route ${routeKey} has no integration`);
    if (routeKey === '$connect' || routeKey === '$disconnect') {
      const fn = functionReferencedBy(config, integration.integration_uri ?? '');
      if (!fn) throw new Error(`local mode: no function serves the WebSocket route ${routeKey}`);
      if (routeKey === '$connect') connectFunction = fn;
      else disconnectFunction = fn;
      continue;
    }
    if (integration.integration_type !== 'MOCK') {
      throw new Error(`local mode answers client messages from MOCK integrations only: route ${routeKey} has a ${integration.integration_type} integration`);
    }
    messageRoutes[routeKey] = {
      routeKey,
      templateSelectionExpression: integration.template_selection_expression,
      requestTemplates: integration.request_templates ?? {},
      integrationResponses: integrationResponses
        .filter((r) => idIn('aws_apigatewayv2_integration', r.integration_id) === integrationId)
        .map((r) => ({ key: r.integration_response_key, templateSelectionExpression: r.template_selection_expression, responseTemplates: r.response_templates ?? {} })),
      // Only the `$default` route response exists for WebSocket APIs; the route must also select it.
      twoWay: route.route_response_selection_expression === '$default' && routeResponses.some((r) => idIn('aws_apigatewayv2_route', r.route_id) === routeId && r.route_response_key === '$default'),
    };
  }
  if (!connectFunction || !disconnectFunction) throw new Error('local mode: the WebSocket API needs a $connect and a $disconnect route');
  return {
    stage: Object.values(config.resource.aws_apigatewayv2_stage ?? {})[0]?.name ?? 'v1',
    routeSelectionExpression: apis[0].route_selection_expression,
    connectFunction,
    disconnectFunction,
    messageRoutes,
  };
}
