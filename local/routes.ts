/**
 * The routes the status page offers, read from the synthesized state machine: each route is a
 * Pass state whose Result is the route as contract/route.ts describes it.
 */
import * as z from 'zod/mini';
import { batchRouteSchema, lambdaRouteSchema } from '../contract';
import type { LocalJobDefinition } from './config';

/** A route as the page's form shows it. */
export interface PageRoute {
  readonly name: string;
  /** The parameters a request may set, with the values a run gets when the request sets none. */
  readonly parameters: Record<string, string>;
}

/**
 * A Lambda route's parameters are its function's own business, absent from the definition: those
 * of the built-in function, by its bundle (lambdas/generate-barcode/core.ts: `text`, required).
 */
const LAMBDA_PARAMETERS: Readonly<Record<string, Record<string, string>>> = {
  'generate-barcode': { text: 'HELLO-123' },
};

/**
 * The routes of the definition's states, in the order the definition lists them. A Batch route's
 * defaults are its job definition's parameters under the route's own: submit-job sends the
 * route's, and Batch fills in the definition's for those a job does not set.
 */
export function pageRoutesOf(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  states: Record<string, Record<string, any>>,
  jobDefinitions: Readonly<Record<string, LocalJobDefinition>>,
  bundleOf: (functionArn: string) => string | undefined,
): PageRoute[] {
  return Object.values(states).flatMap((state): PageRoute[] => {
    if (state.Type !== 'Pass' || state.ResultPath !== '$.route') return [];
    const batch = z.safeParse(batchRouteSchema, state.Result);
    if (batch.success) {
      const route = batch.data;
      return [{ name: route.name, parameters: { ...jobDefinitions[route.jobDefinition]?.parameters, ...route.parameters } }];
    }
    const lambda = z.safeParse(lambdaRouteSchema, state.Result);
    if (lambda.success) {
      const route = lambda.data;
      return [{ name: route.name, parameters: { ...LAMBDA_PARAMETERS[bundleOf(route.functionArn) ?? ''] } }];
    }
    return [];
  });
}
