/**
 * A persistent pool of `worker_threads` sharing one WebAssembly.Memory with
 * the main thread. Jobs are posted and awaited synchronously through Atomics
 * on a SharedArrayBuffer (the Node main thread may block in Atomics.wait),
 * so matmul stays a synchronous call.
 *
 * Workers are created lazily and `unref()`ed: an idle pool never keeps the
 * process alive. Everything Node-specific is reached through
 * `process.getBuiltinModule`, so this module loads (and simply reports "no
 * pool") in other environments.
 */
import { compileDriver, G, S, SLOT, SLOTS_BASE, workerSource, type RunJob } from "./worker.js"

interface WorkerLike {
  unref(): void
  terminate(): Promise<number>
  on(event: "error", listener: (err: unknown) => void): unknown
}
type WorkerCtor = new (source: string, options: { eval: true; workerData: unknown; name?: string }) => WorkerLike

interface NodeProcessLike {
  getBuiltinModule?: (id: string) => unknown
}

const builtin = <T>(id: string): T | undefined => {
  const proc = (globalThis as { process?: NodeProcessLike }).process
  if (proc === undefined || typeof proc.getBuiltinModule !== "function") return undefined
  try {
    return proc.getBuiltinModule(id) as T | undefined
  } catch {
    return undefined
  }
}

/** Number of hardware threads (1 when unknown). */
export const hardwareThreads = (): number => {
  const os = builtin<{ availableParallelism?: () => number; cpus?: () => ReadonlyArray<unknown> }>("node:os")
  if (os !== undefined) {
    if (typeof os.availableParallelism === "function") return Math.max(1, os.availableParallelism())
    if (typeof os.cpus === "function") return Math.max(1, os.cpus().length)
  }
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
  return Math.max(1, nav?.hardwareConcurrency ?? 1)
}

const workerCtor = (): WorkerCtor | undefined => {
  if (typeof SharedArrayBuffer === "undefined" || typeof Atomics === "undefined") return undefined
  return builtin<{ Worker?: WorkerCtor }>("node:worker_threads")?.Worker
}

/** Polls of ACTIVE before the main thread sleeps on it. */
const MAIN_SPIN = 2000

export class WorkerPool {
  /** job description (see worker.ts) followed by one slot per worker */
  readonly ctrl: Int32Array
  readonly runJob: RunJob
  readonly fail: (ctrl: Int32Array) => void
  private readonly workers: Array<WorkerLike> = []
  private seq = 0

  private constructor(
    private readonly module: unknown,
    private readonly memory: unknown,
    readonly capacity: number,
    private readonly ctor: WorkerCtor,
    driver: { readonly runJob: RunJob; readonly fail: (ctrl: Int32Array) => void }
  ) {
    this.ctrl = new Int32Array(new SharedArrayBuffer((SLOTS_BASE + capacity * SLOT) * 4))
    this.runJob = driver.runJob
    this.fail = driver.fail
  }

  /** A pool of up to `capacity` workers, or undefined when threads are unavailable here. */
  static create(module: unknown, memory: unknown, capacity: number): WorkerPool | undefined {
    const ctor = workerCtor()
    if (ctor === undefined || capacity < 1) return undefined
    const driver = compileDriver()
    if (driver === undefined) return undefined
    return new WorkerPool(module, memory, capacity, ctor, driver)
  }

  private slot(w: number): number {
    return SLOTS_BASE + w * SLOT
  }

  /** Starts workers (asynchronously) until `count` exist. */
  ensure(count: number): void {
    const target = Math.min(count, this.capacity)
    while (this.workers.length < target) {
      const index = this.workers.length
      const base = this.slot(index)
      for (let i = 0; i < SLOT; i++) Atomics.store(this.ctrl, base + i, 0)
      Atomics.store(this.ctrl, base + S.SEQ, this.seq)
      try {
        const worker = new this.ctor(workerSource, {
          eval: true,
          name: `gradfx-wasm-matmul-${index}`,
          workerData: { module: this.module, memory: this.memory, control: this.ctrl.buffer, index }
        })
        worker.on("error", () => Atomics.store(this.ctrl, base + S.STATE, -1))
        worker.unref()
        this.workers.push(worker)
      } catch {
        Atomics.store(this.ctrl, base + S.STATE, -1)
        this.workers.push({ unref: () => {}, terminate: () => Promise.resolve(0), on: () => undefined })
      }
    }
  }

  /** Number of started workers whose wasm instance is ready (a prefix). */
  ready(): number {
    let n = 0
    while (n < this.workers.length && Atomics.load(this.ctrl, this.slot(n) + S.STATE) === 1) n++
    return n
  }

  /** Blocks up to `timeoutMs` until `count` workers are ready; returns how many are. */
  waitReady(count: number, timeoutMs: number): number {
    this.ensure(count)
    const deadline = Date.now() + timeoutMs
    for (let w = 0; w < Math.min(count, this.workers.length); w++) {
      const idx = this.slot(w) + S.STATE
      while (Atomics.load(this.ctrl, idx) === 0) {
        const left = deadline - Date.now()
        if (left <= 0) return this.ready()
        Atomics.wait(this.ctrl, idx, 0, left)
      }
    }
    return this.ready()
  }

  /**
   * Opens the job currently described in `ctrl` and wakes workers
   * 0 … count-1 (each must be ready); see worker.ts for the protocol.
   */
  post(count: number): void {
    this.seq = (this.seq + 1) | 0
    if (this.seq === 0) this.seq = 1
    Atomics.store(this.ctrl, G.GATE, this.seq)
    for (let w = 0; w < count; w++) {
      const base = this.slot(w)
      Atomics.store(this.ctrl, base + S.CMD, 0)
      Atomics.store(this.ctrl, base + S.SEQ, this.seq)
      Atomics.notify(this.ctrl, base + S.SEQ)
    }
  }

  /**
   * Closes the job: workers that have not joined yet will not, and this
   * blocks until the ones inside are done, calling `idle` (if given) while it
   * waits.
   */
  finish(idle?: () => void): void {
    const c = this.ctrl
    Atomics.store(c, G.GATE, 0)
    let spins = 0
    let active
    while ((active = Atomics.load(c, G.ACTIVE)) !== 0) {
      if (idle !== undefined) idle()
      if (++spins > MAIN_SPIN) Atomics.wait(c, G.ACTIVE, active, idle === undefined ? 50 : 1)
    }
  }

  /** Stops every worker. */
  shutdown(): void {
    this.seq = (this.seq + 1) | 0
    for (let w = 0; w < this.workers.length; w++) {
      const base = this.slot(w)
      Atomics.store(this.ctrl, base + S.CMD, -1)
      Atomics.store(this.ctrl, base + S.SEQ, this.seq)
      Atomics.notify(this.ctrl, base + S.SEQ)
      void this.workers[w].terminate().catch(() => 0)
    }
    this.workers.length = 0
  }
}
