/**
 * Reads a REST API (API Gateway v1) out of a synthesized Terraform configuration (`cdk.tf.json`):
 * what the local REST server needs to serve it as API Gateway would. Only the JSON is read; which
 * templates, paths or tables the API has is whatever the configuration says.
 *
 * Resources refer to each other with Terraform references (`${aws_api_gateway_resource.x.id}`):
 * those between API Gateway resources are followed here. Interpolations inside values that reach
 * the running API (mapping templates, the stage name, model schemas) are handed to the caller's
 * `resolve`, which knows what they are locally (a table's local name, say).
 */
import type { CdkTfJson } from './config';

export type { CdkTfJson };
type TerraformResource = Readonly<Record<string, unknown>>;

/** What API Gateway does with a request whose content type has no request template. */
export type PassthroughBehavior = 'WHEN_NO_MATCH' | 'WHEN_NO_TEMPLATES' | 'NEVER';

export interface RestApiConfig {
  /** The API's `name`. */
  readonly name: string;
  /** The one stage's name: the first path segment of every URL. */
  readonly stageName: string;
  /** Every method of every resource, ordered by path, then method. */
  readonly methods: readonly RestMethodConfig[];
  /** Customized gateway responses by response type (`BAD_REQUEST_BODY`, `DEFAULT_4XX`, ...). */
  readonly gatewayResponses: Readonly<Record<string, GatewayResponseConfig>>;
}

export interface RestMethodConfig {
  /** `GET`, `POST`, ..., or `ANY`. */
  readonly httpMethod: string;
  /** The resource's full path with its parameters, e.g. `/runrequests/{runRequestID}`. */
  readonly resourcePath: string;
  /** `NONE`, `AWS_IAM`, `CUSTOM` or `COGNITO_USER_POOLS`. */
  readonly authorization: string;
  readonly apiKeyRequired: boolean;
  /** `method.request.{path|querystring|header}.<name>` → whether it is required. */
  readonly requestParameters: Readonly<Record<string, boolean>>;
  /** Request body models by content type (`$default` for any other). */
  readonly requestModels: Readonly<Record<string, RequestModelConfig>>;
  /** @default - no validation */
  readonly validator?: RequestValidatorConfig;
  readonly integration: IntegrationConfig;
  /**
   * The limits of this method's own token bucket (API Gateway applies a stage's limits to each
   * method apart): its `aws_api_gateway_method_settings` override (`<path>/<METHOD>`), else the
   * stage's `*\/*`, each bounded by the account's limits ({@link ACCOUNT_THROTTLE}), which apply alone
   * where neither sets one.
   */
  readonly throttle: ThrottleConfig;
}

export interface ThrottleConfig {
  /** Steady-state requests per second: the rate tokens come back at. */
  readonly rateLimit: number;
  /** The bucket's capacity: requests admitted at once from a full bucket. */
  readonly burstLimit: number;
}

/**
 * API Gateway's default account-level throttle per Region (all APIs of the account together): no
 * stage or method setting admits more. AWS can raise it on request; local mode keeps the default.
 */
export const ACCOUNT_THROTTLE: ThrottleConfig = { rateLimit: 10_000, burstLimit: 5_000 };

export interface RequestModelConfig {
  readonly name: string;
  /** The model's JSON schema (draft 4), parsed. */
  readonly schema: Readonly<Record<string, unknown>>;
}

export interface RequestValidatorConfig {
  readonly name: string;
  readonly validateRequestBody: boolean;
  readonly validateRequestParameters: boolean;
}

export interface IntegrationConfig {
  /** `AWS`, `AWS_PROXY`, `HTTP`, `HTTP_PROXY` or `MOCK`. */
  readonly type: string;
  /** As written in the configuration, Terraform expressions included. */
  readonly uri?: string;
  /** For an `AWS` integration with an action URI (`arn:...:apigateway:<region>:dynamodb:action/PutItem`). */
  readonly awsAction?: { readonly service: string; readonly action: string };
  /** Request mapping templates by content type, Terraform references resolved. */
  readonly requestTemplates: Readonly<Record<string, string>>;
  readonly passthroughBehavior: PassthroughBehavior;
  readonly timeoutMilliseconds: number;
  readonly responses: readonly IntegrationResponseConfig[];
}

export interface IntegrationResponseConfig {
  readonly statusCode: number;
  /** Java regex matched against the integration's status code. @default - the default response */
  readonly selectionPattern?: string;
  /** Response mapping templates by content type, Terraform references resolved. */
  readonly responseTemplates: Readonly<Record<string, string>>;
  /** `method.response.header.<name>` → mapping expression (`'literal'`, `integration.response.header.x`, ...). */
  readonly responseParameters: Readonly<Record<string, string>>;
}

