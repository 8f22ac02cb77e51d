import { defineConfig } from 'vitest/config'

// Against a real gateway: REALTIME_BASE_URL (tests/frontend/ starts one and sets it).
export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    fileParallelism: false,
  },
})
