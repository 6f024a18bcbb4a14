/**
 * A size-bounded map for in-memory caches that would otherwise grow with traffic: a Map kept in
 * recency order (a hit moves its key to the end), and past `max` entries the least recently used
 * one is dropped. Nothing more: expiry stays with the caller.
 */
export class Lru<K, V> {
  readonly #map = new Map<K, V>();
  readonly max: number;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`an LRU needs a size of at least 1, not ${max}`);
    this.max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value, which becomes the most recently used. */
  get(key: K): V | undefined {
    if (!this.#map.has(key)) return undefined;
    const value = this.#map.get(key) as V;
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Sets the value as the most recently used, dropping the least recently used past `max`. */
  set(key: K, value: V): this {
    this.#map.delete(key);
    this.#map.set(key, value);
    while (this.#map.size > this.max) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.#map.delete(oldest.value);
    }
    return this;
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }
}
