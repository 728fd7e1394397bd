/**
 * Checkpoints: parameters and optimiser state in the safetensors format,
 * plus JSON metadata (step, epoch, PRNG seed, config, metrics).
 *
 * A checkpoint directory holds `checkpoint.safetensors`, with every leaf of
 * the parameter pytree stored as `params.<path>` and every leaf of the
 * optimiser state as `opt_state.<path>` (and, with early stopping's
 * `restoreBest`, the best epoch's parameters as `best_params.<path>`;
 * paths from `Tree.paths`, e.g.
 * `params.layers.0.w`), so PyTorch / Hugging Face tools (`safetensors.safe_open`,
 * `load_file`) read it directly. The metadata is JSON under the header's
 * `__metadata__` key `gradfx` (authoritative), and also in a readable
 * sidecar `checkpoint.json`.
 *
 * Writes are atomic: bytes go to a temporary file in the same directory,
 * which is flushed to disk (`fsync`) and then renamed over the old file. A
 * crash at any point leaves either the previous checkpoint or the new one,
 * never a torn file. Loading is driven by a template pytree (the freshly
 * initialised model): a tensor that is missing, extra, or of another shape or
 * dtype fails with {@link CheckpointMismatch} naming the first such tensor.
 *
 * File access goes through Effect's `FileSystem` service: provide
 * `NodeServices.layer` (or `NodeFileSystem.layer`) from
 * `@effect/platform-node` in programs, or {@link layerMemoryFileSystem} in
 * tests.
 *
 * @since 0.1.0
 */
import { NdArray, Safetensors, Tree } from "@gradfx/core"
import { Data, Effect, FileSystem, Layer, Option, PlatformError } from "effect"

/**
 * A checkpoint could not be written or read (I/O failure, or a file that is
 * not a valid checkpoint). `reason` says what went wrong.
 *
 * @category errors
 * @since 0.1.0
 */
export class CheckpointError extends Data.TaggedError("CheckpointError")<{
  readonly path: string
  readonly reason: string
}> {
  /** `checkpoint error at <path>: <reason>`. */
  override get message(): string {
    return `checkpoint error at ${this.path}: ${this.reason}`
  }
}

/**
 * The checkpoint's tensors do not fit the model: `tensor` is the first
 * mismatching name (e.g. `params.w1`), `expected` what the model has and
 * `actual` what the file holds (`float32[784, 100]`, or `missing`).
 *
 * @category errors
 * @since 0.1.0
 */
export class CheckpointMismatch extends Data.TaggedError("CheckpointMismatch")<{
  readonly path: string
  readonly tensor: string
  readonly expected: string
  readonly actual: string
}> {
  /** `checkpoint <path> does not match the model: tensor params.w1 is float32[784, 30] in the file, the model expects float32[784, 100]`. */
  override get message(): string {
    return `checkpoint ${this.path} does not match the model: tensor ${this.tensor} is ${this.actual} in the file, the model expects ${this.expected}`
  }
}

/**
 * The metadata stored with a checkpoint. `epoch` is the epoch in progress
 * (0-based) and `batch` the number of its batches already trained, so a run
 * interrupted mid-epoch resumes at the next batch; `step` counts optimiser
 * steps over the whole run. Any other JSON fields may be added.
 *
 * @since 0.1.0
 */
export interface Metadata {
  readonly step: number
  readonly epoch: number
  readonly batch?: number
  readonly seed?: number
  readonly config?: unknown
  readonly metrics?: unknown
  readonly [key: string]: unknown
}

/**
 * What a checkpoint holds.
 *
 * @since 0.1.0
 */
export interface Checkpoint<P, S> {
  readonly params: P
  readonly optState: S
  readonly metadata: Metadata
  /** the parameters of the best epoch so far (early stopping with `restoreBest`), stored as `best_params.*` */
  readonly bestParams?: P
}

/**
 * The file names inside a checkpoint directory.
 *
 * @since 0.1.0
 */
export const FILE_NAMES = { tensors: "checkpoint.safetensors", metadata: "checkpoint.json" } as const

const PARAMS = "params"
const OPT_STATE = "opt_state"
const BEST_PARAMS = "best_params"
const METADATA_KEY = "gradfx"

const join = (dir: string, name: string): string => (dir.endsWith("/") ? dir + name : `${dir}/${name}`)

