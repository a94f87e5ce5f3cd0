/** MQTT connectors: QoS 1 ingress in a persistent session, QoS 1 egress awaiting PUBACKs. */
export { mqttEgress, type MqttEgressOptions } from './egress.js';
export { mqttIngress, type MqttIngressOptions } from './ingress.js';
