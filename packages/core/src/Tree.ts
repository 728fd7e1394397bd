/**
 * Pytrees: nested plain objects, arrays and tuples whose leaves are arrays
 * (and JavaScript numbers, which transforms treat as scalar arrays). A
 * parameter record is a pytree; so are its gradients, which have the same
 * structure. `null`/`undefined` are empty subtrees; other values (strings,
 * booleans, functions) are kept as static parts of the structure.
 *
 * @since 0.1.0
 */
import { ShapeError } from "./Errors.js"
import { isNdArray, type NdArray } from "./interpreter/ndarray.js"

/** A leaf: an array, or a number standing for a scalar. */
export type Leaf = NdArray | number

/** The static structure of a pytree: everything but its leaves. */
export type TreeDef =
  | { readonly kind: "leaf" }
  | { readonly kind: "array"; readonly children: ReadonlyArray<TreeDef> }
  | { readonly kind: "object"; readonly keys: ReadonlyArray<string>; readonly children: ReadonlyArray<TreeDef> }
  | { readonly kind: "static"; readonly value: unknown }

/** The type of a pytree's gradient: every leaf becomes an `NdArray`, the structure stays. */
export type Grads<T> = T extends NdArray
  ? NdArray
  : T extends number
    ? NdArray
    : T extends ReadonlyArray<any>
      ? { -readonly [K in keyof T]: Grads<T[K]> }
      : T extends (...args: any) => any
        ? T
        : T extends object
          ? { -readonly [K in keyof T]: Grads<T[K]> }
          : T

const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

export const isLeaf = (u: unknown): u is Leaf => isNdArray(u) || typeof u === "number"

/**
 * Split a tree into its leaves (depth first, object keys in insertion order) and its structure.
 *
 * @example
 * const [leaves, def] = Tree.flatten({ w: NdArray.ones([2]), b: 0 })
 * // leaves: [w, 0]; Tree.unflatten(def, leaves) rebuilds the record
 * @category pytrees
 * @since 0.1.0
 */
export const flatten = (tree: unknown): [Array<Leaf>, TreeDef] => {
  const leaves: Array<Leaf> = []
  const def = flattenInto(tree, leaves)
  return [leaves, def]
}

// (module-level recursion, not a closure per call: flatten runs on every transformed call)
const flattenInto = (t: unknown, leaves: Array<Leaf>): TreeDef => {
  if (isLeaf(t)) {
    leaves.push(t)
    return { kind: "leaf" }
  }
  if (Array.isArray(t)) {
    const children: Array<TreeDef> = new Array(t.length)
    for (let i = 0; i < t.length; i++) children[i] = flattenInto(t[i], leaves)
    return { kind: "array", children }
  }
  if (isPlainObject(t)) {
    const keys = Object.keys(t)
    const children: Array<TreeDef> = new Array(keys.length)
    for (let i = 0; i < keys.length; i++) children[i] = flattenInto(t[keys[i]], leaves)
    return { kind: "object", keys, children }
  }
  return { kind: "static", value: t }
}

/** Number of leaves a structure holds. */
export const numLeaves = (def: TreeDef): number =>
  def.kind === "leaf" ? 1 : def.kind === "static" ? 0 : def.children.reduce((n, c) => n + numLeaves(c), 0)

/**
 * Rebuild a tree from its structure and leaves.
 *
 * @category pytrees
 * @since 0.1.0
 */
export const unflatten = <A = unknown>(def: TreeDef, leaves: ReadonlyArray<unknown>): A => {
  if (leaves.length !== numLeaves(def)) {
    throw new ShapeError({ op: "Tree.unflatten", shapes: [], hint: `the structure has ${numLeaves(def)} leaves but ${leaves.length} were given` })
  }
  return build(def, leaves, { next: 0 }) as A
}

const build = (d: TreeDef, leaves: ReadonlyArray<unknown>, at: { next: number }): unknown => {
  switch (d.kind) {
    case "leaf":
      return leaves[at.next++]
    case "static":
      return d.value
    case "array": {
      const out: Array<unknown> = new Array(d.children.length)
      for (let j = 0; j < out.length; j++) out[j] = build(d.children[j], leaves, at)
      return out
    }
    case "object": {
      const out: Record<string, unknown> = {}
      for (let j = 0; j < d.keys.length; j++) out[d.keys[j]] = build(d.children[j], leaves, at)
      return out
    }
  }
}

/** The leaves of a tree. @category pytrees @since 0.1.0 */
export const leaves = (tree: unknown): Array<Leaf> => flatten(tree)[0]

/** The structure of a tree. @category pytrees @since 0.1.0 */
export const structure = (tree: unknown): TreeDef => flatten(tree)[1]

