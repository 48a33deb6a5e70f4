// ESM all the way: @kubernetes/client-node is ESM-only, so jest runs with --experimental-vm-modules
// and ts-jest emits ES modules.
const tsJest = ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }];
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': tsJest },
  testEnvironment: 'node',
  // The proving ground's state (etcd data has `.snap` files jest would take for obsolete snapshots).
  modulePathIgnorePatterns: ['<rootDir>/.proving-ground/'],
};

export default {
  // Generous: tests never assert speed, and the integration tests wait on real servers.
  testTimeout: 240_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/unit/**/*.test.ts'],
      globalSetup: '<rootDir>/test/harness/unit-setup.mjs',
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/harness/integration-setup.mjs',
      globalTeardown: '<rootDir>/test/harness/integration-teardown.mjs',
    },
  ],
};
