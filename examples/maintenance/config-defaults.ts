import type { ConfigParameter, ConfigParameters } from '../../src/core/config.js';
import type { InletSpecs, OutletSpecs, StreamletDefinition, VolumeMountSpecs } from '../../src/core/streamlet.js';

/**
 * The same streamlet with other config defaults: how the example ships with this machine's
 * service addresses while the connectors keep no defaults for what only an application knows
 * (a database URL, a table, a client id). Each default is parsed by its parameter, so a bad
 * one fails here, where it is written.
 */
export function withConfigDefaults<I extends InletSpecs, O extends OutletSpecs, C extends ConfigParameters, V extends VolumeMountSpecs>(
  streamlet: StreamletDefinition<I, O, C, V>,
  defaults: { readonly [K in keyof C & string]?: unknown },
): StreamletDefinition<I, O, C, V> {
  const config: Record<string, ConfigParameter<unknown>> = { ...streamlet.config };
  for (const [key, raw] of Object.entries(defaults)) {
    const parameter = streamlet.config[key];
    if (parameter === undefined) throw new RangeError(`no config parameter ${key} to give a default (parameters: ${Object.keys(streamlet.config).join(', ')})`);
    let value: unknown;
    try {
      value = parameter.parse(raw);
    } catch (err) {
      throw new RangeError(`default of ${key}: ${(err as Error).message}`, { cause: err });
    }
    config[key] = Object.freeze({ ...parameter, default: value });
  }
  // Same keys and kinds as `C`: only defaults changed.
  return Object.freeze({ ...streamlet, config: Object.freeze(config) as unknown as C });
}
