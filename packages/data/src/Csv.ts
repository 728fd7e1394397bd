/**
 * Numeric CSV files: every cell (after an optional header row) must be a
 * number. Quoted fields (`"a,b"`, with `""` for a literal quote, possibly
 * spanning lines), `\n` / `\r\n` line ends and blank lines are supported.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { CorruptData, type DatasetNotFound, readFileBytes, SchemaMismatch } from "./Errors.js"
import type { RawTensor } from "./Raw.js"

/**
 * Options of {@link parseCsv} and {@link readCsv}.
 *
 * - `header`: whether the first row holds column names. Default: detected —
 *   the first row is a header iff one of its cells is not a number.
 * - `delimiter`: field separator, default `","`.
 * - `labelColumn`: a column (by header name, or by 0-based index; negative
 *   indices count from the end) to split off as `labels`.
 *
 * @since 0.1.0
 */
export interface CsvOptions {
  readonly header?: boolean
  readonly delimiter?: string
  readonly labelColumn?: string | number
}

/**
 * A parsed numeric CSV file.
 *
 * - `columns`: names of the feature columns (header cells, or `"0"`, `"1"`,
 *   ... — the original column indices — without a header), label excluded.
 * - `features`: float64 `[rows, columns.length]`.
 * - `labels`: the label column, `[rows]`, int32 if every value is an integer
 *   in int32 range, float64 otherwise; present iff `labelColumn` was given.
 * - `labelName`: the name of the label column, present iff `labels` is.
 *
 * @since 0.1.0
 */
export interface CsvData {
  readonly columns: Array<string>
  readonly features: RawTensor
  readonly labels?: RawTensor
  readonly labelName?: string
}

interface Cell {
  readonly text: string
  readonly offset: number
}

interface Row {
  readonly cells: ReadonlyArray<Cell>
  readonly line: number
  readonly offset: number
}

/** Splits text into records of raw cells, tracking line numbers and character offsets. */
const tokenize = (
  text: string,
  delimiter: string,
  file: string
): { readonly rows: ReadonlyArray<Row> } | { readonly error: CorruptData } => {
  const rows: Array<Row> = []
  let cells: Array<Cell> = []
  let line = 1
  let rowLine = 1
  let rowOffset = 0
  let i = 0
  let cellStart = 0
  let buf = ""
  let quoted = false
  let blankRow = true
  const endCell = () => {
    cells.push({ text: buf, offset: cellStart })
    buf = ""
  }
  const endRow = () => {
    endCell()
    if (!(blankRow && cells.length === 1 && cells[0].text.trim() === "")) {
      rows.push({ cells, line: rowLine, offset: rowOffset })
    }
    cells = []
    blankRow = true
  }
  if (text.charCodeAt(0) === 0xfeff) i = cellStart = rowOffset = 1 // BOM
  while (i < text.length) {
    const c = text[i]
    if (quoted) {
      if (c === "\"") {
        if (text[i + 1] === "\"") {
          buf += "\""
          i += 2
          continue
        }
        quoted = false
        i++
        continue
      }
      if (c === "\n") line++
      buf += c
      i++
      continue
    }
    if (c === "\"" && buf.trim() === "") {
      quoted = true
      blankRow = false
      buf = ""
      i++
      continue
    }
    if (text.startsWith(delimiter, i)) {
      endCell()
      blankRow = false
      i += delimiter.length
      cellStart = i
      continue
    }
    if (c === "\n" || c === "\r") {
      endRow()
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1
      line++
      rowLine = line
      rowOffset = cellStart = i
      continue
    }
    buf += c
    i++
  }
  if (quoted) {
    return {
      error: new CorruptData({
        file,
        offset: text.length,
        expected: `a closing quote for the field opened on line ${rowLine}`,
        actual: "end of file"
      })
    }
  }
  if (!(buf === "" && cells.length === 0)) endRow()
  return { rows }
}

const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const SPECIAL: Record<string, number> = {
  nan: NaN,
  "+nan": NaN,
  "-nan": NaN,
  inf: Infinity,
  "+inf": Infinity,
  infinity: Infinity,
  "+infinity": Infinity,
  "-inf": -Infinity,
  "-infinity": -Infinity
}

/**
 * Parses one CSV cell as a number (decimal or scientific notation, or
 * `nan`/`inf`/`infinity` in any case, optionally signed); `undefined` if the
 * cell is not a number. Surrounding whitespace is ignored.
 *
 * @since 0.1.0
 */
export const parseNumber = (cell: string): number | undefined => {
  const s = cell.trim()
  if (NUMBER_RE.test(s)) return Number(s)
  const special = SPECIAL[s.toLowerCase()]
  return special === undefined ? undefined : special
}

/**
 * Parses numeric CSV text into a float64 feature matrix and an optional
 * label vector. `file` names the source in errors.
 *
 * Fails with {@link CorruptData} for a non-numeric cell or a row with the
 * wrong number of cells (naming the line, the column and the character
 * offset) or an unterminated quoted field, and with {@link SchemaMismatch} if
 * `labelColumn` matches no column (or several equally named ones),
 * `header: true` is given for empty text, or the delimiter is empty or
 * contains a quote or line break.
 *
 * @since 0.1.0
 */
