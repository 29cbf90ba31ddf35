import t from 'tap'
import { getPriority } from 'node:os'
import { lowerThreadpoolPriority } from '../src/lib/threadpool-priority.js'

t.test('lowers the threadpool threads, not the main thread', { skip: process.platform !== 'linux' && 'Linux only' }, async t => {
  const mainBefore = getPriority(process.pid)
  const reniced = await lowerThreadpoolPriority(7, 4)
  t.ok(reniced.length >= 1 && reniced.length <= 4, `found the pool's threads (${reniced.length})`)
  t.notOk(reniced.includes(process.pid), 'the main thread keeps its priority')
  for (const tid of reniced) t.equal(getPriority(tid), 7, `thread ${tid} runs at nice 7`)
  t.equal(getPriority(process.pid), mainBefore)
  t.same(await lowerThreadpoolPriority(0), [], '0 leaves them alone')
})
