import { commandsReachableFrom } from './sdk-commands';

const summary = (handler: string) => commandsReachableFrom(handler).map((c) => `${c.command} ${c.file}`);

describe('commandsReachableFrom', () => {
  it('finds the commands of module-level code and of every function named by reachable code, not of the others', () => {
    const found = commandsReachableFrom('__tests__/fixtures/iam/handler/handler.ts');

    expect(found.map((c) => [c.command, c.file, c.line])).toEqual([
      ['GetItemCommand', '__tests__/fixtures/iam/handler/handler.ts', 9],
      ['PutItemCommand', '__tests__/fixtures/iam/handler/handler.ts', 11],
      ['QueryCommand', '__tests__/fixtures/iam/handler/helpers.ts', 10],
    ]);
  });

  it('reads constant inputs through imports and re-exports: strings, and the keys of object literals (computed ones too)', () => {
    const found = commandsReachableFrom('__tests__/fixtures/iam/handler/handler.ts');

    expect(found.find((c) => c.command === 'PutItemCommand')!.input).toEqual({ TableName: 't', Item: [], IndexName: 'byClient' });
    expect(found.find((c) => c.command === 'QueryCommand')!.input).toEqual({ TableName: 't', tags: ['plain', 'fixture:tag'] });
  });

  it('follows a handler into lambdas/shared only as far as the functions it uses: record-status updates the item, never reads it', () => {
    expect(new Set(summary('lambdas/record-status/handler.ts'))).toEqual(new Set(['UpdateItemCommand lambdas/shared/run-requests-table.ts']));
    expect(summary('lambdas/poll-job/handler.ts')).toEqual([
      'DescribeJobsCommand lambdas/poll-job/core.ts',
      'TerminateJobCommand lambdas/poll-job/core.ts',
      'UpdateItemCommand lambdas/shared/run-requests-table.ts',
      'GetItemCommand lambdas/shared/run-requests-table.ts',
    ]);
    expect(summary('lambdas/submit-job/handler.ts')).toContain('GetItemCommand lambdas/shared/run-requests-table.ts');
  });

  it('resolves the contract constants the handlers use as inputs', () => {
    const notify = commandsReachableFrom('lambdas/notify/handler.ts');
    const submit = commandsReachableFrom('lambdas/submit-job/handler.ts');

    expect(notify.find((c) => c.command === 'QueryCommand')!.input.IndexName).toBe('byClientId');
    expect(submit.find((c) => c.command === 'SubmitJobCommand')!.input.tags).toEqual(['runRequestID', 'route', 'batch-gateway:job-queue']);
  });
});
