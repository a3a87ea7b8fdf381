/** Tests run from TypeScript sources; type errors are caught by `npm run build`, so ts-jest only transpiles. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/examples'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  // Examples import the package by name, as an out-of-tree driver would.
  moduleNameMapper: { '^tsvirt$': '<rootDir>/src/index.ts' },
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
};
