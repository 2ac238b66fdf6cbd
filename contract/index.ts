/**
 * The contract between the infrastructure (`modules/`) and the handlers (`lambdas/`): everything
 * that crosses the boundary, as zod schemas and constants. No AWS SDK and no cdktf here, so both
 * sides, the local emulators and the tests can import it.
 */
export * from './errors';
export * from './functions';
export * from './metrics';
export * from './notification';
export * from './orchestration';
export * from './route';
export * from './run-request';
