import { defineConfig } from 'vitest/config'

// Unit tests: no network; sockets are faked (test/unit/fake-socket.ts).
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 10_000,
  },
})
