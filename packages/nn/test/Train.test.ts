import { assert, describe, it } from "@effect/vitest"
import { jit, NdArray, Random, Tree, valueAndGrad } from "@gradfx/core"
import { Batches, Dataset } from "@gradfx/data"
import { Effect, Exit, FileSystem, Layer, Logger } from "effect"
import * as Checkpoint from "../src/Checkpoint.js"
import * as Train from "../src/Train.js"

type Params = { readonly w: NdArray; readonly b: NdArray }
type Momentum = { readonly v: Params; readonly count: number }
type Batch = Dataset.Batch<"x" | "y">

const data = Dataset.astype(Dataset.astype(Dataset.linearRegression({ seed: 1, n: 50 }), "x", "float32"), "y", "float32")
const init = (): { params: Params; optState: Momentum } => {
  const params = { w: Random.normal(Random.key(7), [2]), b: NdArray.zeros([]) }
  return { params, optState: { v: Tree.map(params, (p: NdArray) => NdArray.zerosLike(p)), count: 0 } }
}

const loss = (p: Params, x: NdArray, y: NdArray) =>
  NdArray.mean(NdArray.square(NdArray.sub(NdArray.add(NdArray.matmul(x, p.w), p.b), y)))
const lossAndGrad = valueAndGrad(loss)

/** SGD with momentum and input dropout (so the per-step key matters). */
const step: Train.StepFn<Params, Momentum, Batch> = (params, opt, { x, y }, { key }) => {
  const keep = NdArray.astype(Random.bernoulli(key, 0.9, x.shape), "float32")
  const [value, g] = lossAndGrad(params, NdArray.div(NdArray.mul(x, keep), 0.9), y)
  const v = Tree.map(opt.v, (vi: NdArray, gi: NdArray) => NdArray.add(NdArray.mul(vi, 0.9), gi), g) as Params
  const next = Tree.map(params, (p: NdArray, vi: NdArray) => NdArray.sub(p, NdArray.mul(vi, 2e-4)), v) as Params
  return { params: next, optState: { v, count: opt.count + 1 }, loss: value, metrics: { half: NdArray.mul(value, 0.5) } }
}

const evaluate = (params: Params) => Batches.mean(data, { batchSize: 20 }, ({ x, y }) => ({ mse: loss(params, x, y) }))

const config = { epochs: 4, batchSize: 8, seed: 3, checkpointDir: "run", learningRate: 2e-4 }

const memoryLayer = () => {
  const memory = Checkpoint.memoryFileSystem()
  return { memory, layer: Layer.succeed(FileSystem.FileSystem)(memory.fileSystem) }
}

const bits = (tree: unknown) => Tree.leaves(tree).map((l) => (typeof l === "number" ? [l] : Array.from(l.data())))

