// Test environment defaults (shared by all tests).
process.env.AWS_REGION ??= 'us-east-1';
