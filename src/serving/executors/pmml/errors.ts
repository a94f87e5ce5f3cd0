/**
 * The two ways a PMML model fails. Both are internal: the executor turns a {@link PmmlError}
 * into SLUICE_ERR_MODEL_INVALID when a model loads, and a {@link PmmlRowError} into
 * SLUICE_ERR_INFERENCE_FAILED (naming the row) when a batch is scored.
 */

/** The document is not a model this executor can serve; `path` locates the element at fault. */
export class PmmlError extends Error {
  override readonly name = 'PmmlError';

  constructor(
    readonly reason: string,
    readonly path: string,
  ) {
    super(path === '' ? reason : `${reason} (at ${path})`);
  }
}

/**
 * One row cannot be scored: an invalid input under `invalidValueTreatment="returnInvalid"`, a
 * missing input under `missingValueTreatment="returnInvalid"`, an arithmetic result that is not
 * a number, a Scorecard characteristic that no attribute matches.
 */
export class PmmlRowError extends Error {
  override readonly name = 'PmmlRowError';
}
