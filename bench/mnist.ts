/**
 * Section 7: training throughput on real MNIST. The 784-100-10 sigmoid /
 * softmax MLP with plain SGD (lr 0.1) at batch sizes 32 and 128; every system
 * starts from the same weights and sees the same batches in the same order
 * (a fixed shuffle), each batch copied out of the float32 training set into
 * fresh typed arrays and handed to the system (copy and conversion are part
 * of the timed step, as in a real input pipeline).
 *
 * A full epoch is 60,000 images; to keep `pnpm bench` short each timed run
 * covers a slice of the epoch (10,000 images = 1/6 epoch; 2,000 with
 * BENCH_QUICK) and seconds per epoch are that time scaled up. The median of
 * 3 runs (1 with BENCH_QUICK) follows a warm-up as long as one run (at
 * least 10 steps), the same for every system. "loss" is the mean
 * loss on the first 1,000 training images after the timed runs (untimed):
 * the systems do the same work, so they should agree closely.
 */
import { QUICK, type Result, Notes, cell, fmt, isNa, median, printTable, speedup } from "./harness.js"
import { copyBatch, loadMnistTrain, permutation } from "./mnistData.js"
import { mlpInit } from "./mlp.js"
import { type System, makeTrainer } from "./trainers.js"

const EPOCH = 60_000

interface EpochResult {
  readonly secondsPerEpoch: number
  readonly loss: number
}

export const run = async (): Promise<void> => {
  const data = loadMnistTrain()
  const order = permutation(data.count, 2024)
  const sliceImages = QUICK ? 2_000 : 10_000
  const runs = QUICK ? 1 : 3
  const warmupSteps = 10
  const lr = 0.1
  const init = mlpInit(7)
  const evalBatch = copyBatch(data, new Uint32Array(Array.from({ length: 1000 }, (_, i) => i)), 0, 1000)
  const notes = new Notes()
  const systems: Array<System> = ["gradfx", "gradfx-jit", "gradfx-optim", "tfjs-cpu", "tfjs-wasm"]
  const rows: Array<Array<string>> = []

  for (const size of [32, 128]) {
    const steps = Math.round(sliceImages / size)
    const results: Array<[System, Result<EpochResult>]> = []
    for (const system of systems) {
      const trainer = await makeTrainer(system, init, lr)
      if (isNa(trainer)) {
        // the optional nn variant is simply left out when @gradfx/nn doesn't provide it
        if (system !== "gradfx-optim") results.push([system, trainer])
        else notes.add(`gradfx-optim (Optim.sgd from @gradfx/nn): not timed — ${trainer.na}`)
        continue
      }
      try {
        // warm-up: as many steps as one timed run, the same for every system (so the losses stay comparable),
        // enough for compiled programs and wasm kernels to reach their optimised tier
        let b = 0
        for (let i = 0; i < Math.max(warmupSteps, steps); i++, b++) {
          const { x, y } = copyBatch(data, order, b, size)
          trainer.step(x, y, size)
        }
        const times: Array<number> = []
        for (let r = 0; r < runs; r++) {
          const t0 = performance.now()
          for (let i = 0; i < steps; i++, b++) {
            const { x, y } = copyBatch(data, order, b, size)
            trainer.step(x, y, size)
          }
          times.push((performance.now() - t0) / 1000)
        }
        const perImage = median(times) / (steps * size)
        const loss = trainer.loss(evalBatch.x, evalBatch.y, 1000)
        results.push([system, { secondsPerEpoch: perImage * EPOCH, loss }])
      } catch (e) {
        results.push([system, { na: e instanceof Error ? `${e.name}: ${e.message.split("\n")[0]}` : String(e) }])
      } finally {
        trainer.dispose()
      }
    }
    const g = results.find(([s]) => s === "gradfx")?.[1]
    const gSec: Result<number> = g === undefined ? { na: "not run" } : isNa(g) ? g : g.secondsPerEpoch
    for (const [system, r] of results) {
      notes.na(system, r)
      const sec: Result<number> = isNa(r) ? r : r.secondsPerEpoch
      rows.push([
        `batch ${size}`,
        system,
        cell(sec),
        isNa(r) ? "n/a" : fmt(EPOCH / r.secondsPerEpoch, 3),
        system === "gradfx" ? "" : speedup(gSec, sec),
        isNa(r) ? "n/a" : fmt(r.loss, 4)
      ])
    }
  }
  notes.add(
    `timed on ${sliceImages.toLocaleString("en-US")} images per run (1/${EPOCH / sliceImages} epoch), median of ${runs} run${runs > 1 ? "s" : ""}, scaled to 60,000 images`
  )
  notes.add("vs gradfx = that system's time / gradfx's (above 1× gradfx is faster); loss = mean loss on 1,000 training images afterwards")
  printTable(
    "7. MNIST MLP 784-100-10 training, plain SGD (one epoch = 60,000 images)",
    ["batch", "system", "s / epoch", "images / s", "vs gradfx", "loss"],
    rows,
    notes.all
  )
}
