import { assert, describe, expect, it } from "@effect/vitest"
import { NdArray, Random } from "@gradfx/core"
import { Chunk, Effect, Fiber, Schema, Stream } from "effect"
import * as Batches from "../src/Batches.js"
import * as Dataset from "../src/Dataset.js"

/** A dataset whose example i has x = [i, -i] and y = i, so batches reveal their indices. */
const indexed = (n: number) =>
  Dataset.make({
    x: NdArray.array(Float64Array.from({ length: 2 * n }, (_, j) => (j % 2 === 0 ? 1 : -1) * Math.floor(j / 2)), {
      shape: [n, 2]
    }),
    y: NdArray.array(Int32Array.from({ length: n }, (_, i) => i), { shape: [n] })
  })

const ids = (batches: ReadonlyArray<Dataset.Batch<"x" | "y">>): Array<number> =>
  batches.flatMap((b) => b.y.toArray() as Array<number>)

const intIn = (minimum: number, maximum: number) => Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum, maximum })))

const collect = <A>(s: Stream.Stream<A>) => Effect.map(Stream.runCollect(s), (c) => Array.from(c))

describe("Batches", () => {
  it.effect.prop(
    "shuffled: every example exactly once per epoch, in batches of batchSize",
    [intIn(1, 60), intIn(1, 17), intIn(0, 1000)],
    ([n, batchSize, seed]) =>
      Effect.gen(function*() {
        const ds = indexed(n)
        const batches = yield* collect(Batches.shuffled(ds, { batchSize, key: Random.key(seed) }))
        assert.strictEqual(batches.length, Batches.count(n, batchSize))
        const seen = ids(batches)
        assert.deepStrictEqual([...seen].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i))
        for (const [i, b] of batches.entries()) {
          assert.strictEqual(b.y.shape[0], i < batches.length - 1 ? batchSize : n - batchSize * (batches.length - 1))
          // x rows travel with their labels
          const x = b.x.toArray() as Array<Array<number>>
          assert.deepStrictEqual(x.map((r) => r[0]), b.y.toArray())
        }
      }),
    { arbitrary: { runs: 30 } }
  )

  it.effect("same key, same order; different keys, different orders", () =>
    Effect.gen(function*() {
      const ds = indexed(100)
      const order = (seed: number) => Effect.map(collect(Batches.shuffled(ds, { batchSize: 7, key: Random.key(seed) })), ids)
      const a = yield* order(1)
      const b = yield* order(1)
      const c = yield* order(2)
      assert.deepStrictEqual(a, b)
      assert.notDeepEqual(a, c)
      assert.notDeepEqual(a, Array.from({ length: 100 }, (_, i) => i))
      // running one stream value twice replays the same epoch
      const stream = Batches.shuffled(ds, { batchSize: 7, key: Random.key(1) })
      assert.deepStrictEqual(ids(yield* collect(stream)), ids(yield* collect(stream)))
    }))

  it.effect("dropLast drops only the short final batch", () =>
    Effect.gen(function*() {
      const batches = yield* collect(Batches.shuffled(indexed(10), { batchSize: 4, key: Random.key(0), dropLast: true }))
      assert.deepStrictEqual(batches.map((b) => b.y.shape[0]), [4, 4])
      assert.strictEqual(new Set(ids(batches)).size, 8)
      assert.strictEqual(Batches.count(10, 4, { dropLast: true }), 2)
      assert.strictEqual(Batches.count(10, 4), 3)
    }))

  it.effect("sequential is in order; startBatch skips batches; prefetch keeps the order", () =>
    Effect.gen(function*() {
      const ds = indexed(10)
      assert.deepStrictEqual(ids(yield* collect(Batches.sequential(ds, { batchSize: 3 }))), Array.from({ length: 10 }, (_, i) => i))
      const key = Random.key(5)
      const full = ids(yield* collect(Batches.shuffled(ds, { batchSize: 3, key })))
      const resumed = ids(yield* collect(Batches.shuffled(ds, { batchSize: 3, key, startBatch: 2 })))
      assert.deepStrictEqual(resumed, full.slice(6))
      const prefetched = ids(yield* collect(Batches.shuffled(ds, { batchSize: 3, key, prefetch: 2 })))
      assert.deepStrictEqual(prefetched, full)
    }))

  it.effect("epochs: epoch e uses epochKey(key, e), so any epoch can be replayed alone", () =>
    Effect.gen(function*() {
      const ds = indexed(12)
      const key = Random.key(9)
      const all = yield* collect(Batches.epochs(ds, { batchSize: 5, key, epochs: 3 }))
      assert.deepStrictEqual(all.map((e) => [e.epoch, e.index]), [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2], [2, 0], [2, 1], [2, 2]])
      const epoch2 = ids(yield* collect(Batches.shuffled(ds, { batchSize: 5, key: Batches.epochKey(key, 2) })))
      assert.deepStrictEqual(ids(all.filter((e) => e.epoch === 2).map((e) => e.batch)), epoch2)
      assert.notDeepEqual(ids(all.filter((e) => e.epoch === 1).map((e) => e.batch)), epoch2)
      const resumed = yield* collect(Batches.epochs(ds, { batchSize: 5, key, epochs: 3, startEpoch: 1, startBatch: 1 }))
      assert.deepStrictEqual(resumed.map((e) => [e.epoch, e.index]), [[1, 1], [1, 2], [2, 0], [2, 1], [2, 2]])
    }))

  it.effect("batches are built lazily, one per pull (memory stays bounded)", () =>
    Effect.gen(function*() {
      let built = 0
      const ds = indexed(1000)
      const counting = Batches.sequential(ds, { batchSize: 10 }).pipe(Stream.tap(() => Effect.sync(() => built++)))
      const firstTwo = yield* Stream.runCollect(Stream.take(counting, 2))
      assert.strictEqual(Chunk.size(Chunk.fromIterable(firstTwo)), 2)
      assert.isAtMost(built, 2)
      // with prefetch the producer runs at most `prefetch` (+1 in flight) ahead of a stalled consumer
      built = 0
      const prefetching = Batches.sequential(ds, { batchSize: 10, prefetch: 2 }).pipe(
        Stream.tap(() => Effect.sync(() => built++))
      )
      const fiber = yield* Stream.runForEach(prefetching, () => Effect.never).pipe(Effect.forkChild)
      yield* Effect.yieldNow
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow
      assert.isAtLeast(built, 1)
      assert.isAtMost(built, 4)
      yield* Fiber.interrupt(fiber)
    }))

  it("rejects a bad batch size", () => {
    expect(() => Batches.sequential(indexed(3), { batchSize: 0 })).toThrow(RangeError)
  })
})
