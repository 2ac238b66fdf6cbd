/**
 * `npm run test:apply`: the apply tier (the `dev` stack and a second environment applied against
 * moto_server, re-planned, destroyed). Minutes long, so apart from `npm test`'s config.
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  roots: ['<rootDir>/__tests__/apply'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 15 * 60 * 1000,
};
