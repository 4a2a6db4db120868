// Vite builds the web UI into the Python package, so the Manager (and its
// zipapp) serves it at /app/. `npm run dev` serves it on :8081 and forwards
// the API, Socket.IO and job files to a running Manager (FLAMENCO_MANAGER,
// default http://localhost:8080).
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

const manager = process.env.FLAMENCO_MANAGER || 'http://localhost:8080'
const outDir = fileURLToPath(new URL('../flamenco_pkg/webapp_dist', import.meta.url))

export default defineConfig({
  base: '/app/',
  plugins: [vue()],
  build: {
    outDir,
    emptyOutDir: true,
    chunkSizeWarningLimit: 1000,
  },
  server: {
    port: 8081,
    proxy: {
      '/api': manager,
      '/job-files': manager,
      '/flamenco-addon.zip': manager,
      '/socket.io': { target: manager, ws: true },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['tests/**/*.test.js'],
  },
})
