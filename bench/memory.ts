/**
 * Section 9: peak memory while training the MNIST MLP. Each system runs in a
 * child process of its own (bench/memoryChild.ts), because the process RSS
 * high-water mark (`process.resourceUsage().maxRSS`) can never go down: in
 * this process it would still hold the 1024×1024 matmuls and 16M-element
 * arrays of earlier sections. The child loads its library, loads the MNIST
 * training set as float32 (60,000 × 784 × 4 B ≈ 179 MiB, the reference
 * size), then trains batch 128 with plain SGD.
 */
import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Notes, QUICK, type Result, fmt, isNa, printTable } from "./harness.js"
import type { System } from "./trainers.js"

interface ChildResult {
  readonly system: System
  readonly steps: number
  readonly batch: number
  readonly seconds: number
  readonly datasetBytes: number
  readonly baseline: number
  readonly afterData: number
  readonly peakBeforeTraining: number
  readonly peak: number
  readonly endRss: number
}

const here = path.dirname(fileURLToPath(import.meta.url))
const MiB = 1024 * 1024

const runChild = (system: System, steps: number, batch: number): Result<ChildResult> => {
  const child = spawnSync(process.execPath, [...process.execArgv, path.join(here, "memoryChild.ts"), system, String(steps), String(batch)], {
    cwd: path.join(here, ".."),
    encoding: "utf8",
    timeout: 300_000,
    maxBuffer: 16 * MiB
  })
  const out = `${child.stdout ?? ""}`
  const ok = out.split("\n").find((l) => l.startsWith("MEMORY_RESULT "))
  if (ok) return JSON.parse(ok.slice("MEMORY_RESULT ".length)) as ChildResult
  const err = out.split("\n").find((l) => l.startsWith("MEMORY_ERROR "))
  if (err) return { na: err.slice("MEMORY_ERROR ".length) }
  if (child.error) return { na: child.error.message }
  const last = `${child.stderr ?? ""}`.trim().split("\n").filter((l) => l.length < 300).slice(-1)[0] ?? ""
  return { na: `child exited with ${child.status ?? child.signal}${last ? `: ${last}` : ""}` }
}

export const run = async (): Promise<void> => {
  const batch = 128
  const steps = QUICK ? 20 : 100
  const notes = new Notes()
  const rows: Array<Array<string>> = []
  let datasetBytes = 60_000 * 784 * 4
  for (const system of ["gradfx", "gradfx-jit", "tfjs-cpu", "tfjs-wasm"] as const) {
    const r = runChild(system, steps, batch)
    notes.na(system, r)
    if (isNa(r)) {
      rows.push([system, "n/a", "n/a", "n/a", "n/a", "n/a"])
      continue
    }
    datasetBytes = r.datasetBytes
    rows.push([
      system,
      fmt(r.baseline / MiB, 3),
      fmt(r.afterData / MiB, 3),
      fmt(r.peak / MiB, 3),
      fmt((r.peak - r.afterData) / MiB, 3),
      `${fmt(r.peak / r.datasetBytes, 3)}×`
    ])
  }
  notes.add(`float32 training set: ${fmt(datasetBytes / MiB, 4)} MiB. ${steps} SGD steps at batch ${batch}, one child process per system`)
  notes.add("loaded = RSS after loading the library; + data = RSS after the float32 training set and the model exist;")
  notes.add("peak = process.resourceUsage().maxRSS at the end of training (high-water mark over the child's whole life); growth = peak − (+ data)")
  printTable(
    "9. peak memory while training the MNIST MLP (MiB)",
    ["system", "loaded", "+ data", "peak", "growth", "peak ÷ data"],
    rows,
    notes.all
  )
}
