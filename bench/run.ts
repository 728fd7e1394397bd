/**
 * `pnpm bench [section …]`: gradfx beside TensorFlow.js (cpu and wasm
 * backends) and jax-js, printing one table per section. Each section runs in
 * a process of its own (every system of a section in that same process, on
 * the same inputs), so that what one section leaves behind — another
 * library's grown WebAssembly memory, large arrays — does not change the
 * garbage collector's behaviour in the next one. See bench/README.md for
 * what each figure means.
 *
 *   pnpm bench                    all sections (≈ 10 min on 2 cores)
 *   BENCH_QUICK=1 pnpm bench      the reduced set (≈ 1–2 min)
 *   pnpm bench matmul mlp         selected sections (names or aliases below)
 */
import { spawnSync } from "node:child_process"
import * as os from "node:os"
import { fileURLToPath } from "node:url"
import { describeCompetitors } from "./competitors.js"
import { QUICK, gradfxBackend, reason } from "./harness.js"

interface Section {
  readonly name: string
  readonly what: string
  readonly load: () => Promise<{ run: () => Promise<void> }>
}

const sections: ReadonlyArray<Section> = [
  { name: "matmul", what: "f32 matmul n = 128…1024 and f64 n = 512 (GFLOP/s)", load: () => import("./matmul.js") },
  { name: "elementwise", what: "add of 4M f32, sum of 16M f32 (GB/s)", load: () => import("./elementwise.js") },
  { name: "conv", what: "conv2d forward and forward + backward (ms)", load: () => import("./conv.js") },
  { name: "reverse", what: "valueAndGrad / forward of the MLP loss", load: () => import("./reverse.js") },
  { name: "overhead", what: "µs per call of grad on a length-10 vector", load: () => import("./overhead.js") },
  { name: "vmap", what: "per-example gradients: vmap(grad) vs a loop", load: () => import("./perExample.js") },
  { name: "mnist", what: "MNIST MLP training: seconds per epoch", load: () => import("./mnist.js") },
  { name: "cnn", what: "MNIST CNN training: seconds per epoch", load: () => import("./cnn.js") },
  { name: "memory", what: "peak RSS while training vs the data size", load: () => import("./memory.js") }
]

const aliases: Readonly<Record<string, ReadonlyArray<string>>> = {
  mlp: ["reverse", "vmap", "mnist"],
  elementwise: ["elementwise"],
  reduce: ["elementwise"],
  grad: ["overhead"],
  perexample: ["vmap"],
  epoch: ["mnist", "cnn"],
  memory: ["memory"],
  rss: ["memory"]
}

const selected = (argv: ReadonlyArray<string>): ReadonlyArray<Section> | string => {
  if (argv.length === 0 || argv.includes("all")) return sections
  const names = new Set<string>()
  for (const a of argv.map((s) => s.toLowerCase())) {
    const expanded = sections.some((s) => s.name === a) ? [a] : aliases[a]
    if (!expanded) return `unknown section "${a}"`
    expanded.forEach((n) => names.add(n))
  }
  return sections.filter((s) => names.has(s.name))
}

const usage = (): string =>
  [
    "usage: pnpm bench [section …]   (BENCH_QUICK=1 for the reduced set)",
    ...sections.map((s) => `  ${s.name.padEnd(12)} ${s.what}`),
    `  aliases: ${Object.entries(aliases).filter(([k, v]) => v.length > 1 || v[0] !== k).map(([k, v]) => `${k} → ${v.join(" ")}`).join(", ")}`
  ].join("\n")

/** The section a child process runs (set by the parent for each section). */
const CHILD = process.env.BENCH_SECTION

const runSection = async (s: Section): Promise<void> => {
  const t0 = performance.now()
  try {
    const mod = await s.load()
    await mod.run()
  } catch (e) {
    console.log(`\n## ${s.name}: failed — ${reason(e)}`)
  }
  console.log(`  (${s.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s; peak RSS of its process ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB)`)
}

const main = async (): Promise<number> => {
  if (CHILD !== undefined) {
    const s = sections.find((x) => x.name === CHILD)
    if (s === undefined) return 2
    await gradfxBackend() // starts this process's matmul worker pool before anything is timed
    await runSection(s)
    return 0
  }
  const argv = process.argv.slice(2).filter((a) => a !== "--")
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(usage())
    return 0
  }
  const chosen = selected(argv)
  if (typeof chosen === "string") {
    console.error(`${chosen}\n${usage()}`)
    return 2
  }
  const started = performance.now()
  const cpus = os.cpus()
  console.log("# gradfx benchmarks" + (QUICK ? " (BENCH_QUICK: reduced set)" : ""))
  console.log(`node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} × ${cpus[0]?.model ?? "unknown CPU"}`)
  console.log(`gradfx backend: ${await gradfxBackend()}`)
  for (const line of await describeCompetitors()) console.log(line)
  console.log(`sections: ${chosen.map((s) => s.name).join(", ")}`)
  for (const s of chosen) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      stdio: "inherit",
      env: { ...process.env, BENCH_SECTION: s.name }
    })
    if (child.status !== 0) console.log(`\n## ${s.name}: its process failed (${child.error?.message ?? `exit ${child.status ?? child.signal}`})`)
  }
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`)
  return 0
}

// Exit explicitly: worker pools (gradfx's wasm matmul) and tfjs-wasm would otherwise keep Node alive.
main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`bench failed: ${reason(e)}`)
    process.exit(1)
  }
)
