/**
 * The training loop as an Effect.
 *
 * The user writes a pure step, `step(params, optState, batch, context) →
 * { params, optState, loss, metrics }`, built from `valueAndGrad` and an
 * optimiser; {@link train} runs it over a stream of shuffled batches for a
 * number of epochs, evaluates between epochs, stops early on a validation
 * metric, keeps a history of metrics, checkpoints, and resumes.
 *
 * Randomness is derived, never carried: the seed's key splits into a shuffle
 * key and a step key; epoch `e` is shuffled with `foldIn(shuffleKey, e)` and
 * step `s` receives `foldIn(stepKey, s)` (for dropout). A run resumed from a
 * checkpoint therefore replays exactly the batches and keys the
 * uninterrupted run would have seen, and ends with the same parameters.
 *
 * Steps are synchronous (`@gradfx/core` is), so an interruption (Ctrl-C
 * under `runMain`, `Fiber.interrupt`) lands between two steps: the current
 * step finishes, a checkpoint of that state is written, and the run ends
 * interrupted. A non-finite loss never passes silently: it fails the run
 * with {@link NonFiniteLoss}, or with `onNonFinite: "skip"` the update is
 * dropped and reported.
 *
 * Progress and metrics go to the {@link Reporter} service: {@link
 * Reporter.tty} (a progress bar per epoch), {@link Reporter.plain} (periodic
 * lines through Effect's `Logger`, for CI), {@link Reporter.auto} (picks one),
 * or any custom implementation ({@link Reporter.callback}).
 *
 * @since 0.1.0
 */
import { NdArray, Random, Tree } from "@gradfx/core"
import { Clock, Context, Data, Effect, type FileSystem, Layer, Schema, Stream } from "effect"
import * as Checkpoint from "./Checkpoint.js"

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

const PositiveInt = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1)))
const NonNegativeInt = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))

/**
 * Early stopping: stop when the validation `metric` has not improved (by
 * more than `minDelta`, default 0) for `patience` epochs; `mode` says
 * whether larger (`"max"`, e.g. accuracy) or smaller (`"min"`, e.g. loss) is
 * better. With `restoreBest` (default false, as Keras's
 * `restore_best_weights`) the run returns the parameters of the best epoch
 * instead of the last one; checkpoints then carry them too, so a resumed
 * run still can.
 *
 * @category config
 * @since 0.1.0
 */
export const EarlyStopping = Schema.Struct({
  metric: Schema.String,
  mode: Schema.Literals(["min", "max"]),
  patience: PositiveInt,
  minDelta: Schema.optional(Schema.Finite.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))),
  restoreBest: Schema.optional(Schema.Boolean)
})

/**
 * The training configuration, validated before a run starts.
 *
 * - `epochs` (≥ 1), `batchSize` (≥ 1), `seed` (integer, default 0).
 * - `learningRate` (> 0, optional): recorded with checkpoints; the step
 *   function's optimiser uses it.
 * - `dropLast` (default false), `prefetch` (batches built ahead, default 0).
 * - `onNonFinite`: `"fail"` (default) or `"skip"` a step whose loss is NaN/±∞.
 * - `earlyStopping`: see {@link EarlyStopping}.
 * - `checkpointDir`: write a checkpoint there after every
 *   `checkpointEvery` epochs (default 1), at the end, and on interruption.
 *
 * Extend it for an application with `Schema.Struct({ ...TrainConfig.fields, … })`.
 *
 * @example
 * const config = yield* Train.decodeConfig(Train.TrainConfig, { epochs: 5, batchSize: 64, learningRate: 1e-3 })
 * @category config
 * @since 0.1.0
 */
export const TrainConfig = Schema.Struct({
  epochs: PositiveInt,
  batchSize: PositiveInt,
  seed: Schema.optional(Schema.Int),
  learningRate: Schema.optional(Schema.Finite.pipe(Schema.check(Schema.isGreaterThan(0)))),
  dropLast: Schema.optional(Schema.Boolean),
  prefetch: Schema.optional(NonNegativeInt),
  onNonFinite: Schema.optional(Schema.Literals(["fail", "skip"])),
  earlyStopping: Schema.optional(EarlyStopping),
  checkpointDir: Schema.optional(Schema.String),
  checkpointEvery: Schema.optional(PositiveInt)
})

