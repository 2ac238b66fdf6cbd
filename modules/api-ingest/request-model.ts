/**
 * The JSON schema (draft 4, the dialect API Gateway models use) of a run request body. API
 * Gateway's request validator enforces it before anything reaches DynamoDB; the patterns and
 * bounds are the contract's (contract/run-request.ts).
 */
import { CLIENT_ID_PATTERN, PARAMETER_NAME_PATTERN, PARAMETER_VALUE_PATTERN, PRINTABLE_TEXT_PATTERN, PROCESSNAME_PATTERN, RUN_REQUEST_LIMITS } from '../../contract';

export const RUN_REQUEST_BODY_SCHEMA = {
  $schema: 'http://json-schema.org/draft-04/schema#',
  title: 'RunRequest',
  type: 'object',
  additionalProperties: false,
  required: ['processname', 'clientname'],
  properties: {
    processname: {
      type: 'string',
      description: 'Selects the job route.',
      minLength: 1,
      maxLength: RUN_REQUEST_LIMITS.processname,
      pattern: PROCESSNAME_PATTERN,
    },
    clientname: {
      type: 'string',
      description: 'Name of the calling system.',
      minLength: 1,
      maxLength: RUN_REQUEST_LIMITS.clientname,
      pattern: PRINTABLE_TEXT_PATTERN,
    },
    timestamp: {
      type: 'string',
      description: "The caller's own timestamp, in its own format; kept as given.",
      minLength: 1,
      maxLength: RUN_REQUEST_LIMITS.timestamp,
      pattern: PRINTABLE_TEXT_PATTERN,
    },
    parameters: {
      type: 'object',
      description: 'Job parameters: a flat map of strings.',
      maxProperties: RUN_REQUEST_LIMITS.parameters,
      additionalProperties: false,
      patternProperties: {
        [PARAMETER_NAME_PATTERN]: { type: 'string', maxLength: RUN_REQUEST_LIMITS.parameterValue, pattern: PARAMETER_VALUE_PATTERN },
      },
    },
    clientId: {
      type: 'string',
      description: 'Client id for notifications.',
      minLength: 1,
      maxLength: RUN_REQUEST_LIMITS.clientId,
      pattern: CLIENT_ID_PATTERN,
    },
  },
} as const;
