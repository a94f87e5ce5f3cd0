/**
 * Runs tasks side by side as one unit: the first failure aborts the signal the others were
 * given, waits for them to wind down, then rethrows that failure. No task outlives the unit.
 */
export async function concurrently(tasks: readonly ((signal: AbortSignal) => Promise<void>)[]): Promise<void> {
  const abort = new AbortController();
  let failure: { error: unknown } | undefined;
  await Promise.all(
    tasks.map((task) =>
      task(abort.signal).catch((error: unknown) => {
        failure ??= { error };
        abort.abort(error);
      }),
    ),
  );
  if (failure) throw failure.error;
}
