/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The query service serves dist/ at `/` and the API under `/api/v1` on the
// same origin. Relative asset URLs keep the build working under any prefix.
export default defineConfig({
  base: './',
  plugins: [vue()],
  server: {
    port: 5199,
    strictPort: true,
    // For `npm run dev`: forward API and board calls to a query service running locally.
    proxy: {
      '/api': { target: 'http://127.0.0.1:8000', changeOrigin: true },
      '/board': { target: 'http://127.0.0.1:8000', changeOrigin: true },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
    restoreMocks: true,
    unstubGlobals: true,
  },
})
