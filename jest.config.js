/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // the container tests need a container engine and minutes of image builds: `npm run test:container`
  testPathIgnorePatterns: process.env.AUTONOUS_CONTAINER_TESTS
    ? ['/node_modules/']
    : ['/node_modules/', '/test/container/'],
  testTimeout: 30000,
  // e2e tests share the machine's two cores with PM2 and its processes
  maxWorkers: 2,
  // kills any PM2 daemon a test left behind, also when it failed before its afterAll
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
};
