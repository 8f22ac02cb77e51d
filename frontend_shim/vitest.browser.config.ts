import { defineConfig } from 'vitest/config'

// Headless Chromium (playwright-core, the system's /usr/bin/chromium) against the page
// a real gateway serves: REALTIME_BASE_URL.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
})
