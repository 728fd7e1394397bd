/** `pnpm example logic-gates`: OR, NAND, AND and XOR from sigmoid neurons, then a 2-2-1 network learning XOR. */
import { runExample } from "../runtime.js"
import { fullConfig, run } from "./logic-gates.js"

runExample("logic-gates", run(fullConfig))
