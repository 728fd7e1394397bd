/**
 * Backend selection. The primitives call the CPU kernels in `cpu/`; the
 * WebAssembly SIMD kernels in `wasm/` (generated at run time, multi-threaded
 * over shared memory where available) replace the hot ones. The choice is
 * automatic — WebAssembly when SIMD validates here — with an override:
 * `setBackend("js")` forces the plain TypeScript kernels (the reference the
 * tests compare against), `setBackend("wasm")` asks for WebAssembly and
 * throws if it is unavailable.
 *
 * @since 0.1.0
 */
import { ValueError } from "../Errors.js"
import { setConvImplementation } from "./cpu/conv.js"
import { setSimdImplementation } from "./cpu/elementwise.js"
import { setMatmulImplementation } from "./cpu/matmul.js"
import { setPoolImplementation } from "./cpu/pool.js"
import { setLeadingSumImplementation } from "./cpu/reduce.js"
import { convWasm } from "./wasm/convKernels.js"
import { setResidentMemory } from "./cpu/types.js"
import { runSimd, simdPlan } from "./wasm/fused.js"
import { isResident, residentAlloc, residentFree, residentFreeAt } from "./wasm/kernels.js"
import { poolWasm } from "./wasm/poolKernels.js"
import { leadingSumWasm } from "./wasm/reduceKernels.js"
import { matmulWasm, setThreads as setWasmThreads, wasmAvailable } from "./wasm/index.js"

export type BackendName = "wasm" | "js"

let current: BackendName | null = null

const install = (name: BackendName): void => {
  setMatmulImplementation(name === "wasm" ? matmulWasm : null)
  setConvImplementation(name === "wasm" ? convWasm : null)
  setPoolImplementation(name === "wasm" ? poolWasm : null)
  setLeadingSumImplementation(name === "wasm" ? leadingSumWasm : null)
  setSimdImplementation(name === "wasm" ? { plan: simdPlan, run: runSimd } : null)
  setResidentMemory(name === "wasm" ? { alloc: residentAlloc, isResident, free: residentFree, freeAt: residentFreeAt } : null)
  current = name
}

/** `GRADFX_BACKEND=js` in the environment (Node) turns WebAssembly off. */
const envBackend = (): string | undefined => (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.GRADFX_BACKEND

/** Make sure a backend is installed (the automatic choice on first use). */
export const ensureBackend = (): void => {
  if (current === null) install(envBackend() === "js" || !wasmAvailable() ? "js" : "wasm")
}

/**
 * Choose the kernels: `"wasm"` (WebAssembly SIMD) or `"js"` (plain TypeScript).
 *
 * @category backend
 * @since 0.1.0
 */
export const setBackend = (name: BackendName): void => {
  if (name === "wasm" && !wasmAvailable()) {
    throw new ValueError({ op: "setBackend", hint: "WebAssembly SIMD is not available in this runtime; use \"js\"" })
  }
  if (name !== "wasm" && name !== "js") throw new ValueError({ op: "setBackend", hint: `unknown backend ${String(name)}; expected "wasm" or "js"` })
  install(name)
}

/** The backend in use. @category backend @since 0.1.0 */
export const backendName = (): BackendName => {
  ensureBackend()
  return current!
}

/** Threads used by large WebAssembly matrix products (1 disables the worker pool). @category backend @since 0.1.0 */
export const setThreads = (n: number): void => setWasmThreads(n)
