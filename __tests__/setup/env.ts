// Test environment defaults (shared by all tests).
process.env.AWS_REGION ??= 'us-east-1';

// Handlers publish embedded-format metrics to stdout; tests have no use for them.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
