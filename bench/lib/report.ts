import type { LoadResult } from './load.js'

/** One line of the results: a measured load (HTTP scenarios) and/or scenario-specific figures. */
export interface ScenarioResult {
  id: string
  title: string
  load?: LoadResult
  /** throughput relative to scenario A of the same backend, same run (or to `ceiling`) */
  ratioToA?: number
  /** the scenario the ratios are to, when it is not A (R's ceilings) */
  ceiling?: string
  /** A's server CPU per request over this scenario's: the throughput ratio a CPU-bound server would show */
  cpuRatioToA?: number
  /** when measured interleaved with A: the ratio of each round (ratioToA is their median) */
  roundRatios?: number[]
  /** what the issue asks of this figure, e.g. '>= 0.85 A' */
  target?: string
  met?: boolean
  /** scenario-specific numbers (decisions/s, seed time, propagation percentiles, ...) */
  figures?: Record<string, number | string | boolean | null>
  pending?: string
  notes?: string[]
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? '' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

/** The lower and upper quartile of the per-round ratios, e.g. `0.88-0.95 (n=10)`. */
function quartiles (ratios: number[] | undefined): string {
  if (ratios === undefined || ratios.length === 0) return ''
  const s = [...ratios].sort((a, b) => a - b)
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]
  return `${fmt(at(0.25), 2)}-${fmt(at(0.75), 2)} (n=${s.length})`
}

/** A Markdown table of the HTTP scenarios. */
export function loadTable (results: ScenarioResult[]): string {
  const rows = results.filter(r => r.load !== undefined || r.pending !== undefined)
  const lines = [
    '| scenario | req/s | p50 ms | p99 ms | errors | non-2xx | SQL/req | server CPU | CPU µs/req | ratio to A (or ceiling) | rounds\' ratios (quartiles) | CPU ratio | target |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|'
  ]
  for (const r of rows) {
    if (r.load === undefined) {
      lines.push(`| ${r.id} ${r.title} | pending: ${r.pending} | | | | | | | | | | | ${r.target ?? ''} |`)
      continue
    }
    const l = r.load
    const target = r.target === undefined ? '' : `${r.target} ${r.met === undefined ? '' : r.met ? '(met)' : '(**not met**)'}`
    lines.push(`| ${r.id} ${r.title} | ${fmt(l.rps)} | ${fmt(l.p50, 2)} | ${fmt(l.p99, 2)} | ${l.errors + l.timeouts} | ${l.non2xx} | ${fmt(l.queriesPerRequest, 2)} | ${fmt(l.serverCpu, 2)} | ${fmt(l.cpuMicrosPerRequest, 1)} | ${r.ratioToA === undefined ? '' : fmt(r.ratioToA, 2) + (r.ceiling === undefined ? '' : ` (of ${r.ceiling})`)} | ${quartiles(r.roundRatios)} | ${r.cpuRatioToA === undefined ? '' : fmt(r.cpuRatioToA, 2)} | ${target} |`)
  }
  return lines.join('\n')
}

/** The other figures, one line per scenario. */
export function figureList (results: ScenarioResult[]): string {
  const lines: string[] = []
  for (const r of results) {
    if (r.figures === undefined && r.notes === undefined) continue
    const figures = Object.entries(r.figures ?? {}).map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v, Number.isInteger(v) ? 0 : 2) : String(v)}`)
    const target = r.target === undefined ? '' : ` — target ${r.target}${r.met === undefined ? '' : r.met ? ' (met)' : ' (**not met**)'}`
    lines.push(`- **${r.id}** ${r.title}: ${figures.join('; ')}${target}`)
    for (const note of r.notes ?? []) lines.push(`  - ${note}`)
  }
  return lines.join('\n')
}
