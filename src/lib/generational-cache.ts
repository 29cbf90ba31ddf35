/**
 * A bounded map that does no bookkeeping on a read that hits: entries go into a young generation;
 * when it holds `generationSize` entries it becomes the old generation (the previous old one is
 * dropped) and a new young one starts. A read that finds an entry in the old generation moves it
 * back into the young one, so entries in use survive and the least recently used go first, as in
 * an LRU, but a hit is one Map lookup. It holds between `generationSize` and twice that many
 * entries once full.
 *
 * Used for the verified-token cache: with many users' tokens in rotation, an LRU's per-read
 * reordering touched several cold arrays per request.
 */
export class GenerationalCache<K, V> {
  #young = new Map<K, V>()
  #old = new Map<K, V>()
  readonly #generationSize: number

  constructor (generationSize: number) {
    if (!Number.isInteger(generationSize) || generationSize < 1) throw new RangeError('generationSize must be a positive integer')
    this.#generationSize = generationSize
  }

  get (key: K): V | undefined {
    const young = this.#young.get(key)
    if (young !== undefined) return young
    const old = this.#old.get(key)
    if (old !== undefined) {
      this.#old.delete(key)
      this.#add(key, old)
    }
    return old
  }

  set (key: K, value: V): void {
    if (this.#young.has(key)) {
      this.#young.set(key, value)
      return
    }
    this.#old.delete(key)
    this.#add(key, value)
  }

  delete (key: K): boolean {
    const young = this.#young.delete(key)
    return this.#old.delete(key) || young
  }

  clear (): void {
    this.#young = new Map()
    this.#old = new Map()
  }

  get size (): number {
    return this.#young.size + this.#old.size
  }

  #add (key: K, value: V): void {
    if (this.#young.size >= this.#generationSize) {
      this.#old = this.#young
      this.#young = new Map()
    }
    this.#young.set(key, value)
  }
}
