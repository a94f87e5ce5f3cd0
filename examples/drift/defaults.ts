import type { ConfigParameter, ConfigParameters, ConfigValues } from '../../src/core/config.js';
import type { InletSpecs, OutletSpecs, StreamletDefinition, VolumeMountSpecs } from '../../src/core/streamlet.js';

/**
 * The streamlet with other defaults for some of its config parameters: settings an example ships
 * with, so its blueprint runs as it is. Each new default is parsed by its parameter, bounds and
 * all, so a bad one fails here.
 */
export function withDefaults<I extends InletSpecs, O extends OutletSpecs, C extends ConfigParameters, V extends VolumeMountSpecs>(
  definition: StreamletDefinition<I, O, C, V>,
  defaults: { readonly [K in keyof C]?: ConfigValues<C>[K] },
): StreamletDefinition<I, O, C, V> {
  const parameters: Record<string, ConfigParameter<unknown>> = { ...definition.config };
  for (const [key, value] of Object.entries(defaults)) {
    const declared = parameters[key];
    if (!declared) throw new Error(`no config parameter ${key} to give a default (parameters: ${Object.keys(parameters).join(', ')})`);
    parameters[key] = Object.freeze({ ...declared, default: declared.parse(value) });
  }
  // Same keys and value types as before: only defaults changed.
  return Object.freeze({ ...definition, config: Object.freeze(parameters) as unknown as C });
}
