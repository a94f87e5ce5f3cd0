/**
 * What TF Serving's REST and gRPC forms share: the one signature Sluice serves per model,
 * `serving_default`, and model version status as TF Serving reports it.
 */
import { SluiceError } from '../../core/errors.js';
import type { DataPlane } from '../data-plane.js';
import type { VersionState } from '../repository.js';
import { badRequest } from './json-body.js';

export const defaultSignature = 'serving_default';

/** The signature asked for must be the default one (or none). */
export function checkSignature(signatureName: string, model: string): void {
  if (signatureName !== '' && signatureName !== defaultSignature) {
    throw badRequest(`signature_name '${signatureName}' is not served: model ${model} has one signature, '${defaultSignature}'`);
  }
}

/** ModelVersionStatus.State names. */
const states: Readonly<Record<VersionState, string>> = {
  loading: 'LOADING',
  available: 'AVAILABLE',
  failed: 'END',
  unloading: 'UNLOADING',
  unloaded: 'END',
};

export interface VersionStatus {
  readonly version: number;
  readonly state: string;
  /** A tensorflow.error.Code: OK (0) or, for a version that failed to load, UNKNOWN (2). */
  readonly errorCode: 0 | 2;
  readonly errorMessage: string;
}

/** Status of every version of a model, newest first, or of the one asked for (404 when the repository has no such version). */
export function versionStatuses(plane: DataPlane, model: string, version?: string): VersionStatus[] {
  const reports = plane.reports(model).filter((r) => version === undefined || version === '' || String(r.version) === version);
  if (reports.length === 0 && version !== undefined && version !== '') {
    throw new SluiceError('SLUICE_ERR_MODEL_VERSION_NOT_FOUND', { modelName: model, version, message: 'the repository has no such version folder' });
  }
  return reports.map((r) => ({
    version: r.version,
    state: states[r.state],
    errorCode: r.state === 'failed' ? 2 : 0,
    errorMessage: r.reason,
  }));
}
