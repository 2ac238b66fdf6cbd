/**
 * The run request body model, checked with ajv. API Gateway validates with draft 4; every keyword
 * the model uses means the same in ajv's default draft, so only `$schema` is dropped.
 */
import Ajv from 'ajv';
import { RUN_REQUEST_BODY_SCHEMA } from '../../modules/api-ingest';

const { $schema, ...schema } = RUN_REQUEST_BODY_SCHEMA;
const validate = new Ajv({ allErrors: true }).compile(schema);

describe('run request body model', () => {
  it('is declared as draft 4, the dialect API Gateway models use', () => {
    expect($schema).toBe('http://json-schema.org/draft-04/schema#');
  });

  it.each([
    [{ processname: 'sample', clientname: 'erp' }],
    [{ processname: 'etl.v2-nightly_1', clientname: "O'Brien & Co \"quoted\" {braces}", timestamp: '2026-11-23 02:00:00', clientId: 'client:01', parameters: { a: '', B_2: 'x'.repeat(400) } }],
    [{ processname: 'p', clientname: 'c', parameters: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, 'v'])) }],
    [{ processname: 'p', clientname: 'c', parameters: { name: 'Zoë 😀 "quoted" \\ {braces}' } }],
  ])('accepts %j', (body) => {
    expect(validate(body)).toBe(true);
  });

  it.each([
    ['a missing processname', { clientname: 'c' }, 'processname'],
    ['a missing clientname', { processname: 'p' }, 'clientname'],
    ['an unknown field', { processname: 'p', clientname: 'c', priority: 1 }, 'additional'],
    ['an empty processname', { processname: '', clientname: 'c' }, 'processname'],
    ['a processname starting with a dot', { processname: '.hidden', clientname: 'c' }, 'processname'],
    ['a processname with a space', { processname: 'two words', clientname: 'c' }, 'processname'],
    ['a processname over 128 characters', { processname: 'p'.repeat(129), clientname: 'c' }, 'processname'],
    ['a control character in clientname', { processname: 'p', clientname: 'line\nbreak' }, 'clientname'],
    ['a clientname over 256 characters', { processname: 'p', clientname: 'c'.repeat(257) }, 'clientname'],
    ['a numeric timestamp', { processname: 'p', clientname: 'c', timestamp: 1732345621 }, 'timestamp'],
    ['a nested parameter', { processname: 'p', clientname: 'c', parameters: { a: { b: 'c' } } }, 'parameters'],
    ['a numeric parameter', { processname: 'p', clientname: 'c', parameters: { a: 1 } }, 'parameters'],
    ['a parameter name with a dash', { processname: 'p', clientname: 'c', parameters: { 'a-b': 'x' } }, 'parameters'],
    ['17 parameters', { processname: 'p', clientname: 'c', parameters: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }, 'parameters'],
    ['a parameter value over 400 characters', { processname: 'p', clientname: 'c', parameters: { a: 'x'.repeat(401) } }, 'parameters'],
    ['a control character in a parameter value', { processname: 'p', clientname: 'c', parameters: { a: 'tab\there' } }, 'parameters'],
    ['a clientId with a slash', { processname: 'p', clientname: 'c', clientId: 'a/b' }, 'clientId'],
    ['an array body', [{ processname: 'p', clientname: 'c' }], 'type'],
  ])('rejects %s', (_, body, mentioned) => {
    expect(validate(body)).toBe(false);
    expect(JSON.stringify(validate.errors)).toContain(mentioned);
  });
});
