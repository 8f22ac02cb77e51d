/**
 * Vite dev-server proxy for the gateway, so the app under `vite` talks to it on its own
 * origin (same cookies, no CORS):
 *
 *   import { realtimeProxy } from '@realtime/frontend-shim/vite'
 *   export default defineConfig({ server: { proxy: realtimeProxy() } })
 *
 * Kept free of runtime imports so a vite config can load it without the client.
 */

/** The subset of Vite's `ProxyOptions` used here (structurally compatible). */
export interface RealtimeProxyEntry {
  target: string
  ws: boolean
  changeOrigin: boolean
}

/** `/socket.io` (Socket.IO) and `/ws` (plain WebSocket) to the gateway, upgrades included. */
export function realtimeProxy(
  target = 'http://localhost:8001',
): Record<string, RealtimeProxyEntry> {
  return {
    '/socket.io': { target, ws: true, changeOrigin: true },
    '/ws': { target, ws: true, changeOrigin: true },
  }
}
