// jit's donateArgnums (JAX's donate_argnums): a donated array is given to the
// call and deleted afterwards (every read of it, or of a view of its buffer,
// is a ValueError); the outputs of such a call stay in the WebAssembly
// engine's memory, so the next call that donates them reads them in place and
// frees them. These tests check the numbers (the same bits as without
// donation), what is deleted and what is not, that kept outputs are never
// overwritten by later calls, and that the engine's memory stays bounded.
import { afterAll, describe, expect, it } from "vitest"
import { grad, jit, NdArray as N, type NdArray, pureCallback, setBackend } from "@gradfx/core"
import { isKept, isResidentBuffer, keptResidentBytes } from "../src/backend/cpu/types.js"
import { getEngineMemory, wasmAvailable } from "../src/backend/wasm/index.js"
import { blockStats } from "../src/backend/wasm/kernels.js"
import type { ArrayValue } from "../src/interpreter/ndarray.js"

afterAll(() => setBackend(wasmAvailable() ? "wasm" : "js"))

const shared = wasmAvailable() && getEngineMemory()?.shared === true
const bits = (x: NdArray): Array<number> => Array.from(x.data())

type Params = { readonly w: NdArray; readonly b: NdArray }
const loss = (p: Params, x: NdArray) => N.sum(N.square(N.sigmoid(N.add(N.matmul(x, p.w), p.b))))
const sgd = (p: Params, x: NdArray) => {
  // a hand-written gradient-free update, enough to exercise the buffers: w ← w − 0.1·xᵀ·σ(xw + b), b ← 0.9·b
  const s = N.sigmoid(N.add(N.matmul(x, p.w), p.b))
  return { w: N.sub(p.w, N.mul(N.matmul(N.transpose(x), s), 0.1)), b: N.mul(p.b, 0.9) }
}
const init = (): Params => ({
  w: N.reshape(N.mul(N.sin(N.arange(64 * 48, undefined, 1, { dtype: "float32" })), 0.1), [64, 48]),
  b: N.reshape(N.cos(N.arange(48, undefined, 1, { dtype: "float32" })), [48])
})
const batch = (k: number) => N.reshape(N.sin(N.add(N.arange(32 * 64, undefined, 1, { dtype: "float32" }), k)), [32, 64])
const deleted = expect.objectContaining({ _tag: "ValueError", message: expect.stringContaining("donated") })

