/**
 * The remote model's location: what a good one gives, and every kind of wrong one rejected
 * with SLUICE_ERR_MODEL_INVALID naming what is wrong, all problems at once.
 */
import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../../src/core/errors.js';
import { defaultExecutors } from '../../../src/serving/executors/index.js';
import { parseLocation, type RemoteModelType } from '../../../src/serving/remote/location.js';
import { rejection, remoteDescriptor } from './support.js';

function parse(location: string, type: RemoteModelType = 'OPEN_INFERENCE') {
  return parseLocation(remoteDescriptor(type, location), type);
}

function problem(location: string | null, type: RemoteModelType = 'OPEN_INFERENCE', bytes?: Buffer): string {
  const descriptor = { ...remoteDescriptor(type, location ?? ''), modelSourceLocation: location, modelBytes: bytes ?? null };
  try {
    parseLocation(descriptor, type);
  } catch (err) {
    expect(isSluiceError(err, 'SLUICE_ERR_MODEL_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/^model remote-model cannot be loaded: /);
    return (err as Error).message;
  }
  throw new Error(`${location} was accepted`);
}

describe('a good location', () => {
  it('gives the endpoints, the model and the options, with defaults for the rest', () => {
    const location = parse('grpc://127.0.0.1:8001,127.0.0.1:8002/recommender?timeout=200ms&retries=3&balance=least-outstanding&version=3&max-rows=256');
    expect(location).toMatchObject({
      transport: 'grpc',
      endpoints: ['127.0.0.1:8001', '127.0.0.1:8002'],
      model: 'recommender',
      declared: undefined,
      headers: {},
    });
    expect(location.options).toMatchObject({
      timeout: 200,
      retries: 3,
      balance: 'least-outstanding',
      version: '3',
      'max-rows': 256,
      'circuit-failures': 5,
      'circuit-cooldown': 1_000,
      'load-timeout': 5_000,
    });
    expect(Object.isFrozen(location)).toBe(true);
  });

  it('defaults an http port to 80, takes IPv6 and host names, and keeps the scheme case-insensitive', () => {
    expect(parse('http://models.internal/recommender').endpoints).toEqual(['models.internal:80']);
    expect(parse('HTTP://[::1]:8000,Localhost:9000/m').endpoints).toEqual(['[::1]:8000', 'localhost:9000']);
  });

  it("sends Seldon's routing headers: the deployment from the path, the namespace from the options", () => {
    expect(parse('http://127.0.0.1:9000/recommender?namespace=models', 'SELDON').headers).toEqual({ seldon: 'recommender', namespace: 'models' });
    expect(parse('grpc://127.0.0.1:9000/recommender?seldon=rec&namespace=prod').headers).toEqual({ seldon: 'rec', namespace: 'prod' });
  });

  it('parses a declared signature, free dimensions as ? or -1', () => {
    const location = parse(
      'grpc://127.0.0.1:8500/recommender?inputs=users:float32[?,1],products:float32[-1,1]&outputs=predictions:float32[?,1]',
      'TENSORFLOW_SERVING',
    );
    expect(location.declared).toEqual({
      inputs: [
        { name: 'users', dtype: 'float32', shape: [-1, 1] },
        { name: 'products', dtype: 'float32', shape: [-1, 1] },
      ],
      outputs: [{ name: 'predictions', dtype: 'float32', shape: [-1, 1] }],
    });
    expect(location.options.signature).toBe('serving_default');
  });
});

describe('a wrong location', () => {
  it.each<[string, string | null, RemoteModelType, string]>([
    [
      'no location',
      null,
      'OPEN_INFERENCE',
      "a OPEN_INFERENCE model is named by its server's URL in modelSourceLocation, e.g. grpc://127.0.0.1:8001/my-model; the descriptor has none",
    ],
    ['not a URL', 'recommender', 'OPEN_INFERENCE', 'it is not <scheme>://<host:port>[,<host:port>...]/<model>[?options]'],
    ['an unknown scheme', 'ftp://127.0.0.1:21/m', 'OPEN_INFERENCE', "scheme 'ftp' is not supported for OPEN_INFERENCE: use http:// or grpc://"],
    ['Seldon over gRPC', 'grpc://127.0.0.1:5001/m', 'SELDON', "scheme 'grpc' is not supported for SELDON: use http://"],
    ['no server', 'http:///m', 'OPEN_INFERENCE', 'it names no server: give host:port after ://'],
    [
      'a gRPC endpoint without port',
      'grpc://127.0.0.1/m',
      'OPEN_INFERENCE',
      "endpoint 1 ('127.0.0.1') has no port: gRPC endpoints need one, e.g. 127.0.0.1:8001",
    ],
    ['an empty endpoint', 'http://127.0.0.1:1,,127.0.0.1:2/m', 'OPEN_INFERENCE', "endpoint 2 ('') is not a host:port"],
    ['an endpoint twice', 'http://127.0.0.1:1,127.0.0.1:1/m', 'OPEN_INFERENCE', "endpoint 2 ('127.0.0.1:1') is given twice"],
    ['a port out of range', 'http://127.0.0.1:99999/m', 'OPEN_INFERENCE', "endpoint 1 ('127.0.0.1:99999') is not a host:port"],
    ['port 0', 'http://127.0.0.1:0/m', 'OPEN_INFERENCE', "endpoint 1 ('127.0.0.1:0') has port 0"],
    ['credentials', 'http://user:secret@127.0.0.1:1/m', 'OPEN_INFERENCE', "endpoint 1 ('user:secret@127.0.0.1:1') is not a host:port"],
    ['no model', 'http://127.0.0.1:8000/', 'OPEN_INFERENCE', "it names no model: put the server's model name in the path"],
    [
      'a nested path',
      'http://127.0.0.1:8000/m/versions/2',
      'OPEN_INFERENCE',
      "path '/m/versions/2' must be one segment, the model name (a version goes in ?version=)",
    ],
    ['a strange model name', 'http://127.0.0.1:8000/%2e%2e', 'OPEN_INFERENCE', "model name '%2e%2e' may hold only letters, digits"],
    ['a fragment', 'http://127.0.0.1:8000/m#top', 'OPEN_INFERENCE', "a fragment ('#top') means nothing here"],
    ['a bad duration', 'http://127.0.0.1:8000/m?timeout=fast', 'OPEN_INFERENCE', 'option timeout expected a duration such as 500ms or 10s, got "fast"'],
    ['a count out of bounds', 'http://127.0.0.1:8000/m?retries=-1', 'OPEN_INFERENCE', 'option retries must be at least 0, got -1'],
    ['an option twice', 'http://127.0.0.1:8000/m?retries=1&retries=2', 'OPEN_INFERENCE', 'option retries is given twice'],
    ['an unknown option', 'http://127.0.0.1:8000/m?retry=1', 'OPEN_INFERENCE', 'option retry is unknown (known: timeout, load-timeout, retries'],
    [
      'an unknown balancing',
      'http://127.0.0.1:8000/m?balance=random',
      'OPEN_INFERENCE',
      'option balance expected one of round-robin, least-outstanding, got "random"',
    ],
    [
      'an option of another type',
      'http://127.0.0.1:8000/m?signature=predict',
      'OPEN_INFERENCE',
      'option signature applies to TENSORFLOW_SERVING only, not OPEN_INFERENCE',
    ],
    ['an HTTP option on gRPC', 'grpc://127.0.0.1:8001/m?connections=2', 'OPEN_INFERENCE', 'option connections applies to http:// endpoints only'],
    ['a version that is not a number', 'http://127.0.0.1:8000/m?version=latest', 'OPEN_INFERENCE', 'option version "latest" does not match'],
    [
      'backoff-max below backoff',
      'http://127.0.0.1:8000/m?backoff=1s&backoff-max=10ms',
      'OPEN_INFERENCE',
      'option backoff-max (10ms) is below backoff (1000ms)',
    ],
    [
      'inputs without outputs',
      'http://127.0.0.1:8000/m?inputs=x:float32[?,1]',
      'SELDON',
      'options inputs and outputs declare the signature together: give both or neither',
    ],
    [
      'an unknown declared dtype',
      'http://127.0.0.1:8000/m?inputs=x:float16[?,1]&outputs=y:float32[?,1]',
      'SELDON',
      "option inputs: 'x:float16[?,1]' has dtype float16; known: float32, float64",
    ],
    [
      'a declared fixed batch',
      'http://127.0.0.1:8000/m?inputs=x:float32[4,1]&outputs=y:float32[?,1]',
      'SELDON',
      "option inputs: 'x:float32[4,1]' must have ? as its first (batch) dimension",
    ],
    [
      'a malformed declaration',
      'http://127.0.0.1:8000/m?inputs=x[?,1]&outputs=y:float32[?,1]',
      'SELDON',
      "option inputs: 'x[?,1]' is not name:dtype[dims], e.g. users:float32[?,1]",
    ],
    [
      'TF Serving gRPC without a signature',
      'grpc://127.0.0.1:8500/m',
      'TENSORFLOW_SERVING',
      "TensorFlow Serving's gRPC API here reports no signature: declare it",
    ],
  ])('%s', (_, location, type, message) => {
    expect(problem(location, type)).toContain(message);
  });

  it('with model bytes: a remote model lives on its server', () => {
    expect(problem('http://127.0.0.1:8000/m', 'OPEN_INFERENCE', Buffer.from('onnx'))).toContain('the descriptor must not carry modelBytes');
  });

  it('reports every problem at once, quoting the location', () => {
    const message = problem('grpc://127.0.0.1,127.0.0.1:8001/a/b?timeout=x&foo=1');
    expect(message).toContain("modelSourceLocation 'grpc://127.0.0.1,127.0.0.1:8001/a/b?timeout=x&foo=1': ");
    for (const part of ['has no port', 'must be one segment', 'option timeout expected a duration', 'option foo is unknown']) expect(message).toContain(part);
  });

  it('rejects the model update through the executor registry, before any connection', async () => {
    const err = await rejection(defaultExecutors().load(remoteDescriptor('TENSORFLOW_SERVING', 'grpc://127.0.0.1:1/m?timeout=soon')));
    expect(isSluiceError(err, 'SLUICE_ERR_MODEL_INVALID')).toBe(true);
    expect(err.message).toContain('option timeout expected a duration');
  });
});
