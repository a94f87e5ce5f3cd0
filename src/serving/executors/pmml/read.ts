/** Typed access to an element's attributes and children, failing with the element's path. */
import { PmmlError } from './errors.js';
import type { XmlElement } from './xml.js';

export function fail(element: XmlElement, reason: string): never {
  throw new PmmlError(reason, element.path);
}

export function optionalString(element: XmlElement, name: string): string | undefined {
  return element.attributes[name];
}

export function requiredString(element: XmlElement, name: string): string {
  const value = element.attributes[name];
  if (value === undefined) fail(element, `${element.name} has no '${name}' attribute`);
  return value;
}

/** A non-empty name (field names, function names). */
export function requiredName(element: XmlElement, name: string): string {
  const value = requiredString(element, name);
  if (value === '') fail(element, `${element.name} has an empty '${name}' attribute`);
  return value;
}

/** A finite number; `INF`/`-INF` (XML Schema spellings) read as ±∞ only where `infinite` allows. */
export function parseNumber(element: XmlElement, name: string, text: string, infinite = false): number {
  const trimmed = text.trim();
  let value: number;
  if (infinite && /^[+]?INF$/i.test(trimmed)) value = Infinity;
  else if (infinite && /^-INF$/i.test(trimmed)) value = -Infinity;
  else value = trimmed === '' ? NaN : Number(trimmed);
  if (Number.isNaN(value) || (!infinite && !Number.isFinite(value))) {
    fail(element, `${element.name} attribute '${name}' is '${text}', which is not a number`);
  }
  return value;
}

export function optionalNumber(element: XmlElement, name: string, infinite = false): number | undefined {
  const text = element.attributes[name];
  return text === undefined ? undefined : parseNumber(element, name, text, infinite);
}

export function requiredNumber(element: XmlElement, name: string): number {
  return parseNumber(element, name, requiredString(element, name));
}

export function numberOr(element: XmlElement, name: string, fallback: number): number {
  return optionalNumber(element, name) ?? fallback;
}

export function optionalEnum<T extends string>(element: XmlElement, name: string, allowed: readonly T[]): T | undefined {
  const value = element.attributes[name];
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    fail(element, `${element.name} attribute '${name}' is '${value}'; supported: ${allowed.join(', ')}`);
  }
  return value as T;
}

export function enumOr<T extends string>(element: XmlElement, name: string, allowed: readonly T[], fallback: T): T {
  return optionalEnum(element, name, allowed) ?? fallback;
}

export function booleanOr(element: XmlElement, name: string, fallback: boolean): boolean {
  const value = element.attributes[name];
  if (value === undefined) return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  fail(element, `${element.name} attribute '${name}' is '${value}', which is not a boolean`);
}

export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}

export function childNamed(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => c.name === name);
}

export function requiredChild(element: XmlElement, name: string): XmlElement {
  const child = childNamed(element, name);
  if (child === undefined) fail(element, `${element.name} has no ${name} element`);
  return child;
}

/** The first child whose name is one of `names`. */
export function childAmong(element: XmlElement, names: readonly string[]): XmlElement | undefined {
  return element.children.find((c) => names.includes(c.name));
}
