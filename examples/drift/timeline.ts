/**
 * The story of a drift run, told at its end: when the world shifted, when drift was detected,
 * when retrains started and models were published and began serving, and the quality before
 * and after — one line per event, times in seconds from the first record.
 */
import type { DriftEvent } from '../../src/observe/drift/drift-event.js';
import type { RetrainDecision } from '../../src/serving/retrain/decision.js';
import type { Quality, QualityTracker } from './quality.js';

export const timelineKinds = {
  start: 'stream starts',
  shift: 'distribution shifts',
  drift: 'drift detected',
  started: 'retrain started',
  published: 'model published',
  rejected: 'candidate rejected',
  failed: 'retrain failed',
  serving: 'model serving',
  end: 'stream ends',
} as const;
export type TimelineKind = keyof typeof timelineKinds;

export interface TimelineEvent {
  readonly at: number;
  readonly kind: TimelineKind;
  readonly text: string;
}

/**
 * Drift events and retrain decisions as they arrive, kept small: one event per drift episode (a
 * run of consecutive drifted windows against one reference), every retrain step but skips.
 */
export class Timeline {
  private readonly events: TimelineEvent[] = [];
  /** Drift episodes per reference (the model installed when it was captured), oldest first. */
  private readonly drifts = new Map<string, { readonly first: DriftEvent; readonly windows: Set<number>; last: number }[]>();
  skipped = 0;

  addDrift(event: DriftEvent): void {
    if (!event.drifted) return;
    const episodes = this.drifts.get(event.modelName) ?? [];
    this.drifts.set(event.modelName, episodes);
    const current = episodes.at(-1);
    // Events of one window come feature by feature; a window after a quiet one starts a new episode.
    if (current && event.windowIndex <= current.last + 1) {
      current.windows.add(event.windowIndex);
      current.last = Math.max(current.last, event.windowIndex);
    } else episodes.push({ first: event, windows: new Set([event.windowIndex]), last: event.windowIndex });
  }

  addDecision(decision: RetrainDecision): void {
    const model = decision.modelName ?? '';
    switch (decision.outcome) {
      case 'STARTED':
        this.events.push({
          at: decision.at,
          kind: 'started',
          text: `${decision.trigger} (${decision.reason}); ${decision.trainingRecords} records to train on, ${decision.holdoutRecords} held out`,
        });
        break;
      case 'PUBLISHED':
        this.events.push({ at: decision.at, kind: 'published', text: `${model}: ${decision.reason}` });
        break;
      case 'REJECTED':
        this.events.push({ at: decision.at, kind: 'rejected', text: `${model}: ${decision.reason}` });
        break;
      case 'FAILED':
        this.events.push({ at: decision.at, kind: 'failed', text: decision.reason });
        break;
      case 'SKIPPED':
        this.skipped++;
        break;
      case 'TRAINED':
        break;
    }
  }

  /** Every event of the run in time order, with those the tracker knows (start, shift, models serving, end). */
  all(quality: QualityTracker): TimelineEvent[] {
    const events = [...this.events];
    for (const episodes of this.drifts.values()) {
      for (const { first, windows } of episodes) events.push({ at: first.detectedAt, kind: 'drift', text: driftText(first, windows.size - 1) });
    }
    if (quality.firstRecordAt !== undefined) events.push({ at: quality.firstRecordAt, kind: 'start', text: '' });
    if (quality.shiftAt !== undefined) events.push({ at: quality.shiftAt, kind: 'shift', text: 'records from here on are drawn from the shifted world' });
    for (const [model, since] of quality.models()) events.push({ at: since, kind: 'serving', text: model });
    if (quality.lastRecordAt !== undefined) events.push({ at: quality.lastRecordAt, kind: 'end', text: '' });
    return events.sort((a, b) => a.at - b.at);
  }
}

function driftText(event: DriftEvent, more: number): string {
  const p = event.pValue === null ? '' : ` p=${event.pValue.toExponential(1)}`;
  const since = event.modelName === '' ? '' : ` since ${event.modelName} was installed`;
  const later = more === 0 ? '' : ` (and ${more} more window${more === 1 ? '' : 's'})`;
  return `${event.feature} ${event.test} ${event.statistic.toFixed(3)}${p} in window ${event.windowIndex}${since}${later}`;
}

/** The closing report: the timeline, the quality per phase, and the record count check. */
export function formatReport(timeline: Timeline, quality: QualityTracker, plotFile: string | undefined): string {
  const t0 = quality.firstRecordAt ?? 0;
  const lines = ['drift run timeline (seconds from the first record):'];
  for (const event of timeline.all(quality)) {
    lines.push(`${((event.at - t0) / 1000).toFixed(2).padStart(8)}  ${timelineKinds[event.kind].padEnd(20)}${event.text}`.trimEnd());
  }
  if (timeline.skipped > 0) lines.push(`retrain triggers skipped: ${timeline.skipped} (see the retrain log for why)`);
  const phases = quality.phases();
  lines.push(
    phaseLine('before-shift', phases.beforeShift),
    phaseLine('after-shift-old-model', phases.oldModel),
    phaseLine('after-shift-new-model', phases.newModel),
  );
  const ids = quality.ids();
  lines.push(
    `records labels=${quality.labelled} results=${ids.results} distinct=${ids.distinct} duplicates=${ids.duplicates} missing=${ids.missing} ` +
      `unscored=${quality.unscored} unmatched=${quality.unmatched}`,
  );
  if (plotFile !== undefined) lines.push(`plot ${plotFile}`);
  return `${lines.join('\n')}\n`;
}

function phaseLine(name: string, quality: Quality): string {
  const value = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(3));
  return `quality phase=${name} records=${quality.records} accuracy=${value(quality.accuracy)} auc=${value(quality.auc)}`;
}
