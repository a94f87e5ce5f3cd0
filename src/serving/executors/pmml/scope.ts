/**
 * Name resolution at compile time and per-row state at run time.
 *
 * Compiling turns every field into a {@link Getter}, a closure over its row. Fields whose
 * value is worth keeping for the rest of the row (mining fields after their treatments,
 * derived fields, output fields) own a slot in the {@link Row}: a slot holds a value stamped
 * with the row it belongs to, so moving to the next row invalidates every slot at once.
 */
import type { DataField, DataType, DefineFunction, OpType } from './document.js';
import { PmmlError } from './errors.js';
import type { PresentValue, Value } from './values.js';

/** One input tensor's data, as the executor hands it over. */
export type Column = ArrayLike<number> | readonly string[];

export class Row {
  /** The row of the batch being scored. */
  index = -1;
  generation = 0;
  columns: readonly Column[] = [];
  readonly values: Value[];
  readonly stamps: Int32Array;

  constructor(slotCount: number) {
    this.values = new Array<Value>(slotCount).fill(null);
    this.stamps = new Int32Array(slotCount);
  }

  /** Moves to row `index` of the batch: every slot is stale from now on. */
  moveTo(index: number): void {
    this.index = index;
    this.generation++;
  }
}

export type Getter = (row: Row) => Value;

/** A field as a model sees it: its value closure and its declared types. */
export interface Field {
  readonly name: string;
  readonly dataType: DataType;
  readonly optype: OpType;
  readonly get: Getter;
  /** The valid Values of the DataField behind the field, in document order, when it declares them. */
  readonly categories?: readonly PresentValue[];
}

export class Slots {
  #count = 0;

  get count(): number {
    return this.#count;
  }

  allocate(): number {
    return this.#count++;
  }
}

/** A getter that computes once per row and keeps the value in `slot`. */
export function memoize(slot: number, compute: Getter): Getter {
  return (row) => {
    if (row.stamps[slot] === row.generation) return row.values[slot] as Value;
    const value = compute(row);
    row.values[slot] = value;
    row.stamps[slot] = row.generation;
    return value;
  };
}

/** A getter for a slot that something else writes (output fields): missing until written. */
export function slotReader(slot: number): Getter {
  return (row) => (row.stamps[slot] === row.generation ? (row.values[slot] as Value) : null);
}

export function writeSlot(row: Row, slot: number, value: Value): void {
  row.values[slot] = value;
  row.stamps[slot] = row.generation;
}

/**
 * The fields visible at one place of the document. A model's scope holds its mining fields and
 * local transformations, and falls back to its parent's for anything else (the
 * TransformationDictionary, the enclosing MiningModel's fields, earlier outputs of a model
 * chain). Derived fields compile on first use, so they may be declared in any order; a field
 * defined in terms of itself is rejected.
 */
export class Scope {
  readonly #fields = new Map<string, Field>();
  readonly #pending = new Map<string, () => Field>();
  readonly #resolving = new Set<string>();

  constructor(
    readonly parent: Scope | undefined,
    /** Names the scope in messages, e.g. `TreeModel 'rf-1'`. */
    readonly owner: string,
  ) {}

  define(name: string, field: Field, path: string): void {
    this.checkFree(name, path);
    this.#fields.set(name, field);
  }

  defineLazy(name: string, make: () => Field, path: string): void {
    this.checkFree(name, path);
    this.#pending.set(name, make);
  }

  /** Compiles every lazily defined field of this scope (so that unused ones are checked too). */
  compileAll(path: string): void {
    for (const name of [...this.#pending.keys()]) this.resolve(name, path);
  }

  lookup(name: string): Field | undefined {
    const own = this.#fields.get(name);
    if (own !== undefined) return own;
    const make = this.#pending.get(name);
    if (make !== undefined) {
      if (this.#resolving.has(name)) {
        throw new PmmlError(`field '${name}' is defined in terms of itself (${[...this.#resolving, name].join(' → ')})`, '');
      }
      this.#resolving.add(name);
      try {
        const field = make();
        this.#fields.set(name, field);
        this.#pending.delete(name);
        return field;
      } finally {
        this.#resolving.delete(name);
      }
    }
    return this.parent?.lookup(name);
  }

  /** The field `name` as seen from here; `path` is where it is referenced. */
  resolve(name: string, path: string): Field {
    let field: Field | undefined;
    try {
      field = this.lookup(name);
    } catch (err) {
      if (err instanceof PmmlError && err.path === '') throw new PmmlError(err.reason, path);
      throw err;
    }
    if (field === undefined) {
      throw new PmmlError(
        `field '${name}' is not defined: it is neither a DataField in the MiningSchema of ${this.owner}, nor a DerivedField, nor an earlier OutputField`,
        path,
      );
    }
    return field;
  }

  private checkFree(name: string, path: string): void {
    if (this.#fields.has(name) || this.#pending.has(name)) {
      throw new PmmlError(`field '${name}' is defined twice in ${this.owner}`, path);
    }
  }
}

/** What every compile step needs besides the scope. */
export interface CompileContext {
  readonly slots: Slots;
  readonly dataFields: ReadonlyMap<string, DataField>;
  readonly functions: ReadonlyMap<string, DefineFunction>;
  /** How deep DefineFunction calls are inlined right now (a bound against recursion). */
  inlineDepth: number;
}
