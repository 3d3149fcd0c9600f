import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The page is served by fun-notes-server from the same origin, so /api and /ws are relative.
// `npm run dev` proxies them to a server on :8080.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', sourcemap: true },
  server: {
    proxy: {
      '/api': 'http://localhost:8080',
      '/ws': { target: 'ws://localhost:8080', ws: true },
    },
  },
  test: {
    include: ['src/**/*.test.{ts,tsx}'],
    environment: 'node',
  },
});