/**
 * A decoded training configuration.
 *
 * @since 0.1.0
 */
export type TrainConfig = typeof TrainConfig.Type

/**
 * The configuration was rejected; `message` lists every problem, one per
 * line (`learningRate: expected a value greater than 0, got -1`,
 * `unknown field "lr"`).
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidConfig extends Data.TaggedError("InvalidConfig")<{
  readonly message: string
}> {}

const readableIssues = (message: string): string =>
  message
    .replace(/Expected no excess property\n\s*at \[("[^"]*")\]/g, (_, key) => `unknown field ${key}`)
    .replace(/(Expected [^\n]*)\n\s*at ((?:\[[^\]]*\])+)/g, (_, what: string, at: string) => {
      const path = [...at.matchAll(/\["?([^"\]]*)"?\]/g)].map((m) => m[1]).join(".")
      return `${path}: ${what.charAt(0).toLowerCase()}${what.slice(1)}`
    })

/**
 * Decodes an unknown value (parsed JSON, CLI flags) with a config schema,
 * rejecting unknown fields. Fails with {@link InvalidConfig} listing every
 * problem.
 *
 * @example
 * const error = yield* Effect.flip(Train.decodeConfig(Train.TrainConfig, { epochs: 1, batchSize: 8, lr: 0.1 }))
 * error.message // 'unknown field "lr"'
 * @category config
 * @since 0.1.0
 */
export const decodeConfig = <S extends Schema.Top>(
  schema: S,
  input: unknown
): Effect.Effect<S["Type"], InvalidConfig, S["DecodingServices"]> =>
  Schema.decodeUnknownEffect(schema)(input, { onExcessProperty: "error", errors: "all" }).pipe(
    Effect.mapError((e) => new InvalidConfig({ message: `invalid training config:\n${readableIssues(e.message)}` }))
  )

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * A step produced a loss that is NaN or ±Infinity. `step` is the global
 * step (0-based), `epoch` the epoch (0-based) and `batch` the batch within it.
 *
 * @category errors
 * @since 0.1.0
 */
export class NonFiniteLoss extends Data.TaggedError("NonFiniteLoss")<{
  readonly step: number
  readonly epoch: number
  readonly batch: number
  readonly loss: number
}> {
  /** `non-finite loss NaN at step 17 (epoch 1, batch 3); …`. */
  override get message(): string {
    return `non-finite loss ${this.loss} at step ${this.step} (epoch ${this.epoch + 1}, batch ${this.batch + 1}); ` +
      `lower the learning rate, check the data, or pass onNonFinite: "skip"`
  }
}

/**
 * The user's step (or evaluation) threw: `cause` is what was thrown (often a
 * core `ShapeError`).
 *
 * @category errors
 * @since 0.1.0
 */
export class StepFailed extends Data.TaggedError("StepFailed")<{
  readonly step: number
  readonly epoch: number
  readonly cause: unknown
}> {
  /** `step 0 (epoch 1) failed: <cause>`. */
  override get message(): string {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `step ${this.step} (epoch ${this.epoch + 1}) failed: ${cause}`
  }
}

// ---------------------------------------------------------------------------
// The step function and the data
// ---------------------------------------------------------------------------

/**
 * What a step receives besides params, state and batch: its global `step`,
 * `epoch` and `batch` numbers, and a PRNG `key` unique to the step (derived
 * from the seed and the step number; use it for dropout).
 *
 * @since 0.1.0
 */
export interface StepContext {
  readonly step: number
  readonly epoch: number
  readonly batch: number
  readonly key: Random.Key
}

/**
 * What a step returns: the new params and optimiser state, the batch loss
 * and optional extra metrics (batch means, e.g. accuracy), as scalar arrays
 * or numbers.
 *
 * @since 0.1.0
 */
export interface StepResult<P, S> {
  readonly params: P
  readonly optState: S
  readonly loss: NdArray | number
  readonly metrics?: Readonly<Record<string, NdArray | number>>
}

/**
 * A pure training step.
 *
 * @since 0.1.0
 */
export type StepFn<P, S, B> = (params: P, optState: S, batch: B, context: StepContext) => StepResult<P, S>

