/** AMQP 0-9-1 connectors: a queue ingress with manual acks, an exchange egress with publisher confirms. */
export { amqpEgress, type AmqpEgressOptions } from './egress.js';
export { amqpIngress, type AmqpIngressOptions } from './ingress.js';
