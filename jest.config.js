/** Type-checking happens once in `npm run typecheck` (tsc --noEmit); jest only transpiles. */
const { availableParallelism } = require('node:os');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  // The apply tier (minutes, moto_server) runs only by `npm run test:apply` (jest.apply.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/__tests__/apply/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  setupFiles: ['<rootDir>/__tests__/setup/env.ts'],
  globalSetup: '<rootDir>/__tests__/setup/global.js',
  testSequencer: '<rootDir>/__tests__/setup/sequencer.js',
  // jest's default (one worker less than the cores) is a single in-band worker on 2 cores. Most of
  // the slow files wait on processes of their own (terraform, local mode, jobs' deadlines), so two
  // workers overlap that waiting; the rest is CPU-bound and gains nothing from more.
  maxWorkers: Math.max(2, availableParallelism() - 1),
  testTimeout: 120000,
};