describe("Train.train", () => {
  it.effect("runs the epochs, lowers the loss, evaluates between epochs and reports in order", () => {
    const events: Array<Train.TrainEvent> = []
    const { memory, layer } = memoryLayer()
    return Effect.gen(function*() {
      const result = yield* Train.train({ config, init: init(), step, data: Batches.source(data), evaluate })
      assert.strictEqual(result.epochs, 4)
      assert.strictEqual(result.step, 4 * 7)
      assert.strictEqual(result.stopReason, "completed")
      assert.strictEqual(result.history.length, 4)
      const first = result.history[0]
      const last = result.history[3]
      assert.isBelow(last.validation.mse, first.validation.mse)
      assert.isBelow(last.train.loss, first.train.loss)
      assert.closeTo(last.train.half, last.train.loss / 2, 1e-6)
      assert.strictEqual(result.optState.count, 28)
      const tags = events.map((e) => e._tag).filter((t) => t !== "Step")
      assert.deepStrictEqual(tags.slice(0, 2), ["RunStart", "EpochStart"])
      assert.deepStrictEqual(tags.slice(-3), ["EpochEnd", "CheckpointSaved", "RunEnd"])
      assert.strictEqual(events.filter((e) => e._tag === "Step").length, 28)
      assert.isTrue(memory.files.has("run/checkpoint.safetensors"))
    }).pipe(Effect.provide(Layer.merge(layer, Train.Reporter.callback((e) => events.push(e)))))
  })

  it.effect("an interrupted run writes a loadable checkpoint, and resuming it gives exactly the uninterrupted result", () =>
    Effect.gen(function*() {
      const straight = memoryLayer()
      const full = yield* Train.train({ config, init: init(), step, data: Batches.source(data), evaluate }).pipe(
        Effect.provide(Layer.merge(straight.layer, Train.Reporter.silent))
      )

      // Interrupt in the middle of epoch 2 (step 10 = epoch 1, batch 3), as Ctrl-C would.
      const resumable = memoryLayer()
      const events: Array<Train.TrainEvent> = []
      const interruptingReporter = Layer.succeed(Train.Reporter)(Train.Reporter.of({
        report: (event) =>
          Effect.suspend(() => {
            events.push(event)
            return event._tag === "Step" && event.step === 10 ? Effect.interrupt : Effect.void
          })
      }))
      const exit = yield* Effect.exit(
        Train.train({ config, init: init(), step, data: Batches.source(data), evaluate }).pipe(
          Effect.provide(Layer.merge(resumable.layer, interruptingReporter))
        )
      )
      assert.isTrue(Exit.hasInterrupts(exit))
      const interrupted = events.find((e) => e._tag === "Interrupted")
      assert.deepInclude(interrupted, { step: 11, epoch: 1, batch: 4, checkpointDir: "run" })
      const saved = yield* Checkpoint.load("run", init()).pipe(
        Effect.provideService(FileSystem.FileSystem, resumable.memory.fileSystem)
      )
      assert.deepInclude(saved.metadata, { step: 11, epoch: 1, batch: 4, seed: 3 })
      assert.strictEqual(saved.optState.count, 11)

      const resumed = yield* Train.train({ config, init: init(), step, data: Batches.source(data), evaluate, resume: true }).pipe(
        Effect.provide(Layer.merge(resumable.layer, Train.Reporter.silent))
      )
      assert.strictEqual(resumed.step, full.step)
      assert.deepStrictEqual(bits(resumed.params), bits(full.params))
      assert.deepStrictEqual(bits(resumed.optState), bits(full.optState))
      assert.deepStrictEqual(resumed.history.map((r) => r.train), full.history.map((r) => r.train))
      assert.deepStrictEqual(resumed.history.map((r) => r.validation), full.history.map((r) => r.validation))

      // A different seed gives different parameters (the comparison above is not vacuous).
      const other = yield* Train.train({ config: { ...config, seed: 4, checkpointDir: undefined }, init: init(), step, data: Batches.source(data) }).pipe(
        Effect.provide(Layer.merge(memoryLayer().layer, Train.Reporter.silent))
      )
      assert.notDeepEqual(bits(other.params), bits(full.params))
    }))

  it.effect("resuming into a model of another shape fails with CheckpointMismatch", () => {
    const { layer } = memoryLayer()
    return Effect.gen(function*() {
      yield* Train.train({ config: { ...config, epochs: 1 }, init: init(), step, data: Batches.source(data) })
      const wrong = { params: { w: NdArray.zeros([3]), b: NdArray.zeros([]) }, optState: init().optState }
      const error = yield* Effect.flip(Train.train({ config, init: wrong, step, data: Batches.source(data), resume: true }))
      assert.deepInclude(error, { _tag: "CheckpointMismatch", tensor: "params.w", expected: "float32[3]", actual: "float32[2]" })
    }).pipe(Effect.provide(Layer.merge(layer, Train.Reporter.silent)))
  })

  it.effect("a non-finite loss fails the run naming the step and epoch, or is skipped with onNonFinite: skip", () => {
    const { layer } = memoryLayer()
    const poisoned: Train.StepFn<Params, Momentum, Batch> = (p, o, b, c) => {
      const out = step(p, o, b, c)
      return c.step === 9 ? { ...out, loss: NaN, params: Tree.map(p, (x: NdArray) => NdArray.mul(x, NaN)) as Params } : out
    }
    const events: Array<Train.TrainEvent> = []
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Train.train({ config: { ...config, checkpointDir: undefined }, init: init(), step: poisoned, data: Batches.source(data) }))
      assert.deepInclude(error, { _tag: "NonFiniteLoss", step: 9, epoch: 1, batch: 2 })
      assert.match(error.message, /step 9 \(epoch 2, batch 3\)/)
      const skipped = yield* Train.train({
        config: { ...config, checkpointDir: undefined, onNonFinite: "skip" as const },
        init: init(),
        step: poisoned,
        data: Batches.source(data)
      })
      assert.strictEqual(skipped.history[1].skipped, 1)
      assert.isTrue(Tree.leaves(skipped.params).every((l) => Array.from((l as NdArray).data()).every(Number.isFinite)))
      assert.isTrue(events.some((e) => e._tag === "Skipped" && e.step === 9))
    }).pipe(Effect.provide(Layer.merge(layer, Train.Reporter.callback((e) => events.push(e)))))
  })

  it.effect("early stopping ends the run when the validation metric stops improving", () => {
    const { layer } = memoryLayer()
    let calls = 0
    const scores = [0.5, 0.7, 0.6, 0.65, 0.69, 0.9]
    return Effect.gen(function*() {
      const result = yield* Train.train({
        config: { ...config, epochs: 6, checkpointDir: undefined, earlyStopping: { metric: "accuracy", mode: "max" as const, patience: 2 } },
        init: init(),
        step,
        data: Batches.source(data),
        evaluate: () => Effect.succeed({ accuracy: scores[calls++] })
      })
      assert.strictEqual(result.stopReason, "earlyStopping")
      assert.strictEqual(result.epochs, 4)
      assert.deepStrictEqual(result.best, { epoch: 1, metric: "accuracy", value: 0.7 })
    }).pipe(Effect.provide(Layer.merge(layer, Train.Reporter.silent)))
  })

  it.effect("early stopping with restoreBest returns the best epoch's params, also after an interrupted run is resumed", () =>
    Effect.gen(function*() {
      const scores = [0.5, 0.7, 0.6, 0.65, 0.69, 0.9]
      const run = (restoreBest: boolean, seen: Array<Params>) => ({
        config: { ...config, epochs: 6, earlyStopping: { metric: "accuracy", mode: "max" as const, patience: 2, restoreBest } },
        init: init(),
        step,
        data: Batches.source(data),
        evaluate: (p: Params) => Effect.sync(() => ({ accuracy: scores[seen.push(p) - 1] }))
      })
      const lastSeen: Array<Params> = []
      const last = yield* Train.train(run(false, lastSeen)).pipe(Effect.provide(Layer.merge(memoryLayer().layer, Train.Reporter.silent)))
      assert.deepStrictEqual(bits(last.params), bits(lastSeen[3]))
      const seen: Array<Params> = []
      const best = yield* Train.train(run(true, seen)).pipe(Effect.provide(Layer.merge(memoryLayer().layer, Train.Reporter.silent)))
      assert.strictEqual(best.stopReason, "earlyStopping")
      assert.deepStrictEqual(bits(best.params), bits(seen[1])) // epoch 2 (index 1) scored best
      assert.notDeepEqual(bits(seen[1]), bits(seen[3]))
      assert.deepStrictEqual(bits(best.optState), bits(last.optState)) // the optimiser state is the last one

      // interrupted in epoch 3 (after the best epoch), then resumed: the best params come from the checkpoint
      const resumable = memoryLayer()
      const interrupting = Layer.succeed(Train.Reporter)(Train.Reporter.of({
        report: (event) => (event._tag === "Step" && event.step === 16 ? Effect.interrupt : Effect.void)
      }))
      const seenBefore: Array<Params> = []
      const exit = yield* Effect.exit(Train.train(run(true, seenBefore)).pipe(Effect.provide(Layer.merge(resumable.layer, interrupting))))
      assert.isTrue(Exit.hasInterrupts(exit))
      const saved = yield* Checkpoint.load("run", init()).pipe(Effect.provideService(FileSystem.FileSystem, resumable.memory.fileSystem))
      assert.deepStrictEqual(bits(saved.bestParams), bits(seen[1]))
      const seenAfter: Array<Params> = []
      const calls = seenBefore.length
      const resumed = yield* Train.train({ ...run(true, seenAfter), evaluate: (p: Params) => Effect.sync(() => ({ accuracy: scores[calls + seenAfter.push(p) - 1] })), resume: true }).pipe(
        Effect.provide(Layer.merge(resumable.layer, Train.Reporter.silent))
      )
      assert.deepStrictEqual(bits(resumed.params), bits(seen[1]))
      assert.deepStrictEqual(resumed.best, { epoch: 1, metric: "accuracy", value: 0.7 })
    }))

  it.effect("restoreBest works with a jitted step that donates its params (the best ones are copied)", () =>
    Effect.gen(function*() {
      const sgdStep = jit(
        (p: Params, x: NdArray, y: NdArray) => {
          const [value, g] = lossAndGrad(p, x, y)
          return [Tree.map(p, (w: NdArray, gw: NdArray) => NdArray.sub(w, NdArray.mul(gw, 0.01)), g) as Params, value] as const
        },
        { donateArgnums: [0] }
      )
      const donating: Train.StepFn<Params, Momentum, Batch> = (p, o, { x, y }) => {
        const [next, value] = sgdStep(p, x, y)
        return { params: next, optState: o, loss: value }
      }
      const scores = [0.5, 0.7, 0.6, 0.65]
      const seen: Array<Array<Array<number>>> = []
      const result = yield* Train.train({
        config: { ...config, epochs: 4, checkpointDir: undefined, earlyStopping: { metric: "accuracy", mode: "max" as const, patience: 5, restoreBest: true } },
        init: init(),
        step: donating,
        data: Batches.source(data),
        evaluate: (p: Params) => Effect.sync(() => ({ accuracy: scores[seen.push(bits(p)) - 1] }))
      })
      assert.strictEqual(result.stopReason, "completed")
      assert.deepStrictEqual(bits(result.params), seen[1])
      assert.notDeepEqual(seen[1], seen[3])
    }).pipe(Effect.provide(Layer.merge(memoryLayer().layer, Train.Reporter.silent))))

  it.effect("a thrown step error becomes StepFailed", () => {
    const { layer } = memoryLayer()
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Train.train({
        config: { ...config, checkpointDir: undefined },
        init: init(),
        step: (p: Params, o: Momentum, b: Batch) => ({ params: p, optState: o, loss: NdArray.sum(NdArray.add(b.x, NdArray.zeros([3]))) }),
        data: Batches.source(data)
      }))
      assert.strictEqual(error._tag, "StepFailed")
      assert.match(error.message, /step 0 \(epoch 1\) failed/)
    }).pipe(Effect.provide(Layer.merge(layer, Train.Reporter.silent)))
  })
})

