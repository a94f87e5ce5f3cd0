import { config } from '../../src/core/config.js';
import { defineStreamlet } from '../../src/core/streamlet.js';
import { FraudResultSchema, type FraudResult } from './schemas.js';

/**
 * How the detector does against the generator's labels. Positive = flagged as fraud. Results
 * that are errors (missing fields, no model yet) are counted apart: they are neither.
 */
export class DetectionTally {
  records = 0;
  errors = 0;
  truePositives = 0;
  falsePositives = 0;
  falseNegatives = 0;
  trueNegatives = 0;

  add(result: FraudResult): void {
    this.records++;
    const fraud = result.inputRecord.label;
    switch (result.verdict) {
      case 'error':
        this.errors++;
        break;
      case 'fraud':
        if (fraud) this.truePositives++;
        else this.falsePositives++;
        break;
      case 'normal':
        if (fraud) this.falseNegatives++;
        else this.trueNegatives++;
        break;
    }
  }

  get scored(): number {
    return this.records - this.errors;
  }

  get flagged(): number {
    return this.truePositives + this.falsePositives;
  }

  /** Share of flagged transactions that are fraud; undefined before anything was flagged. */
  get precision(): number | undefined {
    return this.flagged === 0 ? undefined : this.truePositives / this.flagged;
  }

  /** Share of fraudulent transactions that were flagged; undefined before any fraud was scored. */
  get recall(): number | undefined {
    const fraud = this.truePositives + this.falseNegatives;
    return fraud === 0 ? undefined : this.truePositives / fraud;
  }
}

/** The precision/recall line: `summary` while the run goes on, `final` when its input ends. */
export function formatSummary(kind: 'summary' | 'final', tally: DetectionTally): string {
  const ratio = (value: number | undefined) => (value === undefined ? 'n/a' : value.toFixed(3));
  return (
    `${kind} records=${tally.records} scored=${tally.scored} errors=${tally.errors} flagged=${tally.flagged} ` +
    `tp=${tally.truePositives} fp=${tally.falsePositives} fn=${tally.falseNegatives} ` +
    `precision=${ratio(tally.precision)} recall=${ratio(tally.recall)}\n`
  );
}

/** The line for a result worth a look: a transaction flagged as fraud, or one that could not be scored; else undefined. */
export function formatResult(result: FraudResult): string | undefined {
  const { inputRecord: record, modelResultMetadata: meta } = result;
  if (result.verdict === 'error') return `error id=${record.id} error=${JSON.stringify(meta.errors)}\n`;
  if (result.verdict !== 'fraud') return undefined;
  const amount = record.amount === null ? 'null' : record.amount.toFixed(2);
  return (
    `fraud id=${record.id} score=${(result.score ?? Number.NaN).toFixed(4)} threshold=${result.threshold} amount=${amount} ` +
    `label=${record.label ? 'fraud' : 'normal'} model=${meta.modelName} type=${meta.source.split(' ')[0] || '?'} ${meta.duration.toFixed(3)}ms\n`
  );
}

/** A console egress writing to `write` (stdout by default). */
export function consoleEgress(write: (text: string) => void = (text) => void process.stdout.write(text)) {
  return defineStreamlet({
    description: "Prints each flagged or failed transaction as one line, and precision and recall against the generator's labels",
    inlets: { in: FraudResultSchema },
    config: {
      'report-every': config.integer({
        description: 'Print precision and recall after every this many results (0: only when the input ends)',
        default: 1000,
        min: 0,
      }),
    },
    async run(ctx) {
      const tally = new DetectionTally();
      const every = ctx.config['report-every'];
      for await (const batch of ctx.inlet('in').batches()) {
        let text = '';
        for (const result of batch) {
          tally.add(result);
          text += formatResult(result) ?? '';
          if (every > 0 && tally.records % every === 0) text += formatSummary('summary', tally);
        }
        if (text !== '') write(text);
      }
      write(formatSummary('final', tally));
    },
  });
}

export const ConsoleEgress = consoleEgress();
