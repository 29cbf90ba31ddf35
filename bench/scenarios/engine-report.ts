import type { ScenarioResult } from '../lib/report.js'
import type { EngineResult } from './engine.js'

/** H's figures and targets: >= 5M decisions/s and >= 0.5 of the bare Map, same run. */
export function engineResults (h: EngineResult): ScenarioResult[] {
  const out: ScenarioResult[] = []
  for (const set of ['random pairs', 'allowed pairs']) {
    const route = h.rates[`Warden checkRequirement (route check), ${set}`]
    const figures: Record<string, number> = {}
    for (const [name, perSecond] of Object.entries(h.rates)) {
      if (name.endsWith(set)) figures[`${name.slice(0, -(set.length + 2))} /s`] = Math.round(perSecond)
    }
    // the median of interleaved rounds' ratios (see engine.ts), not the ratio of the totals
    const overBare = h.routeOverBare[set]
    figures['checkRequirement / bare'] = Number(overBare.toFixed(3))
    const casbin = h.rates[`node-casbin enforceSync, ${set}`]
    if (casbin !== undefined) figures['checkRequirement / casbin'] = Math.round(route / casbin)
    out.push({
      id: set === 'random pairs' ? 'H1' : 'H2',
      title: `engine in process, ${set}${set === 'random pairs' ? ` (${(h.allowedShare * 100).toFixed(0)}% allowed)` : ''}`,
      figures,
      target: '>= 5,000,000/s and >= 0.5 of the bare Map',
      met: route >= 5_000_000 && overBare >= 0.5
    })
  }
  out[0].notes = [
    `policy: ${Object.entries(h.policy).map(([k, v]) => `${v} ${k}`).join(', ')}; set-up ms: ${Object.entries(h.setupMs).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`
  ]
  return out
}
