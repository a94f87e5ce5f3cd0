/**
 * The steps of a graph's transformers: a small declarative set, nothing evaluated.
 *
 *   { op = scale, tensor = users, by = 0.001 }          values × by
 *   { op = shift, tensor = users, by = -500 }           values + by
 *   { op = clip, tensor = predictions, min = 0, max = 1 }  (either bound may be left out)
 *   { op = threshold, tensor = predictions, at = 0.5 }  1 where value >= at, else 0
 *   { op = rename, from = predictions, to = score }
 *   { op = select, tensors = [score] }                  keeps only these tensors
 *
 * The arithmetic steps take float tensors and keep their dtype and shape. The tensors are
 * checked when the graph is built: a transformer's steps must give its child exactly the
 * tensors it takes ({@link inputsBefore}); an output transformer's steps must find the tensors
 * they name in its child's outputs ({@link outputsAfter}).
 */
import type { HoconValue } from '../../core/hocon.js';
import type { NamedTensors, Tensor, TensorSpec } from '../../serving/tensor.js';

export type Step =
  | { readonly op: 'scale' | 'shift'; readonly tensor: string; readonly by: number }
  | { readonly op: 'clip'; readonly tensor: string; readonly min: number; readonly max: number }
  | { readonly op: 'threshold'; readonly tensor: string; readonly at: number }
  | { readonly op: 'rename'; readonly from: string; readonly to: string }
  | { readonly op: 'select'; readonly tensors: readonly string[] };

type Op = Step['op'];

/** Each op's fields: a tensor name, a number, or a list of tensor names; `?` marks an optional one. */
const fieldsOf: Readonly<Record<Op, Readonly<Record<string, 'name' | 'number' | 'number?' | 'names'>>>> = {
  scale: { tensor: 'name', by: 'number' },
  shift: { tensor: 'name', by: 'number' },
  clip: { tensor: 'name', min: 'number?', max: 'number?' },
  threshold: { tensor: 'name', at: 'number' },
  rename: { from: 'name', to: 'name' },
  select: { tensors: 'names' },
};
const ops = Object.keys(fieldsOf) as Op[];

/** The `steps` list of a transformer node; undefined (with problems reported) when any step is wrong. */
export function readSteps(raw: HoconValue | undefined, problem: (message: string) => void): Step[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0) {
    problem(`'steps' must be a non-empty list of steps, e.g. [{ op = scale, tensor = users, by = 0.5 }] (ops: ${ops.join(', ')})`);
    return undefined;
  }
  const steps = raw.map((entry, i) => readStep(entry, `step ${i + 1}`, problem));
  return steps.every((s) => s !== undefined) ? (steps as Step[]) : undefined;
}

function readStep(raw: HoconValue, where: string, problem: (message: string) => void): Step | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problem(`${where} must be an object such as { op = scale, tensor = users, by = 0.5 }`);
    return undefined;
  }
  const op = ops.find((o) => o === raw.op);
  if (op === undefined) {
    problem(`${where}: 'op' must be one of ${ops.join(', ')}, got ${JSON.stringify(raw.op ?? null)}`);
    return undefined;
  }
  const fields = fieldsOf[op];
  const values: Record<string, string | number | string[]> = {};
  let fine = true;
  for (const [key, kind] of Object.entries(fields)) {
    const value = raw[key];
    if (value === undefined && kind === 'number?') continue;
    const ok =
      kind === 'name'
        ? typeof value === 'string' && value !== ''
        : kind === 'names'
          ? Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== '')
          : typeof value === 'number' && Number.isFinite(value);
    if (ok) values[key] = value as string | number | string[];
    else {
      fine = false;
      const expected = kind === 'name' ? 'a tensor name' : kind === 'names' ? 'a non-empty list of tensor names' : 'a number';
      problem(`${where} (${op}): '${key}' must be ${expected}, got ${JSON.stringify(value ?? null)}`);
    }
  }
  for (const key of Object.keys(raw)) {
    if (key !== 'op' && !Object.hasOwn(fields, key)) {
      fine = false;
      problem(`${where} (${op}): unknown field '${key}' (fields: ${Object.keys(fields).join(', ')})`);
    }
  }
  if (!fine) return undefined;
  if (op === 'clip') {
    const min = (values.min as number | undefined) ?? Number.NEGATIVE_INFINITY;
    const max = (values.max as number | undefined) ?? Number.POSITIVE_INFINITY;
    if (values.min === undefined && values.max === undefined) problem(`${where} (clip): give 'min', 'max' or both`);
    else if (min > max) problem(`${where} (clip): 'min' (${min}) is above 'max' (${max})`);
    else return { op, tensor: values.tensor as string, min, max };
    return undefined;
  }
  return { op, ...values } as Step;
}

function label(step: Step, index: number): string {
  return `step ${index + 1} (${step.op})`;
}

function floatOnly(step: Step, index: number, spec: TensorSpec, problem: (message: string) => void): void {
  if (spec.dtype !== 'float32' && spec.dtype !== 'float64') problem(`${label(step, index)} works on float tensors; '${spec.name}' is ${spec.dtype}`);
}

