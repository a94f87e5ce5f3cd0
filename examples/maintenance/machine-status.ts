import { defineStreamlet } from '../../src/core/streamlet.js';
import { MachineScoreSchema, type MachineScore } from './schemas.js';

/** What `GET /machines/<id>` answers: a machine's latest score and its counts since the application started. */
export interface MachineStatus {
  readonly machine: string;
  readonly line: string;
  /** Results received (scored or not); a reading delivered twice counts twice. */
  readonly readings: number;
  readonly scored: number;
  readonly alerts: number;
  /** Results with an error (no model yet, a reading the model could not score). */
  readonly errors: number;
  readonly latest: {
    readonly sequence: number;
    readonly timestamp: number;
    readonly score: number | null;
    readonly threshold: number;
    readonly alert: boolean;
    readonly model: string;
    readonly error: string;
  };
}

/** What `GET /machines` answers: the totals and every machine seen. */
export interface FleetStatus {
  readonly readings: number;
  readonly scored: number;
  readonly alerts: number;
  readonly errors: number;
  readonly machines: readonly MachineStatus[];
}

/**
 * Keeps the latest score of every machine and serves it on the application's HTTP port:
 * `GET /machines` (all of them, with totals) and `GET /machines/<id>` (one; 404 for a machine
 * never seen). Kept in memory: it starts empty after a restart.
 */
export const MachineStatusView = defineStreamlet({
  description: 'Serves the latest anomaly score of each machine at GET /machines/<id>',
  inlets: { in: MachineScoreSchema },
  async run(ctx) {
    const machines = new Map<string, MachineStatus>();
    ctx.exposeJson('/machines', (): FleetStatus => fleetStatus([...machines.values()]));
    for await (const batch of ctx.inlet('in').batches()) {
      for (const result of batch) {
        const machine = result.reading.machine;
        const known = machines.get(machine);
        if (!known) ctx.exposeJson(`/machines/${encodeURIComponent(machine)}`, () => machines.get(machine));
        machines.set(machine, updated(known, result));
      }
    }
  },
});

/** A machine's status after one more result. A result older than the latest one (redelivered) only counts. */
export function updated(status: MachineStatus | undefined, result: MachineScore): MachineStatus {
  const { reading, score, threshold, alert, modelResultMetadata } = result;
  const failed = modelResultMetadata.errors !== '';
  const latest =
    status !== undefined && reading.sequence < status.latest.sequence
      ? status.latest
      : {
          sequence: reading.sequence,
          timestamp: reading.timestamp,
          score,
          threshold,
          alert,
          model: modelResultMetadata.modelName,
          error: modelResultMetadata.errors,
        };
  return {
    machine: reading.machine,
    line: reading.line,
    readings: (status?.readings ?? 0) + 1,
    scored: (status?.scored ?? 0) + (failed ? 0 : 1),
    alerts: (status?.alerts ?? 0) + (alert ? 1 : 0),
    errors: (status?.errors ?? 0) + (failed ? 1 : 0),
    latest,
  };
}

function fleetStatus(machines: readonly MachineStatus[]): FleetStatus {
  const sum = (key: 'readings' | 'scored' | 'alerts' | 'errors') => machines.reduce((total, m) => total + m[key], 0);
  return {
    readings: sum('readings'),
    scored: sum('scored'),
    alerts: sum('alerts'),
    errors: sum('errors'),
    machines: [...machines].sort((a, b) => a.machine.localeCompare(b.machine)),
  };
}