/**
 * The path of the safetensors file of the checkpoint in `dir`.
 *
 * @example
 * Checkpoint.tensorsPath("runs/mnist") // "runs/mnist/checkpoint.safetensors"
 * @since 0.1.0
 */
export const tensorsPath = (dir: string): string => join(dir, FILE_NAMES.tensors)

const describe = (t: { readonly dtype: string; readonly shape: ReadonlyArray<number> }): string =>
  `${t.dtype}[${t.shape.join(", ")}]`

const leafName = (prefix: string, path: string): string => (path === "" ? prefix : `${prefix}.${path}`)

const isArrayLeaf = (leaf: Tree.Leaf): leaf is NdArray => typeof leaf !== "number"

/**
 * The tensors of a pytree, named `<prefix>.<path>`. Number leaves are stored
 * as float64 scalars. `null` leaves (from `Tree.partition`) are skipped.
 *
 * @example
 * Checkpoint.toTensors({ w: NdArray.ones([2]) }, "params") // { "params.w": { dtype: "float32", shape: [2], data } }
 * @category encoding
 * @since 0.1.0
 */
export const toTensors = (tree: unknown, prefix: string): Record<string, Safetensors.SafetensorsTensor> => {
  const leaves = Tree.leaves(tree)
  const paths = Tree.paths(tree)
  const out: Record<string, Safetensors.SafetensorsTensor> = {}
  leaves.forEach((leaf, i) => {
    const name = leafName(prefix, paths[i])
    out[name] = isArrayLeaf(leaf)
      ? { dtype: leaf.dtype, shape: [...leaf.shape], data: leaf.data() }
      : { dtype: "float64", shape: [], data: Float64Array.of(leaf) }
  })
  return out
}

/**
 * Rebuilds a pytree shaped like `template` from tensors named
 * `<prefix>.<path>`: each array leaf must have the template leaf's dtype and
 * shape, a number leaf a one-element tensor. Returns the first mismatch
 * instead of a tree when they do not fit.
 *
 * @category encoding
 * @since 0.1.0
 */
export const fromTensors = <T>(
  template: T,
  tensors: Readonly<Record<string, Safetensors.SafetensorsTensor>>,
  prefix: string
): { readonly tree: T } | { readonly tensor: string; readonly expected: string; readonly actual: string } => {
  const [leaves, def] = Tree.flatten(template)
  const paths = Tree.paths(template)
  const restored: Array<Tree.Leaf> = []
  for (let i = 0; i < leaves.length; i++) {
    const leaf = leaves[i]
    const name = leafName(prefix, paths[i])
    const t = tensors[name]
    const expected = isArrayLeaf(leaf) ? describe(leaf) : "a number (float64[])"
    if (t === undefined) return { tensor: name, expected, actual: "missing" }
    if (isArrayLeaf(leaf)) {
      const sameShape = t.shape.length === leaf.shape.length && t.shape.every((d, j) => d === leaf.shape[j])
      if (!sameShape || t.dtype !== leaf.dtype) return { tensor: name, expected, actual: describe(t) }
      restored.push(NdArray.array(t.data, { dtype: leaf.dtype, shape: t.shape }))
    } else {
      if (t.data.length !== 1) return { tensor: name, expected, actual: describe(t) }
      restored.push(Number(t.data[0]))
    }
  }
  const known = new Set(paths.map((p) => leafName(prefix, p)))
  const extra = Object.keys(tensors).sort().find((name) =>
    (name === prefix || name.startsWith(prefix + ".")) && !known.has(name)
  )
  if (extra !== undefined) return { tensor: extra, expected: "no such tensor", actual: describe(tensors[extra]) }
  return { tree: Tree.unflatten<T>(def, restored) }
}

