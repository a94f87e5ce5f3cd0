/**
 * Reading a parsed JSON request body: each reader returns the typed value or throws a 400 error
 * naming the field (`inputs[1].shape`) and what was expected there.
 */
import { SluiceError } from '../../core/errors.js';

export type JsonObject = Readonly<Record<string, unknown>>;

export function badRequest(message: string): SluiceError<'SLUICE_ERR_INVALID_ARGUMENT'> {
  return new SluiceError('SLUICE_ERR_INVALID_ARGUMENT', { message });
}

/** A short rendering of a wrong value for messages. */
export function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function objectAt(value: unknown, where: string): JsonObject {
  if (!isObject(value)) throw badRequest(`${where} must be a JSON object, got ${shown(value)}`);
  return value;
}

export function arrayAt(value: unknown, where: string): readonly unknown[] {
  if (!Array.isArray(value)) throw badRequest(`${where} must be an array, got ${shown(value)}`);
  return value;
}

export function stringAt(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw badRequest(`${where} must be a non-empty string, got ${shown(value)}`);
  return value;
}

/** A tensor shape: an array of whole numbers, none negative. */
export function shapeAt(value: unknown, where: string): number[] {
  const shape = arrayAt(value, where);
  if (!shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw badRequest(`${where} must be an array of whole numbers >= 0, got ${shown(value)}`);
  }
  return shape as number[];
}

export function numberAt(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw badRequest(`${where} must be a number, got ${shown(value)}`);
  return value;
}
