/** `pnpm example feedforward`: the fixed-weight network on x_in, on the batch, and under vmap. */
import { runExample } from "../runtime.js"
import { run } from "./feedforward.js"

runExample("feedforward", run())
