import { config } from '../../src/core/config.js';
import { defineStreamlet, outlet } from '../../src/core/streamlet.js';
import { pause } from '../../src/util/backoff.js';
import { paced } from '../../src/util/pacing.js';
import { LabelledRecordSchema, DriftRecordSchema, type DriftRecord, type LabelledRecord } from './schemas.js';
import { ShiftingWorld } from './world.js';

/**
 * Records on `out` from a world that shifts `shift-after` the start, and each record's label on
 * `labels` `label-delay` after the record: feedback arrives late, as it does in real systems.
 * The run ends after `max-records` or `duration` (whichever comes first), once the last labels
 * are out.
 */
export const Generator = defineStreamlet({
  description: 'Generates records whose distribution shifts at a set time, and their labels after a delay',
  outlets: {
    out: outlet(DriftRecordSchema, (r) => String(r.id)),
    labels: outlet(LabelledRecordSchema, (l) => String(l.record.id)),
  },
  config: {
    'records-per-second': config.double({ description: 'Generation rate; 0 means as fast as the pipeline takes them', default: 500, min: 0 }),
    'max-records': config.integer({ description: 'Stop after this many records; 0 means no limit', default: 0, min: 0 }),
    duration: config.duration({ description: 'Stop generating after this long; 0 means no limit', default: 30_000, min: 0 }),
    'shift-after': config.duration({ description: 'When the distribution shifts, from the start', default: 12_000, min: 0 }),
    rotation: config.double({ description: 'How far the decision boundary turns at the shift, in degrees', default: 90, min: -360, max: 360 }),
    'mean-shift': config.double({ description: 'How far the means of x1 and x2 move at the shift, in standard deviations', default: 1, min: -10, max: 10 }),
    'label-delay': config.duration({ description: 'How long after a record its label is emitted', default: 1_000, min: 0 }),
    seed: config.integer({ description: 'Seed of the generator, for a repeatable stream', default: 42 }),
  },
  async run(ctx) {
    const c = ctx.config;
    const world = new ShiftingWorld({ seed: c.seed, rotationDegrees: c.rotation, meanShift: c['mean-shift'] });
    // Labels waiting for their time, oldest first: at most rate × label-delay of them.
    const waiting: { due: number; labelled: LabelledRecord }[] = [];
    const started = Date.now();
    let nextId = 1;
    let shiftLogged = false;
    const release = async (now: number) => {
      let due = 0;
      while (due < waiting.length && (waiting[due]?.due ?? Infinity) <= now) due++;
      if (due === 0) return;
      const labels = waiting.splice(0, due).map((w) => w.labelled);
      await ctx.emitAll('labels', labels);
    };
    const generate = async (count: number) => {
      const now = Date.now();
      const shifted = now - started >= c['shift-after'];
      if (shifted && !shiftLogged) {
        shiftLogged = true;
        ctx.log.info('the distribution shifts', { firstId: nextId, rotation: c.rotation, meanShift: c['mean-shift'] });
      }
      const records: DriftRecord[] = [];
      for (let i = 0; i < count; i++) {
        const { features, label } = world.draw(shifted);
        const record = { id: nextId++, ...features, generatedAt: now };
        records.push(record);
        waiting.push({ due: now + c['label-delay'], labelled: { record, label, shifted } });
      }
      await ctx.emitAll('out', records);
      await release(Date.now());
    };
    // Its own controller and timer: a signal of AbortSignal.timeout() that only AbortSignal.any()
    // holds can be garbage-collected before it fires, and generation would never stop.
    const generating = new AbortController();
    const stopGenerating = () => generating.abort();
    ctx.signal.addEventListener('abort', stopGenerating, { once: true });
    const timer = c.duration > 0 ? setTimeout(stopGenerating, c.duration) : undefined;
    let sent: number;
    try {
      sent = await paced({ rate: c['records-per-second'], limit: c['max-records'] || Number.POSITIVE_INFINITY, signal: generating.signal }, generate);
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', stopGenerating);
    }
    // The last labels come due as they would; a stopping application gets them at once.
    while (waiting.length > 0) {
      await pause((waiting[0]?.due ?? 0) - Date.now(), ctx.signal);
      await release(ctx.signal.aborted ? Infinity : Date.now());
    }
    ctx.log.info('generator done', { records: sent });
  },
});
