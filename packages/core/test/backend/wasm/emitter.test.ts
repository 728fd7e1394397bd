import { describe, expect, it } from "vitest"
import { ModuleBuilder, ValType, writeI32, writeU32 } from "../../../src/backend/wasm/emitter.js"
import { buildMatmulModule, roundUp, type KernelShape, type MatmulExports } from "../../../src/backend/wasm/matmulKernel.js"

interface WasmApi {
  validate(bytes: Uint8Array): boolean
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { readonly exports: unknown }
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => { readonly buffer: ArrayBuffer }
}
const W = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

const u32 = (v: number) => {
  const out: Array<number> = []
  writeU32(out, v)
  return out
}
const i32 = (v: number) => {
  const out: Array<number> = []
  writeI32(out, v)
  return out
}

describe("wasm emitter", () => {
  it("encodes LEB128", () => {
    expect(u32(0)).toEqual([0])
    expect(u32(127)).toEqual([0x7f])
    expect(u32(128)).toEqual([0x80, 0x01])
    expect(u32(624485)).toEqual([0xe5, 0x8e, 0x26])
    expect(u32(0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f])
    expect(i32(0)).toEqual([0])
    expect(i32(63)).toEqual([0x3f])
    expect(i32(64)).toEqual([0xc0, 0x00])
    expect(i32(-1)).toEqual([0x7f])
    expect(i32(-64)).toEqual([0x40])
    expect(i32(-65)).toEqual([0xbf, 0x7f])
    expect(i32(-123456)).toEqual([0xc0, 0xbb, 0x78])
  })

  it("builds a runnable module with loops, memory and SIMD", () => {
    // sum4(ptr, n): adds n f32x4 vectors from memory and stores the sum at 0
    const mod = new ModuleBuilder().importMemory({ module: "env", name: "memory", initial: 1, shared: false })
    const { f } = mod.func("sum4", [ValType.i32, ValType.i32], [])
    const acc = f.local(ValType.v128)
    const end = f.local(ValType.i32)
    f.get(0).get(1).i32(16).mul().add().set(end)
    f.v128Zero().set(acc)
    f.loop(() => {
      f.get(acc).get(0).v128Load().simd(228).set(acc) // f32x4.add
      f.addConst(0, 16)
      f.get(0).get(end).ltU().brIf(0)
    })
    f.i32(0).get(acc).v128Store()
    const bytes = mod.toBytes()
    expect(W.validate(bytes)).toBe(true)
    const memory = new W.Memory({ initial: 1 })
    const ex = new W.Instance(new W.Module(bytes), { env: { memory } }).exports as { sum4: (p: number, n: number) => void }
    const v = new Float32Array(memory.buffer)
    for (let i = 0; i < 12; i++) v[16 + i] = i + 1
    ex.sum4(64, 3)
    expect(Array.from(v.subarray(0, 4))).toEqual([1 + 5 + 9, 2 + 6 + 10, 3 + 7 + 11, 4 + 8 + 12])
  })

  // other register blockings / unrolls / the non-FMA path must stay correct too
  const shapes: Array<[string, KernelShape, boolean]> = [
    ["3×1 unroll 2, mul+add", { mr: 3, nv: 1, unroll: 2, mc: 9, kc: 8, nc: 8 }, false],
    ["6×2 unroll 4, fma", { mr: 6, nv: 2, unroll: 4, mc: 12, kc: 16, nc: 16 }, true],
    ["2×4 unroll 1, fma", { mr: 2, nv: 4, unroll: 1, mc: 4, kc: 5, nc: 32 }, true]
  ]
  for (const [name, shape, fma] of shapes) {
    it(`generated kernel ${name} matches a reference`, () => {
      const bytes = buildMatmulModule({ f32: shape, f64: shape, fma, shared: false, maxPages: 256 })
      expect(W.validate(bytes)).toBe(true)
      const memory = new W.Memory({ initial: 16, maximum: 256 })
      const ex = new W.Instance(new W.Module(bytes), { env: { memory } }).exports as MatmulExports
      for (const elt of [4, 8]) {
        const view = elt === 4 ? new Float32Array(memory.buffer) : new Float64Array(memory.buffer)
        const NR = shape.nv * (16 / elt)
        const [m, k, n] = [23, 37, 41]
        const kp = roundUp(k, shape.unroll)
        const ldc = roundUp(n, NR)
        const A = 1024
        const B = A + m * k * elt
        const BP = 65536
        const C = 2 * 65536
        for (let i = 0; i < m * k; i++) view[A / elt + i] = ((i * 7) % 11) - 5
        for (let i = 0; i < k * n; i++) view[B / elt + i] = ((i * 5) % 13) - 6
        // B given transposed (column-major) to exercise the strided packing path
        const Bt = B + k * n * elt
        for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) view[Bt / elt + j * k + p] = view[B / elt + p * n + j]
        ;(elt === 4 ? ex.packB_f32 : ex.packB_f64)(Bt, elt, k * elt, k, kp, n, BP, 0)
        ;(elt === 4 ? ex.gemmp_f32 : ex.gemmp_f64)(A, k * elt, elt, BP, kp, C, ldc * elt, m, k, n, 3 * 65536)
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let s = 0
            for (let p = 0; p < k; p++) s += view[A / elt + i * k + p] * view[B / elt + p * n + j]
            expect(view[C / elt + i * ldc + j]).toBe(s)
          }
      }
    })
  }
})
