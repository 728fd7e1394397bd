/**
 * Training curves: SVG files (Vega-Lite compiled to Vega and rendered
 * headless with `View.toSVG()`) and a compact chart for the terminal.
 *
 * `vega` and `vega-lite` are loaded lazily; when they cannot be resolved the
 * SVG is drawn by a small built-in renderer instead, so a run never fails
 * because of a plot.
 *
 * @since 0.1.0
 */
import { Effect, FileSystem } from "effect"

/**
 * Named series of values, one per epoch (`{ train: [...], validation: [...] }`).
 *
 * @since 0.1.0
 */
export type Series = Readonly<Record<string, ReadonlyArray<number>>>

/**
 * A line chart: a title, an axis label and its series (x = epoch 1, 2, …).
 *
 * @since 0.1.0
 */
export interface Chart {
  readonly title: string
  readonly yLabel: string
  readonly series: Series
}

const rows = (series: Series) =>
  Object.entries(series).flatMap(([name, values]) =>
    values.flatMap((y, i) => (Number.isFinite(y) ? [{ epoch: i + 1, value: y, series: name }] : []))
  )

/**
 * The Vega-Lite spec of a chart (points joined by lines, one colour per series).
 *
 * @example
 * const spec = Plot.vegaLiteSpec({ title: "loss", yLabel: "loss", series: { train: [0.5, 0.3] } })
 * @since 0.1.0
 */
export const vegaLiteSpec = (chart: Chart): Record<string, unknown> => ({
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  title: chart.title,
  width: 480,
  height: 300,
  background: "white",
  data: { values: rows(chart.series) },
  mark: { type: "line", point: true },
  encoding: {
    x: { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1 } },
    y: { field: "value", type: "quantitative", title: chart.yLabel, scale: { zero: false } },
    color: { field: "series", type: "nominal", title: null }
  }
})

const importOptional = async (name: string): Promise<any> => {
  try {
    return await import(name)
  } catch {
    return undefined
  }
}

/** Renders with vega / vega-lite; `undefined` when they are not installed. */
const renderWithVega = async (chart: Chart): Promise<string | undefined> => {
  const vega = await importOptional("vega")
  const vegaLite = await importOptional("vega-lite")
  if (vega === undefined || vegaLite === undefined) return undefined
  const compiled = (vegaLite.compile ?? vegaLite.default?.compile)(vegaLiteSpec(chart)).spec
  const View = vega.View ?? vega.default?.View
  const parse = vega.parse ?? vega.default?.parse
  const view = new View(parse(compiled), { renderer: "none" })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

const escapeXml = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const niceNumber = (v: number): string => {
  const a = Math.abs(v)
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? v.toExponential(1) : Number(v.toPrecision(3)).toString()
}

const PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2"]

/**
 * A self-contained SVG line chart (the fallback when vega is unavailable).
 *
 * @example
 * const svg = Plot.simpleSvg({ title: "loss", yLabel: "loss", series: { train: [0.5, 0.3] } })
 * @since 0.1.0
 */
export const simpleSvg = (chart: Chart): string => {
  const W = 560
  const H = 360
  const left = 60
  const right = 110
  const top = 36
  const bottom = 44
  const points = rows(chart.series)
  const n = Math.max(1, ...Object.values(chart.series).map((v) => v.length))
  let lo = Math.min(...points.map((p) => p.value))
  let hi = Math.max(...points.map((p) => p.value))
  if (!Number.isFinite(lo)) [lo, hi] = [0, 1]
  if (hi - lo < 1e-12) [lo, hi] = [lo - 0.5, hi + 0.5]
  const pad = (hi - lo) * 0.05
  lo -= pad
  hi += pad
  const x = (epoch: number) => left + (n === 1 ? 0.5 : (epoch - 1) / (n - 1)) * (W - left - right)
  const y = (v: number) => top + (1 - (v - lo) / (hi - lo)) * (H - top - bottom)
  const parts: Array<string> = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`)
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`)
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`)
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`)
    parts.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${niceNumber(v)}</text>`)
  }
  for (let e = 1; e <= n; e++) {
    if (n > 12 && e % Math.ceil(n / 12) !== 0 && e !== 1) continue
    parts.push(`<text x="${x(e)}" y="${H - bottom + 16}" text-anchor="middle">${e}</text>`)
  }
  parts.push(`<text x="${(left + W - right) / 2}" y="${H - 8}" text-anchor="middle">epoch</text>`)
  parts.push(`<text transform="translate(16 ${(top + H - bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`)
  Object.entries(chart.series).forEach(([name, values], k) => {
    const color = PALETTE[k % PALETTE.length]
    const pts = values.flatMap((v, i) => (Number.isFinite(v) ? [`${x(i + 1).toFixed(1)},${y(v).toFixed(1)}`] : []))
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(" ")}"/>`)
    for (const p of pts) {
      const [px, py] = p.split(",")
      parts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${color}"/>`)
    }
    const ly = top + 10 + k * 18
    parts.push(`<rect x="${W - right + 12}" y="${ly - 8}" width="10" height="10" fill="${color}"/>`)
    parts.push(`<text x="${W - right + 28}" y="${ly + 1}">${escapeXml(name)}</text>`)
  })
  parts.push("</svg>")
  return parts.join("\n") + "\n"
}

