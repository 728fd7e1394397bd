/**
 * Loading the competitors once per process: TensorFlow.js with its pure-JS
 * `cpu` backend and its WebAssembly backend (the .wasm files come from the
 * installed package's dist folder, so nothing is downloaded), and jax-js on
 * its `wasm` device. A competitor that fails to load is recorded with the
 * reason, and every section prints "n/a" for it.
 */
import { createRequire } from "node:module"
import * as path from "node:path"
import type * as TfNamespace from "@tensorflow/tfjs"
import type * as JaxNamespace from "@jax-js/jax"
import { type NotAvailable, type Result, isNa, reason } from "./harness.js"

export type Tf = typeof TfNamespace
export type Jax = typeof JaxNamespace
export type TfTensor = TfNamespace.Tensor
export type JaxArray = JaxNamespace.Array

export type TfBackend = "cpu" | "wasm"

export interface TfjsLoaded {
  readonly tf: Tf
  /** per backend: null when usable, else why not */
  readonly unavailable: Readonly<Record<TfBackend, string | null>>
  /** a one-line description of the wasm backend's build (SIMD / threads) */
  readonly wasmInfo: string
}

/** Runs `f` with console.warn/log silenced (tfjs greets Node users on load). */
const quietly = async <A>(f: () => Promise<A>): Promise<A> => {
  const { warn, log, info } = console
  console.warn = () => {}
  console.log = () => {}
  console.info = () => {}
  try {
    return await f()
  } finally {
    console.warn = warn
    console.log = log
    console.info = info
  }
}

let tfjsPromise: Promise<Result<TfjsLoaded>> | undefined

/** TensorFlow.js with the cpu and wasm backends registered (memoised). */
export const loadTfjs = (): Promise<Result<TfjsLoaded>> =>
  (tfjsPromise ??= (async (): Promise<Result<TfjsLoaded>> => {
    let tf: Tf
    try {
      tf = await quietly(() => import("@tensorflow/tfjs"))
    } catch (e) {
      return { na: `@tensorflow/tfjs failed to load: ${reason(e)}` }
    }
    const unavailable: Record<TfBackend, string | null> = { cpu: null, wasm: null }
    let wasmInfo = ""
    try {
      const ok = await quietly(async () => {
        const set = await tf.setBackend("cpu")
        if (set) tf.tensor1d([1]).dispose() // the cpu backend greets Node users on its first tensor
        return set
      })
      if (!ok) unavailable.cpu = "tf.setBackend('cpu') returned false"
    } catch (e) {
      unavailable.cpu = reason(e)
    }
    try {
      const wasm = await import("@tensorflow/tfjs-backend-wasm")
      const pkg = createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/package.json")
      wasm.setWasmPaths(path.join(path.dirname(pkg), "dist") + path.sep)
      const ok = await quietly(() => tf.setBackend("wasm"))
      if (!ok) unavailable.wasm = "tf.setBackend('wasm') returned false"
      else {
        const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT")
        const threads = tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT")
        wasmInfo = `${simd ? "SIMD" : "no SIMD"}, ${threads ? "multi-threaded" : "single-threaded"}`
      }
    } catch (e) {
      unavailable.wasm = reason(e)
    }
    if (unavailable.cpu === null) await tf.setBackend("cpu")
    return { tf, unavailable, wasmInfo }
  })())

/** Switches tfjs to `backend`, or says why it cannot. */
export const useTf = async (backend: TfBackend): Promise<Result<Tf>> => {
  const loaded = await loadTfjs()
  if (isNa(loaded)) return loaded
  const why = loaded.unavailable[backend]
  if (why !== null) return { na: why }
  if (loaded.tf.getBackend() !== backend) await loaded.tf.setBackend(backend)
  await loaded.tf.ready()
  return loaded.tf
}

export interface JaxLoaded {
  readonly jax: Jax
  readonly np: Jax["numpy"]
  readonly devices: ReadonlyArray<string>
}

let jaxPromise: Promise<Result<JaxLoaded>> | undefined

/** jax-js on its wasm device (memoised). */
export const loadJax = (): Promise<Result<JaxLoaded>> =>
  (jaxPromise ??= (async (): Promise<Result<JaxLoaded>> => {
    try {
      const jax = (await import("@jax-js/jax")) as Jax
      const devices = await jax.init()
      if (!devices.includes("wasm")) return { na: `jax-js has no wasm device here (devices: ${devices.join(", ") || "none"})` }
      jax.defaultDevice("wasm")
      // A smoke test: a failure here is reported once instead of in every table.
      const probe = jax.numpy.array(new Float32Array([1, 2, 3]))
      const out = probe.mul(2).dataSync()
      if (out[2] !== 6) return { na: "jax-js smoke test gave a wrong result" }
      return { jax, np: jax.numpy, devices }
    } catch (e) {
      return { na: `@jax-js/jax failed: ${reason(e)}` }
    }
  })())

/** The competitors' load status, one line each, for the report header. */
export const describeCompetitors = async (): Promise<ReadonlyArray<string>> => {
  const lines: Array<string> = []
  const tfl = await loadTfjs()
  if (isNa(tfl)) lines.push(`tfjs-cpu, tfjs-wasm: n/a — ${tfl.na}`)
  else {
    lines.push(`tfjs ${tfl.tf.version.tfjs} cpu backend: ${tfl.unavailable.cpu === null ? "ok (pure JS)" : `n/a — ${tfl.unavailable.cpu}`}`)
    lines.push(`tfjs ${tfl.tf.version.tfjs} wasm backend: ${tfl.unavailable.wasm === null ? `ok (${tfl.wasmInfo})` : `n/a — ${tfl.unavailable.wasm}`}`)
  }
  const jl = await loadJax()
  lines.push(
    isNa(jl)
      ? `jax-js: n/a — ${jl.na}`
      : `jax-js 0.1.25: ok (device wasm, eager; ${typeof (globalThis as { Worker?: unknown }).Worker === "undefined" ? "single-threaded: no Web Worker global in Node" : "worker pool"})`
  )
  return lines
}

export type { NotAvailable }

/** Every jax-js array in a nested structure of arrays/objects. */
const jaxLeaves = (tree: unknown, out: Array<JaxNamespace.Array> = []): Array<JaxNamespace.Array> => {
  if (tree === null || typeof tree !== "object") return out
  if (typeof (tree as { dispose?: unknown }).dispose === "function" && "shape" in tree) out.push(tree as JaxNamespace.Array)
  else if (Array.isArray(tree)) for (const t of tree) jaxLeaves(t, out)
  else for (const t of Object.values(tree)) jaxLeaves(t, out)
  return out
}

/** Waits for every array in `tree` (jax-js is lazy) and then frees them (its arrays are reference-counted). */
export const settleJax = async (tree: unknown): Promise<void> => {
  const leaves = jaxLeaves(tree)
  for (const x of leaves) await x.blockUntilReady()
  for (const x of leaves) x.dispose()
}

/** `tree` with `.ref` taken on every jax-js array (to pass it to a function that consumes its arguments). */
export const refJax = <T>(tree: T): T => {
  if (tree === null || typeof tree !== "object") return tree
  if (typeof (tree as { dispose?: unknown }).dispose === "function" && "shape" in tree) return (tree as unknown as JaxNamespace.Array).ref as unknown as T
  if (Array.isArray(tree)) return tree.map(refJax) as unknown as T
  return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, refJax(v)])) as T
}
