/** Type-checking happens once in `npm run typecheck` (tsc --noEmit); jest only transpiles. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  setupFiles: ['<rootDir>/__tests__/setup/env.ts'],
  globalSetup: '<rootDir>/__tests__/setup/global.js',
  testTimeout: 120000,
};
