import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { baseUrl, logLine, publish, uniqueId } from '../support/gateway'

const base = baseUrl()
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const artifacts =
  process.env.REALTIME_ARTIFACTS_DIR ?? join(process.cwd(), '..', 'tests', 'artifacts')

let context: BrowserContext
let profile: string
const pageErrors: string[] = []
/** Console errors and warnings of the open pages, reported when a test fails. */
const consoleLines: string[] = []

beforeAll(async () => {
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}: install it (apt-get install -y chromium) ` +
        'or point CHROMIUM_PATH at a Chromium binary',
    )
  }
  profile = mkdtempSync(join(tmpdir(), 'realtime-chromium-'))
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
})

afterAll(async () => {
  await context?.close()
  if (profile) rmSync(profile, { recursive: true, force: true })
})

async function openPage(query: string): Promise<Page> {
  const page = await context.newPage()
  page.on('pageerror', (err) => pageErrors.push(String(err)))
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning')
      consoleLines.push(`${m.type()}: ${m.text()}`)
  })
  await page.goto(`${base}/${query}`)
  await page.locator('#connection-state[data-state="connected"]').waitFor({ timeout: 15_000 })
  return page
}

/** Runs a page test; on failure saves a screenshot and adds the console to the error. */
async function withDiagnostics(
  name: string,
  body: (pages: Page[]) => Promise<void>,
): Promise<void> {
  const pages: Page[] = []
  try {
    await body(pages)
  } catch (error) {
    mkdirSync(artifacts, { recursive: true })
    for (const [i, page] of pages.entries()) {
      await page
        .screenshot({ path: join(artifacts, `failure-${name}-${i}.png`), fullPage: true })
        .catch(() => {})
    }
    const detail = consoleLines.slice(-30).join('\n')
    if (error instanceof Error) error.message += `\n--- browser console ---\n${detail}`
    throw error
  } finally {
    for (const page of pages) await page.close().catch(() => {})
  }
}

function status(id: string, value: string, steps: { id: string; name: string; status: string }[]) {
  return {
    channel: `execution:${id}`,
    type: 'execution_status',
    data: {
      execution_id: id,
      status: value,
      pipeline_name: 'browser-test pipeline',
      steps: steps.map((s, i) => ({
        step_id: s.id,
        step_name: s.name,
        status: s.status,
        order: i + 1,
      })),
      total_steps: steps.length,
      completed_steps: steps.filter((s) => ['success', 'failed', 'skipped'].includes(s.status))
        .length,
      current_step: steps.find((s) => s.status === 'running')?.name ?? null,
    },
  }
}

describe('the live page served by the gateway', () => {
  it('shows status, steps and a tailing log, recovers a drop, and is screenshotted', () =>
    withDiagnostics('live', async (pages) => {
      const id = uniqueId('page')
      const page = await openPage(`?execution=${id}`)
      pages.push(page)
      await expect(page.locator('#execution-id').textContent()).resolves.toBe(id)
      await page.locator('#execution-subscribed[data-subscribed="true"]').waitFor()

      const steps = [
        { id: 's1', name: 'checkout', status: 'success' },
        { id: 's2', name: 'test', status: 'running' },
        { id: 's3', name: 'deploy', status: 'pending' },
      ]
      await publish(base, [
        status(id, 'running', steps),
        {
          channel: `execution:${id}`,
          type: 'step_progress',
          data: {
            execution_id: id,
            step_id: 's1',
            step_name: 'checkout',
            status: 'success',
            execution_time: 1.2,
          },
        },
        logLine(id, 1, { step_name: 'checkout', message: 'Cloning repository' }),
        logLine(id, 2, { step_name: 'test', message: 'pytest -q' }),
        logLine(id, 3, {
          step_name: 'test',
          level: 'error',
          message: 'FAILED test_api.py::test_health',
        }),
      ])
      await page.locator('#execution-status[data-status="running"]').waitFor()
      await page.locator('.log-line').nth(2).waitFor()
      expect(await page.locator('.step').count()).toBe(3)
      expect(await page.locator('.step[data-step-id="s1"]').getAttribute('data-status')).toBe(
        'success',
      )
      expect(await page.locator('#execution-progress').textContent()).toBe('1/3')
      expect(await page.locator('.log-line .log-message').allTextContents()).toEqual([
        'Cloning repository',
        'pytest -q',
        'FAILED test_api.py::test_health',
      ])
      expect(await page.locator('.log-line').nth(2).getAttribute('data-level')).toBe('error')

      // A system notice and the monitor panel.
      const title = `Deploy window ${id}`
      await publish(base, {
        channel: 'system',
        type: 'system_notification',
        data: { level: 'warning', title, message: 'Deploys pause at 18:00 UTC.' },
      })
      await page.locator('.notice', { hasText: title }).waitFor()
      expect(await page.locator('.notice', { hasText: title }).count()).toBe(1)
      await page.locator('#monitor-status[data-status="healthy"]').waitFor()
      await page.waitForFunction(() =>
        /^\d+$/.test(document.querySelector('#active-connections')?.textContent?.trim() ?? ''),
      )
      await page.locator('.metric').first().waitFor({ timeout: 20_000 })

      // Drop the page's WebSocket, publish while it is away, and see each line once.
      await page.evaluate(() => {
        const rt = (
          window as unknown as {
            __realtime: { socketOf(ns: string): { io: { engine: { close(): void } } } }
          }
        ).__realtime
        rt.socketOf('execution').io.engine.close()
      })
      await page.locator('#connection-state:not([data-state="connected"])').waitFor()
      await publish(base, [
        logLine(id, 4, { step_name: 'test', message: 'retrying flaky test' }),
        logLine(id, 5, { step_name: 'test', level: 'success', message: '212 passed' }),
        status(id, 'success', [
          { id: 's1', name: 'checkout', status: 'success' },
          { id: 's2', name: 'test', status: 'success' },
          { id: 's3', name: 'deploy', status: 'success' },
        ]),
      ])
      await page.locator('#connection-state[data-state="connected"]').waitFor({ timeout: 15_000 })
      await page.locator('#execution-status[data-status="success"]').waitFor()
      await page.locator('.log-line').nth(4).waitFor()
      await page.waitForTimeout(300)
      const offsets = await page
        .locator('.log-line')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-offset')))
      expect(offsets).toEqual(['3', '4', '5', '6', '7'])
      expect(await page.locator('#execution-progress').textContent()).toBe('3/3')

      mkdirSync(artifacts, { recursive: true })
      await page.screenshot({ path: join(artifacts, 'page.png'), fullPage: true })
      expect(pageErrors).toEqual([])
    }))

  it('backfills the log of an execution opened mid-run and follows the id typed in', () =>
    withDiagnostics('midrun', async (pages) => {
      const id = uniqueId('midrun')
      await publish(base, [
        status(id, 'running', [{ id: 'a', name: 'build', status: 'running' }]),
        logLine(id, 1, { message: 'early line 1' }),
        logLine(id, 2, { message: 'early line 2' }),
      ])
      const page = await openPage('')
      pages.push(page)
      // The page follows execution 42 by default.
      await expect(page.locator('#execution-id').textContent()).resolves.toBe('42')
      await page.locator('#execution-id-input').fill(id)
      await page.locator('#execution-id-apply').click()
      await page.locator('#execution-status[data-status="running"]').waitFor()
      await page.locator('.log-line').nth(1).waitFor()
      expect(await page.locator('.log-line .log-message').allTextContents()).toEqual([
        'early line 1',
        'early line 2',
      ])
      expect(new URL(page.url()).searchParams.get('execution')).toBe(id)
      await publish(base, logLine(id, 3, { message: 'live line' }))
      await page.locator('.log-line').nth(2).waitFor()
      expect(await page.locator('.log-line .log-message').allTextContents()).toEqual([
        'early line 1',
        'early line 2',
        'live line',
      ])
      expect(pageErrors).toEqual([])
    }))
})