/**
 * The data of a run: every epoch's batches, from that epoch's key, from any
 * batch on. `@gradfx/data`'s `Batches.source(dataset)` builds one from the
 * config's batching options.
 *
 * @since 0.1.0
 */
export interface Source<B> {
  readonly examples: number
  readonly stepsPerEpoch: number
  readonly epoch: (key: Random.Key, startBatch: number) => Stream.Stream<B>
}

/**
 * Options of {@link train}.
 *
 * - `config`: a {@link TrainConfig} (extra fields are kept in checkpoints).
 * - `init`: the initial params and optimiser state (also the template that
 *   checkpoints are loaded into).
 * - `step`: the pure step.
 * - `data`: the batching options → a {@link Source}.
 * - `evaluate`: validation metrics of the params, run after every epoch.
 * - `resume`: continue from the checkpoint in `config.checkpointDir` if there
 *   is one (otherwise start afresh).
 *
 * @since 0.1.0
 */
export interface TrainOptions<P, S, B, E = never, R = never> {
  readonly config: TrainConfig
  readonly init: { readonly params: P; readonly optState: S }
  readonly step: StepFn<P, S, B>
  readonly data: (options: { readonly batchSize: number; readonly dropLast?: boolean; readonly prefetch?: number }) => Source<B>
  readonly evaluate?: (params: P) => Effect.Effect<Readonly<Record<string, number>>, E, R>
  readonly resume?: boolean
}

/**
 * The metrics of one epoch: means of the step loss and metrics over the
 * epoch's batches (`train`), the evaluation (`validation`), the number of
 * skipped (non-finite) steps, the wall time and throughput.
 *
 * @since 0.1.0
 */
export interface EpochRecord {
  readonly epoch: number
  readonly step: number
  readonly train: Readonly<Record<string, number>>
  readonly validation: Readonly<Record<string, number>>
  readonly skipped: number
  readonly seconds: number
  readonly examplesPerSecond: number
}

/**
 * The outcome of a run: final params (the best epoch's with early
 * stopping's `restoreBest`) and optimiser state, the global step, the number
 * of completed epochs, the history, and why it stopped.
 *
 * @since 0.1.0
 */
export interface TrainResult<P, S> {
  readonly params: P
  readonly optState: S
  readonly step: number
  readonly epochs: number
  readonly history: ReadonlyArray<EpochRecord>
  readonly stopReason: "completed" | "earlyStopping"
  readonly best?: { readonly epoch: number; readonly metric: string; readonly value: number }
}

// ---------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------

/**
 * Everything a run reports, in order. `Step` comes after every step (a
 * reporter throttles what it shows); times are seconds since the epoch
 * started.
 *
 * @since 0.1.0
 */
export type TrainEvent =
  | {
    readonly _tag: "RunStart"
    readonly epochs: number
    readonly stepsPerEpoch: number
    readonly examples: number
    readonly startEpoch: number
    readonly startBatch: number
    readonly resumedFrom?: string
  }
  | { readonly _tag: "EpochStart"; readonly epoch: number; readonly epochs: number; readonly steps: number; readonly startBatch: number }
  | {
    readonly _tag: "Step"
    readonly epoch: number
    readonly epochs: number
    readonly batch: number
    readonly steps: number
    readonly step: number
    readonly loss: number
    readonly meanLoss: number
    readonly examples: number
    readonly examplesPerEpoch: number
    readonly seconds: number
  }
  | { readonly _tag: "Skipped"; readonly step: number; readonly epoch: number; readonly batch: number; readonly loss: number }
  | { readonly _tag: "EpochEnd"; readonly epochs: number; readonly record: EpochRecord }
  | { readonly _tag: "CheckpointSaved"; readonly dir: string; readonly step: number; readonly epoch: number; readonly batch: number }
  | { readonly _tag: "EarlyStop"; readonly epoch: number; readonly metric: string; readonly best: number; readonly bestEpoch: number }
  | {
    readonly _tag: "Interrupted"
    readonly step: number
    readonly epoch: number
    readonly batch: number
    readonly checkpointDir?: string
  }
  | { readonly _tag: "RunEnd"; readonly step: number; readonly history: ReadonlyArray<EpochRecord> }

const fmt = (x: number, digits = 4): string =>
  Number.isFinite(x) ? (Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(2) : x.toFixed(digits)) : String(x)