/**
 * What a transformer must receive so that its steps give `required` (its child's inputs):
 * the steps walked backwards. Steps that name tensors the child does not take are problems
 * (usually a typo), as are steps that would drop or overwrite what it takes.
 */
export function inputsBefore(steps: readonly Step[], required: readonly TensorSpec[], child: string, problem: (message: string) => void): TensorSpec[] {
  let specs = new Map(required.map((s) => [s.name, s]));
  const takes = () => [...specs.keys()].map((n) => `'${n}'`).join(', ') || 'nothing';
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i] as Step;
    switch (step.op) {
      case 'select':
        for (const name of specs.keys()) if (!step.tensors.includes(name)) problem(`${label(step, i)} drops '${name}', which ${child} takes`);
        for (const name of step.tensors) if (!specs.has(name)) problem(`${label(step, i)} keeps '${name}', which ${child} does not take (it takes ${takes()})`);
        break;
      case 'rename': {
        const spec = specs.get(step.to);
        if (!spec) {
          problem(`${label(step, i)} gives '${step.to}', which ${child} does not take (it takes ${takes()})`);
          break;
        }
        if (step.from !== step.to && specs.has(step.from)) problem(`${label(step, i)} renames '${step.from}', which ${child} takes under that name too`);
        specs = new Map([...specs].map(([name, s]) => (name === step.to ? [step.from, { ...s, name: step.from }] : [name, s])));
        break;
      }
      default: {
        const spec = specs.get(step.tensor);
        if (spec) floatOnly(step, i, spec, problem);
        else problem(`${label(step, i)} names '${step.tensor}', which ${child} does not take (it takes ${takes()})`);
      }
    }
  }
  return [...specs.values()];
}

/** What an output transformer gives, from its child's outputs `produced`. */
export function outputsAfter(steps: readonly Step[], produced: readonly TensorSpec[], child: string, problem: (message: string) => void): TensorSpec[] {
  let specs = new Map(produced.map((s) => [s.name, s]));
  const gives = () => [...specs.keys()].map((n) => `'${n}'`).join(', ') || 'nothing';
  steps.forEach((step, i) => {
    switch (step.op) {
      case 'select': {
        const missing = step.tensors.filter((name) => !specs.has(name));
        for (const name of missing) problem(`${label(step, i)} keeps '${name}', which is not there (${child} gives ${gives()})`);
        if (missing.length === 0) specs = new Map(step.tensors.map((name) => [name, specs.get(name) as TensorSpec]));
        break;
      }
      case 'rename': {
        const spec = specs.get(step.from);
        if (!spec) problem(`${label(step, i)} renames '${step.from}', which is not there (${child} gives ${gives()})`);
        else if (step.from !== step.to && specs.has(step.to)) problem(`${label(step, i)} renames '${step.from}' to '${step.to}', which is there already`);
        else specs = new Map([...specs].map(([name, s]) => (name === step.from ? [step.to, { ...s, name: step.to }] : [name, s])));
        break;
      }
      default: {
        const spec = specs.get(step.tensor);
        if (spec) floatOnly(step, i, spec, problem);
        else problem(`${label(step, i)} names '${step.tensor}', which is not there (${child} gives ${gives()})`);
      }
    }
  });
  return [...specs.values()];
}

/** The steps applied to tensors the graph checked them against. */
export function applySteps(steps: readonly Step[], tensors: NamedTensors): NamedTensors {
  let current: Record<string, Tensor> = { ...tensors };
  for (const step of steps) {
    switch (step.op) {
      case 'select':
        current = Object.fromEntries(step.tensors.map((name) => [name, present(current, name)]));
        break;
      case 'rename': {
        const { [step.from]: moved, ...rest } = current;
        current = { ...rest, [step.to]: moved ?? present(current, step.from) };
        break;
      }
      case 'scale':
        current[step.tensor] = mapFloats(present(current, step.tensor), (v) => v * step.by);
        break;
      case 'shift':
        current[step.tensor] = mapFloats(present(current, step.tensor), (v) => v + step.by);
        break;
      case 'clip':
        current[step.tensor] = mapFloats(present(current, step.tensor), (v) => Math.min(step.max, Math.max(step.min, v)));
        break;
      case 'threshold':
        current[step.tensor] = mapFloats(present(current, step.tensor), (v) => (v >= step.at ? 1 : 0));
        break;
    }
  }
  return current;
}

function present(tensors: Readonly<Record<string, Tensor>>, name: string): Tensor {
  const found = tensors[name];
  if (!found) throw new Error(`there is no tensor '${name}' (tensors: ${Object.keys(tensors).join(', ') || 'none'})`);
  return found;
}

function mapFloats(t: Tensor, f: (value: number) => number): Tensor {
  if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) throw new Error(`a ${t.dtype} tensor reached an arithmetic step`);
  const data = t.data instanceof Float32Array ? new Float32Array(t.data.length) : new Float64Array(t.data.length);
  for (let i = 0; i < data.length; i++) data[i] = f(t.data[i] as number);
  return { dtype: t.dtype, shape: t.shape, data } as Tensor;
}