describe.each(["wasm", "js"] as const)("donateArgnums (%s backend)", (backend) => {
  it("gives the bits of the undonated call, step after step, and deletes each donated input", () => {
    setBackend(backend)
    const plain = jit(sgd)
    const donating = jit(sgd, { donateArgnums: [0] })
    let p = init()
    let q = init()
    for (let k = 0; k < 6; k++) {
      const before = q
      p = plain(p, batch(k))
      q = donating(q, batch(k))
      expect(bits(q.w)).toEqual(bits(p.w))
      expect(bits(q.b)).toEqual(bits(p.b))
      expect(() => before.w.data()).toThrow(deleted)
      expect(() => N.add(before.b, 1)).toThrow(deleted)
    }
    expect(loss(q, batch(0)).item()).toBe(loss(p, batch(0)).item())
  })

  it("a deleted array fails in every use: reads, eager ops, views made before, other jitted calls; it still prints", () => {
    setBackend(backend)
    const step = jit(sgd, { donateArgnums: [0] })
    const p = init()
    const view = N.transpose(p.w) // the whole buffer: deleted with p.w
    const saved = N.copy(N.transpose(p.w)) // a buffer of its own
    const expected = bits(N.transpose(p.w))
    step(p, batch(0))
    expect(bits(saved)).toEqual(expected)
    expect(() => N.copy(p.w)).toThrow(deleted)
    expect(() => p.w.item()).toThrow(deleted)
    expect(() => p.w.toArray()).toThrow(deleted)
    expect(() => N.matmul(batch(1), p.w)).toThrow(deleted)
    expect(() => view.data()).toThrow(deleted)
    expect(() => jit(loss)(p, batch(1))).toThrow(deleted)
    expect(() => step(p, batch(1))).toThrow(deleted)
    expect(String(p.w)).toContain("deleted")
  })

  it("does not delete an array also passed undonated, or returned as it is", () => {
    setBackend(backend)
    const f = jit((a: NdArray, b: NdArray) => [N.add(a, b), a], { donateArgnums: [0, 1] })
    const a = N.ones([40, 40])
    const b = N.ones([40, 40])
    const [sum, same] = f(a, b)
    expect(bits(same)).toEqual(bits(a)) // returned: kept alive
    expect(() => b.data()).toThrow(deleted)
    expect(N.sum(sum).item()).toBe(3200)
    const g = jit((a: NdArray, b: NdArray) => N.mul(a, b), { donateArgnums: [0] })
    const c = N.ones([40, 40])
    g(c, c) // donated and undonated at once: not donated
    expect(N.sum(c).item()).toBe(1600)
    expect(() => jit((x: number, y: NdArray) => N.mul(y, x), { staticArgnums: [0], donateArgnums: [0] })(2, c)).toThrow(
      expect.objectContaining({ _tag: "TransformError" })
    )
  })

  it("a slice or broadcast of a larger buffer is not donated (that would delete the rest of it)", () => {
    setBackend(backend)
    const step = jit(sgd, { donateArgnums: [0] })
    const all = N.reshape(N.mul(N.sin(N.arange(2 * 64 * 48, undefined, 1, { dtype: "float32" })), 0.1), [2, 64, 48])
    const w = N.slice(all, [1]) // the second half of all's buffer
    const b = N.broadcastTo(N.array([0.5], { dtype: "float32" }), [48])
    const all0 = bits(all)
    step({ w, b }, batch(0))
    expect(bits(all)).toEqual(all0)
    expect(bits(b)).toEqual(new Array(48).fill(0.5))
    // a broadcast of part of a buffer as large as the buffer (offset 0, same size) is still only a part of it
    const row = N.array([1, 2, 3, 4], { dtype: "float32" })
    const twice = N.broadcastTo(N.slice(row, [[0, 2]]), [2, 2])
    jit((t: NdArray) => N.sum(t), { donateArgnums: [0] })(twice)
    expect(row.toArray()).toEqual([1, 2, 3, 4])
    const p = init()
    step(p, batch(0))
    expect(() => p.w.data()).toThrow(deleted) // a reshape of its whole buffer: donated
  })

  it("a donated heap array's buffer is reused by the next NdArray.array of its size", () => {
    setBackend(backend)
    const f = jit((x: NdArray) => N.sum(x), { donateArgnums: [0] })
    const x = N.array(new Float32Array(5000).fill(1))
    const buffer = (x as ArrayValue).buffer
    expect(f(x).item()).toBe(5000)
    const y = N.array(new Float32Array(5000).fill(2))
    expect((y as ArrayValue).buffer.buffer).toBe(buffer.buffer) // the same memory (through a new view)
    expect(() => x.data()).toThrow(deleted)
    expect(N.sum(y).item()).toBe(10000)
  })

  it("inside another transform a donating jit is just the function: nothing is deleted", () => {
    setBackend(backend)
    const f = jit((a: NdArray) => N.sum(N.square(a)), { donateArgnums: [0] })
    const a = N.array([1, 2, 3])
    expect(grad(f)(a).toArray()).toEqual([2, 4, 6])
    expect(a.toArray()).toEqual([1, 2, 3])
  })

  it("a call that fails still deletes what was donated", () => {
    setBackend(backend)
    const f = jit(
      (a: NdArray) => N.add(pureCallback(() => { throw new Error("boom") }, { shape: [], dtype: "float32" }, a), a),
      { donateArgnums: [0] }
    )
    const a = N.ones([2000])
    expect(() => f(a)).toThrow()
    expect(() => a.data()).toThrow(deleted)
  })
})

describe.runIf(shared)("donateArgnums keeps outputs in the engine's memory", () => {
  it("outputs of a donating call stay resident; held ones are never overwritten; memory stays bounded", () => {
    setBackend("wasm")
    const step = jit(sgd, { donateArgnums: [0] })
    let p = step(init(), batch(0))
    expect(isResidentBuffer((p.w as ArrayValue).buffer)).toBe(true) // 3072 elements
    expect(isKept((p.w as ArrayValue).buffer)).toBe(true)
    expect(isResidentBuffer((p.b as ArrayValue).buffer)).toBe(false) // 48 elements: the heap
    // an output that is not donated afterwards is never overwritten by later calls
    const held = jit(sgd)(p, batch(1)) // not donating: outputs copied to the heap
    expect(isResidentBuffer((held.w as ArrayValue).buffer)).toBe(false)
    const snapshot = jit(sgd, { donateArgnums: [] })(p, batch(2)) // no donation asked: heap outputs
    expect(isKept((snapshot.w as ArrayValue).buffer)).toBe(false)
    const keptCopy = jit((q: Params, x: NdArray) => sgd(q, x), { donateArgnums: [1] })(p, batch(3)) // donates the batch, keeps its outputs
    expect(isKept((keptCopy.w as ArrayValue).buffer)).toBe(true)
    const expected = bits(keptCopy.w)
    p = step(p, batch(4)) // (the first call may need a new block for the new parameters)
    const kept0 = keptResidentBytes()
    const top0 = blockStats().top
    for (let k = 0; k < 40; k++) p = step(p, batch(k))
    expect(bits(keptCopy.w)).toEqual(expected)
    // the donated parameters are freed at the end of each call: no more kept bytes, no new blocks
    expect(keptResidentBytes()).toBe(kept0)
    expect(blockStats().top).toBe(top0)
  })
})
