import { createApp } from 'vue'

import { RealtimeClient } from '@realtime/frontend-shim'
import { createRealtime } from '@realtime/frontend-shim/vue'

import App from './App.vue'
import './style.css'

const params = new URLSearchParams(window.location.search)

function storedToken(): string | null {
  try {
    return window.localStorage.getItem('authToken')
  } catch {
    return null
  }
}

// The page is served by the gateway itself, so its origin is the gateway; `?gateway=`
// points it elsewhere (e.g. the Vite dev server proxying to :8001 needs nothing).
const client = new RealtimeClient({
  url: params.get('gateway') ?? undefined,
  token: params.get('token') ?? storedToken(),
  refreshToken: async () => params.get('token') ?? storedToken(),
})

// Handy in the console and for browser tests (e.g. dropping the transport).
;(window as unknown as { __realtime: RealtimeClient }).__realtime = client

createApp(App).use(createRealtime(client)).mount('#app')
