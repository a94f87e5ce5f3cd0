import { join } from 'node:path';
import { mqttIngress } from '../../src/connectors/mqtt/ingress.js';
import { postgresEgress } from '../../src/connectors/postgres/egress.js';
import type { StreamletPackage } from '../../src/core/streamlet.js';
import { modelIngress } from '../../src/serving/model-ingress.js';
import { packageRoot } from '../../src/util/package-root.js';
import { AlertFilter } from './alert-filter.js';
import { withConfigDefaults } from './config-defaults.js';
import { MachineStatusView } from './machine-status.js';
import { maintenanceModelServing } from './model-serving.js';
import { MachineAlertSchema, SensorReadingSchema } from './schemas.js';

/** The services of this machine: `sluice run examples/maintenance/maintenance.conf` needs no other config. */
export const SensorIngress = withConfigDefaults(
  mqttIngress({ schema: SensorReadingSchema, description: 'Reads machine sensor readings (JSON) from MQTT, QoS 1' }),
  {
    url: 'mqtt://127.0.0.1:1883',
    'client-id': 'sluice-maintenance',
    topics: 'factory/+/+/telemetry',
  },
);

/** One row per alert, upserted on (machine, timestamp): a reading delivered twice leaves one row. */
export const AlertsTable = withConfigDefaults(postgresEgress({ schema: MachineAlertSchema }), {
  url: 'postgres://postgres@127.0.0.1:5432/test',
  table: 'maintenance_alerts',
  key: 'machine,timestamp',
  'create-table': true,
});

/** The shipped model once: a model update is a new model, not a timer. */
export const ModelIngress = withConfigDefaults(modelIngress(join(packageRoot(), 'examples', 'maintenance', 'models')), { cycle: false });
export const ModelServing = maintenanceModelServing();

/** The predictive-maintenance example's streamlet classes, as blueprints name them: `maintenance.<Class>`. */
const streamlets: StreamletPackage = { SensorIngress, ModelIngress, ModelServing, AlertFilter, AlertsTable, MachineStatus: MachineStatusView };
export default streamlets;
export { AlertFilter, MachineStatusView };
