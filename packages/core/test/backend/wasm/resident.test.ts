// A compiled program's large intermediate values live in the WebAssembly
// engine's memory ("resident" buffers) for the length of one run: these tests
// check that nothing resident escapes a run (outputs, views of intermediates,
// callback arguments), that every block is given back (also when the run
// throws), and that the numbers are those of the eager run (whose buffers are
// all on the JavaScript heap).
import { afterAll, describe, expect, it } from "vitest"
import { grad, jit, NdArray as N, type NdArray, pureCallback, setBackend } from "@gradfx/core"
import { blockStats, isResident } from "../../../src/backend/wasm/kernels.js"
import { getEngineMemory, wasmAvailable } from "../../../src/backend/wasm/index.js"

afterAll(() => setBackend(wasmAvailable() ? "wasm" : "js"))

const shared = wasmAvailable() && getEngineMemory()?.shared === true
const bits = (x: NdArray): Array<number> => Array.from(x.data())
const sameBits = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]))

const cnn = (p: { w: NdArray; d: NdArray }, x: NdArray): NdArray => {
  const h = N.maxPool2d(N.mul(N.conv2d(x, p.w), N.astype(N.greater(N.conv2d(x, p.w), 0), "float32")), { kernelSize: 2 })
  return N.sum(N.sigmoid(N.matmul(N.reshape(h, [x.shape[0], -1]), p.d)))
}

describe.runIf(shared)("resident buffers of compiled programs", () => {
  const x = N.reshape(N.sin(N.arange(8 * 1 * 12 * 12, undefined, 1, { dtype: "float32" })), [8, 1, 12, 12])
  const p = {
    w: N.reshape(N.cos(N.arange(6 * 25, undefined, 1, { dtype: "float32" })), [6, 1, 5, 5]),
    d: N.reshape(N.sin(N.arange(6 * 4 * 4 * 10, undefined, 1, { dtype: "float32" })), [96, 10])
  }

  it("a jitted gradient gives the eager gradient's bits, and no output lives in the engine's memory", () => {
    setBackend("wasm")
    const expected = grad(cnn)(p, x) // eager: every buffer on the JavaScript heap
    const g = jit(grad(cnn))(p, x)
    expect(sameBits(bits(g.w), bits(expected.w))).toBe(true)
    expect(sameBits(bits(g.d), bits(expected.d))).toBe(true)
    expect(isResident(g.w.data() as Float32Array)).toBe(false)
  })

  it("a matrix product into a resident buffer (rows of C copied out of the padded scratch) gives the eager bits", () => {
    setBackend("wasm")
    const a = N.reshape(N.sin(N.arange(200 * 50, undefined, 1, { dtype: "float32" })), [200, 50])
    const b = N.reshape(N.cos(N.arange(50 * 100, undefined, 1, { dtype: "float32" })), [50, 100]) // n = 100: C's scratch rows are padded to 108
    const f = (a: NdArray, b: NdArray) => N.sigmoid(N.matmul(a, b))
    expect(sameBits(bits(jit(f)(a, b)), bits(f(a, b)))).toBe(true)
  })

  it("an input copied into the engine's memory lives until its last reader, whatever its views do", () => {
    setBackend("wasm")
    // x is read by several steps, so the run copies it into the engine's memory once; the transpose
    // view of it dies after the first product, and the intermediate 3·x (x's size) must not be
    // given x's block while the last step still reads x
    const f = (x: NdArray, s: NdArray, w: NdArray) => {
      const a = N.matmul(N.transpose(x), s)
      const b = N.matmul(N.mul(x, 3), w)
      return [N.mul(a, 2), N.mul(b, 2), N.sum(x)]
    }
    const x = N.reshape(N.sin(N.arange(80 * 784, undefined, 1, { dtype: "float32" })), [80, 784])
    const s = N.reshape(N.cos(N.arange(80 * 10, undefined, 1, { dtype: "float32" })), [80, 10])
    const w = N.reshape(N.mul(N.cos(N.arange(784 * 50, undefined, 1, { dtype: "float32" })), 0.01), [784, 50])
    const expected = f(x, s, w).map(bits)
    const g = jit(f)
    for (let i = 0; i < 3; i++) expect(g(x, s, w).map(bits)).toEqual(expected)
  })

  it("outputs that are views of intermediates are copied out with their layout", () => {
    setBackend("wasm")
    const f = jit((a: NdArray) => {
      const big = N.mul(N.add(a, 1), 2) // 4096 elements: resident inside the run
      return [N.transpose(big), N.reshape(big, [64, 64]), N.sum(big)]
    })
    const a = N.reshape(N.arange(4096, undefined, 1, { dtype: "float32" }), [32, 128])
    const [t, r, s] = f(a)
    const eager = N.mul(N.add(a, 1), 2)
    expect(sameBits(bits(t), bits(N.transpose(eager)))).toBe(true)
    expect(sameBits(bits(r), bits(eager))).toBe(true)
    expect(s.item()).toBe(N.sum(eager).item())
    f(N.zeros([32, 128])) // a second run reuses the blocks: the first results must not change
    expect(sameBits(bits(t), bits(N.transpose(eager)))).toBe(true)
  })

  it("repeated runs reuse the same blocks (no growth), also when a run throws", () => {
    setBackend("wasm")
    const step = jit(grad(cnn))
    step(p, x)
    step(p, x)
    const before = blockStats()
    for (let i = 0; i < 5; i++) step(p, x)
    expect(blockStats().top).toBe(before.top)
    const failing = jit((a: NdArray) => {
      const big = N.exp(N.mul(a, 2)) // resident, and still live when the callback throws
      const c = pureCallback(
        () => {
          throw new Error("boom")
        },
        { shape: [], dtype: "float32" },
        N.sum(big)
      )
      return N.add(big, c)
    })
    const a = N.ones([64, 64])
    expect(() => failing(a)).toThrow("boom")
    const afterFirst = blockStats()
    for (let i = 0; i < 5; i++) expect(() => failing(a)).toThrow("boom")
    expect(blockStats().top).toBe(afterFirst.top)
  })

  it("a callback gets arrays on the JavaScript heap, which it may keep", () => {
    setBackend("wasm")
    const kept: Array<NdArray> = []
    const f = jit((a: NdArray) => {
      const big = N.mul(a, 3)
      return pureCallback(
        (v: NdArray) => {
          kept.push(v)
          return N.sum(v)
        },
        { shape: [], dtype: "float32" },
        big
      )
    })
    f(N.ones([64, 64]))
    expect(isResident(kept[0].data() as Float32Array)).toBe(false)
    f(N.full([64, 64], 5))
    expect(bits(kept[0]).every((v) => v === 3)).toBe(true)
  })
})