describe("Train config", () => {
  it.effect("is validated with readable errors", () =>
    Effect.gen(function*() {
      const negative = yield* Effect.flip(Train.decodeConfig(Train.TrainConfig, { epochs: 2, batchSize: 8, learningRate: -1 }))
      assert.match(negative.message, /learningRate: expected a value greater than 0/)
      const unknown = yield* Effect.flip(Train.decodeConfig(Train.TrainConfig, { epochs: 2, batchSize: 8, lr: 0.1 }))
      assert.match(unknown.message, /unknown field "lr"/)
      const nested = yield* Effect.flip(Train.decodeConfig(Train.TrainConfig, {
        epochs: 0,
        batchSize: 8,
        earlyStopping: { metric: "loss", mode: "min", patience: 0 }
      }))
      assert.match(nested.message, /epochs: expected a value greater than or equal to 1/)
      assert.match(nested.message, /earlyStopping\.patience/)
      const ok = yield* Train.decodeConfig(Train.TrainConfig, { epochs: 2, batchSize: 8 })
      assert.deepStrictEqual(ok, { epochs: 2, batchSize: 8 })
      // train itself refuses a bad config before doing anything
      const refused = yield* Effect.flip(Train.train({ config: { epochs: 1, batchSize: -4 }, init: init(), step, data: Batches.source(data) }).pipe(
        Effect.provide(Layer.merge(memoryLayer().layer, Train.Reporter.silent))
      ))
      assert.strictEqual(refused._tag, "InvalidConfig")
    }))
})