/**
 * The SVG of a chart: vega's rendering when `vega` and `vega-lite` resolve,
 * otherwise {@link simpleSvg}.
 *
 * @example
 * const svg = yield* Plot.renderSvg(chart)
 * @since 0.1.0
 */
export const renderSvg = (chart: Chart): Effect.Effect<{ readonly svg: string; readonly renderer: "vega" | "builtin" }> =>
  Effect.promise(async () => {
    const svg = await renderWithVega(chart).catch(() => undefined)
    return svg === undefined ? { svg: simpleSvg(chart), renderer: "builtin" as const } : { svg, renderer: "vega" as const }
  })

/**
 * Renders each chart to `<dir>/<name>.svg`; returns the written paths.
 *
 * @example
 * const files = yield* Plot.writeSvgs("runs/mnist-mlp", { loss: lossChart, accuracy: accuracyChart })
 * @since 0.1.0
 */
export const writeSvgs = Effect.fn("plot/writeSvgs")(function*(dir: string, charts: Readonly<Record<string, Chart>>) {
  const fs = yield* FileSystem.FileSystem
  yield* fs.makeDirectory(dir, { recursive: true })
  const written: Array<string> = []
  for (const [name, chart] of Object.entries(charts)) {
    const { svg } = yield* renderSvg(chart)
    const file = `${dir.replace(/\/$/, "")}/${name}.svg`
    yield* fs.writeFileString(file, svg)
    written.push(file)
  }
  return written
})

const MARKS = ["●", "▲", "■", "◆", "x"]

/**
 * A compact text chart of the series (one column per epoch, `height` rows,
 * y labels at the top and bottom, one marker per series and a legend).
 *
 * @example
 * console.log(Plot.terminalChart({ title: "accuracy", yLabel: "accuracy", series: { validation: [0.95, 0.97] } }))
 * @since 0.1.0
 */
export const terminalChart = (chart: Chart, options: { readonly height?: number; readonly columnWidth?: number } = {}): string => {
  const height = options.height ?? 8
  const points = rows(chart.series)
  if (points.length === 0) return `${chart.title}: no data`
  const n = Math.max(...Object.values(chart.series).map((v) => v.length))
  const step = options.columnWidth ?? Math.max(1, Math.min(4, Math.floor(48 / n)))
  let lo = Math.min(...points.map((p) => p.value))
  let hi = Math.max(...points.map((p) => p.value))
  if (hi - lo < 1e-12) [lo, hi] = [lo - 0.5, hi + 0.5]
  const width = n * step
  const grid = Array.from({ length: height }, () => Array.from({ length: width }, () => " "))
  const names = Object.keys(chart.series)
  names.forEach((name, k) => {
    chart.series[name].forEach((v, i) => {
      if (!Number.isFinite(v)) return
      const r = height - 1 - Math.round(((v - lo) / (hi - lo)) * (height - 1))
      grid[r][i * step + Math.floor((step - 1) / 2)] = MARKS[k % MARKS.length]
    })
  })
  const labels = [niceNumber(hi), niceNumber(lo)]
  const labelWidth = Math.max(...labels.map((l) => l.length))
  const lines = grid.map((row, r) => {
    const label = r === 0 ? labels[0] : r === height - 1 ? labels[1] : ""
    return `${label.padStart(labelWidth)} ┤${row.join("")}`
  })
  const axis = `${" ".repeat(labelWidth)} └${"─".repeat(width)}`
  const legend = names.map((name, k) => `${MARKS[k % MARKS.length]} ${name}`).join("  ")
  return [`${chart.title} (by epoch)   ${legend}`, ...lines, axis].join("\n")
}
