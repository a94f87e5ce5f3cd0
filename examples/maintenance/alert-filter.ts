import { defineStreamlet, outlet } from '../../src/core/streamlet.js';
import { MachineAlertSchema, MachineScoreSchema, type MachineAlert, type MachineScore } from './schemas.js';

/** Passes the scores that raised an alert, as rows of the alerts table; normal readings and error results are dropped. */
export const AlertFilter = defineStreamlet({
  description: 'Turns the scores above their threshold into alerts',
  inlets: { in: MachineScoreSchema },
  outlets: { out: outlet(MachineAlertSchema, (a) => a.machine) },
  async run(ctx) {
    for await (const batch of ctx.inlet('in').batches()) {
      const alerts = batch.map(toAlert).filter((a) => a !== undefined);
      if (alerts.length > 0) await ctx.emitAll('out', alerts);
    }
  },
});

/** The alert a score raised, or undefined when it raised none. */
export function toAlert(scored: MachineScore): MachineAlert | undefined {
  const { reading, score, threshold, modelResultMetadata } = scored;
  if (!scored.alert || score === null) return undefined;
  return {
    machine: reading.machine,
    line: reading.line,
    timestamp: reading.timestamp,
    score,
    threshold,
    temperature: reading.temperature,
    vibration: reading.vibration,
    pressure: reading.pressure,
    rpm: reading.rpm,
    model: modelResultMetadata.modelName,
  };
}
