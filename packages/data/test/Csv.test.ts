import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { type CsvOptions, formatCsv, parseCsv, parseNumber, readCsv } from "../src/Csv.js"
import { CorruptData, DatasetNotFound, SchemaMismatch } from "../src/Errors.js"

const parse = (text: string, options?: CsvOptions) => Effect.runSync(parseCsv(text, options, "t.csv"))
const parseError = (text: string, options?: CsvOptions) =>
  Effect.runSync(Effect.flip(parseCsv(text, options, "t.csv")))

describe("parseNumber", () => {
  it("accepts decimal, scientific and special values only", () => {
    expect(parseNumber(" 1.5 ")).toBe(1.5)
    expect(parseNumber("-2e3")).toBe(-2000)
    expect(parseNumber(".5")).toBe(0.5)
    expect(parseNumber("7.")).toBe(7)
    expect(parseNumber("+4")).toBe(4)
    expect(parseNumber("NaN")).toBeNaN()
    expect(parseNumber("-inf")).toBe(-Infinity)
    expect(parseNumber("Infinity")).toBe(Infinity)
    for (const bad of ["", " ", "abc", "1,5", "0x10", "1e", "--1", "1 2"]) expect(parseNumber(bad)).toBeUndefined()
  })
})

describe("parseCsv", () => {
  it("detects a header and splits off a named integer label column", () => {
    const csv = parse("x1,x2,y\n1,2,0\n3,4.5,1\n", { labelColumn: "y" })
    expect(csv.columns).toEqual(["x1", "x2"])
    expect(csv.features.dtype).toBe("float64")
    expect(csv.features.shape).toEqual([2, 2])
    expect(Array.from(csv.features.data)).toEqual([1, 2, 3, 4.5])
    expect(csv.labels?.dtype).toBe("int32")
    expect(csv.labels?.shape).toEqual([2])
    expect(Array.from(csv.labels!.data)).toEqual([0, 1])
    expect(csv.labelName).toBe("y")
  })

  it("treats an all-numeric first row as data and names columns by index", () => {
    const csv = parse("1,2\n3,4\n")
    expect(csv.columns).toEqual(["0", "1"])
    expect(csv.features.shape).toEqual([2, 2])
    expect(Array.from(csv.features.data)).toEqual([1, 2, 3, 4])
    expect(csv.labels).toBeUndefined()
  })

  it("honours an explicit header option", () => {
    const forced = parse("10,20\n1,2\n", { header: true })
    expect(forced.columns).toEqual(["10", "20"])
    expect(forced.features.shape).toEqual([1, 2])
    const err = parseError("a,b\n1,2\n", { header: false })
    expect(err._tag).toBe("CorruptData")
    expect(err.message).toContain("line 1, column 1")
  })

  it("gives float64 labels when they are not all integers, and accepts negative indices", () => {
    const csv = parse("1,0.5\n2,3\n", { labelColumn: -1 })
    expect(csv.columns).toEqual(["0"])
    expect(csv.labels?.dtype).toBe("float64")
    expect(Array.from(csv.labels!.data)).toEqual([0.5, 3])
    expect(Array.from(csv.features.data)).toEqual([1, 2])
    const first = parse("a,b\n7,1\n8,2\n", { labelColumn: 0 })
    expect(first.columns).toEqual(["b"])
    expect(first.labelName).toBe("a")
    expect(Array.from(first.labels!.data)).toEqual([7, 8])
  })

  it("handles delimiters, CRLF, blank lines, whitespace and quoted fields", () => {
    const csv = parse("\"name, with comma\";\"say \"\"hi\"\"\"\r\n\r\n 1 ;\"2.5\"\r\n3;4\r\n\r\n", { delimiter: ";" })
    expect(csv.columns).toEqual(["name, with comma", "say \"hi\""])
    expect(Array.from(csv.features.data)).toEqual([1, 2.5, 3, 4])
    const tabs = parse("a\tb\n1\t2", { delimiter: "\t" })
    expect(tabs.columns).toEqual(["a", "b"])
    expect(Array.from(tabs.features.data)).toEqual([1, 2])
    const quotedComma = parse("\"a,b\",c\n1,2\n")
    expect(quotedComma.columns).toEqual(["a,b", "c"])
  })

  it("returns an empty [0, cols] matrix for a header-only file", () => {
    const csv = parse("a,b,c\n")
    expect(csv.features.shape).toEqual([0, 3])
    expect(csv.columns).toEqual(["a", "b", "c"])
  })

  describe("errors", () => {
    it("a non-numeric cell is CorruptData naming line, column and offset", () => {
      const text = "x1,x2\n1,2\n3,abc\n"
      const err = parseError(text)
      expect(err).toBeInstanceOf(CorruptData)
      const e = err as CorruptData
      expect(e.file).toBe("t.csv")
      expect(e.offset).toBe(text.indexOf("abc"))
      expect(e.message).toBe(
        `corrupt data in t.csv at byte ${text.indexOf("abc")}: expected a number in line 3, column 2 ("x2"), found "abc"`
      )
    })

    it("an empty cell is CorruptData", () => {
      const err = parseError("a,b\n1,\n")
      expect(err._tag).toBe("CorruptData")
      expect(err.message).toContain("found \"\"")
    })

    it("a ragged row is CorruptData", () => {
      const text = "a,b,c\n1,2,3\n4,5\n"
      const err = parseError(text) as CorruptData
      expect(err._tag).toBe("CorruptData")
      expect(err.offset).toBe(text.indexOf("4,5"))
      expect(err.message).toContain("expected 3 cells in line 3 (as in the header), found 2")
      expect(parseError("1,2\n3,4,5\n").message).toContain("as in the first row")
    })

    it("an unterminated quote is CorruptData", () => {
      const err = parseError("a,b\n\"1,2\n")
      expect(err._tag).toBe("CorruptData")
      expect(err.message).toContain("closing quote")
    })

    it("an unknown label column is SchemaMismatch", () => {
      const err = parseError("a,b\n1,2\n", { labelColumn: "label" })
      expect(err).toBeInstanceOf(SchemaMismatch)
      expect(err.message).toContain("\"label\" not found")
      expect(err.message).toContain("\"a\", \"b\"")
      expect(parseError("1,2\n", { labelColumn: 2 })._tag).toBe("SchemaMismatch")
      expect(parseError("", { header: true })._tag).toBe("SchemaMismatch")
    })
  })
})

