/**
 * The JSON schema (draft 4, the dialect API Gateway models use) of a run request body. API
 * Gateway's request validator enforces it before anything reaches DynamoDB; the bounds keep
 * items small and the characters keep names printable.
 */
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
      maxLength: 128,
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
    },
    clientname: {
      type: 'string',
      description: 'Name of the calling system.',
      minLength: 1,
      maxLength: 256,
      pattern: '^[^\\u0000-\\u001f\\u007f]+$',
    },
    timestamp: {
      type: 'string',
      description: "The caller's own timestamp, in its own format; kept as given.",
      minLength: 1,
      maxLength: 64,
      pattern: '^[^\\u0000-\\u001f\\u007f]+$',
    },
    parameters: {
      type: 'object',
      description: 'Job parameters: a flat map of strings.',
      maxProperties: 32,
      additionalProperties: false,
      patternProperties: {
        '^[A-Za-z0-9_]{1,64}$': { type: 'string', maxLength: 4096 },
      },
    },
    clientId: {
      type: 'string',
      description: 'Client id for notifications.',
      minLength: 1,
      maxLength: 128,
      pattern: '^[A-Za-z0-9_.:-]+$',
    },
  },
} as const;