export const parseCsv = (
  text: string,
  options: CsvOptions = {},
  file = "<csv>"
): Effect.Effect<CsvData, CorruptData | SchemaMismatch> =>
  Effect.suspend((): Effect.Effect<CsvData, CorruptData | SchemaMismatch> => {
    const delimiter = options.delimiter ?? ","
    if (delimiter === "" || delimiter.includes("\"") || /[\r\n]/.test(delimiter)) {
      return Effect.fail(new SchemaMismatch({ file, message: `invalid CSV delimiter ${JSON.stringify(delimiter)}` }))
    }
    const tokens = tokenize(text, delimiter, file)
    if ("error" in tokens) return Effect.fail(tokens.error)
    const rows = tokens.rows
    const first = rows[0]
    const hasHeader = options.header ??
      (first !== undefined && first.cells.some((c) => parseNumber(c.text) === undefined))
    if (hasHeader && first === undefined) {
      return Effect.fail(new SchemaMismatch({ file, message: "expected a header row, but the file is empty" }))
    }
    const width = first?.cells.length ?? 0
    const names = hasHeader ? first.cells.map((c) => c.text.trim()) : Array.from({ length: width }, (_, j) => String(j))
    const body = hasHeader ? rows.slice(1) : rows
    const colName = (j: number) => hasHeader ? `column ${j + 1} (${JSON.stringify(names[j])})` : `column ${j + 1}`

    let labelIndex: number | undefined
    if (options.labelColumn !== undefined) {
      const lc = options.labelColumn
      if (typeof lc === "number") {
        const j = lc < 0 ? width + lc : lc
        if (!Number.isInteger(lc) || j < 0 || j >= width) {
          return Effect.fail(
            new SchemaMismatch({ file, message: `label column index ${lc} is out of range for ${width} columns` })
          )
        }
        labelIndex = j
      } else {
        const matches = names.flatMap((n, j) => (n === lc ? [j] : []))
        if (matches.length !== 1) {
          return Effect.fail(
            new SchemaMismatch({
              file,
              message: matches.length === 0
                ? `label column ${JSON.stringify(lc)} not found; columns are ${names.map((n) => JSON.stringify(n)).join(", ")}${
                  hasHeader ? "" : " (no header row)"
                }`
                : `label column ${JSON.stringify(lc)} is ambiguous: it names columns ${matches.map((j) => j + 1).join(", ")}`
            })
          )
        }
        labelIndex = matches[0]
      }
    }

    const nRows = body.length
    const nFeat = labelIndex === undefined ? width : width - 1
    const features = new Float64Array(nRows * nFeat)
    const labels = labelIndex === undefined ? undefined : new Float64Array(nRows)
    let allInt = true
    for (let r = 0; r < nRows; r++) {
      const row = body[r]
      if (row.cells.length !== width) {
        return Effect.fail(
          new CorruptData({
            file,
            offset: row.offset,
            expected: `${width} cells in line ${row.line} (as in ${hasHeader ? "the header" : "the first row"})`,
            actual: `${row.cells.length}`
          })
        )
      }
      let k = 0
      for (let j = 0; j < width; j++) {
        const cell = row.cells[j]
        const v = parseNumber(cell.text)
        if (v === undefined) {
          return Effect.fail(
            new CorruptData({
              file,
              offset: cell.offset,
              expected: `a number in line ${row.line}, ${colName(j)}`,
              actual: JSON.stringify(cell.text)
            })
          )
        }
        if (j === labelIndex) {
          labels![r] = v
          if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) allInt = false
        } else features[r * nFeat + k++] = v
      }
    }
    const columns = labelIndex === undefined ? names : names.filter((_, j) => j !== labelIndex)
    const featureTensor: RawTensor = { dtype: "float64", shape: [nRows, nFeat], data: features }
    if (labels === undefined || labelIndex === undefined) return Effect.succeed({ columns, features: featureTensor })
    const labelTensor: RawTensor = allInt
      ? { dtype: "int32", shape: [nRows], data: Int32Array.from(labels) }
      : { dtype: "float64", shape: [nRows], data: labels }
    return Effect.succeed({ columns, features: featureTensor, labels: labelTensor, labelName: names[labelIndex] })
  })

/**
 * Reads a UTF-8 CSV file and parses it with {@link parseCsv}. A missing file
 * is a {@link DatasetNotFound}.
 *
 * @since 0.1.0
 */
export const readCsv = (
  path: string,
  options: CsvOptions = {}
): Effect.Effect<CsvData, DatasetNotFound | CorruptData | SchemaMismatch> =>
  Effect.flatMap(
    readFileBytes(path, "expected a CSV file"),
    (bytes) => parseCsv(new TextDecoder().decode(bytes), options, path)
  )

const quoteField = (s: string, delimiter: string): string =>
  s.includes(delimiter) || /["\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, "\"\"")}"` : s

/**
 * Formats a header and rows as CSV text (`\n` line ends, trailing newline).
 * Numbers are written with `String(n)`, which round-trips exactly through
 * {@link parseCsv}; fields containing the delimiter, quotes, line breaks or
 * surrounding spaces are quoted. Pass an empty `columns` array to omit the
 * header.
 *
 * @since 0.1.0
 */
export const formatCsv = (
  columns: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<number | string>>,
  delimiter = ","
): string => {
  const lines: Array<string> = []
  if (columns.length > 0) lines.push(columns.map((c) => quoteField(c, delimiter)).join(delimiter))
  for (const row of rows) {
    lines.push(row.map((v) => (typeof v === "number" ? String(v) : quoteField(v, delimiter))).join(delimiter))
  }
  return lines.map((l) => l + "\n").join("")
}
