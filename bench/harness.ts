/**
 * The benchmark harness: a timer that reports the median and minimum of
 * several timed runs after warm-up, a plain-text table printer, seeded input
 * data, and the `n/a` bookkeeping that lets a section go on when a competitor
 * fails to load or to run.
 *
 * Timing rules (the same for every system):
 * - `warmup` untimed calls first (JIT tiers, kernel caches, worker start-up);
 * - then `runs` timed runs; a run repeats the call `reps` times, where `reps`
 *   is chosen after warm-up so that one run lasts at least `minRunSeconds`
 *   (tiny calls are timed in bulk, slow calls once per run);
 * - the figure is the median seconds per call over the runs; the minimum is
 *   kept too.
 * A call that returns a promise is awaited (jax-js realises arrays lazily).
 */
import { existsSync } from "node:fs"

/** `BENCH_QUICK=1`: the reduced set (about a minute). */
export const QUICK = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true"

export interface TimeOptions {
  /** untimed calls before timing (default 2) */
  readonly warmup?: number
  /** and keep warming up until this much time has passed (default 0): WebAssembly engines
   * first run new code with a baseline compiler and switch to optimised code once it is hot */
  readonly warmupSeconds?: number
  /** timed runs; the median is reported (default 7, or 5 with BENCH_QUICK) */
  readonly runs?: number
  /** a run repeats the call until it lasts at least this long (default 0.05 s) */
  readonly minRunSeconds?: number
  /** fixed calls per run (overrides `minRunSeconds`) */
  readonly reps?: number
}

export interface Timing {
  /** median seconds per call */
  readonly median: number
  /** fastest run, seconds per call */
  readonly min: number
  readonly runs: number
  readonly reps: number
}

const isPromise = (u: unknown): u is PromiseLike<unknown> =>
  typeof u === "object" && u !== null && typeof (u as { then?: unknown }).then === "function"

export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** Times `fn` (see the module comment for the protocol). */
export const time = async (fn: () => unknown, options: TimeOptions = {}): Promise<Timing> => {
  const warmup = options.warmup ?? 2
  const runs = options.runs ?? (QUICK ? 5 : 7)
  const minRun = options.minRunSeconds ?? 0.05
  let isAsync = false
  const once = async (): Promise<number> => {
    const t0 = performance.now()
    const r = fn()
    if (isPromise(r)) {
      isAsync = true
      await r
    }
    return (performance.now() - t0) / 1000
  }
  let last = 0
  const warmStart = performance.now()
  for (let i = 0; i < Math.max(1, warmup) || performance.now() - warmStart < (options.warmupSeconds ?? 0) * 1000; i++) last = await once()
  const reps = options.reps ?? Math.max(1, Math.ceil(minRun / Math.max(last, 1e-7)))
  const perCall: Array<number> = []
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now()
    if (isAsync) for (let i = 0; i < reps; i++) await fn()
    else for (let i = 0; i < reps; i++) fn()
    perCall.push((performance.now() - t0) / 1000 / reps)
  }
  return { median: median(perCall), min: Math.min(...perCall), runs, reps }
}

// ---------------------------------------------------------------------------
// Results that may be missing

/** A figure that could not be measured, with the reason. */
export interface NotAvailable {
  readonly na: string
}
export type Result<A> = A | NotAvailable

export const isNa = (u: unknown): u is NotAvailable => typeof u === "object" && u !== null && "na" in u

/** A one-line reason from any thrown value. */
export const reason = (e: unknown): string => {
  if (e instanceof Error) {
    const tag = (e as { _tag?: string })._tag
    const msg = e.message || String((e as { hint?: string }).hint ?? "")
    return (tag ? `${tag}: ` : `${e.name}: `) + msg.split("\n")[0].slice(0, 200)
  }
  return String(e).split("\n")[0].slice(0, 200)
}

/** Runs `f`, turning a throw into `{ na: reason }`. */
export const attempt = async <A>(f: () => A | Promise<A>): Promise<Result<A>> => {
  try {
    return await f()
  } catch (e) {
    return { na: reason(e) }
  }
}