export interface GatewayResponseConfig {
  readonly responseType: string;
  /** @default - the response type's own status */
  readonly statusCode?: number;
  readonly responseTemplates: Readonly<Record<string, string>>;
  /** `gatewayresponse.header.<name>` → mapping expression. */
  readonly responseParameters: Readonly<Record<string, string>>;
}

/** The configuration holds no REST API this module can read, or one it cannot make sense of. */
export class RestConfigError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RestConfigError';
  }
}

/** API Gateway's default integration timeout (and maximum for regional APIs by default). */
const DEFAULT_TIMEOUT_MS = 29_000;

/** Models every REST API has without declaring them. */
const BUILT_IN_MODELS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  Empty: { $schema: 'http://json-schema.org/draft-04/schema#', title: 'Empty Schema', type: 'object' },
  Error: { $schema: 'http://json-schema.org/draft-04/schema#', title: 'Error Schema', type: 'object', properties: { message: { type: 'string' } } },
};

/**
 * The configuration's REST API (there must be exactly one, with exactly one stage).
 *
 * @param resolve gets each Terraform interpolation found in a value the API serves with, whole
 *   and alone (e.g. `${aws_dynamodb_table.runs_1A2B3C4D.name}`), and returns its local value; it
 *   throws for one it does not know, and an interpolation it returns unchanged counts as
 *   unresolved. Literal text never goes through it: `$${` and `%%{` (Terraform's escapes for a
 *   literal `${` and `%{`) are unescaped here.
 */
