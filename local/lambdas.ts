/**
 * The real Lambda bundles (dist/bundles/<name>/index.js, the code the deployment zips), loaded
 * into this process and invoked with a Lambda-like context. Each is loaded on its first call,
 * after the environment points the AWS SDK at the local services.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { LambdaHandler } from './types';

export function bundleInvoker(root: string): (bundle: string, functionName: string, timeoutSeconds: number) => LambdaHandler {
  const loaded = new Map<string, LambdaHandler>();
  return (bundle, functionName, timeoutSeconds) => async (event) => {
    let handler = loaded.get(bundle);
    if (!handler) {
      const file = path.join(root, 'dist', 'bundles', bundle, 'index.js');
      if (!existsSync(file)) throw new Error(`local mode: the bundle ${file} is missing: run 'npm run build'`);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      handler = (require(file) as { handler: LambdaHandler }).handler;
      loaded.set(bundle, handler);
    }
    const deadline = Date.now() + timeoutSeconds * 1000;
    const context = {
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
      memoryLimitInMB: '256',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    return handler(event, context);
  };
}
