/** What the AMQP connectors may declare on the broker: exchanges of the standard types. */
import { config } from '../../core/config.js';

export const exchangeTypes = ['direct', 'topic', 'fanout', 'headers'] as const;

export const exchangeTypeParameter = config.oneOf({
  description: `Type of the exchange when declare = true: ${exchangeTypes.join(', ')}`,
  values: exchangeTypes,
  default: 'topic',
});
