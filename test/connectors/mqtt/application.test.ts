import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runApplication } from '../../../src/app.js';
import type { ReadingValue } from './support.js';
import { captureLog, publishAll, rawClient, reading, tally, unique } from './support.js';
import { rawAmqp, type RawAmqp } from '../amqp/support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const src = (file: string) => JSON.stringify(path.resolve(here, '../../../src', file));

let dir: string;
let raw: RawAmqp;
let queue: string;
beforeAll(async () => {
  raw = await rawAmqp();
  queue = unique('sluice-test-app');
  await raw.channel.assertQueue(queue, { durable: true });
  dir = mkdtempSync(path.join(tmpdir(), 'sluice-mqtt-app-'));
  // A user's module, as the docs show it: the factory calls, referenced from the blueprint.
  writeFileSync(
    path.join(dir, 'streamlets.ts'),
    `import { mqttIngress } from ${src('connectors/mqtt/index.js')};
import { amqpEgress } from ${src('connectors/amqp/index.js')};
import { Reading } from ${JSON.stringify(path.join(here, 'support.js'))};
export const Sensors = mqttIngress({ schema: Reading, topicField: 'topic' });
export const Forward = amqpEgress({ schema: Reading });
`,
  );
  writeFileSync(
    path.join(dir, 'plant.conf'),
    `blueprint {
  modules { plant = "./streamlets.ts" }
  streamlets { sensors = plant.Sensors, forward = plant.Forward }
  connections { sensors.out = [forward.in] }
}
`,
  );
});
afterAll(async () => {
  await raw.cleanUp({ queues: [queue] });
  await raw.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('MQTT in, AMQP out, in a blueprint', () => {
  it('passes every record from the MQTT topic to the AMQP queue across a restart of the application', async () => {
    const base = unique('sluice-test/app');
    const conf = path.join(dir, `${path.basename(base)}.conf`);
    writeFileSync(
      conf,
      `sluice.http.port = 0
sluice.streamlets {
  sensors.config { session-expiry = 5m, client-id = "${unique('app')}", topics = "${base}/+/reading" }
  forward.config { routing-key = "${queue}" }
}
`,
    );
    const publisher = await rawClient();
    const run = async (publishFrom: number, publishTo: number) => {
      const log = captureLog();
      const app = await runApplication({ blueprint: path.join(dir, 'plant.conf'), conf: [conf], log: log.log });
      await log.waitFor(/^subscribed to/);
      await publishAll(
        publisher,
        `${base}/m1/reading`,
        Array.from({ length: publishTo - publishFrom }, (_, i) => JSON.stringify(reading(publishFrom + i))),
      );
      return app;
    };

    const first = await run(0, 300);
    let queued = 0;
    for (const deadline = Date.now() + 15_000; queued < 300 && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
      queued = (await raw.channel.checkQueue(queue)).messageCount;
    }
    expect(queued).toBe(300);
    expect((await first.stop()).ok).toBe(true);

    // Published while the application is down: the MQTT session keeps them.
    await publishAll(
      publisher,
      `${base}/m2/reading`,
      Array.from({ length: 200 }, (_, i) => JSON.stringify(reading(300 + i))),
    );
    const second = await run(500, 600);
    const messages: ReadingValue[] = [];
    for (const deadline = Date.now() + 15_000; messages.length < 600 && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
      messages.push(...(await raw.take(queue)).map((m) => JSON.parse(m.content.toString()) as ReadingValue));
    }
    expect((await second.stop()).ok).toBe(true);
    await publisher.endAsync();

    expect(
      tally(
        messages.map((m) => m.id),
        600,
      ),
    ).toEqual({ missing: [], duplicates: 0 });
    expect(messages.find((m) => m.id === 350)?.topic).toBe(`${base}/m2/reading`);
  });
});
