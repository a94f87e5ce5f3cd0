/**
 * Streamlets and helpers for blueprint tests: small classes with typed ports, validated against
 * in-memory or fixture blueprints. Their logic never runs here.
 */
import { SluiceError } from '../../src/core/errors.js';
import { parseHocon } from '../../src/core/hocon.js';
import { defineSchema } from '../../src/core/schema.js';
import { defineStreamlet, outlet, type AnyStreamlet, type StreamletPackage } from '../../src/core/streamlet.js';
import { DeadLetter } from '../../src/blueprint/dead-letter.js';
import { createStreamletResolver, type PackageSource } from '../../src/blueprint/resolve.js';
import { readBlueprint } from '../../src/blueprint/blueprint.js';
import { resolveClasses, validateBlueprint, type BlueprintValidation } from '../../src/blueprint/validate.js';

export const Reading = defineSchema({
  type: 'record',
  name: 'Reading',
  namespace: 'test',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'value', type: 'double' },
  ],
});

/** A later version of Reading: the added field has a default, so it reads old Readings. */
export const ReadingV2 = defineSchema({
  type: 'record',
  name: 'Reading',
  namespace: 'test',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'value', type: 'double' },
    { name: 'unit', type: 'string', default: 'celsius' },
  ],
});

export const Text = defineSchema({
  type: 'record',
  name: 'Text',
  namespace: 'test',
  fields: [{ name: 'line', type: 'string' }],
});

const idle = async (): Promise<void> => {};

export const Source = defineStreamlet({
  description: 'Writes readings',
  outlets: { out: outlet(Reading) },
  run: idle,
});

export const Formatter = defineStreamlet({
  description: 'Turns readings into text',
  inlets: { in: Reading },
  outlets: { out: outlet(Text) },
  run: idle,
});

export const Merger = defineStreamlet({
  description: 'Merges two reading streams',
  inlets: { 'in-0': Reading, 'in-1': Reading },
  outlets: { out: outlet(Reading) },
  run: idle,
});

export const TextSink = defineStreamlet({
  description: 'Prints text',
  inlets: { in: Text },
  run: idle,
});

/** Reading with a required field old writers do not have: it cannot read Reading. */
export const ReadingStrict = defineSchema({
  type: 'record',
  name: 'Reading',
  namespace: 'test',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'value', type: 'double' },
    { name: 'unit', type: 'string' },
  ],
});

export const StrictSink = defineStreamlet({
  description: 'Needs a unit on every reading',
  inlets: { in: ReadingStrict },
  run: idle,
});

export const ReadingSinkV2 = defineStreamlet({
  description: 'Stores readings with their unit',
  inlets: { in: ReadingV2 },
  run: idle,
});

export const DeadLetterSink = defineStreamlet({
  description: 'Keeps dead letters',
  inlets: { in: DeadLetter },
  run: idle,
});

export const testPackage: StreamletPackage = { Source, Formatter, Merger, TextSink, ReadingSinkV2, StrictSink, DeadLetterSink };

/** Parses, resolves against the test package and validates a blueprint text, as loadBlueprint does for files. */
export async function check(text: string, packages: Readonly<Record<string, PackageSource>> = {}, file = '/virtual/test.conf'): Promise<BlueprintValidation> {
  const doc = parseHocon(text, { file });
  const { blueprint } = readBlueprint(doc, { file });
  const resolver = createStreamletResolver({ packages: { test: testPackage, ...packages }, blueprintModules: blueprint.modules });
  return validateBlueprint(doc, await resolveClasses(blueprint, resolver), { file });
}

/** The problems of a blueprint text as `rule: message` lines, the shape most tests assert. */
export async function problemsOf(text: string, packages: Readonly<Record<string, PackageSource>> = {}): Promise<string[]> {
  return (await check(text, packages)).problems.map((problem) => `${problem.rule}: ${problem.message}`);
}

/** A class map built by hand, for tests that need no resolver. */
export function classes(entries: Record<string, AnyStreamlet | Error>): Map<string, AnyStreamlet | Error> {
  return new Map(Object.entries(entries));
}

export const notFound = (className: string, message: string): SluiceError => new SluiceError('SLUICE_ERR_STREAMLET_NOT_FOUND', { className, message });
