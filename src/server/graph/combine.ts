/**
 * A combiner's methods: every child scored the same request; their outputs (the same tensors,
 * the same shapes) become one, element by element.
 *
 * - `average`: the mean of the children's values (float outputs).
 * - `vote`: the value most children gave; a tie goes to the value of the earliest child (in
 *   `children` order) among the tied ones. Meant for labels: class ids, or 0/1 after a
 *   `threshold` step.
 */
import type { NamedTensors, Tensor, TensorData } from '../../serving/tensor.js';
import { formatShape } from '../../serving/tensor.js';

export type CombineMethod = 'average' | 'vote';

export function combine(method: CombineMethod, parts: readonly NamedTensors[]): NamedTensors {
  const [first] = parts;
  if (!first) throw new Error('a combiner got no outputs');
  const combined: Record<string, Tensor> = {};
  for (const [name, head] of Object.entries(first)) {
    const tensors = parts.map((part, i) => {
      const t = part[name];
      if (!t || t.dtype !== head.dtype || formatShape(t.shape) !== formatShape(head.shape)) {
        const got = t ? `${t.dtype} ${formatShape(t.shape)}` : 'nothing';
        throw new Error(`child ${i + 1} gave '${name}' as ${got}, child 1 as ${head.dtype} ${formatShape(head.shape)}: they cannot be combined`);
      }
      return t;
    });
    combined[name] = method === 'average' ? average(tensors) : vote(tensors);
  }
  return combined;
}

function average(tensors: readonly Tensor[]): Tensor {
  const head = tensors[0] as Tensor;
  if (!(head.data instanceof Float32Array || head.data instanceof Float64Array)) throw new Error(`average needs float tensors, not ${head.dtype}`);
  const data = head.data instanceof Float32Array ? new Float32Array(head.data.length) : new Float64Array(head.data.length);
  for (let i = 0; i < data.length; i++) {
    let sum = 0;
    for (const t of tensors) sum += (t.data as Float32Array)[i] as number;
    data[i] = sum / tensors.length;
  }
  return { dtype: head.dtype, shape: head.shape, data } as Tensor;
}

function vote(tensors: readonly Tensor[]): Tensor {
  const head = tensors[0] as Tensor;
  const columns = tensors.map((t) => t.data as ArrayLike<unknown>);
  const data = copyOf(head.data);
  const votes = new Array<unknown>(tensors.length);
  for (let i = 0; i < head.data.length; i++) {
    for (let j = 0; j < columns.length; j++) votes[j] = (columns[j] as ArrayLike<unknown>)[i];
    let best = 0;
    let bestCount = 0;
    for (let j = 0; j < votes.length; j++) {
      let count = 0;
      for (const v of votes) if (v === votes[j]) count++;
      // Strictly more: on a tie the earlier child's value stays.
      if (count > bestCount) {
        best = j;
        bestCount = count;
      }
    }
    (data as unknown[])[i] = votes[best];
  }
  return { dtype: head.dtype, shape: head.shape, data } as Tensor;
}

function copyOf(data: TensorData): TensorData {
  return Array.isArray(data) ? [...data] : data.slice();
}