const duration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--"
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = String(s % 60).padStart(2, "0")
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`
}

const metricsText = (label: string, metrics: Readonly<Record<string, number>>): string => {
  const entries = Object.entries(metrics)
  return entries.length === 0 ? "" : `${label} ${entries.map(([k, v]) => `${k} ${fmt(v)}`).join(", ")}`
}

/**
 * A one-line summary of an epoch: `epoch 2/10 (9.4 s, 5,310 ex/s): train loss 0.1203 | validation accuracy 0.9650`.
 *
 * @example
 * Train.formatEpoch(record, 10)
 * @category reporting
 * @since 0.1.0
 */
export const formatEpoch = (record: EpochRecord, epochs: number): string => {
  const parts = [metricsText("train", record.train), metricsText("validation", record.validation)].filter((p) => p !== "")
  const skipped = record.skipped > 0 ? ` [${record.skipped} non-finite steps skipped]` : ""
  return `epoch ${record.epoch + 1}/${epochs} (${record.seconds.toFixed(1)} s, ${
    Math.round(record.examplesPerSecond).toLocaleString("en-US")
  } ex/s): ${parts.join(" | ")}${skipped}`
}

/**
 * A text progress bar line: `epoch 1/5 [████████░░░░░░░░] 52% 26,000/50,000 5,321 ex/s loss 0.2311 ETA 0:04`.
 *
 * @example
 * Train.formatProgress(event, 24)
 * @category reporting
 * @since 0.1.0
 */
export const formatProgress = (event: Extract<TrainEvent, { _tag: "Step" }>, width = 24): string => {
  const done = event.batch + 1
  const fraction = Math.min(1, done / Math.max(1, event.steps))
  const filled = Math.round(fraction * width)
  const rate = event.seconds > 0 ? event.examples / event.seconds : NaN
  const remaining = event.seconds > 0 ? (event.seconds / event.examples) * (event.examplesPerEpoch - event.examples) : NaN
  return `epoch ${event.epoch + 1}/${event.epochs} [${"█".repeat(filled)}${"░".repeat(width - filled)}] ${
    String(Math.floor(fraction * 100)).padStart(3)
  }% ${event.examples.toLocaleString("en-US")}/${event.examplesPerEpoch.toLocaleString("en-US")} ${
    Number.isFinite(rate) ? Math.round(rate).toLocaleString("en-US") : "--"
  } ex/s loss ${fmt(event.meanLoss)} ETA ${duration(remaining)}`
}

const messageOf = (event: TrainEvent): string | undefined => {
  switch (event._tag) {
    case "RunStart":
      return event.resumedFrom !== undefined
        ? `resuming from ${event.resumedFrom} at epoch ${event.startEpoch + 1}, batch ${event.startBatch + 1} (${event.stepsPerEpoch} batches per epoch)`
        : `training ${event.epochs} epoch${event.epochs === 1 ? "" : "s"} of ${event.stepsPerEpoch} batches (${event.examples.toLocaleString("en-US")} examples)`
    case "EpochEnd":
      return formatEpoch(event.record, event.epochs)
    case "CheckpointSaved":
      return `checkpoint saved to ${event.dir} (step ${event.step}, ${
        event.batch === 0 ? `after epoch ${event.epoch}` : `epoch ${event.epoch + 1}, batch ${event.batch}`
      })`
    case "EarlyStop":
      return `early stopping after epoch ${event.epoch + 1}: validation ${event.metric} has not improved since epoch ${event.bestEpoch + 1} (best ${fmt(event.best)})`
    case "Interrupted":
      return event.checkpointDir !== undefined
        ? `interrupted after step ${event.step} (epoch ${event.epoch + 1}, batch ${event.batch}): checkpoint written to ${event.checkpointDir}; resume with the same command and --resume`
        : `interrupted after step ${event.step} (epoch ${event.epoch + 1}, batch ${event.batch}); no checkpoint directory was configured`
    case "Skipped":
      return `skipped step ${event.step} (epoch ${event.epoch + 1}, batch ${event.batch + 1}): non-finite loss ${event.loss}`
    default:
      return undefined
  }
}

const logEvent = (event: TrainEvent): Effect.Effect<void> => {
  const message = messageOf(event)
  if (message === undefined) return Effect.void
  return event._tag === "Interrupted" || event._tag === "Skipped" ? Effect.logWarning(message) : Effect.logInfo(message)
}

/**
 * Receives the events of a run. Swap the implementation with a `Layer`.
 *
 * @category reporting
 * @since 0.1.0
 */
export class Reporter extends Context.Service<Reporter, {
  readonly report: (event: TrainEvent) => Effect.Effect<void>
}>()("@gradfx/nn/Train/Reporter") {
  /**
   * Plain lines through Effect's `Logger`: each epoch's summary, checkpoints,
   * warnings, and a progress line every `everySeconds` (default 10) — for CI
   * logs and files.
   */
  static readonly plain = (options: { readonly everySeconds?: number } = {}): Layer.Layer<Reporter> =>
    Layer.sync(Reporter)(() => {
      const every = options.everySeconds ?? 10
      let next = every
      return Reporter.of({
        report: (event) => {
          if (event._tag === "EpochStart") next = every
          if (event._tag === "Step") {
            if (event.seconds < next) return Effect.void
            next = event.seconds + every
            return Effect.logInfo(formatProgress(event, 20))
          }
          return logEvent(event)
        }
      })
    })

  /**
   * A progress bar per epoch on a terminal (items/s, loss, ETA), redrawn at
   * most every `refreshMs` (default 100 ms) on `stream` (default stderr);
   * summaries and warnings go through the `Logger`.
   */
  static readonly tty = (
    options: { readonly stream?: NodeJS.WriteStream; readonly refreshMs?: number } = {}
  ): Layer.Layer<Reporter> =>
    Layer.sync(Reporter)(() => {
      const out = options.stream ?? process.stderr
      const refresh = options.refreshMs ?? 100
      let last = 0
      let drawn = false
      const clear = () => {
        if (drawn) out.write("\r\x1b[2K")
        drawn = false
      }
      return Reporter.of({
        report: (event) =>
          Effect.suspend(() => {
            if (event._tag === "Step") {
              const now = Date.now()
              const final = event.batch + 1 === event.steps
              if (!final && now - last < refresh) return Effect.void
              last = now
              const columns = out.columns ?? 100
              // The bar takes what the rest of the line leaves (at most 24 cells, at least 8).
              const bar = Math.max(8, Math.min(24, columns - 1 - formatProgress(event, 0).length))
              out.write(`\r\x1b[2K${formatProgress(event, bar).slice(0, columns - 1)}`)
              drawn = true
              return Effect.void
            }
            clear()
            return logEvent(event)
          })
      })
    })

  /** {@link Reporter.tty} when stderr is a terminal and `CI` is unset, {@link Reporter.plain} otherwise. */
  static readonly auto = (): Layer.Layer<Reporter> =>
    process.stderr.isTTY === true && !process.env.CI ? Reporter.tty() : Reporter.plain()

  /** Calls `f` with every event (plug in your own reporter or collect events in tests). */
  static readonly callback = (f: (event: TrainEvent) => void): Layer.Layer<Reporter> =>
    Layer.succeed(Reporter)(Reporter.of({ report: (event) => Effect.sync(() => f(event)) }))

  /** Reports nothing. */
  static readonly silent: Layer.Layer<Reporter> = Layer.succeed(Reporter)(Reporter.of({ report: () => Effect.void }))
}

// ---------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------

interface EpochProgress {
  readonly sums: Record<string, number>
  readonly count: number
  readonly skipped: number
}

interface State<P, S> {
  readonly params: P
  readonly optState: S
  readonly step: number
  readonly epoch: number
  readonly batch: number
  readonly partial: EpochProgress
  readonly history: ReadonlyArray<EpochRecord>
  readonly best?: { readonly epoch: number; readonly value: number }
  /** the params at the end of the best epoch (kept with `restoreBest`) */
  readonly bestParams?: P
  readonly stopped: boolean
}

const emptyPartial: EpochProgress = { sums: {}, count: 0, skipped: 0 }

const toNumber = (x: NdArray | number): number => (typeof x === "number" ? x : x.item())

/**
 * The keys of a run: `[shuffleKey, stepKey]` from the seed. Epoch `e`'s
 * shuffle key is `foldIn(shuffleKey, e)`; step `s`'s key is `foldIn(stepKey, s)`.
 *
 * @example
 * const [shuffleKey, stepKey] = Train.runKeys(0)
 * @category randomness
 * @since 0.1.0
 */
export const runKeys = (seed: number): [Random.Key, Random.Key] => {
  const [a, b] = Random.split(Random.key(seed), 2)
  return [a, b]
}

const yieldToEventLoop = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

const improved = (mode: "min" | "max", value: number, best: number | undefined, minDelta: number): boolean =>
  best === undefined || (mode === "max" ? value > best + minDelta : value < best - minDelta)

/**
 * Runs `step` over the batches of `config.epochs` epochs, evaluating after
 * each epoch; returns the final params, optimiser state and the history.
 *
 * Fails with {@link InvalidConfig}, {@link NonFiniteLoss} (policy `"fail"`),
 * {@link StepFailed} (the step threw), `CheckpointError` /
 * `CheckpointMismatch` (writing, or resuming from, a checkpoint), or the
 * evaluation's own errors. On interruption it finishes the current step,
 * writes a checkpoint (when `checkpointDir` is set), reports `Interrupted`
 * and ends interrupted.
 *
 * @example
 * const result = yield* Train.train({
 *   config: { epochs: 5, batchSize: 64, seed: 0, checkpointDir: "runs/mnist" },
 *   init: { params, optState: optimizer.init(params) },
 *   step,
 *   data: Batches.source(mnist.train),
 *   evaluate: (params) => Batches.mean(mnist.validation, { batchSize: 1000 }, (b) => metrics(params, b))
 * })
 * @category training
 * @since 0.1.0
 */
export const train = <P, S, B, E = never, R = never>(
  options: TrainOptions<P, S, B, E, R>
): Effect.Effect<
  TrainResult<P, S>,
  InvalidConfig | NonFiniteLoss | StepFailed | Checkpoint.CheckpointError | Checkpoint.CheckpointMismatch | E,
  Reporter | FileSystem.FileSystem | R
> =>
  Effect.gen(function*() {
    const config = yield* Schema.decodeUnknownEffect(TrainConfig)(options.config, { errors: "all" }).pipe(
      Effect.mapError((e) => new InvalidConfig({ message: `invalid training config:\n${readableIssues(e.message)}` }))
    )
    const reporter = yield* Reporter
    const seed = config.seed ?? 0
    const [shuffleKey, stepKey] = runKeys(seed)
    const source = options.data({
      batchSize: config.batchSize,
      ...(config.dropLast === undefined ? {} : { dropLast: config.dropLast }),
      ...(config.prefetch === undefined ? {} : { prefetch: config.prefetch })
    })
    const dir = config.checkpointDir
    const policy = config.onNonFinite ?? "fail"
    const early = config.earlyStopping

    let state: State<P, S> = {
      params: options.init.params,
      optState: options.init.optState,
      step: 0,
      epoch: 0,
      batch: 0,
      partial: emptyPartial,
      history: [],
      stopped: false
    }
    let resumedFrom: string | undefined
    if (options.resume === true && dir !== undefined && (yield* Checkpoint.exists(dir))) {
      const loaded = yield* Checkpoint.load(dir, options.init)
      const m = loaded.metadata
      const run = (m.run ?? {}) as {
        readonly partial?: EpochProgress
        readonly history?: ReadonlyArray<EpochRecord>
        readonly best?: { readonly epoch: number; readonly value: number }
        readonly stopped?: boolean
      }
      if (m.seed !== undefined && m.seed !== seed) {
        yield* Effect.logWarning(`resuming a run seeded with ${m.seed} using seed ${seed}: batches will differ from the original run`)
      }
      state = {
        params: loaded.params,
        optState: loaded.optState,
        step: m.step,
        epoch: m.epoch,
        batch: m.batch ?? 0,
        partial: run.partial ?? emptyPartial,
        history: run.history ?? [],
        ...(run.best === undefined ? {} : { best: run.best }),
        ...(loaded.bestParams === undefined ? {} : { bestParams: loaded.bestParams }),
        stopped: run.stopped ?? false
      }
      resumedFrom = dir
    }

    const checkpointOf = (s: State<P, S>): Checkpoint.Checkpoint<P, S> => ({
      params: s.params,
      optState: s.optState,
      ...(s.bestParams === undefined ? {} : { bestParams: s.bestParams }),
      metadata: {
        step: s.step,
        epoch: s.epoch,
        batch: s.batch,
        seed,
        key: Array.from(Random.key(seed).data()),
        config: options.config,
        metrics: s.history.at(-1) ?? null,
        run: { partial: s.partial, history: s.history, best: s.best ?? null, stopped: s.stopped }
      }
    })
    const save = (s: State<P, S>) =>
      dir === undefined ? Effect.void : Checkpoint.save(dir, checkpointOf(s)).pipe(
        Effect.andThen(reporter.report({ _tag: "CheckpointSaved", dir, step: s.step, epoch: s.epoch, batch: s.batch }))
      )

    const stepsPerEpoch = source.stepsPerEpoch
    const examplesPerEpoch = source.examples
    yield* reporter.report({
      _tag: "RunStart",
      epochs: config.epochs,
      stepsPerEpoch,
      examples: examplesPerEpoch,
      startEpoch: state.epoch,
      startBatch: state.batch,
      ...(resumedFrom === undefined ? {} : { resumedFrom })
    })

    const runEpoch = Effect.fn("train/epoch")(function*(epoch: number) {
      const startBatch = state.batch
      const started = yield* Clock.currentTimeMillis
      let lastYield = Date.now()
      let examples = 0
      yield* reporter.report({ _tag: "EpochStart", epoch, epochs: config.epochs, steps: stepsPerEpoch, startBatch })

      const trainStep = (batch: B) =>
        Effect.gen(function*() {
          // One synchronous block: the step, the finiteness check and the commit. An interruption
          // can only land before or after it, never between the update and its bookkeeping.
          const outcome = yield* Effect.sync(() => {
            const s = state
            const context: StepContext = { step: s.step, epoch, batch: s.batch, key: Random.foldIn(stepKey, s.step) }
            let result: StepResult<P, S>
            let loss: number
            let metrics: Array<[string, number]>
            try {
              result = options.step(s.params, s.optState, batch, context)
              loss = toNumber(result.loss)
              metrics = Object.entries(result.metrics ?? {}).map(([k, v]) => [k, toNumber(v)])
            } catch (cause) {
              return { _tag: "Failed", cause, step: s.step, batch: s.batch } as const
            }
            if (!Number.isFinite(loss)) {
              if (policy === "fail") return { _tag: "NonFinite", loss, step: s.step, batch: s.batch } as const
              state = {
                ...s,
                step: s.step + 1,
                batch: s.batch + 1,
                partial: { ...s.partial, skipped: s.partial.skipped + 1 }
              }
              return { _tag: "Skipped", loss, step: s.step, batch: s.batch } as const
            }
            const sums: Record<string, number> = { ...s.partial.sums, loss: (s.partial.sums.loss ?? 0) + loss }
            for (const [k, v] of metrics) sums[k] = (sums[k] ?? 0) + v
            state = {
              ...s,
              params: result.params,
              optState: result.optState,
              step: s.step + 1,
              batch: s.batch + 1,
              partial: { ...s.partial, sums, count: s.partial.count + 1 }
            }
            return { _tag: "Done", loss, step: s.step, batch: s.batch, size: batchSizeOf(batch) } as const
          })
          switch (outcome._tag) {
            case "Failed":
              return yield* new StepFailed({ step: outcome.step, epoch, cause: outcome.cause })
            case "NonFinite":
              return yield* new NonFiniteLoss({ step: outcome.step, epoch, batch: outcome.batch, loss: outcome.loss })
            case "Skipped":
              yield* reporter.report({ _tag: "Skipped", step: outcome.step, epoch, batch: outcome.batch, loss: outcome.loss })
              break
            case "Done": {
              examples += outcome.size ?? Math.round(examplesPerEpoch / stepsPerEpoch)
              const now = yield* Clock.currentTimeMillis
              yield* reporter.report({
                _tag: "Step",
                epoch,
                epochs: config.epochs,
                batch: outcome.batch,
                steps: stepsPerEpoch,
                step: outcome.step,
                loss: outcome.loss,
                meanLoss: state.partial.sums.loss / Math.max(1, state.partial.count),
                examples: Math.min(examples + Math.round((startBatch * examplesPerEpoch) / stepsPerEpoch), examplesPerEpoch),
                examplesPerEpoch,
                seconds: (now - started) / 1000
              })
            }
          }
          // Let the event loop run now and then (signal handlers, timers), so Ctrl-C lands between steps.
          if (Date.now() - lastYield > 50) {
            yield* yieldToEventLoop
            lastYield = Date.now()
          }
        })

      yield* source.epoch(Random.foldIn(shuffleKey, epoch), startBatch).pipe(Stream.runForEach(trainStep))

      const validation = options.evaluate === undefined ? {} : yield* options.evaluate(state.params)
      const finished = yield* Clock.currentTimeMillis
      const seconds = (finished - started) / 1000
      const p = state.partial
      const trainMetrics = Object.fromEntries(Object.entries(p.sums).map(([k, v]) => [k, v / Math.max(1, p.count)]))
      const record: EpochRecord = {
        epoch,
        step: state.step,
        train: trainMetrics,
        validation,
        skipped: p.skipped,
        seconds,
        examplesPerSecond: seconds > 0 ? examples / seconds : 0
      }
      let best = state.best
      let bestParams = state.bestParams
      let stopped = false
      if (early !== undefined) {
        const value = validation[early.metric] ?? record.train[early.metric]
        if (value === undefined) {
          yield* Effect.logWarning(`early stopping: no metric ${early.metric} (have ${[...Object.keys(validation), ...Object.keys(record.train)].join(", ")})`)
        } else if (improved(early.mode, value, best?.value, early.minDelta ?? 0)) {
          best = { epoch, value }
          // a copy: the step may donate the params it is given (jit's donateArgnums)
          if (early.restoreBest === true) bestParams = Tree.map(state.params, (leaf) => (NdArray.isNdArray(leaf) ? NdArray.copy(leaf) : leaf)) as P
        } else if (best !== undefined && epoch - best.epoch >= early.patience) {
          stopped = true
        }
      }
      state = {
        ...state,
        epoch: epoch + 1,
        batch: 0,
        partial: emptyPartial,
        history: [...state.history, record],
        ...(best === undefined ? {} : { best }),
        ...(bestParams === undefined ? {} : { bestParams }),
        stopped
      }
      yield* reporter.report({ _tag: "EpochEnd", epochs: config.epochs, record })
      if (stopped && early !== undefined && best !== undefined) {
        yield* reporter.report({ _tag: "EarlyStop", epoch, metric: early.metric, best: best.value, bestEpoch: best.epoch })
      }
      const every = config.checkpointEvery ?? 1
      if ((epoch + 1) % every === 0 || epoch + 1 === config.epochs || stopped) yield* save(state)
    })

    const loop = Effect.gen(function*() {
      while (state.epoch < config.epochs && !state.stopped) yield* runEpoch(state.epoch)
    })

    yield* loop.pipe(
      Effect.onInterrupt(() =>
        save(state).pipe(
          Effect.catch((e) => Effect.logError(`could not write the checkpoint on interruption: ${e.message}`)),
          Effect.andThen(reporter.report({
            _tag: "Interrupted",
            step: state.step,
            epoch: state.epoch,
            batch: state.batch,
            ...(dir === undefined ? {} : { checkpointDir: dir })
          }))
        )
      )
    )
    yield* reporter.report({ _tag: "RunEnd", step: state.step, history: state.history })
    const best = state.best
    return {
      params: early?.restoreBest === true && state.bestParams !== undefined ? state.bestParams : state.params,
      optState: state.optState,
      step: state.step,
      epochs: state.epoch,
      history: state.history,
      stopReason: state.stopped ? "earlyStopping" : "completed",
      ...(best === undefined || early === undefined ? {} : { best: { epoch: best.epoch, metric: early.metric, value: best.value } })
    } satisfies TrainResult<P, S>
  }).pipe(Effect.withSpan("train"))

/** The leading dimension of the first array found in a batch (its number of examples). */
const batchSizeOf = (batch: unknown): number | undefined => {
  if (typeof batch !== "object" || batch === null) return undefined
  if ("shape" in batch && Array.isArray((batch as NdArray).shape)) return (batch as NdArray).shape[0]
  for (const v of Object.values(batch)) {
    const n = batchSizeOf(v)
    if (n !== undefined) return n
  }
  return undefined
}
