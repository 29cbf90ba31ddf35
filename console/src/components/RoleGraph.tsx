/**
 * Roles and their inheritance, laid out by dagre (a layered graph layout): an arrow runs from a
 * role to the role it inherits from, so inherited-from roles sit above their heirs.
 */
import { useMemo } from 'react'
import dagre from '@dagrejs/dagre'
import { navigate } from '../router'

export interface GraphRole { name: string, inherits: string[] }

const NODE_H = 34
const widthOf = (name: string) => Math.max(80, name.length * 8 + 28)

export function RoleGraph ({ roles, highlight, label }: { roles: GraphRole[], highlight?: string, label: string }) {
  const layout = useMemo(() => {
    const g = new dagre.graphlib.Graph()
    g.setGraph({ rankdir: 'BT', nodesep: 24, ranksep: 48, marginx: 8, marginy: 8 })
    g.setDefaultEdgeLabel(() => ({}))
    const known = new Set(roles.map(r => r.name))
    for (const r of roles) g.setNode(r.name, { width: widthOf(r.name), height: NODE_H })
    for (const r of roles) {
      for (const p of r.inherits) {
        if (!known.has(p)) g.setNode(p, { width: widthOf(p), height: NODE_H })
        g.setEdge(r.name, p)
      }
    }
    dagre.layout(g)
    const graph = g.graph()
    return {
      width: Math.max(1, graph.width ?? 1),
      height: Math.max(1, graph.height ?? 1),
      nodes: g.nodes().map(n => ({ name: n, ...g.node(n) })),
      edges: g.edges().map(e => ({ from: e.v, to: e.w, points: (g.edge(e).points ?? []) as Array<{ x: number, y: number }> }))
    }
  }, [JSON.stringify(roles)])
  if (layout.nodes.length === 0) return <p className='muted'>No roles to draw.</p>
  return (
    <figure className='graph'>
      <svg viewBox={`0 0 ${layout.width} ${layout.height}`} width={layout.width} height={layout.height} role='img' aria-label={label}>
        <title>{label}</title>
        <defs>
          <marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' orient='auto-start-reverse'>
            <path d='M 0 0 L 10 5 L 0 10 z' className='graph-arrow' />
          </marker>
        </defs>
        {layout.edges.map(e => (
          <polyline key={e.from + '>' + e.to} className='graph-edge' markerEnd='url(#arrow)' points={e.points.map(p => `${p.x},${p.y}`).join(' ')}>
            <title>{`${e.from} inherits ${e.to}`}</title>
          </polyline>
        ))}
        {layout.nodes.map(n => (
          <g
            key={n.name} transform={`translate(${n.x - n.width / 2},${n.y - n.height / 2})`} className={'graph-node' + (n.name === highlight ? ' current' : '')}
            onClick={() => navigate(`/console/roles/${encodeURIComponent(n.name)}`)}
          >
            <rect width={n.width} height={n.height} rx='6' />
            <text x={n.width / 2} y={n.height / 2 + 5} textAnchor='middle'>{n.name}</text>
          </g>
        ))}
      </svg>
      <figcaption>Arrows point from a role to the role it inherits from. Select a role below to open it.</figcaption>
    </figure>
  )
}
