// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { createApp, defineComponent, h, nextTick } from 'vue'

import { RealtimeClient } from '../../src/client'
import { createRealtime, useExecution } from '../../src/vue'
import { FakeGateway, envelope } from './fake-socket'

describe('composables inside a component', () => {
  it('render live data and clean up on unmount', async () => {
    const gw = new FakeGateway()
    const client = new RealtimeClient({
      url: 'http://gateway.test',
      socketFactory: gw.factory,
      lingerMs: 0,
    })
    const View = defineComponent({
      setup() {
        const ex = useExecution('42', { backfillLogs: false })
        return () =>
          h('div', [
            h('span', { id: 'status' }, ex.status.value ?? '-'),
            ...ex.logs.value.map((l) => h('p', { class: 'log-line', key: l.key }, l.message)),
          ])
      },
    })
    const el = document.createElement('div')
    const app = createApp(View)
    app.use(createRealtime(client))
    app.mount(el)
    const sock = gw.socket('execution')
    sock.accept()
    sock.deliver(
      'execution_status',
      envelope('execution_status', 'execution:42', 1, { status: 'running' }),
    )
    sock.answer('subscribe', {
      ok: true,
      channel: 'execution:42',
      offset: 1,
      epoch: 'e1',
      recovered: null,
    })
    sock.deliver(
      'log_entry',
      envelope('log_entry', 'execution:42', 2, { level: 'info', message: 'hello' }),
    )
    await nextTick()
    expect(el.querySelector('#status')!.textContent).toBe('running')
    expect([...el.querySelectorAll('.log-line')].map((p) => p.textContent)).toEqual(['hello'])
    app.unmount()
    expect(sock.sent('unsubscribe')).toHaveLength(1)
    expect(client.state).toBe('disconnected')
    client.close()
  })
})
