/**
 * One connection to an MQTT broker, as the MQTT connectors use it: mqtt.js with its own
 * reconnect switched off (the connectors reconnect with backoff and decide what to resend), a
 * clear error when the broker cannot be reached or refuses the CONNECT, and `lost`, which says
 * when and why a connection that was up went away.
 */
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { config, type ConfigValues } from '../../core/config.js';
import { SluiceError } from '../../core/errors.js';
import { resolveSecret } from '../secret.js';
import { redactUrl } from '../redact-url.js';

const protocolVersions = { '5': 5, '3.1.1': 4 } as const;

/** The config parameters of the broker connection, shared by the MQTT ingress and egress. */
export const mqttConnectionParameters = {
  url: config.string({
    description: 'Broker URL: mqtt://host:port, mqtts://, ws:// or wss:// (env:NAME or file:/path keeps credentials out of config)',
    default: 'mqtt://127.0.0.1:1883',
  }),
  username: config.string({ description: 'User name, or env:NAME / file:/path; empty for none', default: '' }),
  password: config.string({ description: 'Password, or env:NAME / file:/path; empty for none', default: '' }),
  'protocol-version': config.oneOf({ description: 'MQTT protocol version: 5 or 3.1.1', values: ['5', '3.1.1'], default: '5' }),
  keepalive: config.duration({ description: 'How often the connection is checked when idle', default: 30_000, min: 1_000, max: 65_535_000 }),
  'connect-timeout': config.duration({ description: 'How long to wait for the broker to accept a connection', default: 10_000, min: 100 }),
};

export interface MqttSettings {
  readonly url: string;
  /** The URL without credentials, for logs and errors. */
  readonly broker: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly protocolVersion: 4 | 5;
  readonly keepaliveSeconds: number;
  readonly connectTimeoutMs: number;
}

/** Resolves secrets and checks the URL; throws SLUICE_ERR_CONFIG_INVALID naming the key. */
export function mqttSettings(values: ConfigValues<typeof mqttConnectionParameters>): MqttSettings {
  const url = resolveSecret(values.url, 'url');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: 'url', message: `${JSON.stringify(redactUrl(url))} is not a URL (expected mqtt://host:port)` });
  }
  if (!/^(mqtts?|wss?|tcp|ssl):$/.test(parsed.protocol) || parsed.hostname === '') {
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', {
      where: 'url',
      message: `${JSON.stringify(redactUrl(url))} is not an MQTT broker URL (expected mqtt://, mqtts://, ws:// or wss:// with a host)`,
    });
  }
  const username = resolveSecret(values.username, 'username');
  const password = resolveSecret(values.password, 'password');
  return {
    url,
    broker: redactUrl(url),
    username: username || undefined,
    password: password || undefined,
    protocolVersion: protocolVersions[values['protocol-version']],
    keepaliveSeconds: Math.max(1, Math.round(values.keepalive / 1000)),
    connectTimeoutMs: values['connect-timeout'],
  };
}

export interface MqttSession {
  readonly clientId: string;
  /** False: the broker keeps the session (subscriptions, unacknowledged messages) while the client is away. */
  readonly clean: boolean;
  /** How long the broker keeps a session without a connection (MQTT 5). */
  readonly sessionExpirySeconds?: number;
  /** Most unacknowledged messages the broker sends at once (MQTT 5 receive maximum). */
  readonly receiveMaximum?: number;
  /**
   * Called for each incoming PUBLISH, one at a time: mqtt.js sends the PUBACK of a QoS 1 message
   * only when `done()` is called, and handles the next message after it. `done(error)` skips the
   * PUBACK, so the broker delivers the message again on the next connection of this session.
   */
  readonly onMessage?: (packet: IPublishPacket, done: (error?: Error) => void) => void;
}

export interface MqttConnection {
  readonly client: MqttClient;
  /** Resolves, never rejects, when the connection is gone, with why. */
  readonly lost: Promise<Error>;
  readonly isLost: boolean;
  /** The largest packet the broker accepts, when it said (MQTT 5). */
  readonly maximumPacketSize: number | undefined;
  /** Sends DISCONNECT after what is already written (PUBACKs) and closes. */
  close(): Promise<void>;
  /** Drops the connection at once; pending publishes fail with "Connection closed". */
  destroy(): void;
}

/** Connects once; rejects with why the broker could not be reached or refused the connection. */
export function connectMqtt(settings: MqttSettings, session: MqttSession): Promise<MqttConnection> {
  const options: IClientOptions = {
    protocolVersion: settings.protocolVersion,
    clientId: session.clientId,
    clean: session.clean,
    username: settings.username,
    password: settings.password,
    keepalive: settings.keepaliveSeconds,
    connectTimeout: settings.connectTimeoutMs,
    // The connectors reconnect themselves, with backoff, and resubscribe or resend as they need.
    reconnectPeriod: 0,
    resubscribe: false,
    ...(settings.protocolVersion === 5 ? { properties: sessionProperties(session) } : {}),
  };
  const client = connect(settings.url, options);
  if (session.onMessage) client.handleMessage = session.onMessage;
  let lastError: Error | undefined;
  client.on('error', (err) => {
    lastError = err;
  });
  return new Promise((resolve, reject) => {
    const refused = () => {
      client.off('connect', accepted);
      client.end(true);
      reject(lastError ?? new Error(`the connection closed before the broker accepted it (timeout ${settings.connectTimeoutMs} ms)`));
    };
    const accepted = (connack: { properties?: { maximumPacketSize?: number } }) => {
      client.off('close', refused);
      let isLost = false;
      const lost = new Promise<Error>((resolveLost) =>
        client.once('close', () => {
          isLost = true;
          resolveLost(lastError ?? new Error('the broker closed the connection'));
        }),
      );
      resolve({
        client,
        lost,
        get isLost() {
          return isLost;
        },
        maximumPacketSize: connack.properties?.maximumPacketSize,
        close: async () => {
          if (isLost) client.end(true);
          else await client.endAsync(false);
        },
        destroy: () => void client.end(true),
      });
    };
    client.once('connect', accepted);
    client.once('close', refused);
  });
}

/** The MQTT 5 CONNECT properties of a session, only those it sets. */
function sessionProperties(session: MqttSession): NonNullable<IClientOptions['properties']> {
  return {
    ...(session.sessionExpirySeconds !== undefined ? { sessionExpiryInterval: session.sessionExpirySeconds } : {}),
    ...(session.receiveMaximum !== undefined ? { receiveMaximum: session.receiveMaximum } : {}),
  };
}
