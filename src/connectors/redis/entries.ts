/**
 * Stream entries as Redis returns them (binary-safe): XREADGROUP and XAUTOCLAIM replies turned
 * into `{ id, fields }`, where `fields` is null for an entry deleted (or trimmed away) while it
 * was pending.
 */
export interface StreamEntry {
  readonly id: string;
  readonly fields: ReadonlyMap<string, Buffer> | null;
}

type RawEntry = [id: Buffer, fields: Buffer[] | null];

/** Entries of the one stream an XREADGROUP asked for; none when it timed out. */
export function readReplyEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const [, entries] = reply[0] as [key: Buffer, entries: RawEntry[]];
  return entries.map(toEntry);
}

/** XAUTOCLAIM's reply: where the next scan starts (`0-0` when it went round) and the claimed entries. */
export function claimReplyEntries(reply: unknown): { next: string; entries: StreamEntry[] } {
  const [next, entries] = reply as [next: Buffer, entries: RawEntry[], deleted?: Buffer[]];
  return { next: next.toString(), entries: entries.map(toEntry) };
}

function toEntry([id, fields]: RawEntry): StreamEntry {
  if (fields === null) return { id: id.toString(), fields: null };
  const map = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!.toString(), fields[i + 1]!);
  return { id: id.toString(), fields: map };
}
