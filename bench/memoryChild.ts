/**
 * Child process for section 8 (memory.ts spawns one per system, so each
 * high-water mark belongs to that system alone). Loads the system, records
 * RSS, loads MNIST as float32 and builds the trainer, records RSS again, runs
 * `steps` SGD steps at `batch`, then prints one `MEMORY_RESULT {json}` line
 * with the RSS figures and `process.resourceUsage().maxRSS` (KiB).
 *
 *   node --import tsx bench/memoryChild.ts <gradfx|tfjs-cpu|tfjs-wasm> <steps> <batch>
 */
import { NdArray } from "@gradfx/core"
import { useTf } from "./competitors.js"
import { isNa } from "./harness.js"
import { copyBatch, loadMnistTrain, permutation } from "./mnistData.js"
import { mlpInit } from "./mlp.js"
import { type System, makeTrainer } from "./trainers.js"

const main = async (): Promise<void> => {
  const system = process.argv[2] as System
  const steps = Number(process.argv[3] ?? 100)
  const batch = Number(process.argv[4] ?? 128)
  // load the library (and backend) before measuring the baseline
  if (system === "tfjs-cpu" || system === "tfjs-wasm") {
    const tf = await useTf(system === "tfjs-cpu" ? "cpu" : "wasm")
    if (isNa(tf)) throw new Error(tf.na)
  } else NdArray.sum(NdArray.ones([4])).item()
  global.gc?.()
  const baseline = process.memoryUsage().rss
  const data = loadMnistTrain()
  const order = permutation(data.count, 2024)
  const trainer = await makeTrainer(system, mlpInit(7), 0.1)
  if (isNa(trainer)) throw new Error(trainer.na)
  const afterData = process.memoryUsage().rss
  const peakBeforeTraining = process.resourceUsage().maxRSS * 1024
  const t0 = performance.now()
  for (let b = 0; b < steps; b++) {
    const { x, y } = copyBatch(data, order, b, batch)
    trainer.step(x, y, batch)
  }
  const seconds = (performance.now() - t0) / 1000
  const result = {
    system,
    steps,
    batch,
    seconds,
    datasetBytes: data.images.byteLength,
    baseline,
    afterData,
    peakBeforeTraining,
    peak: process.resourceUsage().maxRSS * 1024,
    endRss: process.memoryUsage().rss
  }
  console.log(`MEMORY_RESULT ${JSON.stringify(result)}`)
}

main().then(
  () => process.exit(0),
  (e) => {
    console.log(`MEMORY_ERROR ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`)
    process.exit(1)
  }
)
