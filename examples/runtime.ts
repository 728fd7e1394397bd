/**
 * What every example's `main.ts` shares: run the example's Effect at full
 * size under the Node runtime (Ctrl-C interrupts), write its figures as SVG
 * to `examples/out/<name>/`, and small helpers for reading arrays back as
 * JavaScript numbers for logging.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type { NdArray } from "@gradfx/core"
import { Effect, Layer } from "effect"
import { type Figure, writePlots } from "./plot.js"

/** The result every example returns: its figures (plots) by file name. */
export interface HasFigures {
  readonly figures: Readonly<Record<string, Figure>>
}

/** Node's file system and path services, for `writePlots`. */
export const PlatformLive = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)

/**
 * Run an example program as the process's main fiber, then write its figures.
 *
 * @since 0.1.0
 */
export const runExample = <A extends HasFigures, E>(name: string, program: Effect.Effect<A, E>): void =>
  NodeRuntime.runMain(
    Effect.gen(function* () {
      const started = Date.now()
      const result = yield* program
      yield* writePlots(name, result.figures)
      yield* Effect.log(`${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    }).pipe(Effect.provide(PlatformLive))
  )

/** The values of an array as a flat list of numbers. */
export const numbers = (x: NdArray): Array<number> => Array.from(x.data() as ArrayLike<number>)

/** A flat list formatted like NumPy's print (`digits` decimals). */
export const show = (xs: ReadonlyArray<number>, digits = 8): string => `[${xs.map((v) => v.toFixed(digits)).join(", ")}]`

/** Wall time of a synchronous computation, in seconds. */
export const timed = <A>(f: () => A): [A, number] => {
  const t0 = performance.now()
  const a = f()
  return [a, (performance.now() - t0) / 1000]
}

/** A 2-d array formatted one row per line, `digits` decimals. */
export const showMatrix = (x: NdArray, digits = 8): string => {
  const values = numbers(x)
  const columns = x.shape[x.ndim - 1]
  const lines: Array<string> = []
  for (let i = 0; i < values.length; i += columns) lines.push("  " + show(values.slice(i, i + columns), digits))
  return lines.join("\n")
}
