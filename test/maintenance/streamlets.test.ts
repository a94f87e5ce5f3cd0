/** The example's own pieces: the fleet, the simulator's command line, the alert filter, the status view and the config defaults. */
import { describe, expect, it } from 'vitest';
import { AlertFilter } from '../../examples/maintenance/alert-filter.js';
import { withConfigDefaults } from '../../examples/maintenance/config-defaults.js';
import { FAULT_EFFECT, MachineFleet } from '../../examples/maintenance/fleet.js';
import { MachineStatusView, type FleetStatus, type MachineStatus } from '../../examples/maintenance/machine-status.js';
import type { MachineScore } from '../../examples/maintenance/schemas.js';
import { AlertsTable, SensorIngress } from '../../examples/maintenance/streamlets.js';
import { simulate, simulatorOptions, telemetryTopic } from '../../examples/maintenance/simulator.js';
import { startStreamlet } from '../../src/testkit.js';

const metadata = { errors: '', modelName: 'machine-anomaly', source: 'ONNX embedded', startTime: 1, duration: 0.1 };
const scored = (machine: string, sequence: number, score: number | null, errors = ''): MachineScore => ({
  reading: { machine, line: 'line-1', sequence, timestamp: 1_000 + sequence * 100, temperature: 62, vibration: 2.2, pressure: 6, rpm: 1500 },
  score,
  threshold: 20,
  alert: score !== null && score > 20,
  modelResultMetadata: { ...metadata, errors },
});

describe('the machine fleet', () => {
  it('is repeatable per seed, takes turns over its machines, and drifts vibration and temperature up on degrading machines only', () => {
    const a = new MachineFleet({ seed: 1, machines: 4, lines: 2, degrading: 1, onset: 10, ramp: 50, start: 5_000, intervalMs: 20 });
    const b = new MachineFleet({ seed: 1, machines: 4, lines: 2, degrading: 1, onset: 10, ramp: 50, start: 5_000, intervalMs: 20 });
    const readings = Array.from({ length: 400 }, () => a.reading());
    expect(Array.from({ length: 400 }, () => b.reading())).toEqual(readings);
    expect(readings.slice(0, 5).map((r) => [r.machine, r.line, r.sequence, r.timestamp])).toEqual([
      ['m01', 'line-1', 0, 5_000],
      ['m02', 'line-2', 0, 5_000],
      ['m03', 'line-1', 0, 5_000],
      ['m04', 'line-2', 0, 5_000],
      ['m01', 'line-1', 1, 5_020],
    ]);
    const faulty = a.plans.filter((p) => p.faultOnset !== undefined);
    expect(faulty).toHaveLength(1);
    // What the load does not explain: the load moves rpm by 60 per unit, temperature by 5 and vibration by 0.35.
    const mean = (machine: string, key: 'vibration' | 'temperature', from: number) => {
      const perRpm = key === 'temperature' ? 5 / 60 : 0.35 / 60;
      const values = readings.filter((r) => r.machine === machine && r.sequence >= from).map((r) => r[key] - perRpm * (r.rpm - 1500));
      return values.reduce((s, v) => s + v, 0) / values.length;
    };
    const failed = faulty[0]?.machine as string;
    const healthy = a.plans.find((p) => p.faultOnset === undefined)?.machine as string;
    expect(a.severityOf(failed, 99)).toBe(1);
    expect(a.severityOf(healthy, 99)).toBe(0);
    expect(mean(failed, 'vibration', 60) - mean(healthy, 'vibration', 60)).toBeGreaterThan(FAULT_EFFECT.vibration / 2);
    expect(mean(failed, 'temperature', 60) - mean(healthy, 'temperature', 60)).toBeGreaterThan(FAULT_EFFECT.temperature / 2);
  });

  it('refuses options that make no fleet, naming them', () => {
    expect(() => new MachineFleet({ machines: 0 })).toThrow('machines must be a positive integer, got 0');
    expect(() => new MachineFleet({ machines: 3, degrading: 4 })).toThrow('degrading must be an integer within [0, 3] (the machines), got 4');
    expect(() => new MachineFleet({ ramp: 0 })).toThrow('ramp must be positive, got 0');
    expect(() => new MachineFleet().severityOf('m99', 0)).toThrow('no machine m99 in the fleet');
  });
});

