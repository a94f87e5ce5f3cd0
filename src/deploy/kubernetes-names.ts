/**
 * The names Kubernetes accepts, checked before anything is rendered so that a wrong one is
 * reported here, naming the option, rather than by the API server at `kubectl apply`. Each
 * check returns what is wrong, or undefined.
 */
import { isDns1123Label } from '../blueprint/blueprint.js';

/** `[registry[:port]/]path[:tag][@sha256:digest]`, as the distribution reference grammar has it. */
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const domain = '(?:localhost|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]+)?';
const imageReference = new RegExp(`^(?:${domain}/)?${pathComponent}(?:/${pathComponent})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`);

export function imageProblem(image: string): string | undefined {
  if (imageReference.test(image) && image.length <= 255) return undefined;
  return `${JSON.stringify(image)} is not an image reference ([registry/]name[:tag][@sha256:digest], name in lowercase, e.g. registry.example.com/team/sluice-app:1.0)`;
}

export function namespaceProblem(namespace: string): string | undefined {
  return isDns1123Label(namespace)
    ? undefined
    : `${JSON.stringify(namespace)} is not a namespace name (a DNS-1123 label: lowercase letters, digits and '-', at most 63)`;
}

const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function secretNameProblem(name: string): string | undefined {
  return name.length <= 253 && dns1123Subdomain.test(name)
    ? undefined
    : `${JSON.stringify(name)} is not a Secret name (lowercase letters, digits, '-' and '.', at most 253)`;
}

/** The application's name on the broker made a name prefix Kubernetes takes: lowercase, `_` and other characters as `-`. */
export function kubernetesPrefix(application: string): string {
  return application
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The longest workload name: a StatefulSet's pods carry a `controller-revision-hash` label of
 * `<name>-<10 characters>`, and a label value holds at most 63.
 */
export const MAX_WORKLOAD_NAME = 52;

/** A workload or Service name: a DNS-1035 label (starts with a letter: Services require it). */
export function workloadNameProblem(name: string): string | undefined {
  if (name.length > MAX_WORKLOAD_NAME) return `${JSON.stringify(name)} is longer than ${MAX_WORKLOAD_NAME} characters`;
  return /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name)
    ? undefined
    : `${JSON.stringify(name)} does not start with a letter or holds characters other than a-z, 0-9 and '-'`;
}
