// Test environment defaults (shared by all tests).
process.env.AWS_REGION ??= 'us-east-1';

// aws-local-stepfunctions 3 calls Promise.withResolvers (Node 22); this machine runs Node 20.
if (typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

// Handlers publish embedded-format metrics to stdout; tests have no use for them.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
