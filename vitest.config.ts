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
  },
});
