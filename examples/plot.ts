/**
 * Plots for the examples: a figure is a Vega-Lite spec, compiled to Vega and
 * rendered headless (`renderer: "none"`) to an SVG string. `writePlots` saves
 * a record of figures as `examples/out/<example>/<name>.svg` through the
 * platform `FileSystem`, so programs run under `NodeRuntime.runMain` and
 * tests can render without touching the disk.
 *
 * The chart helpers cover what the lessons draw with matplotlib: line charts
 * of one or more series (`plt.plot`), scatter plots by class, and quiver
 * plots of a vector field (`plt.quiver`).
 *
 * @since 0.1.0
 */
import { Effect, FileSystem, Path } from "effect"
import * as vega from "vega"
import { compile, type TopLevelSpec } from "vega-lite"
import { fileURLToPath } from "node:url"

/** A Vega-Lite figure. */
export type Figure = TopLevelSpec

/** The folder figures are written to: `examples/out/<example>` (gitignored). */
export const outDir = (example: string): string => fileURLToPath(new URL(`./out/${example}/`, import.meta.url))

/**
 * Render one Vega-Lite spec to an SVG document.
 *
 * @example
 * const svg = await renderSvg(lineChart({ title: "loss", series: { loss: [3, 2, 1] } }))
 * @since 0.1.0
 */
export const renderSvg = async (spec: Figure): Promise<string> => {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/** `renderSvg` as an Effect (a failure is a defect: a bad spec is a bug in the example). */
export const render = (spec: Figure): Effect.Effect<string> => Effect.promise(() => renderSvg(spec))

/**
 * Render every figure of `figures` and write it to `outDir(example)/<name>.svg`;
 * returns the written paths.
 *
 * @since 0.1.0
 */
export const writePlots = Effect.fn("plot/write")(function* (example: string, figures: Readonly<Record<string, Figure>>) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const dir = outDir(example)
  yield* fs.makeDirectory(dir, { recursive: true })
  const written: Array<string> = []
  for (const [name, spec] of Object.entries(figures)) {
    const svg = yield* render(spec)
    const file = path.join(dir, `${name}.svg`)
    yield* fs.writeFileString(file, svg)
    written.push(file)
  }
  yield* Effect.log(`wrote ${written.length} plot(s) to ${dir}`)
  return written
})

// ---------------------------------------------------------------------------
// Chart helpers

const size = { width: 480, height: 320 } as const

/** Rows `{ x, y, series }` from named series of y values (x = index) or of [x, y] points. */
const rowsOf = (series: Readonly<Record<string, ReadonlyArray<number> | ReadonlyArray<readonly [number, number]>>>) =>
  Object.entries(series).flatMap(([name, values]) =>
    (values as ReadonlyArray<number | readonly [number, number]>).map((v, i) =>
      typeof v === "number" ? { x: i, y: v, series: name } : { x: v[0], y: v[1], series: name }
    )
  )

/**
 * A line chart of named series: each a list of y values (plotted against
 * their index, as `plt.plot(ys)`) or of `[x, y]` points.
 *
 * @since 0.1.0
 */
export const lineChart = (options: {
  readonly title: string
  readonly series: Readonly<Record<string, ReadonlyArray<number> | ReadonlyArray<readonly [number, number]>>>
  readonly xTitle?: string
  readonly yTitle?: string
  readonly yScale?: "linear" | "log"
}): Figure => ({
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  title: options.title,
  ...size,
  data: { values: rowsOf(options.series) },
  mark: { type: "line", clip: true },
  encoding: {
    x: { field: "x", type: "quantitative", title: options.xTitle ?? "x" },
    y: { field: "y", type: "quantitative", title: options.yTitle ?? "y", scale: options.yScale === "log" ? { type: "log" } : { zero: false } },
    color: { field: "series", type: "nominal", title: null }
  }
})

/**
 * Several line charts side by side (`plt.subplot`), one per entry.
 *
 * @since 0.1.0
 */
