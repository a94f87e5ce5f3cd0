/**
 * The dead-letter contract. A record that fails to decode or validate is not dropped: the
 * runtime writes it, with the reason and its raw bytes, to the reserved topic `dead-letters`,
 * and the stream goes on. Blueprints may only consume that topic; the runtime produces it.
 */
import { defineSchema } from '../core/schema.js';

/** The reserved topic name; it takes consumers only. */
export const DEAD_LETTERS_TOPIC = 'dead-letters';

export const DeadLetter = defineSchema({
  type: 'record',
  name: 'DeadLetter',
  namespace: 'sluice',
  doc: 'A record that could not be decoded or validated, kept with the reason and its raw bytes.',
  fields: [
    { name: 'topic', type: 'string', doc: 'The topic the record came from.' },
    { name: 'streamlet', type: 'string', doc: 'The streamlet that rejected it.' },
    { name: 'inlet', type: 'string', doc: 'The inlet that rejected it.' },
    { name: 'reason', type: 'string', doc: 'Why it was rejected.' },
    { name: 'payload', type: 'bytes', doc: 'The record exactly as it arrived.' },
    { name: 'timestamp', type: { type: 'long', logicalType: 'timestamp-millis' }, doc: 'When it was rejected, ms since the epoch.' },
  ],
});

export type DeadLetterRecord = typeof DeadLetter extends { encode(value: infer T): Buffer } ? T : never;
