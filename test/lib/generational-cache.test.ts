import t from 'tap'
import { GenerationalCache } from '../../src/lib/generational-cache.js'

t.test('a bounded map: entries in use survive, the least recently used go first', async t => {
  const cache = new GenerationalCache<string, number>(2)
  cache.set('a', 1)
  cache.set('b', 2)
  t.equal(cache.get('a'), 1)
  cache.set('c', 3) // young {a, b} becomes old; young {c}
  t.equal(cache.size, 3)
  t.equal(cache.get('a'), 1, 'read from the old generation, moved back to the young one')
  cache.set('d', 4) // young {c, a} full: becomes old, b is dropped
  t.equal(cache.get('b'), undefined, 'the entry not used since is gone')
  t.equal(cache.get('c'), 3)
  t.equal(cache.get('a'), 1)
  t.equal(cache.get('d'), 4)
  t.ok(cache.size <= 4, 'never more than two generations')
})

t.test('set replaces, delete removes from either generation, clear empties', async t => {
  const cache = new GenerationalCache<string, string>(2)
  cache.set('k', 'one')
  cache.set('k', 'two')
  t.equal(cache.get('k'), 'two')
  t.equal(cache.size, 1)
  cache.set('x', 'x')
  cache.set('y', 'y') // k and x now old
  cache.set('k', 'three') // replaces the old entry: one k only
  t.equal(cache.get('k'), 'three')
  t.equal(cache.size, 3)
  t.equal(cache.delete('x'), true)
  t.equal(cache.delete('x'), false)
  t.equal(cache.get('x'), undefined)
  cache.clear()
  t.equal(cache.size, 0)
  t.equal(cache.get('k'), undefined)
})

t.test('holds at most twice its generation size, whatever the traffic', async t => {
  const cache = new GenerationalCache<number, number>(100)
  for (let i = 0; i < 10_000; i++) {
    cache.set(i, i)
    if (i % 3 === 0) cache.get(i >> 1)
    if (cache.size > 200) t.fail(`size ${cache.size} after ${i}`)
  }
  t.ok(cache.size > 100, `kept ${cache.size}`)
  t.throws(() => new GenerationalCache(0), RangeError)
})
