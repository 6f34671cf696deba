import { defineConfig } from 'vitest/config';

// Timeouts only catch hangs (tests wait for events, not for time: see test/helpers.ts HANG_MS); a
// test may take many times longer on a busy machine than on an idle one (npm run test:busy).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
  },
});