export function restApiFromConfig(config: CdkTfJson, resolve: (expression: string) => string): RestApiConfig {
  const reader = new ConfigReader(config, resolve);
  const apis = Object.entries(reader.resources('aws_api_gateway_rest_api'));
  if (apis.length !== 1) {
    throw new RestConfigError(`expected exactly one aws_api_gateway_rest_api, found ${apis.length}${apis.length ? `: ${apis.map(([id]) => id).join(', ')}` : ''}`);
  }
  const [apiId, api] = apis[0];
  if (api.body !== undefined) throw new RestConfigError(`aws_api_gateway_rest_api.${apiId} is defined by an OpenAPI body, which is not read here`);
  const apiRef = `aws_api_gateway_rest_api.${apiId}`;
  const ofApi = (type: string): [string, TerraformResource][] =>
    Object.entries(reader.resources(type)).filter(([, resource]) => resource.rest_api_id === `\${${apiRef}.id}`);

  const stages = ofApi('aws_api_gateway_stage');
  if (stages.length !== 1) throw new RestConfigError(`expected exactly one aws_api_gateway_stage of ${apiRef}, found ${stages.length}`);
  const stageName = reader.text(stages[0][1].stage_name, `aws_api_gateway_stage.${stages[0][0]}.stage_name`);

  const paths = resourcePaths(apiRef, ofApi('aws_api_gateway_resource'), reader);
  const pathOf = (resourceId: unknown, where: string): string => {
    const found = typeof resourceId === 'string' ? paths.get(resourceId) : undefined;
    if (found === undefined) throw new RestConfigError(`${where}: resource_id ${JSON.stringify(resourceId)} is not a resource of ${apiRef}`);
    return found;
  };

  const validators = new Map(
    ofApi('aws_api_gateway_request_validator').map(([id, v]): [string, RequestValidatorConfig] => [
      `\${aws_api_gateway_request_validator.${id}.id}`,
      {
        name: reader.text(v.name, `aws_api_gateway_request_validator.${id}.name`),
        validateRequestBody: v.validate_request_body === true,
        validateRequestParameters: v.validate_request_parameters === true,
      },
    ]),
  );
  const models = new Map<string, Readonly<Record<string, unknown>>>(Object.entries(BUILT_IN_MODELS));
  for (const [id, model] of ofApi('aws_api_gateway_model')) {
    const where = `aws_api_gateway_model.${id}`;
    models.set(reader.text(model.name, `${where}.name`), parseSchema(reader.text(model.schema, `${where}.schema`), where));
  }

  // Integrations and their responses belong to a method by resource and HTTP method.
  const methodKey = (resource: TerraformResource, where: string): string =>
    `${String(resource.resource_id)} ${reader.text(resource.http_method, `${where}.http_method`).toUpperCase()}`;
  const integrations = new Map<string, [string, TerraformResource]>();
  for (const [id, integration] of ofApi('aws_api_gateway_integration')) {
    integrations.set(methodKey(integration, `aws_api_gateway_integration.${id}`), [id, integration]);
  }
  const responses = new Map<string, [string, TerraformResource][]>();
  for (const [id, response] of ofApi('aws_api_gateway_integration_response')) {
    const key = methodKey(response, `aws_api_gateway_integration_response.${id}`);
    responses.set(key, [...(responses.get(key) ?? []), [id, response]]);
  }

  const throttleOf = methodThrottles(ofApi('aws_api_gateway_method_settings'), stageName, reader);
  const methods = ofApi('aws_api_gateway_method').map(([id, method]): RestMethodConfig => {
    const where = `aws_api_gateway_method.${id}`;
    const httpMethod = reader.text(method.http_method, `${where}.http_method`).toUpperCase();
    const resourcePath = pathOf(method.resource_id, where);
    const key = methodKey(method, where);
    const integration = integrations.get(key);
    if (!integration) throw new RestConfigError(`${where} (${httpMethod} ${resourcePath}) has no aws_api_gateway_integration`);

    const requestModels: Record<string, RequestModelConfig> = {};
    for (const [contentType, modelName] of Object.entries(record(method.request_models))) {
      const name = reader.text(modelName, `${where}.request_models`);
      const schema = models.get(name);
      if (!schema) throw new RestConfigError(`${where}: request model '${name}' is not a model of ${apiRef}`);
      requestModels[contentType.toLowerCase()] = { name, schema };
    }
    let validator: RequestValidatorConfig | undefined;
    if (method.request_validator_id !== undefined) {
      validator = validators.get(String(method.request_validator_id));
      if (!validator) throw new RestConfigError(`${where}: request_validator_id ${JSON.stringify(method.request_validator_id)} is not a validator of ${apiRef}`);
    }
    return {
      httpMethod,
      resourcePath,
      authorization: reader.text(method.authorization ?? 'NONE', `${where}.authorization`),
      apiKeyRequired: method.api_key_required === true,
      requestParameters: Object.fromEntries(Object.entries(record(method.request_parameters)).map(([name, required]) => [name, required === true])),
      requestModels,
      validator,
      integration: integrationConfig(integration, responses.get(key) ?? [], reader),
      throttle: throttleOf(resourcePath, httpMethod),
    };
  });
  methods.sort((a, b) => (a.resourcePath === b.resourcePath ? a.httpMethod.localeCompare(b.httpMethod) : a.resourcePath.localeCompare(b.resourcePath)));

  const gatewayResponses: Record<string, GatewayResponseConfig> = {};
  for (const [id, response] of ofApi('aws_api_gateway_gateway_response')) {
    const where = `aws_api_gateway_gateway_response.${id}`;
    const responseType = reader.text(response.response_type, `${where}.response_type`);
    gatewayResponses[responseType] = {
      responseType,
      statusCode: response.status_code === undefined ? undefined : statusCode(reader.text(response.status_code, `${where}.status_code`), where),
      responseTemplates: reader.textRecord(response.response_templates, `${where}.response_templates`, true),
      responseParameters: reader.textRecord(response.response_parameters, `${where}.response_parameters`),
    };
  }

  return { name: reader.text(api.name, `${apiRef}.name`), stageName, methods, gatewayResponses };
}

/**
 * Each method's throttle from the stage's method settings: `*\/*` for every method, or
 * `<resource path without its leading slash>/<METHOD>` for one (Terraform's `method_path`). A limit
 * a setting leaves out, or sets below 0 (the provider's "not set"), comes from the next level up.
 */