/** Times `fn` built by `setup` (untimed); a throw anywhere gives n/a. */
export const measure = async (setup: () => (() => unknown) | Promise<() => unknown>, options: TimeOptions = {}): Promise<Result<Timing>> =>
  attempt(async () => time(await setup(), options))

// ---------------------------------------------------------------------------
// Formatting

/** A number with `digits` significant digits, without exponent for common magnitudes. */
export const fmt = (x: number, digits = 3): string => {
  if (!Number.isFinite(x)) return String(x)
  if (x === 0) return "0"
  const a = Math.abs(x)
  if (a >= 10 ** digits) return Math.round(x).toLocaleString("en-US")
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(a)))
  return x.toFixed(Math.min(decimals, 6))
}

/** `competitor / gradfx` for times (so > 1× means gradfx is faster), "n/a" if either is missing. */
export const speedup = (gradfx: Result<number>, other: Result<number>): string =>
  isNa(gradfx) || isNa(other) ? "n/a" : `${fmt(other / gradfx, 2)}×`

/** A cell for a possibly missing number. */
export const cell = (x: Result<number>, digits = 3): string => (isNa(x) ? "n/a" : fmt(x, digits))

/** Prints a titled table with right-aligned columns (first column left-aligned) and notes under it. */
export const printTable = (
  title: string,
  header: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  notes: ReadonlyArray<string> = []
): void => {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => (r[j] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join("  ").trimEnd()
  const out: Array<string> = ["", `## ${title}`, "", line(header), widths.map((w) => "-".repeat(w)).join("  ")]
  for (const r of rows) out.push(line(r))
  for (const n of notes) out.push(`  ${n}`)
  console.log(out.join("\n"))
}

/** Collects "who: n/a — why" notes once per distinct message. */
export class Notes {
  private readonly items: Array<string> = []
  add(note: string): void {
    if (!this.items.includes(note)) this.items.push(note)
  }
  na(who: string, r: Result<unknown>): void {
    if (isNa(r)) this.add(`${who}: n/a — ${r.na}`)
  }
  get all(): ReadonlyArray<string> {
    return this.items
  }
}

// ---------------------------------------------------------------------------
// Inputs

/** mulberry32: a small seeded generator, so every system gets identical inputs. */
export const rng = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Uniform values in [-1, 1). */
export const uniform32 = (n: number, seed: number): Float32Array => {
  const r = rng(seed)
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) out[i] = r() * 2 - 1
  return out
}

/** Normal(0, std²) values (Box–Muller). */
export const normal32 = (n: number, seed: number, std = 1): Float32Array => {
  const r = rng(seed)
  const out = new Float32Array(n)
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(r(), 1e-12)
    const v = r()
    const m = Math.sqrt(-2 * Math.log(u)) * std
    out[i] = m * Math.cos(2 * Math.PI * v)
    if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v)
  }
  return out
}

// ---------------------------------------------------------------------------
// gradfx's backend

/**
 * The name of the backend gradfx computes with: `backendName()` from
 * `packages/core/src/backend/index.ts` when that module exists and exports
 * it, else "js" (the typed-array kernels).
 */
export const gradfxBackend = async (): Promise<string> => {
  const url = new URL("../packages/core/src/backend/index.ts", import.meta.url)
  if (!existsSync(url)) return "js"
  try {
    const m = (await import(url.href)) as { backendName?: () => unknown }
    const name = typeof m.backendName === "function" ? String(m.backendName()) : "js"
    // start the matmul worker pool now, as a long-running program would have it, so that no
    // timed product runs single-threaded while the workers are still starting
    const wasm = (await import(new URL("../packages/core/src/backend/wasm/index.ts", import.meta.url).href)) as { warmUpThreads?: () => number }
    const threads = name === "wasm" && typeof wasm.warmUpThreads === "function" ? wasm.warmUpThreads() : 1
    return `${name}, ${threads} thread${threads === 1 ? "" : "s"} for large products`
  } catch (e) {
    return `js (backend/index.ts failed to load: ${reason(e)})`
  }
}
