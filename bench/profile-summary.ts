/**
 * Summarizes V8 CPU profiles (from `npm run bench -- --profile DIR`): self time per function,
 * and the inclusive time of the frames whose location matches a filter.
 *
 *   npx tsx bench/profile-summary.ts DIR/*.cpuprofile [--top 40] [--match src/]
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'

interface Node {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  hitCount?: number
  children?: number[]
}
interface Profile { nodes: Node[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' }, match: { type: 'string', default: '/work/' } }
})

const short = (url: string) => url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, '~/').replace(/^.*\/(src|bench)\//, '$1/')
const label = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`

for (const file of positionals) {
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

  // time per sample: the delta that follows it
  const self = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt)
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const idle = [...self.entries()].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0)

  const selfByLabel = new Map<string, number>()
  const inclusive = new Map<string, number>()
  for (const [id, t] of self) {
    const l = label(byId.get(id)!)
    selfByLabel.set(l, (selfByLabel.get(l) ?? 0) + t)
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!
      const cl = label(n)
      if (seen.has(cl) || !n.callFrame.url.includes(values.match)) continue
      seen.add(cl)
      inclusive.set(cl, (inclusive.get(cl) ?? 0) + t)
    }
  }
  const busy = total - idle
  const pct = (t: number) => `${(100 * t / busy).toFixed(1).padStart(5)}%`
  const top = Number(values.top)
  process.stdout.write(`\n${file}: ${(busy / 1e6).toFixed(2)} s busy, ${(idle / 1e6).toFixed(2)} s idle\n\nself time (of busy):\n`)
  for (const [l, t] of [...selfByLabel].filter(([l]) => !l.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(t)}  ${l}\n`)
  process.stdout.write(`\ninclusive time of frames matching ${values.match}:\n`)
  for (const [l, t] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(t)}  ${l}\n`)
}
