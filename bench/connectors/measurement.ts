/**
 * What each connector benchmark returns: the connector's throughput beside the limit, the
 * service's own client doing the same transfer, measured in the same run on the same service.
 */
export interface ConnectorMeasurement {
  /** e.g. `mqtt-ingress`. */
  readonly id: string;
  readonly label: string;
  readonly records: number;
  /** Records per second through the Sluice connector (inside a running streamlet). */
  readonly connector: number;
  /** Records per second of the raw client doing the same work, with the same delivery guarantee. */
  readonly raw: number;
  /** How the raw limit was measured, in a few words (e.g. "mqtt.js QoS 1 publish → subscribe"). */
  readonly rawLabel: string;
}

export type ConnectorBenchmark = (options: { readonly records: number }) => Promise<ConnectorMeasurement[]>;