/**
 * The bytes of a checkpoint's safetensors file: `params.*` and
 * `opt_state.*` tensors, the metadata as JSON under `__metadata__.gradfx`,
 * and `format: "pt"` so Hugging Face loaders accept the file.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encode = (checkpoint: Checkpoint<unknown, unknown>): Uint8Array =>
  Safetensors.encodeSafetensors(
    {
      ...toTensors(checkpoint.params, PARAMS),
      ...toTensors(checkpoint.optState, OPT_STATE),
      ...(checkpoint.bestParams === undefined ? {} : toTensors(checkpoint.bestParams, BEST_PARAMS))
    },
    {
      format: "pt",
      [METADATA_KEY]: JSON.stringify(checkpoint.metadata),
      step: String(checkpoint.metadata.step),
      epoch: String(checkpoint.metadata.epoch)
    }
  )

const parseMetadata = (path: string, file: Safetensors.SafetensorsFile): Effect.Effect<Metadata, CheckpointError> =>
  Effect.try({
    try: () => {
      const raw = file.metadata[METADATA_KEY]
      if (raw === undefined) throw new Error(`no ${METADATA_KEY} metadata in the header (not a gradfx checkpoint)`)
      const m = JSON.parse(raw) as Metadata
      if (typeof m !== "object" || m === null || typeof m.step !== "number" || typeof m.epoch !== "number") {
        throw new Error("the metadata lacks numeric step and epoch fields")
      }
      return m
    },
    catch: (e) => new CheckpointError({ path, reason: e instanceof Error ? e.message : String(e) })
  })

const decodeFile = (path: string, bytes: Uint8Array): Effect.Effect<Safetensors.SafetensorsFile, CheckpointError> =>
  Effect.try({
    try: () => Safetensors.decodeSafetensors(bytes),
    catch: (e) => new CheckpointError({ path, reason: e instanceof Error ? e.message : String(e) })
  })

/**
 * Decodes checkpoint bytes into trees shaped like the templates. Fails with
 * {@link CheckpointMismatch} for the first tensor that is missing, extra, or
 * of another shape or dtype, and {@link CheckpointError} for bytes that are
 * not a gradfx safetensors checkpoint.
 *
 * @category encoding
 * @since 0.1.0
 */
export const decode = <P, S>(
  bytes: Uint8Array,
  template: { readonly params: P; readonly optState: S },
  path = "(in memory)"
): Effect.Effect<Checkpoint<P, S>, CheckpointError | CheckpointMismatch> =>
  Effect.gen(function*() {
    const file = yield* decodeFile(path, bytes)
    const metadata = yield* parseMetadata(path, file)
    const params = fromTensors(template.params, file.tensors, PARAMS)
    if (!("tree" in params)) return yield* new CheckpointMismatch({ path, ...params })
    const optState = fromTensors(template.optState, file.tensors, OPT_STATE)
    if (!("tree" in optState)) return yield* new CheckpointMismatch({ path, ...optState })
    if (!Object.keys(file.tensors).some((name) => name.startsWith(BEST_PARAMS + "."))) return { params: params.tree, optState: optState.tree, metadata }
    const best = fromTensors(template.params, file.tensors, BEST_PARAMS)
    if (!("tree" in best)) return yield* new CheckpointMismatch({ path, ...best })
    return { params: params.tree, optState: optState.tree, metadata, bestParams: best.tree }
  })

const ioError = (path: string) => (e: PlatformError.PlatformError) => new CheckpointError({ path, reason: e.message })

/**
 * Writes `bytes` to `path` atomically: a temporary file next to it is
 * written, flushed with `fsync` and renamed over `path`; the directory is
 * then flushed (best effort). On failure the temporary file is removed and
 * `path` is untouched. Runs uninterruptibly.
 *
 * @example
 * yield* Checkpoint.writeAtomic("run/checkpoint.json", new TextEncoder().encode("{}"))
 * @category files
 * @since 0.1.0
 */