const getReporter = Effect.gen(function*() {
  return yield* Train.Reporter
})

describe("Train reporters", () => {
  const stepEvent = {
    _tag: "Step" as const,
    epoch: 0,
    epochs: 5,
    batch: 389,
    steps: 782,
    step: 389,
    loss: 0.3,
    meanLoss: 0.25,
    examples: 25_000,
    examplesPerEpoch: 50_000,
    seconds: 5
  }

  it("formats a progress line with items/s, loss and ETA", () => {
    const line = Train.formatProgress(stepEvent, 10)
    assert.match(line, /^epoch 1\/5 \[█████░░░░░\]  49% 25,000\/50,000 5,000 ex\/s loss 0\.2500 ETA 0:05$/)
  })

  it.effect("the TTY reporter redraws one line; the plain one logs periodic lines", () =>
    Effect.gen(function*() {
      const written: Array<string> = []
      const stream = { write: (s: string) => written.push(s), columns: 120 } as unknown as NodeJS.WriteStream
      const tty = yield* Effect.provide(getReporter, Train.Reporter.tty({ stream, refreshMs: 0 }))
      yield* tty.report(stepEvent)
      yield* tty.report({ ...stepEvent, batch: 781, examples: 50_000 })
      assert.strictEqual(written.length, 2)
      assert.isTrue(written.every((w) => w.startsWith("\r\x1b[2K")))
      assert.match(written[1], /100%/)
      const logs: Array<unknown> = []
      const plain = yield* Effect.provide(getReporter, Train.Reporter.plain({ everySeconds: 10 }))
      const logger = Logger.make(({ message }) => logs.push(message))
      yield* Effect.gen(function*() {
        yield* plain.report({ _tag: "EpochStart", epoch: 0, epochs: 5, steps: 782, startBatch: 0 })
        yield* plain.report({ ...stepEvent, seconds: 3 })
        yield* plain.report({ ...stepEvent, seconds: 11 })
        yield* plain.report({ ...stepEvent, seconds: 12 })
        yield* plain.report({ _tag: "Interrupted", step: 3, epoch: 0, batch: 3, checkpointDir: "d" })
      }).pipe(Effect.provide(Logger.layer([logger])))
      assert.strictEqual(logs.length, 2)
      assert.match(String(logs[0]), /ETA/)
      assert.match(String(logs[1]), /checkpoint written to d; resume/)
    }))
})