describe('the simulator', () => {
  it('publishes to factory/<line>/<machine>/telemetry and reads its command line', () => {
    expect(telemetryTopic('line-2', 'm07')).toBe('factory/line-2/m07/telemetry');
    expect(simulatorOptions(['--machines', '20', '--rate', '200', '--mqtt', 'mqtt://127.0.0.1:1883', '--duration=30s'])).toEqual({
      machines: 20,
      rate: 200,
      mqtt: 'mqtt://127.0.0.1:1883',
      durationMs: 30_000,
    });
  });

  it('refuses a bad command line with a message naming the option', () => {
    expect(() => simulatorOptions(['--machines', 'many'])).toThrow('--machines must be a whole number of 0 or more, got "many"');
    expect(() => simulatorOptions(['--rate', '-5'])).toThrow('--rate must be a number of 0 or more, got "-5"');
    expect(() => simulatorOptions(['--duration', 'soon'])).toThrow(/^--duration: /);
    expect(() => simulatorOptions(['--speed', '3'])).toThrow('unknown option --speed');
    expect(() => simulatorOptions(['extra'])).toThrow(/^unexpected argument extra/);
  });

  it('says which broker it cannot reach, and refuses a topic root with a wildcard', async () => {
    await expect(simulate({ mqtt: 'mqtt://127.0.0.1:1', count: 1 })).rejects.toThrow(/^cannot connect to MQTT broker mqtt:\/\/127\.0\.0\.1:1: /);
    await expect(simulate({ topicRoot: 'a/#', count: 1 })).rejects.toThrow('topic root must be one topic level without wildcards, got "a/#"');
  });
});

describe('the alert filter', () => {
  it('passes scores above the threshold as alert rows, and drops normal readings and error results', async () => {
    const harness = await startStreamlet(AlertFilter, { name: 'alert-filter' });
    try {
      await harness.send('in', [scored('m01', 0, 5), scored('m02', 0, 31.5), scored('m03', 0, null, 'No model server defined'), scored('m02', 1, 20)]);
      await harness.until(() => harness.committed('in') === 4);
      expect(harness.outputs('out')).toEqual([
        {
          machine: 'm02',
          line: 'line-1',
          timestamp: 1_000,
          score: 31.5,
          threshold: 20,
          temperature: 62,
          vibration: 2.2,
          pressure: 6,
          rpm: 1500,
          model: 'machine-anomaly',
        },
      ]);
    } finally {
      await harness.stop();
    }
  });
});

describe('the machine status view', () => {
  it('serves every machine with its counts and latest score; an older reading delivered again only counts', async () => {
    const harness = await startStreamlet(MachineStatusView, { name: 'machine-status' });
    try {
      await harness.send('in', [scored('m01', 0, null, 'No model server defined'), scored('m01', 2, 25), scored('m02', 0, 3), scored('m01', 1, 4)]);
      await harness.until(() => harness.committed('in') === 4);
      const m01 = (await (await fetch(`${harness.url}/machines/m01`)).json()) as MachineStatus;
      expect(m01).toEqual({
        machine: 'm01',
        line: 'line-1',
        readings: 3,
        scored: 2,
        alerts: 1,
        errors: 1,
        latest: { sequence: 2, timestamp: 1_200, score: 25, threshold: 20, alert: true, model: 'machine-anomaly', error: '' },
      });
      const all = (await (await fetch(`${harness.url}/machine-status/machines`)).json()) as FleetStatus;
      expect(all).toMatchObject({ readings: 4, scored: 3, alerts: 1, errors: 1 });
      expect(all.machines.map((m) => m.machine)).toEqual(['m01', 'm02']);
      expect((await fetch(`${harness.url}/machines/m03`)).status).toBe(404);
    } finally {
      await harness.stop();
    }
  });
});

describe('config defaults for this machine', () => {
  it('are the connectors’ own parameters with new defaults', () => {
    expect(SensorIngress.config.topics.default).toBe('factory/+/+/telemetry');
    expect(SensorIngress.config['client-id'].default).toBe('sluice-maintenance');
    expect(AlertsTable.config.url.default).toBe('postgres://postgres@127.0.0.1:5432/test');
    expect(AlertsTable.config.key.default).toBe('machine,timestamp');
    expect(AlertsTable.config['create-table'].default).toBe(true);
  });

  it('refuse a default its parameter rejects, or a parameter that does not exist', () => {
    expect(() => withConfigDefaults(AlertsTable, { 'batch-size': 0 })).toThrow(/^default of batch-size: must be at least 1/);
    expect(() => withConfigDefaults(AlertsTable, { tabel: 'x' } as never)).toThrow(
      /^no config parameter tabel to give a default \(parameters: url, password, table/,
    );
  });
});
