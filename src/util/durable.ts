/**
 * Writes that survive a crash at any point: data is fsynced before the rename that publishes it,
 * and the directory is fsynced after, so the new name is on disk too. A reader sees the old file
 * or the new one, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Renames `from` to `to` and makes the rename durable. */
export async function renameDurably(from: string, to: string): Promise<void> {
  await rename(from, to);
  await syncDirectory(dirname(to));
}

/** Replaces `path` with `bytes` atomically: temp file, fsync, rename, fsync of the directory. */
export async function writeFileDurably(path: string, bytes: Buffer | string): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await renameDurably(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
