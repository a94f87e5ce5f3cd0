/**
 * Credentials in connector config never need to sit in a blueprint or config file in clear:
 * `env:NAME` reads an environment variable, `file:/path` a file (a mounted Kubernetes Secret,
 * trailing newline dropped); anything else is the value itself.
 */
import { readFileSync } from 'node:fs';
import { messageOf, SluiceError } from '../core/errors.js';

/** Resolves a secret reference; throws SLUICE_ERR_CONFIG_INVALID naming the config key when it cannot. */
export function resolveSecret(value: string, key: string, env: NodeJS.ProcessEnv = process.env): string {
  if (value.startsWith('env:')) {
    const name = value.slice(4);
    const found = env[name];
    if (found === undefined) throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: key, message: `environment variable ${name} is not set` });
    return found;
  }
  if (value.startsWith('file:')) {
    const path = value.slice(5);
    try {
      return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', { where: key, message: `cannot read secret file ${path}: ${messageOf(err)}` }, { cause: err });
    }
  }
  return value;
}