/** Structural equality of two structures. */
export const sameStructure = (a: TreeDef, b: TreeDef): boolean => {
  if (a.kind !== b.kind) return false
  switch (a.kind) {
    case "leaf":
      return true
    case "static":
      return Object.is(a.value, (b as typeof a).value)
    case "array": {
      const bb = b as typeof a
      return a.children.length === bb.children.length && a.children.every((c, i) => sameStructure(c, bb.children[i]))
    }
    case "object": {
      const bb = b as typeof a
      return a.keys.length === bb.keys.length && a.keys.every((k, i) => k === bb.keys[i] && sameStructure(a.children[i], bb.children[i]))
    }
  }
}

export const showStructure = (def: TreeDef): string => {
  switch (def.kind) {
    case "leaf":
      return "*"
    case "static":
      return JSON.stringify(def.value) ?? String(def.value)
    case "array":
      return `[${def.children.map(showStructure).join(", ")}]`
    case "object":
      return `{ ${def.keys.map((k, i) => `${k}: ${showStructure(def.children[i])}`).join(", ")} }`
  }
}

/**
 * Apply `f` to every leaf (and the matching leaves of `rest`, which must have the same structure).
 *
 * @example
 * const halved = Tree.map(params, (p) => NdArray.mul(p, 0.5))
 * @category pytrees
 * @since 0.1.0
 */
export const map = <T, R = NdArray>(tree: T, f: (leaf: any, ...rest: Array<any>) => R, ...rest: ReadonlyArray<unknown>): MapResult<T, R> => {
  const [ls, def] = flatten(tree)
  const others = rest.map((r) => {
    const [rl, rd] = flatten(r)
    if (!sameStructure(def, rd)) {
      throw new ShapeError({ op: "Tree.map", shapes: [], hint: `tree structures differ: ${showStructure(def)} vs ${showStructure(rd)}` })
    }
    return rl
  })
  return unflatten(
    def,
    ls.map((l, i) => f(l, ...others.map((o) => o[i])))
  )
}

export type MapResult<T, R> = T extends Leaf
  ? R
  : T extends ReadonlyArray<any>
    ? { -readonly [K in keyof T]: MapResult<T[K], R> }
    : T extends (...args: any) => any
      ? T
      : T extends object
        ? { -readonly [K in keyof T]: MapResult<T[K], R> }
        : T

/**
 * Dotted paths of the leaves ("layers.0.w"), in `leaves` order: the tensor
 * names of checkpoints.
 *
 * @category pytrees
 * @since 0.1.0
 */
export const paths = (tree: unknown): Array<string> => {
  const out: Array<string> = []
  const go = (t: unknown, prefix: string) => {
    if (isLeaf(t)) out.push(prefix)
    else if (Array.isArray(t)) t.forEach((c, i) => go(c, prefix === "" ? String(i) : `${prefix}.${i}`))
    else if (isPlainObject(t)) for (const k of Object.keys(t)) go(t[k], prefix === "" ? k : `${prefix}.${k}`)
  }
  go(tree, "")
  return out
}

/**
 * Split a tree by a predicate on leaves: `[matching, rest]`, each the full
 * structure with `null` where the other part's leaves are (Equinox's
 * `partition`). Put them back together with `combine`.
 *
 * @category pytrees
 * @since 0.1.0
 */
export const partition = <T>(tree: T, predicate: (leaf: Leaf) => boolean): [T, T] => {
  const [ls, def] = flatten(tree)
  const a = ls.map((l) => (predicate(l) ? l : null))
  const b = ls.map((l) => (predicate(l) ? null : l))
  return [unflattenLoose(def, a), unflattenLoose(def, b)]
}

const unflattenLoose = <T>(def: TreeDef, leaves: ReadonlyArray<unknown>): T => {
  let i = 0
  const go = (d: TreeDef): unknown =>
    d.kind === "leaf"
      ? leaves[i++]
      : d.kind === "static"
        ? d.value
        : d.kind === "array"
          ? d.children.map(go)
          : Object.fromEntries(d.keys.map((k, j) => [k, go(d.children[j])]))
  return go(def) as T
}

/** Merge trees produced by `partition`: the first non-null leaf wins. @category pytrees @since 0.1.0 */
export const combine = <T>(...trees: ReadonlyArray<T>): T => {
  const go = (ts: ReadonlyArray<unknown>): unknown => {
    const present = ts.filter((t) => t !== null && t !== undefined)
    if (present.length === 0) return null
    const first = present[0]
    if (isLeaf(first)) return first
    if (Array.isArray(first)) return first.map((_, i) => go(ts.map((t) => (Array.isArray(t) ? t[i] : null))))
    if (isPlainObject(first)) {
      return Object.fromEntries(Object.keys(first).map((k) => [k, go(ts.map((t) => (isPlainObject(t) ? t[k] : null)))]))
    }
    return first
  }
  return go(trees) as T
}