describe("formatCsv", () => {
  it("formats header and rows, quoting where needed", () => {
    expect(formatCsv(["a", "b,c"], [[1, 2.5], [-3, 1e-7]])).toBe("a,\"b,c\"\n1,2.5\n-3,1e-7\n")
    expect(formatCsv([], [[1]])).toBe("1\n")
    expect(formatCsv(["say \"x\""], [])).toBe("\"say \"\"x\"\"\"\n")
  })

  it("round-trips through parseCsv", () => {
    const cell = fc.oneof(fc.double(), fc.integer()).map((x) => (Object.is(x, -0) ? 0 : x))
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((cols) =>
          fc.tuple(
            fc.uniqueArray(fc.string({ minLength: 1 }).filter((s) => parseNumber(s) === undefined && s.trim() === s), {
              minLength: cols,
              maxLength: cols
            }),
            fc.array(fc.array(cell, { minLength: cols, maxLength: cols }), { maxLength: 5 })
          )
        ),
        ([columns, rows]) => {
          const csv = parse(formatCsv(columns, rows), { header: true })
          expect(csv.columns).toEqual(columns)
          expect(csv.features.shape).toEqual([rows.length, columns.length])
          expect(Array.from(csv.features.data)).toEqual(rows.flat())
        }
      ),
      { numRuns: 200 }
    )
  })
})

describe("readCsv", () => {
  it.effect("reads a file; a missing file is DatasetNotFound", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "gradfx-csv-")))
      const file = path.join(dir, "d.csv")
      yield* Effect.promise(() => fs.writeFile(file, formatCsv(["x", "label"], [[0.5, 1], [1.5, 0]])))
      const csv = yield* readCsv(file, { labelColumn: "label" })
      expect(Array.from(csv.features.data)).toEqual([0.5, 1.5])
      expect(Array.from(csv.labels!.data)).toEqual([1, 0])
      const bad = yield* Effect.promise(() => fs.writeFile(file, "x\n1\nz\n")).pipe(Effect.andThen(Effect.flip(readCsv(file))))
      expect(bad._tag).toBe("CorruptData")
      expect(bad.message).toContain(file)
      const missing = yield* Effect.flip(readCsv(path.join(dir, "nope.csv")))
      expect(missing).toBeInstanceOf(DatasetNotFound)
      yield* Effect.promise(() => fs.rm(dir, { recursive: true }))
    }))
})
