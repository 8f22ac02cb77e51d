import { fileURLToPath, URL } from 'node:url'

import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

import { realtimeProxy } from './src/vite'

const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url))

// The live page: built into realtime/web/dist, which the gateway serves at `/`.
// `npm run dev:page` serves it with the gateway proxied from :8001.
export default defineConfig({
  root: fileURLToPath(new URL('./page', import.meta.url)),
  // Relative asset URLs: the page works at `/` and behind a path prefix alike.
  base: './',
  plugins: [vue()],
  resolve: {
    alias: [
      { find: /^@realtime\/frontend-shim\/vue$/, replacement: src('vue/index.ts') },
      { find: /^@realtime\/frontend-shim\/legacy$/, replacement: src('legacy/websocket.ts') },
      { find: /^@realtime\/frontend-shim\/vite$/, replacement: src('vite.ts') },
      { find: /^@realtime\/frontend-shim$/, replacement: src('index.ts') },
    ],
  },
  define: {
    __VUE_OPTIONS_API__: 'false',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
  },
  build: {
    outDir: fileURLToPath(new URL('../realtime/web/dist', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: false,
    target: 'es2020',
  },
  server: {
    proxy: realtimeProxy(),
  },
})
