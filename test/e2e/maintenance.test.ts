/**
 * The predictive-maintenance example end to end, against this machine's Mosquitto and PostgreSQL:
 * examples/maintenance/maintenance.conf runs in-process, the simulator publishes a fleet's
 * readings over MQTT, and the test checks what a user relies on — every reading scored, alerts
 * in PostgreSQL for the degrading machines and (almost) none for the healthy ones, and the latest
 * score per machine over HTTP.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_THRESHOLD } from '../../examples/maintenance/adapter.js';
import type { FleetStatus, MachineStatus } from '../../examples/maintenance/machine-status.js';
import { MAINTENANCE_MODEL_NAME } from '../../examples/maintenance/models/build-model.js';
import { simulate, type SimulatorSummary } from '../../examples/maintenance/simulator.js';
import { runApplication, type StartedApplication } from '../../src/app.js';
import { root } from '../support/cli.js';
import { capturingLogger, tempDir } from '../support/recommender.js';

const mqttUrl = 'mqtt://127.0.0.1:1883';
const suffix = randomUUID().slice(0, 8);
const table = `maintenance_alerts_${suffix}`;
const topicRoot = `factory-${suffix}`;
const db = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });

let app: StartedApplication | undefined;
let summary: SimulatorSummary;
let fleet: FleetStatus;
const captured = capturingLogger();

const getJson = async <T>(path: string): Promise<{ status: number; body: T }> => {
  const response = await fetch(`${app?.url}${path}`);
  return { status: response.status, body: (await response.json()) as T };
};
const metric = async (pattern: RegExp): Promise<number> => Number((await (await fetch(`${app?.url}/metrics`)).text()).match(pattern)?.[1] ?? 0);

beforeAll(async () => {
  await db.connect();
  app = await runApplication({
    blueprint: join(root, 'examples', 'maintenance', 'maintenance.conf'),
    overrides: [
      'sluice.http.port=0',
      `sluice.state-directory=${tempDir()}`,
      `sensors.client-id=maintenance-e2e-${suffix}`,
      `sensors.topics=${topicRoot}/+/+/telemetry`,
      // The broker forgets the test's session soon after it ends.
      'sensors.session-expiry=5s',
      `alerts-db.table=${table}`,
    ],
    log: captured.log,
  });
  // The model is installed and the ingress subscribed before any reading is published.
  await vi.waitUntil(async () => (await getJson<{ name?: string }>('/state')).body.name === MAINTENANCE_MODEL_NAME, { timeout: 20_000, interval: 50 });
  await vi.waitUntil(() => captured.lines().some((l) => String(l.msg).startsWith(`subscribed to ${topicRoot}/`)), { timeout: 20_000, interval: 50 });

  // Malformed messages on the same topics: rejected with a reason, the stream goes on.
  const publisher = await connectAsync(mqttUrl);
  await publisher.publishAsync(`${topicRoot}/line-1/bad/telemetry`, 'not json', { qos: 1 });
  await publisher.publishAsync(`${topicRoot}/line-1/bad/telemetry`, JSON.stringify({ machine: 'bad', line: 'line-1', temperature: 'hot' }), { qos: 1 });
  await publisher.endAsync();

  // 20 machines, 100 readings each; 4 develop a fault within their first 20 readings and fail 60 readings later.
  summary = await simulate({ mqtt: mqttUrl, topicRoot, machines: 20, rate: 500, count: 2_000, degrading: 4, onset: 20, ramp: 60, seed: 3 });
  await vi.waitUntil(async () => (fleet = (await getJson<FleetStatus>('/machines')).body).readings >= summary.published, { timeout: 30_000, interval: 100 });
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await db.query(`drop table if exists "${table}"`);
  await db.end();
});

describe('the predictive-maintenance example', () => {
  it('scores every published reading, with the shipped model and threshold', async () => {
    expect(summary.published).toBe(2_000);
    expect(Object.values(summary.perMachine)).toEqual(Array(20).fill(100));
    expect(fleet).toMatchObject({ readings: 2_000, scored: 2_000, errors: 0 });
    expect(fleet.machines.map((m) => [m.machine, m.readings])).toEqual(Object.entries(summary.perMachine));
    expect(await metric(/sluice_model_records_total\{[^}]*outcome="scored"[^}]*\} (\d+)/)).toBe(2_000);
  });

  it('rejects malformed messages with their reason and goes on', async () => {
    expect(await metric(/sluice_connector_rejected_total\{[^}]*reason="undecodable"[^}]*\} (\d+)/)).toBe(1);
    expect(await metric(/sluice_connector_rejected_total\{[^}]*reason="invalid"[^}]*\} (\d+)/)).toBe(1);
    const logged = captured.lines().map((l) => JSON.stringify(l));
    expect(logged.some((l) => l.includes(`${topicRoot}/line-1/bad/telemetry`) && l.includes('temperature'))).toBe(true);
  });

  it('writes the degrading machines’ alerts to PostgreSQL, one row per alert, and (almost) none for healthy machines', async () => {
    const degrading = new Set(summary.machines.filter((m) => m.faultOnset !== undefined).map((m) => m.machine));
    expect(degrading.size).toBe(4);
    const count = async () => Number((await db.query<{ n: string }>(`select count(*) as n from "${table}"`)).rows[0]?.n);
    await vi.waitUntil(async () => (await count()) >= fleet.alerts, { timeout: 15_000, interval: 100 });
    expect(await count()).toBe(fleet.alerts);

    const { rows } = await db.query<{ machine: string; alerts: number; lowest: number; models: string[] }>(
      `select machine, count(*)::int as alerts, min(score) as lowest, array_agg(distinct model) as models from "${table}" group by machine order by machine`,
    );
    const perMachine = new Map(rows.map((r) => [r.machine, r]));
    for (const machine of degrading) {
      // Alerts start once the fault is about a tenth of the way to failure: ~10 readings after its onset.
      expect(perMachine.get(machine)?.alerts, machine).toBeGreaterThanOrEqual(60);
    }
    for (const r of rows) {
      expect(r.lowest).toBeGreaterThan(DEFAULT_THRESHOLD);
      expect(r.models).toEqual([MAINTENANCE_MODEL_NAME]);
    }
    // False alarms: rows of healthy machines (16 × 100 readings). Measured: 0 here; the model's rate is 3 in 40,000.
    const falseAlarms = rows.filter((r) => !degrading.has(r.machine)).reduce((n, r) => n + r.alerts, 0);
    expect(falseAlarms).toBeLessThanOrEqual(2);
  });

  it('serves the latest score of a machine over HTTP, and 404 for a machine never seen', async () => {
    const degrading = summary.machines.find((m) => m.faultOnset !== undefined)?.machine as string;
    const healthy = summary.machines.find((m) => m.faultOnset === undefined)?.machine as string;

    const failing = await getJson<MachineStatus>(`/machines/${degrading}`);
    expect(failing.status).toBe(200);
    expect(failing.body).toMatchObject({
      machine: degrading,
      readings: 100,
      latest: { sequence: 99, alert: true, threshold: DEFAULT_THRESHOLD, model: MAINTENANCE_MODEL_NAME, error: '' },
    });
    expect(failing.body.latest.score).toBeGreaterThan(DEFAULT_THRESHOLD);

    const fine = await getJson<MachineStatus>(`/machine-status/machines/${healthy}`);
    expect(fine.body).toMatchObject({ machine: healthy, readings: 100, scored: 100, latest: { sequence: 99 } });
    expect(fine.body.latest.score).toBeLessThan(DEFAULT_THRESHOLD);

    const unknown = await getJson<{ error: string }>('/machines/no-such-machine');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('no endpoint at /machines/no-such-machine');
  });
});