export const panels = (title: string, charts: ReadonlyArray<Figure>): Figure =>
  ({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    hconcat: charts.map((c) => {
      const { $schema: _, ...rest } = c as unknown as Record<string, unknown>
      return { ...rest, width: 360, height: 280 }
    })
  }) as Figure

/**
 * A scatter plot of points `{ x, y, label }`, coloured and shaped by label
 * (the lesson's "class 1"/"class 0", "true positives"/"false negatives" …).
 *
 * @since 0.1.0
 */
export const scatter = (options: {
  readonly title: string
  readonly points: ReadonlyArray<{ readonly x: number; readonly y: number; readonly label: string }>
  readonly xTitle?: string
  readonly yTitle?: string
  readonly domain?: readonly [number, number]
}): Figure => ({
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  title: options.title,
  width: 400,
  height: 400,
  data: { values: options.points.map((p) => ({ ...p })) },
  mark: { type: "point", filled: true, size: 30 },
  encoding: {
    x: { field: "x", type: "quantitative", title: options.xTitle ?? "x₁", scale: options.domain ? { domain: [...options.domain] } : { zero: false } },
    y: { field: "y", type: "quantitative", title: options.yTitle ?? "x₂", scale: options.domain ? { domain: [...options.domain] } : { zero: false } },
    color: { field: "label", type: "nominal", title: null },
    shape: { field: "label", type: "nominal", title: null }
  }
})

/**
 * A quiver plot (`plt.quiver`): an arrow from each `(x, y)` along `(u, v)`,
 * scaled so the longest arrow spans `maxLength` data units. Each arrow is a
 * rule plus a triangle head turned along the arrow.
 *
 * @since 0.1.0
 */
export const quiver = (options: {
  readonly title: string
  readonly arrows: ReadonlyArray<{ readonly x: number; readonly y: number; readonly u: number; readonly v: number }>
  readonly maxLength?: number
  readonly domain?: readonly [number, number]
  readonly xTitle?: string
  readonly yTitle?: string
}): Figure => {
  const longest = Math.max(...options.arrows.map((a) => Math.hypot(a.u, a.v)), 1e-12)
  const scale = (options.maxLength ?? 0.2) / longest
  const values = options.arrows.map((a) => ({
    x: a.x,
    y: a.y,
    x2: a.x + a.u * scale,
    y2: a.y + a.v * scale,
    // Vega's angle is clockwise from "up", in degrees; screen y points down
    angle: 90 - (Math.atan2(a.v, a.u) * 180) / Math.PI
  }))
  const domain = options.domain ? { domain: [...options.domain] } : { zero: false }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title,
    width: 420,
    height: 420,
    data: { values },
    layer: [
      {
        mark: { type: "rule", color: "#666666" },
        encoding: {
          x: { field: "x", type: "quantitative", scale: domain, title: options.xTitle ?? "x0" },
          y: { field: "y", type: "quantitative", scale: domain, title: options.yTitle ?? "x1" },
          x2: { field: "x2" },
          y2: { field: "y2" }
        }
      },
      {
        mark: { type: "point", shape: "triangle", filled: true, size: 25, color: "#666666" },
        encoding: {
          x: { field: "x2", type: "quantitative", scale: domain },
          y: { field: "y2", type: "quantitative", scale: domain },
          angle: { field: "angle", type: "quantitative", scale: null }
        }
      }
    ]
  } as Figure
}

/**
 * A grouped bar chart of rows `{ input, category, value }` (one group per
 * input, one bar per category).
 *
 * @since 0.1.0
 */
export const barChart = (options: {
  readonly title: string
  readonly rows: ReadonlyArray<{ readonly input: string; readonly category: string; readonly value: number }>
  readonly yTitle?: string
}): Figure => ({
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  title: options.title,
  ...size,
  data: { values: options.rows.map((r) => ({ ...r })) },
  mark: "bar",
  encoding: {
    x: { field: "input", type: "nominal", title: null },
    xOffset: { field: "category", type: "nominal" },
    y: { field: "value", type: "quantitative", title: options.yTitle ?? "probability" },
    color: { field: "category", type: "nominal", title: null }
  }
})