export const writeAtomic = (
  path: string,
  bytes: Uint8Array
): Effect.Effect<void, CheckpointError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`
    const write = Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(tmp, { flag: "w" })
      yield* file.writeAll(bytes)
      yield* file.sync
    }))
    yield* write.pipe(
      Effect.flatMap(() => fs.rename(tmp, path)),
      Effect.mapError(ioError(path)),
      Effect.tapError(() => Effect.ignore(fs.remove(tmp)))
    )
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : "."
    yield* Effect.ignore(Effect.scoped(Effect.flatMap(fs.open(dir, { flag: "r" }), (d) => d.sync)))
  }).pipe(Effect.uninterruptible)

/**
 * Saves a checkpoint into `dir` (created if needed): the safetensors file
 * first, then the `checkpoint.json` sidecar, each written atomically.
 * Temporary files left in `dir` by a writer that crashed are removed first.
 *
 * @example
 * yield* Checkpoint.save("runs/mnist", { params, optState, metadata: { step: 100, epoch: 1 } })
 * @category files
 * @since 0.1.0
 */
export const save = Effect.fn("Checkpoint.save")(function*(dir: string, checkpoint: Checkpoint<unknown, unknown>) {
  const fs = yield* FileSystem.FileSystem
  yield* fs.makeDirectory(dir, { recursive: true }).pipe(Effect.mapError(ioError(dir)))
  // Temporary files left by a writer that crashed before its rename are garbage: remove them.
  const stale = yield* fs.readDirectory(dir).pipe(Effect.orElseSucceed(() => [] as ReadonlyArray<string>))
  for (const name of stale) {
    if (/^checkpoint\.(safetensors|json)\.tmp-/.test(name)) yield* Effect.ignore(fs.remove(join(dir, name)))
  }
  const bytes = yield* Effect.try({
    try: () => encode(checkpoint),
    catch: (e) => new CheckpointError({ path: tensorsPath(dir), reason: e instanceof Error ? e.message : String(e) })
  })
  yield* writeAtomic(tensorsPath(dir), bytes)
  yield* writeAtomic(
    join(dir, FILE_NAMES.metadata),
    new TextEncoder().encode(JSON.stringify(checkpoint.metadata, null, 2) + "\n")
  )
})

const readTensorsFile = (dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = tensorsPath(dir)
    return yield* fs.readFile(path).pipe(
      Effect.mapError((e) =>
        new CheckpointError({
          path,
          reason: e._tag === "PlatformError" && e.reason._tag === "NotFound" ? "no checkpoint here" : e.message
        })
      )
    )
  })

/**
 * Loads the checkpoint in `dir` into trees shaped like `template` (the
 * freshly initialised params and optimiser state).
 *
 * Errors: {@link CheckpointError} (no checkpoint, unreadable or invalid
 * file), {@link CheckpointMismatch} (first tensor whose name, shape or dtype
 * does not fit, with both shapes).
 *
 * @example
 * const { params, optState, metadata } = yield* Checkpoint.load("runs/mnist", { params: init, optState: opt.init(init) })
 * @category files
 * @since 0.1.0
 */
export const load = <P, S>(
  dir: string,
  template: { readonly params: P; readonly optState: S }
): Effect.Effect<Checkpoint<P, S>, CheckpointError | CheckpointMismatch, FileSystem.FileSystem> =>
  Effect.flatMap(readTensorsFile(dir), (bytes) => decode(bytes, template, tensorsPath(dir))).pipe(
    Effect.withSpan("Checkpoint.load")
  )

/**
 * Reads only the metadata of the checkpoint in `dir` (from the safetensors
 * header).
 *
 * @example
 * const { step, epoch } = yield* Checkpoint.readMetadata("runs/mnist")
 * @category files
 * @since 0.1.0
 */
export const readMetadata = (dir: string): Effect.Effect<Metadata, CheckpointError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const bytes = yield* readTensorsFile(dir)
    const file = yield* decodeFile(tensorsPath(dir), bytes)
    return yield* parseMetadata(tensorsPath(dir), file)
  })

/**
 * Whether `dir` holds a checkpoint file.
 *
 * @example
 * if (yield* Checkpoint.exists("runs/mnist")) { ... }
 * @category files
 * @since 0.1.0
 */
export const exists = (dir: string): Effect.Effect<boolean, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    return yield* fs.exists(tensorsPath(dir)).pipe(Effect.orElseSucceed(() => false))
  })

// ---------------------------------------------------------------------------
// An in-memory file system for tests
// ---------------------------------------------------------------------------

/**
 * A fault to inject into {@link memoryFileSystem}: fail the `rename` of (or
 * the write to) paths matching `path`.
 *
 * @since 0.1.0
 */
export interface Fault {
  readonly operation: "write" | "rename"
  readonly path: RegExp
}

const notFound = (method: string, path: string) =>
  PlatformError.systemError({ _tag: "NotFound", module: "FileSystem", method, pathOrDescriptor: path })

/**
 * An in-memory `FileSystem` implementing what checkpoints use (`open` for
 * writing with `writeAll`/`sync`, `readFile`, `rename`, `remove`, `exists`,
 * `makeDirectory`, `readDirectory`), with optional injected faults. `files`
 * is the backing map, for inspection.
 *
 * @example
 * const memory = Checkpoint.memoryFileSystem()
 * yield* Checkpoint.save("run", ckpt).pipe(Effect.provideService(FileSystem.FileSystem, memory.fileSystem))
 * @category testing
 * @since 0.1.0
 */
export const memoryFileSystem = (options: { readonly faults?: ReadonlyArray<Fault> } = {}): {
  readonly files: Map<string, Uint8Array>
  readonly fileSystem: FileSystem.FileSystem
} => {
  const files = new Map<string, Uint8Array>()
  const faulty = (operation: Fault["operation"], path: string) =>
    (options.faults ?? []).some((f) => f.operation === operation && f.path.test(path))
  const injected = (method: string, path: string) =>
    PlatformError.systemError({
      _tag: "Unknown",
      module: "FileSystem",
      method,
      pathOrDescriptor: path,
      description: "injected fault"
    })
  const fileSystem = FileSystem.makeNoop({
    exists: (path) => Effect.succeed(files.has(path)),
    makeDirectory: () => Effect.void,
    readFile: (path) => {
      const f = files.get(path)
      return f === undefined ? Effect.fail(notFound("readFile", path)) : Effect.succeed(f.slice())
    },
    readDirectory: (path) =>
      Effect.succeed([...files.keys()].filter((p) => p.startsWith(path + "/")).map((p) => p.slice(path.length + 1))),
    remove: (path) => Effect.sync(() => void files.delete(path)),
    rename: (from, to) => {
      if (faulty("rename", to)) return Effect.fail(injected("rename", to))
      const f = files.get(from)
      if (f === undefined) return Effect.fail(notFound("rename", from))
      return Effect.sync(() => {
        files.delete(from)
        files.set(to, f)
      })
    },
    open: (path, openOptions) =>
      Effect.sync(() => {
        const isWrite = openOptions?.flag !== undefined && openOptions.flag !== "r"
        if (isWrite) files.set(path, new Uint8Array(0))
        const append = (buffer: Uint8Array) =>
          Effect.suspend(() => {
            if (faulty("write", path)) return Effect.fail(injected("write", path))
            const old = files.get(path) ?? new Uint8Array(0)
            const next = new Uint8Array(old.length + buffer.length)
            next.set(old)
            next.set(buffer, old.length)
            files.set(path, next)
            return Effect.succeed(buffer.length)
          })
        const file: FileSystem.File = {
          [FileSystem.FileTypeId]: FileSystem.FileTypeId,
          stat: Effect.die("not implemented"),
          seek: () => Effect.die("not implemented"),
          sync: Effect.void,
          read: () => Effect.die("not implemented"),
          readAlloc: () => Effect.succeed(Option.none()),
          truncate: () => Effect.die("not implemented"),
          write: append,
          writeAll: (buffer) => Effect.asVoid(append(buffer))
        }
        return file
      })
  })
  return { files, fileSystem }
}

/**
 * {@link memoryFileSystem} as a `Layer` (with optional faults).
 *
 * @example
 * it.effect("saves", () => program.pipe(Effect.provide(Checkpoint.layerMemoryFileSystem())))
 * @category testing
 * @since 0.1.0
 */
export const layerMemoryFileSystem = (options: { readonly faults?: ReadonlyArray<Fault> } = {}) =>
  Layer.succeed(FileSystem.FileSystem)(memoryFileSystem(options).fileSystem)

/**
 * Loads only the parameters (and metadata) of the checkpoint in `dir`, for
 * inference: the optimiser state in the file is not read. Same errors as
 * {@link load}.
 *
 * @example
 * const { params, metadata } = yield* Checkpoint.loadParams("runs/mnist", model.init(key, [784]).params)
 * @category files
 * @since 0.1.0
 */
export const loadParams = <P>(
  dir: string,
  template: P
): Effect.Effect<{ readonly params: P; readonly metadata: Metadata }, CheckpointError | CheckpointMismatch, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const path = tensorsPath(dir)
    const bytes = yield* readTensorsFile(dir)
    const file = yield* decodeFile(path, bytes)
    const metadata = yield* parseMetadata(path, file)
    const params = fromTensors(template, file.tensors, PARAMS)
    if (!("tree" in params)) return yield* new CheckpointMismatch({ path, ...params })
    return { params: params.tree, metadata }
  })
