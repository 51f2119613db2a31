// Two projects: fast unit tables for the pure core, and integration tests that package the app
// and run it in the real Apps-Engine runtime (host/). `npm test` runs both.
const tsJest = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json', }] };

module.exports = {
    testTimeout: 120000,
    // Staged copies of the app (packaging) and build output are not modules of this project.
    modulePathIgnorePatterns: ['<rootDir>/.stage/', '<rootDir>/dist/'],
    projects: [
        { displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'], transform: tsJest, testEnvironment: 'node' },
        {
            displayName: 'integration',
            testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
            transform: tsJest,
            testEnvironment: 'node',
            globalSetup: '<rootDir>/test/integration/globalSetup.js',
        },
    ],
};
