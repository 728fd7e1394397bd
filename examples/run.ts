/**
 * `pnpm example <name>`: run `examples/<name>/main.ts`. Without a name (or
 * with an unknown one) list the examples.
 *
 * @since 0.1.0
 */
import { existsSync, readdirSync } from "node:fs"
import { fileURLToPath } from "node:url"

const here = fileURLToPath(new URL(".", import.meta.url))
const available = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(`${here}${d.name}/main.ts`))
  .map((d) => d.name)
  .sort()

const name = process.argv[2]
if (name === undefined || !available.includes(name)) {
  if (name !== undefined) console.error(`unknown example "${name}"`)
  console.error(`usage: pnpm example <name>\n\nexamples:\n${available.map((n) => `  ${n}`).join("\n")}`)
  process.exitCode = name === undefined ? 0 : 1
} else {
  // the example reads its own options from the arguments after its name
  process.argv.splice(2, 1)
  await import(`./${name}/main.ts`)
}
