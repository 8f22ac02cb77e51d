// Writes realtime/web/dist/build-info.json: a sha256 over the sources the page is
// built from, so a test (tests/frontend/test_page_build_fresh.py) can tell a shipped
// build from one older than its sources. Keep SOURCE_INPUTS and the hashing in step
// with that test.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const shimDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const distDir = join(shimDir, '..', 'realtime', 'web', 'dist')

/** Files and folders (relative to frontend_shim/) whose content decides the build. */
export const SOURCE_INPUTS = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'vite.page.config.ts',
  'src',
  'page',
]

function walk(path, out) {
  const st = statSync(path)
  if (st.isDirectory()) {
    for (const name of readdirSync(path)) walk(join(path, name), out)
  } else if (st.isFile()) {
    out.push(relative(shimDir, path).split(sep).join('/'))
  }
  return out
}

/**
 * sha256 over, for each file in sorted path order: the path (UTF-8), a NUL byte, the
 * content length in decimal, a NUL byte, then the content.
 */
export function sourceHash() {
  const files = SOURCE_INPUTS.flatMap((p) => walk(join(shimDir, p), [])).sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0,
  )
  const total = createHash('sha256')
  const perFile = {}
  for (const rel of files) {
    const data = readFileSync(join(shimDir, rel))
    total.update(Buffer.from(rel, 'utf8'))
    total.update(Buffer.from([0]))
    total.update(Buffer.from(String(data.length), 'utf8'))
    total.update(Buffer.from([0]))
    total.update(data)
    perFile[rel] = createHash('sha256').update(data).digest('hex')
  }
  return { hash: total.digest('hex'), files: perFile }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { hash, files } = sourceHash()
  const info = {
    algorithm: 'sha256',
    source_hash: hash,
    inputs: SOURCE_INPUTS,
    files,
    rebuild: 'npm --prefix frontend_shim run build:page',
  }
  writeFileSync(join(distDir, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`)
  console.log(`build-info.json: ${Object.keys(files).length} source files, sha256 ${hash}`)
}
