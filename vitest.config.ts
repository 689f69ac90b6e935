import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

/** Component tests of the dashboard (src-renderer), in jsdom. */
export default defineConfig({
  plugins: [react()],
  test: {
    environment: 'jsdom',
    include: ['src-renderer/**/*.test.{ts,tsx}'],
    setupFiles: ['src-renderer/test/setup.ts'],
    restoreMocks: true,
    // Interaction tests type and click through whole forms: on a 2-core machine with the other core busy
    // one can take several seconds. What they assert is counted (calls, text), never time.
    testTimeout: 30_000,
  },
});
