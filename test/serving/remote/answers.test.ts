/**
 * A server's answers are input too: each kind of malformed answer is rejected with a message
 * saying what is wrong, as a request failure (not retried, not held against the endpoint).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSluiceError } from '../../../src/core/errors.js';
import { defaultExecutors } from '../../../src/serving/executors/index.js';
import type { RemoteModelType } from '../../../src/serving/remote/location.js';
import { rejection, remoteDescriptor, scorerInputs } from './support.js';

/** Answers metadata for a scorer-like model, and every POST with `answer`. */
let answer = '';
let posts = 0;
let server: Server;
let address: string;
beforeAll(async () => {
  const tensors = (names: string[]) => names.map((name) => ({ name, datatype: 'FP32', shape: [-1, 1] }));
  const tfInfo = (name: string) => ({ [name]: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '-1' }, { size: '1' }] } } });
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.setHeader('content-type', 'application/json');
      if (request.method === 'POST') {
        posts++;
        return response.end(answer);
      }
      if (request.url?.endsWith('/metadata')) {
        const def = { inputs: { ...tfInfo('users'), ...tfInfo('products') }, outputs: tfInfo('predictions') };
        return response.end(JSON.stringify({ metadata: { signature_def: { signature_def: { serving_default: def } } } }));
      }
      response.end(JSON.stringify({ name: 'm', inputs: tensors(['users', 'products']), outputs: tensors(['predictions']) }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

async function failure(type: RemoteModelType, body: unknown, rows = 2): Promise<string> {
  // A good answer first: the load of a declared signature probes with one row.
  answer = JSON.stringify({ data: { names: ['predictions'], ndarray: [[0.5]] } });
  const model = await defaultExecutors().load(
    remoteDescriptor(
      type,
      `http://${address}/m?retries=2&circuit-failures=1${type === 'SELDON' ? '&inputs=users:float32[?,1],products:float32[?,1]&outputs=predictions:float32[?,1]' : ''}`,
    ),
  );
  try {
    answer = typeof body === 'string' ? body : JSON.stringify(body);
    const before = posts;
    const err = await rejection(model.infer(scorerInputs(rows)));
    expect(isSluiceError(err, 'SLUICE_ERR_INFERENCE_FAILED')).toBe(true);
    expect(posts - before).toBe(1);
    // The endpoint answered: its circuit stays closed, and the next call goes out.
    answer = typeof body === 'string' ? body : JSON.stringify(body);
    await rejection(model.infer(scorerInputs(rows)));
    expect(posts - before).toBe(2);
    return err.message.replace(`inference with model remote-model failed: http://${address}: `, '');
  } finally {
    await model.unload();
  }
}

const output = (fields: Record<string, unknown>) => ({ outputs: [{ name: 'predictions', datatype: 'FP32', shape: [2, 1], data: [0.5, 0.25], ...fields }] });

describe('Open Inference REST', () => {
  it.each<[string, unknown, string]>([
    ['not JSON', '<html>oops</html>', 'malformed answer: not JSON: <html>oops</html>'],
    ['no outputs', { model_name: 'm' }, 'malformed answer: the answer has no outputs array'],
    ['an output without name', output({ name: '' }), 'malformed answer: output 0 has no name'],
    [
      'an unknown datatype',
      output({ datatype: 'FP16' }),
      'malformed answer: output 0 \'predictions\' has datatype "FP16"; Sluice tensors carry FP32, FP64, INT32, INT64, UINT8, BOOL, BYTES',
    ],
    ['a bad shape', output({ shape: [2, -1] }), "malformed answer: output 0 'predictions' has shape [2,-1]"],
    ['too few values', output({ data: [0.5] }), "malformed answer: output 0 'predictions' has 1 values for shape [2,1]"],
    ['a value of the wrong type', output({ data: [0.5, 'x'] }), 'malformed answer: output 0 \'predictions\': value 1 is "x", not a number'],
    [
      'an integer out of range',
      output({ datatype: 'UINT8', data: [1, 256] }),
      "malformed answer: output 0 'predictions': value 1 is 256, not an integer in [0, 255]",
    ],
    [
      'ragged nested data',
      output({ data: [[0.5], [0.25, 1]] }),
      "malformed answer: output 0 'predictions' data[1] has 2 elements where the array's shape [2,1] needs 1",
    ],
    ['too many rows', output({ shape: [3, 1], data: [1, 2, 3] }), "malformed answer: output 'predictions' has 3 rows for 2 input rows"],
  ])('%s', async (_, body, message) => {
    expect(await failure('OPEN_INFERENCE', body)).toBe(message);
  });
});

describe('TensorFlow Serving REST', () => {
  it.each<[string, unknown, string]>([
    ['no outputs', { predictions: [[1], [2]] }, 'malformed answer: the answer has no outputs (keys: predictions)'],
    [
      'another output',
      { outputs: { scores: [[1], [2]], other: [[1], [2]] } },
      "malformed answer: the answer has no output 'predictions' (outputs: scores, other)",
    ],
    ['booleans for floats', { outputs: [[true], [false]] }, "malformed answer: output 'predictions': value 0 is true, not a number"],
  ])('%s', async (_, body, message) => {
    expect(await failure('TENSORFLOW_SERVING', body)).toBe(message);
  });
});

describe('Seldon REST', () => {
  it.each<[string, unknown, string]>([
    ['no data', { meta: {} }, 'malformed answer: the answer data is not an object'],
    ['neither ndarray nor tensor', { data: { strData: 'x' } }, 'malformed answer: the answer data has neither ndarray nor tensor (keys: strData)'],
    ['a tensor with too few values', { data: { tensor: { shape: [2, 1], values: [1] } } }, 'malformed answer: tensor has 1 values for shape [2,1]'],
  ])('%s', async (_, body, message) => {
    expect(await failure('SELDON', body)).toBe(message);
  });
});
