/**
 * Small WebAssembly kernel modules (elementwise, pooling, im2col …) on the
 * matmul engine's linear memory.
 *
 * Each module is generated at run time with the emitter, imports the
 * engine's memory as `env.memory` and is compiled once per key. The calling
 * thread stages operands into the memory (`TypedArray.set`, a memcpy),
 * runs the kernel and copies the result out: on this machine a copy costs
 * ≈ 0.03 ns per float32 where a JavaScript loop costs ≥ 1 ns per element, so
 * staging is cheap next to what SIMD saves. The memory is scratch between
 * calls: nothing stays in it.
 */
import { ModuleBuilder } from "./emitter.js"
import { getEngineMemory } from "./index.js"

/** Byte alignment of staged regions (a cache line). */
export const ALIGN = 64

export const alignUp = (bytes: number): number => Math.ceil(bytes / ALIGN) * ALIGN

const modules = new Map<string, unknown>()

/** A module builder whose memory import matches the engine's (shared or not). */
export const kernelModule = (): ModuleBuilder | undefined => {
  const m = getEngineMemory()
  if (m === null) return undefined
  return new ModuleBuilder().importMemory({ module: "env", name: "memory", initial: 1, maximum: m.maxPages, shared: m.shared })
}

/**
 * The exports of the module built by `build` (once per `key`), instantiated
 * on the engine's memory; undefined without WebAssembly SIMD or when the
 * module does not validate (the caller then uses its JavaScript kernel).
 */
export const kernelExports = <E>(key: string, build: (mod: ModuleBuilder) => void): E | undefined => {
  if (modules.has(key)) return modules.get(key) as E | undefined
  let exports: E | undefined
  const m = getEngineMemory()
  const mod = kernelModule()
  if (m !== null && mod !== undefined) {
    try {
      build(mod)
      const bytes = mod.toBytes()
      if (m.api.validate(bytes)) exports = new m.api.Instance(new m.api.Module(bytes), { env: { memory: m.memory } }).exports as E
    } catch {
      exports = undefined
    }
  }
  modules.set(key, exports)
  return exports
}

/** Views over the engine's memory covering at least `bytes`, or undefined (no WebAssembly, or past the 2 GiB cap). */
export const scratch = (bytes: number): { readonly f32: Float32Array; readonly f64: Float64Array } | undefined => {
  const m = getEngineMemory()
  if (m === null || !m.ensure(bytes)) return undefined
  return m.views()
}
