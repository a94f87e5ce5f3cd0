/**
 * The error table: stable, unique codes; templates whose placeholders are all filled; valid
 * HTTP statuses and gRPC codes. And SluiceError itself: code, params, cause, message.
 */
import { describe, expect, it } from 'vitest';
import { errorTable, isSluiceError, messageOf, SluiceError, type ErrorCode } from '../../src/core/errors.js';

const codes = Object.keys(errorTable) as ErrorCode[];

/** The `{name}` placeholders of a template, in order of appearance. */
function placeholders(template: string): string[] {
  return [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1] as string);
}

/** Builds the error of `code` with every placeholder set to a recognisable value. */
function sample(code: ErrorCode): SluiceError {
  const params = Object.fromEntries(placeholders(errorTable[code].template).map((name) => [name, `<${name}>`]));
  return new SluiceError(code, params as never);
}

describe('errorTable', () => {
  it('has codes', () => {
    expect(codes.length).toBeGreaterThan(10);
  });

  it.each(codes)('%s is SLUICE_ERR_ followed by upper-case words', (code) => {
    expect(code).toMatch(/^SLUICE_ERR_[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  });

  it('codes are unique, also ignoring case and punctuation', () => {
    const normalized = codes.map((code) => code.toLowerCase().replace(/[^a-z0-9]/g, ''));
    expect(new Set(normalized).size).toBe(codes.length);
  });

  it.each(codes)('%s has a non-empty template with well-formed, distinct placeholders', (code) => {
    const { template } = errorTable[code];
    expect(template.trim()).not.toBe('');
    const names = placeholders(template);
    for (const name of names) expect(name).toMatch(/^[a-zA-Z]\w*$/);
    expect(new Set(names).size).toBe(names.length);
    // No stray brace outside a placeholder.
    expect(template.replace(/\{\w+\}/g, '')).not.toMatch(/[{}]/);
  });

  it.each(codes)('%s fills every placeholder of its template', (code) => {
    const err = sample(code);
    expect(err.message).not.toMatch(/\{\w+\}/);
    for (const name of placeholders(errorTable[code].template)) expect(err.message).toContain(`<${name}>`);
  });

  it.each(codes)('%s maps to an HTTP 4xx/5xx status and a gRPC code 0–16', (code) => {
    const { http, grpc } = errorTable[code];
    expect(Number.isInteger(http)).toBe(true);
    expect(http).toBeGreaterThanOrEqual(400);
    expect(http).toBeLessThanOrEqual(599);
    expect(Number.isInteger(grpc)).toBe(true);
    expect(grpc).toBeGreaterThanOrEqual(0);
    expect(grpc).toBeLessThanOrEqual(16);
    // An error is never gRPC OK.
    expect(grpc).not.toBe(0);
  });

  it.each(codes)('%s: client errors (4xx) and server errors (5xx) agree between HTTP and gRPC', (code) => {
    const { http, grpc } = errorTable[code];
    // INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED (429, 413), FAILED_PRECONDITION,
    // OUT_OF_RANGE, UNIMPLEMENTED (405), UNAUTHENTICATED, as google.rpc maps them to HTTP.
    const clientGrpc = [3, 5, 6, 7, 8, 9, 11, 12, 16];
    if (http < 500) expect(clientGrpc).toContain(grpc);
    else expect(clientGrpc).not.toContain(grpc);
  });
});

describe('SluiceError', () => {
  it('carries its code, params, message and protocol mappings', () => {
    const err = new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', { modelName: 'recommender-a' });
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(SluiceError);
    expect(err.name).toBe('SluiceError');
    expect(err.code).toBe('SLUICE_ERR_MODEL_NOT_FOUND');
    expect(err.params).toEqual({ modelName: 'recommender-a' });
    expect(err.message).toBe('model recommender-a not found');
    expect(err.httpStatus).toBe(404);
    expect(err.grpcCode).toBe(5);
    expect(err.stack).toContain('SluiceError: model recommender-a not found');
  });

  it('formats several placeholders, numbers included', () => {
    const err = new SluiceError('SLUICE_ERR_BLUEPRINT_INVALID', { file: 'app.conf', count: 2, problems: '  a\n  b' });
    expect(err.message).toBe('blueprint app.conf has 2 problem(s):\n  a\n  b');
    expect(err.httpStatus).toBe(400);
    expect(err.grpcCode).toBe(3);
  });

  it('carries its cause', () => {
    const cause = new Error('ECONNREFUSED');
    const err = new SluiceError('SLUICE_ERR_INFERENCE_FAILED', { modelName: 'm', message: cause.message }, { cause });
    expect(err.cause).toBe(cause);
    expect(err.message).toBe('inference with model m failed: ECONNREFUSED');
    expect(new SluiceError('SLUICE_ERR_SHUTDOWN', { message: 'x' }).cause).toBeUndefined();
  });

  it('fills placeholders once: a value that looks like a placeholder stays as it is', () => {
    const err = new SluiceError('SLUICE_ERR_STREAMLET_FAILED', { streamlet: '{message}', message: 'boom {streamlet}' });
    expect(err.message).toBe('streamlet {message} failed: boom {streamlet}');
    expect(new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message: '$& and $1' }).message).toBe('$& and $1');
  });

  it('shows a missing param as its placeholder rather than "undefined"', () => {
    const err = new SluiceError('SLUICE_ERR_STREAMLET_FAILED', { streamlet: 'fmt' } as never);
    expect(err.message).toBe('streamlet fmt failed: {message}');
  });

  it('empty and zero params are values', () => {
    expect(new SluiceError('SLUICE_ERR_BLUEPRINT_INVALID', { file: '', count: 0, problems: '' }).message).toBe('blueprint  has 0 problem(s):\n');
  });
});

describe('isSluiceError and messageOf', () => {
  it('recognise a SluiceError, optionally of one code', () => {
    const err = new SluiceError('SLUICE_ERR_NO_EXECUTOR', { modelType: 'PMML' });
    expect(isSluiceError(err)).toBe(true);
    expect(isSluiceError(err, 'SLUICE_ERR_NO_EXECUTOR')).toBe(true);
    expect(isSluiceError(err, 'SLUICE_ERR_MODEL_INVALID')).toBe(false);
    expect(isSluiceError(new Error('no model'))).toBe(false);
    expect(isSluiceError({ code: 'SLUICE_ERR_NO_EXECUTOR', message: 'fake' })).toBe(false);
    expect(isSluiceError(undefined)).toBe(false);
  });

  it('messageOf gives the message of anything thrown', () => {
    expect(messageOf(new SluiceError('SLUICE_ERR_NO_EXECUTOR', { modelType: 'PMML' }))).toBe('no executor registered for model type PMML');
    expect(messageOf(new TypeError('bad'))).toBe('bad');
    expect(messageOf('plain string')).toBe('plain string');
    expect(messageOf(42)).toBe('42');
    expect(messageOf(undefined)).toBe('undefined');
  });
});