function methodThrottles(settings: [string, TerraformResource][], stageName: string, reader: ConfigReader): (resourcePath: string, httpMethod: string) => ThrottleConfig {
  const byMethodPath = new Map<string, Partial<ThrottleConfig>>();
  for (const [id, setting] of settings) {
    const where = `aws_api_gateway_method_settings.${id}`;
    if (reader.text(setting.stage_name, `${where}.stage_name`) !== stageName) continue;
    const methodPath = reader.text(setting.method_path, `${where}.method_path`);
    if (methodPath !== '*/*' && !/^.*\/[A-Z]+$/.test(methodPath)) {
      throw new RestConfigError(`${where}: method_path must be */* or <resource path>/<HTTP method> (got '${methodPath}')`);
    }
    // A nested block: an object in cdktf's JSON, or a list of one.
    const block = record(Array.isArray(setting.settings) ? setting.settings[0] : setting.settings);
    const limit = (value: unknown, name: string): number | undefined => {
      if (value === undefined) return undefined;
      const n = Number(reader.text(value, `${where}.settings.${name}`));
      if (!Number.isFinite(n)) throw new RestConfigError(`${where}: settings.${name} must be a number (got ${JSON.stringify(value)})`);
      return n < 0 ? undefined : n;
    };
    byMethodPath.set(methodPath, { rateLimit: limit(block.throttling_rate_limit, 'throttling_rate_limit'), burstLimit: limit(block.throttling_burst_limit, 'throttling_burst_limit') });
  }
  const stage = byMethodPath.get('*/*') ?? {};
  return (resourcePath, httpMethod) => {
    const own = byMethodPath.get(`${resourcePath.replace(/^\//, '')}/${httpMethod}`) ?? {};
    return {
      rateLimit: Math.min(own.rateLimit ?? stage.rateLimit ?? Infinity, ACCOUNT_THROTTLE.rateLimit),
      burstLimit: Math.min(own.burstLimit ?? stage.burstLimit ?? Infinity, ACCOUNT_THROTTLE.burstLimit),
    };
  };
}

function integrationConfig([id, integration]: [string, TerraformResource], responses: [string, TerraformResource][], reader: ConfigReader): IntegrationConfig {
  const where = `aws_api_gateway_integration.${id}`;
  const uri = typeof integration.uri === 'string' ? integration.uri : undefined;
  // The region (and partition) in the URI are Terraform expressions: read around them.
  const action = uri === undefined ? null : /:apigateway:[^:]*:([a-z0-9-]+):action\/([A-Za-z0-9]+)$/.exec(interpolate(uri, () => 'placeholder', where));
  const passthrough = reader.text(integration.passthrough_behavior ?? 'WHEN_NO_MATCH', `${where}.passthrough_behavior`).toUpperCase();
  if (passthrough !== 'WHEN_NO_MATCH' && passthrough !== 'WHEN_NO_TEMPLATES' && passthrough !== 'NEVER') {
    throw new RestConfigError(`${where}: passthrough_behavior must be WHEN_NO_MATCH, WHEN_NO_TEMPLATES or NEVER (got '${passthrough}')`);
  }

  const parsedResponses = responses.map(([responseId, response]): IntegrationResponseConfig => {
    const at = `aws_api_gateway_integration_response.${responseId}`;
    const pattern = response.selection_pattern === undefined ? '' : reader.text(response.selection_pattern, `${at}.selection_pattern`);
    return {
      statusCode: statusCode(reader.text(response.status_code, `${at}.status_code`), at),
      selectionPattern: pattern === '' ? undefined : pattern,
      responseTemplates: reader.textRecord(response.response_templates, `${at}.response_templates`, true),
      responseParameters: reader.textRecord(response.response_parameters, `${at}.response_parameters`),
    };
  });
  const defaults = parsedResponses.filter((r) => r.selectionPattern === undefined);
  if (defaults.length > 1) throw new RestConfigError(`${where} has ${defaults.length} integration responses without a selection pattern; API Gateway allows one default`);

  return {
    type: reader.text(integration.type, `${where}.type`).toUpperCase(),
    uri,
    awsAction: action ? { service: action[1], action: action[2] } : undefined,
    requestTemplates: reader.textRecord(integration.request_templates, `${where}.request_templates`, true),
    passthroughBehavior: passthrough,
    timeoutMilliseconds: integration.timeout_milliseconds === undefined ? DEFAULT_TIMEOUT_MS : Number(integration.timeout_milliseconds),
    responses: parsedResponses,
  };
}

/** Full paths of the API's resources, by the reference a method uses for its `resource_id`. */
function resourcePaths(apiRef: string, resources: [string, TerraformResource][], reader: ConfigReader): Map<string, string> {
  const paths = new Map<string, string>([[`\${${apiRef}.root_resource_id}`, '/']]);
  const byRef = new Map(resources.map(([id, resource]) => [`\${aws_api_gateway_resource.${id}.id}`, [id, resource] as const]));
  const pathOf = (ref: string, seen: string[]): string => {
    const known = paths.get(ref);
    if (known !== undefined) return known;
    const entry = byRef.get(ref);
    if (!entry) throw new RestConfigError(`parent ${JSON.stringify(ref)} is neither ${apiRef}'s root nor one of its resources`);
    if (seen.includes(ref)) throw new RestConfigError(`aws_api_gateway_resource parents form a cycle: ${[...seen, ref].join(' -> ')}`);
    const [id, resource] = entry;
    const parent = pathOf(String(resource.parent_id), [...seen, ref]);
    const part = reader.text(resource.path_part, `aws_api_gateway_resource.${id}.path_part`);
    const full = parent === '/' ? `/${part}` : `${parent}/${part}`;
    paths.set(ref, full);
    return full;
  };
  for (const ref of byRef.keys()) pathOf(ref, []);
  return paths;
}

function parseSchema(text: string, where: string): Record<string, unknown> {
  try {
    const schema: unknown = JSON.parse(text);
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new Error('not a JSON object');
    return schema as Record<string, unknown>;
  } catch (error) {
    throw new RestConfigError(`${where}.schema is not a JSON schema object: ${(error as Error).message}`, { cause: error });
  }
}

function statusCode(text: string, where: string): number {
  if (!/^[1-5]\d\d$/.test(text)) throw new RestConfigError(`${where}: status_code must be an HTTP status (got '${text}')`);
  return Number(text);
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

class ConfigReader {
  constructor(
    private readonly config: CdkTfJson,
    private readonly resolve: (expression: string) => string,
  ) {}

  resources(type: string): Readonly<Record<string, TerraformResource>> {
    return this.config.resource[type] ?? {};
  }

  /**
   * A string value: a whole-value reference to another resource's literal attribute is followed
   * (`${aws_api_gateway_method.x.http_method}`); interpolations left go to `resolve`.
   */
  text(value: unknown, where: string): string {
    const followed = this.follow(value, where, []);
    if (typeof followed === 'number' || typeof followed === 'boolean') return String(followed);
    if (typeof followed !== 'string') throw new RestConfigError(`${where}: expected a string, got ${JSON.stringify(followed)}`);
    return interpolate(followed, this.resolve, where);
  }

  /**
   * A map of strings; with `verbatim`, values are templates: only interpolated, never followed as
   * references (a template that is one reference is still the caller's to resolve).
   */
  textRecord(value: unknown, where: string, verbatim = false): Record<string, string> {
    return Object.fromEntries(
      Object.entries(record(value)).map(([key, v]) => [key, verbatim && typeof v === 'string' ? interpolate(v, this.resolve, `${where}.${key}`) : this.text(v, `${where}.${key}`)]),
    );
  }

  private follow(value: unknown, where: string, seen: string[]): unknown {
    if (typeof value !== 'string') return value;
    const ref = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}$/.exec(value);
    if (!ref) return value;
    const [, type, id, attribute] = ref;
    const target = this.resources(type)[id]?.[attribute];
    if (target === undefined || seen.includes(value)) return value;
    return this.follow(target, where, [...seen, value]);
  }
}

/**
 * Terraform string interpolation: each `${expr}` is replaced by `resolve('${expr}')`; `$${` and `%%{`
 * give a literal `${` and `%{`. Template directives (`%{if}`, `%{for}`) and strip markers (`~`)
 * are refused: the local API would serve something else than Terraform deploys.
 */
function interpolate(value: string, resolve: (expression: string) => string, where: string): string {
  let out = '';
  let i = 0;
  while (i < value.length) {
    if (value.startsWith('$${', i) || value.startsWith('%%{', i)) {
      out += value[i] + '{';
      i += 3;
    } else if (value.startsWith('%{', i)) {
      throw new RestConfigError(`${where}: Terraform template directives (%{...}) are not supported`);
    } else if (value.startsWith('${', i)) {
      const end = interpolationEnd(value, i + 2, where);
      const interpolation = value.slice(i, end + 1);
      if (/^\$\{~|~\}$/.test(interpolation)) throw new RestConfigError(`${where}: Terraform strip markers (\${~ ... ~}) are not supported`);
      let resolved: string;
      try {
        resolved = resolve(interpolation);
      } catch (error) {
        throw new RestConfigError(`${where}: cannot resolve ${interpolation}: ${(error as Error).message}`, { cause: error });
      }
      if (resolved === interpolation) throw new RestConfigError(`${where}: ${interpolation} was left unresolved`);
      out += resolved;
      i = end + 1;
    } else {
      out += value[i++];
    }
  }
  return out;
}

/** Index of the `}` closing an interpolation whose expression starts at `start`. */
function interpolationEnd(value: string, start: number, where: string): number {
  let depth = 0;
  let quoted = false;
  for (let i = start; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0) return i;
      depth--;
    }
  }
  throw new RestConfigError(`${where}: unterminated Terraform interpolation at ${JSON.stringify(value.slice(start - 2, start + 40))}`);
}
